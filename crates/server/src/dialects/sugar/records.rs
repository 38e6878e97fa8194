//! Sugar's records: sluice's system fields under Sugar's names and date format, `_module`, an
//! optional field list; and record bodies with only the object's writable fields.

use super::super::rename_keys;
use serde_json::{json, Value as Json};
use sluice_engine::model::Object;

/// Record keys Sugar adds on output; ignored when clients send them back.
const READ_ONLY: [&str; 12] = [
    "id",
    "date_entered",
    "date_modified",
    "_module",
    "_acl",
    "created_by",
    "modified_user_id",
    "created_by_name",
    "modified_by_name",
    "my_favorite",
    "following",
    "deleted",
];

/// ISO 8601 with an offset, as Sugar writes dates: `2014-04-22T03:56:24+00:00`.
fn sugar_date(v: &Json) -> Json {
    match v.as_str() {
        Some(s) if s.len() >= 19 => Json::String(format!("{}+00:00", &s[..19])),
        _ => v.clone(),
    }
}

/// A sluice record as a Sugar record: Sugar's system fields and `_module`, optionally only `fields`.
pub fn record(mut v: Json, module: &str, fields: Option<&[String]>) -> Json {
    rename_keys(
        &mut v,
        &[
            ("created_at", "date_entered"),
            ("updated_at", "date_modified"),
            ("updated_by", "modified_user_id"),
        ],
    );
    if let Some(m) = v.as_object_mut() {
        for k in ["date_entered", "date_modified"] {
            if let Some(d) = m.get(k) {
                let d = sugar_date(d);
                m.insert(k.into(), d);
            }
        }
        if let Some(keep) = fields {
            // Sugar always returns id and date_modified.
            m.retain(|k, _| k == "id" || k == "date_modified" || keep.iter().any(|f| f == k));
        }
        m.insert("_module".into(), json!(module));
    }
    v
}

/// A record body as Sugar reads one (`SugarApi::populateFromApi` walks the module's field
/// definitions): keys that are not fields of the object (`assigned_user_name`, `team_name`,
/// `locked_fields`, …) and the read-only keys Sugar adds on output are ignored.
pub fn input(mut data: Json, object: &Object) -> Json {
    if let Some(m) = data.as_object_mut() {
        m.retain(|k, _| !READ_ONLY.contains(&k.as_str()) && object.field(k).is_some());
    }
    data
}
