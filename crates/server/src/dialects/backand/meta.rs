//! Backand's records: each carries `__metadata` (the record id as a string, its object's fields
//! and the collections pointing at it, `descriptives` (empty), and its dates as `YYYY-MM-DD
//! HH:MM:SSZ`), as the SDK's getOne/getList samples in Backand's SDK documentation show.

use crate::dialects::links::Reverse;
use serde_json::{json, Map, Value as Json};
use sluice_engine::model::{FieldType, Object, Record, Value};
use sluice_engine::ops::RecordBody;

/// Backand's name for a field type (`string`, `int`, `float`, `boolean`, `datetime`, `text`).
fn type_name(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Text => "string",
        FieldType::Integer => "int",
        FieldType::Number => "float",
        FieldType::Boolean => "boolean",
        FieldType::Date | FieldType::Datetime => "datetime",
        FieldType::Json => "text",
        // Described by `object` instead (`fields`), as Backand's model does.
        FieldType::Relation => "string",
    }
}

/// `2017-03-08T23:13:10.000Z` (or a date) as Backand writes dates in `__metadata.dates`.
fn backand_date(s: &str) -> String {
    match (s.get(..10), s.get(11..19)) {
        (Some(day), Some(time)) => format!("{day} {time}Z"),
        _ => format!("{} 00:00:00Z", s.get(..10).unwrap_or(s)),
    }
}

/// The `fields` part: sluice's system fields (the id is a string: sluice ids are UUIDs; ours),
/// then the object's fields, `unique` where unique.
/// Then each collection (an object whose relation field points at this one) as Backand's
/// one-to-many "one" side: `{"collection": "<object>", "via": "<field>"}`.
fn fields(obj: &Object, collections: &[Reverse]) -> Map<String, Json> {
    let mut m = Map::new();
    m.insert("id".into(), json!({"type": "string", "unique": true}));
    for f in ["created_at", "updated_at"] {
        m.insert(f.into(), json!({"type": "datetime"}));
    }
    for f in ["created_by", "updated_by"] {
        m.insert(f.into(), json!({"type": "string"}));
    }
    for f in &obj.fields {
        // Backand's one-to-many "many" side: `{"object": "users"}`, no type.
        if let Some(r) = &f.relation {
            m.insert(f.name.to_string(), json!({"object": r.object}));
            continue;
        }
        let mut d = json!({"type": type_name(f.ty)});
        if f.unique {
            d["unique"] = json!(true);
        }
        m.insert(f.name.to_string(), d);
    }
    for c in collections {
        m.insert(
            c.name.clone(),
            json!({"collection": c.object, "via": c.field}),
        );
    }
    m
}

/// `__metadata` for one record. `descriptives` stays empty: labels of related records would cost
/// a read per relation (docs/DIALECTS.md).
fn metadata(obj: &Object, rec: &Record, collections: &[Reverse]) -> Json {
    let mut dates = Map::new();
    dates.insert("created_at".into(), json!(backand_date(&rec.created_at)));
    dates.insert("updated_at".into(), json!(backand_date(&rec.updated_at)));
    for (f, v) in obj.fields.iter().zip(&rec.values) {
        if let Value::Date(s) | Value::DateTime(s) = v {
            dates.insert(f.name.to_string(), json!(backand_date(s)));
        }
    }
    json!({
        "id": rec.id,
        "fields": fields(obj, collections),
        "descriptives": {},
        "dates": dates,
    })
}

/// A record as Backand returns it: with `__metadata` (given the object's collections) unless the
/// caller excluded it.
pub fn record(r: RecordBody, collections: Option<&[Reverse]>) -> Json {
    let meta = collections.map(|c| metadata(&r.object, &r.record, c));
    let mut v = serde_json::to_value(&r).unwrap_or(Json::Null);
    if let (Some(meta), Some(m)) = (meta, v.as_object_mut()) {
        m.insert("__metadata".into(), meta);
    }
    v
}
