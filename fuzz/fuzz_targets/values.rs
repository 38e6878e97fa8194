//! Value coercion: any text or JSON, for every field type, converts or says why not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_engine::model::{FieldType, Value};

const TYPES: [FieldType; 7] = [
    FieldType::Text,
    FieldType::Integer,
    FieldType::Number,
    FieldType::Boolean,
    FieldType::Date,
    FieldType::Datetime,
    FieldType::Json,
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let json: Option<serde_json::Value> = serde_json::from_slice(data).ok();
    for ty in TYPES {
        if let Ok(v) = Value::from_text(ty, &text) {
            let _ = v.to_json();
        }
        if let Some(j) = &json {
            if let Ok(v) = Value::from_json(ty, j) {
                let _ = v.to_json();
            }
        }
    }
});
