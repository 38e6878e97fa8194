//! Op results as typed bodies: records and pages of records serialise straight from the stored
//! values, in field order, without building a JSON tree first (the bulk hot path).

use crate::model::{Object, Record, Value};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::Value as Json;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Json(Json),
    Record(RecordBody),
    List(ListBody),
}

/// One record with the object that gives its fields' names.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordBody {
    pub object: Arc<Object>,
    pub record: Record,
}

/// A page of records: `{"records":[…],"next_cursor":…,"total"?}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ListBody {
    pub object: Arc<Object>,
    pub records: Vec<Record>,
    pub next_cursor: Option<String>,
    pub total: Option<u64>,
    /// Why a total that was asked for is missing (the count ran out of time).
    pub total_omitted: Option<String>,
}

impl ListBody {
    /// The page's records, each with its object (to reshape them one by one).
    pub fn into_records(self) -> Vec<RecordBody> {
        let object = self.object;
        self.records
            .into_iter()
            .map(|record| RecordBody {
                object: object.clone(),
                record,
            })
            .collect()
    }
}

impl Body {
    pub fn record(object: &Arc<Object>, record: Record) -> Body {
        Body::Record(RecordBody {
            object: object.clone(),
            record,
        })
    }

    /// The body as a JSON tree, for callers that reshape it (dialects, references).
    pub fn to_json(&self) -> Json {
        match self {
            Body::Json(j) => j.clone(),
            _ => serde_json::to_value(self).unwrap_or(Json::Null),
        }
    }

    pub fn into_json(self) -> Json {
        match self {
            Body::Json(j) => j,
            other => other.to_json(),
        }
    }
}

impl Serialize for Body {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Body::Json(j) => j.serialize(s),
            Body::Record(r) => r.serialize(s),
            Body::List(l) => l.serialize(s),
        }
    }
}

struct FieldValue<'a>(&'a Value);

impl Serialize for FieldValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Text(t) | Value::Date(t) | Value::DateTime(t) => s.serialize_str(t),
            Value::Integer(i) => s.serialize_i64(*i),
            Value::Number(f) => s.serialize_f64(*f),
            Value::Boolean(b) => s.serialize_bool(*b),
            Value::Json(t) => serde_json::from_str::<Json>(t)
                .unwrap_or(Json::Null)
                .serialize(s),
            Value::Lookup(l) => l.to_json().serialize(s),
        }
    }
}

struct RecordRef<'a>(&'a Object, &'a Record);

impl Serialize for RecordRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (obj, rec) = (self.0, self.1);
        let mut m = s.serialize_map(Some(obj.fields.len() + 5))?;
        m.serialize_entry("id", &rec.id)?;
        for (f, v) in obj.fields.iter().zip(&rec.values) {
            m.serialize_entry(f.name.as_str(), &FieldValue(v))?;
        }
        m.serialize_entry("created_at", &rec.created_at)?;
        m.serialize_entry("updated_at", &rec.updated_at)?;
        m.serialize_entry("created_by", &rec.created_by)?;
        m.serialize_entry("updated_by", &rec.updated_by)?;
        m.end()
    }
}

impl Serialize for RecordBody {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RecordRef(&self.object, &self.record).serialize(s)
    }
}

struct Records<'a>(&'a Object, &'a [Record]);

impl Serialize for Records<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.1.iter().map(|r| RecordRef(self.0, r)))
    }
}

impl Serialize for ListBody {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("records", &Records(&self.object, &self.records))?;
        m.serialize_entry("next_cursor", &self.next_cursor)?;
        if let Some(t) = self.total {
            m.serialize_entry("total", &t)?;
        }
        if let Some(why) = &self.total_omitted {
            m.serialize_entry("total_omitted", why)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Object, ObjectSpec, Timestamp};
    use serde_json::json;

    #[test]
    fn records_serialise_in_field_order_like_to_json() {
        let spec: ObjectSpec = serde_json::from_value(json!({"name": "o", "fields": [
            {"name": "b", "type": "text"}, {"name": "a", "type": "json"}, {"name": "n", "type": "number"}
        ]}))
        .unwrap();
        let obj = Arc::new(Object::from_spec(uuid::Uuid::nil(), spec, Timestamp::now()).unwrap());
        let rec = Record {
            id: "1".into(),
            created_at: "t".into(),
            updated_at: "t".into(),
            created_by: "u".into(),
            updated_by: "u".into(),
            values: vec![
                Value::Text("x".into()),
                Value::Json("{\"k\":[1]}".into()),
                Value::Null,
            ],
        };
        let body = Body::record(&obj, rec.clone());
        let text = serde_json::to_string(&body).unwrap();
        assert!(
            text.starts_with("{\"id\":\"1\",\"b\":\"x\",\"a\":{\"k\":[1]},\"n\":null,"),
            "{text}"
        );
        assert_eq!(body.to_json(), rec.to_json(&obj));
    }
}
