//! Backand's records: each carries `__metadata` (the record id as a string, its object's fields,
//! `descriptives` of relation fields, and its dates as `YYYY-MM-DD HH:MM:SSZ`), as the SDK's
//! getOne/getList samples in Backand's SDK documentation show.

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
fn fields(obj: &Object) -> Map<String, Json> {
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
    m
}

/// `__metadata` for one record. sluice has no relation fields, so `descriptives` is empty.
fn metadata(obj: &Object, rec: &Record) -> Json {
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
        "fields": fields(obj),
        "descriptives": {},
        "dates": dates,
    })
}

/// A record as Backand returns it: with `__metadata` unless the caller excluded it.
pub fn record(r: RecordBody, with_metadata: bool) -> Json {
    let meta = with_metadata.then(|| metadata(&r.object, &r.record));
    let mut v = serde_json::to_value(&r).unwrap_or(Json::Null);
    if let (Some(meta), Some(m)) = (meta, v.as_object_mut()) {
        m.insert("__metadata".into(), meta);
    }
    v
}
