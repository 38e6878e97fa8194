//! Field types and typed field values, with their conversions from JSON and from text (CSV cells,
//! query strings): what the other model files share about values.

use super::relation::Lookup;
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

/// The type of a field, which every value written to it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Text,
    Integer,
    Number,
    Boolean,
    Date,
    Datetime,
    Json,
    /// Another record's id (a UUID); the field says which object (`Field::relation`).
    Relation,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Integer => "integer",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::Date => "date",
            Self::Datetime => "datetime",
            Self::Json => "json",
            Self::Relation => "relation",
        }
    }
}

/// A field value, already checked against its field's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Text(String),
    Integer(i64),
    Number(f64),
    Boolean(bool),
    /// `YYYY-MM-DD`.
    Date(String),
    /// RFC 3339 in UTC with milliseconds, so that text order is time order.
    DateTime(String),
    /// JSON text.
    Json(String),
    /// A relation value naming its target by a unique field; resolved to `Text(id)` before any
    /// write reaches the store, so no store ever sees one.
    Lookup(Box<Lookup>),
}

/// Date forms accepted besides ISO 8601: the US-style dates that CRM exports carry.
const DATE_FORMATS: [&str; 1] = ["%m/%d/%Y"];
const DATETIME_FORMATS: [&str; 4] = [
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%m/%d/%Y %H:%M:%S",
    "%Y-%m-%dT%H:%M",
];

/// How deeply `v` nests arrays and objects (a scalar is 0), found without recursion, so it may be
/// asked of any tree before anything walks it recursively.
pub fn json_depth(v: &Json) -> usize {
    let mut deepest = 0;
    let mut open = vec![(v, 0usize)];
    while let Some((v, depth)) = open.pop() {
        match v {
            Json::Array(a) => open.extend(a.iter().map(|c| (c, depth + 1))),
            Json::Object(m) => open.extend(m.values().map(|c| (c, depth + 1))),
            _ => continue,
        }
        deepest = deepest.max(depth + 1);
    }
    deepest
}

/// A JSON value kept in a record or a stored document nests at most this deep
/// (`defaults::MAX_VALUE_DEPTH`), so every stored document reads back within serde_json's own
/// nesting limit.
pub fn check_value_depth(v: &Json) -> Result<(), String> {
    let max = crate::settings::defaults::MAX_VALUE_DEPTH;
    match json_depth(v) {
        d if d > max => Err(format!(
            "the value nests {d} levels deep; at most {max} are allowed"
        )),
        _ => Ok(()),
    }
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Converts a JSON value for a field of type `ty`; wrong types are refused, not coerced.
    pub fn from_json(ty: FieldType, v: &Json) -> Result<Value, String> {
        if v.is_null() {
            return Ok(Value::Null);
        }
        let wrong = || format!("expected {}, got {}", ty.as_str(), json_kind(v));
        match ty {
            FieldType::Text => v
                .as_str()
                .map(|s| Value::Text(s.to_owned()))
                .ok_or_else(wrong),
            FieldType::Integer => match v {
                Json::Number(n) => n
                    .as_i64()
                    .or_else(|| {
                        n.as_f64()
                            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                            .map(|f| f as i64)
                    })
                    .map(Value::Integer)
                    .ok_or_else(wrong),
                _ => Err(wrong()),
            },
            FieldType::Number => v.as_f64().map(Value::Number).ok_or_else(wrong),
            FieldType::Boolean => v.as_bool().map(Value::Boolean).ok_or_else(wrong),
            FieldType::Date => v.as_str().ok_or_else(wrong).and_then(parse_date),
            FieldType::Datetime => v.as_str().ok_or_else(wrong).and_then(parse_datetime),
            FieldType::Json => {
                check_value_depth(v)?;
                Ok(Value::Json(v.to_string()))
            }
            FieldType::Relation => match v {
                Json::String(s) => record_id(s),
                Json::Object(_) => Lookup::from_json(v)
                    .map(|l| Value::Lookup(Box::new(l)))
                    .ok_or_else(|| {
                        "a lookup names one unique field and its value: {\"email\": \"…\"}"
                            .to_owned()
                    }),
                _ => Err(wrong()),
            },
        }
    }

    /// Converts text (a CSV cell, a query-string value) for a field of type `ty`.
    pub fn from_text(ty: FieldType, s: &str) -> Result<Value, String> {
        let t = s.trim();
        let wrong = || format!("{s:?} is not a valid {}", ty.as_str());
        match ty {
            FieldType::Text => Ok(Value::Text(s.to_owned())),
            _ if t.is_empty() => Ok(Value::Null),
            FieldType::Integer => t.parse().map(Value::Integer).map_err(|_| wrong()),
            FieldType::Number => t
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Value::Number)
                .ok_or_else(wrong),
            FieldType::Boolean => match t.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(Value::Boolean(true)),
                "false" | "0" | "no" => Ok(Value::Boolean(false)),
                _ => Err(wrong()),
            },
            FieldType::Date => parse_date(t),
            FieldType::Datetime => parse_datetime(t),
            FieldType::Json => {
                let j = serde_json::from_str::<Json>(t).map_err(|_| wrong())?;
                check_value_depth(&j)?;
                Ok(Value::Json(j.to_string()))
            }
            FieldType::Relation => record_id(t),
        }
    }

    pub fn to_json(&self) -> Json {
        match self {
            Value::Null => Json::Null,
            Value::Text(s) | Value::Date(s) | Value::DateTime(s) => json!(s),
            Value::Integer(i) => json!(i),
            Value::Number(f) => json!(f),
            Value::Boolean(b) => json!(b),
            Value::Json(s) => serde_json::from_str(s).unwrap_or(Json::Null),
            Value::Lookup(l) => l.to_json(),
        }
    }
}

/// A record id in its canonical (hyphenated, lower-case) form, as ids are stored.
fn record_id(s: &str) -> Result<Value, String> {
    uuid::Uuid::parse_str(s.trim())
        .map(|u| Value::Text(u.hyphenated().to_string()))
        .map_err(|_| format!("{s:?} is not a record id"))
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn parse_date(s: &str) -> Result<Value, String> {
    // ISO dates are checked by hand and kept as they are (the bulk hot path); other forms are rewritten.
    if iso_date(s).is_some() {
        return Ok(Value::Date(s.to_owned()));
    }
    DATE_FORMATS
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
        .map(|d| Value::Date(d.format("%Y-%m-%d").to_string()))
        .ok_or_else(|| format!("{s:?} is not a date (YYYY-MM-DD)"))
}

/// `YYYY-MM-DD` exactly.
fn iso_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)
}

fn parse_datetime(s: &str) -> Result<Value, String> {
    let utc = DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            DATETIME_FORMATS
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
                .map(|n| n.and_utc())
        })
        .ok_or_else(|| format!("{s:?} is not a date-time (RFC 3339)"))?;
    Ok(Value::DateTime(
        utc.to_rfc3339_opts(SecondsFormat::Millis, true),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_types_are_strict() {
        assert_eq!(
            Value::from_json(FieldType::Integer, &json!(3)),
            Ok(Value::Integer(3))
        );
        assert!(Value::from_json(FieldType::Integer, &json!("3")).is_err());
        assert!(Value::from_json(FieldType::Integer, &json!(3.5)).is_err());
        assert!(Value::from_json(FieldType::Text, &json!(3)).is_err());
        assert!(Value::from_json(FieldType::Boolean, &json!("true")).is_err());
        assert_eq!(
            Value::from_json(FieldType::Number, &json!(2)),
            Ok(Value::Number(2.0))
        );
    }

    #[test]
    fn datetimes_normalise_to_utc_millis() {
        let v = Value::from_json(FieldType::Datetime, &json!("2014-04-22T03:56:24-04:00")).unwrap();
        assert_eq!(v, Value::DateTime("2014-04-22T07:56:24.000Z".into()));
        let v = Value::from_text(FieldType::Datetime, "04/22/2014 03:56:24").unwrap();
        assert_eq!(v, Value::DateTime("2014-04-22T03:56:24.000Z".into()));
        assert!(Value::from_text(FieldType::Datetime, "yesterday").is_err());
    }

    #[test]
    fn text_cells_convert() {
        assert_eq!(
            Value::from_text(FieldType::Integer, " 42 "),
            Ok(Value::Integer(42))
        );
        assert_eq!(Value::from_text(FieldType::Integer, ""), Ok(Value::Null));
        assert!(Value::from_text(FieldType::Integer, "4x").is_err());
        assert_eq!(
            Value::from_text(FieldType::Boolean, "Yes"),
            Ok(Value::Boolean(true))
        );
        assert_eq!(
            Value::from_text(FieldType::Date, "12/31/2020"),
            Ok(Value::Date("2020-12-31".into()))
        );
        assert!(Value::from_text(FieldType::Number, "NaN").is_err());
        assert_eq!(
            Value::from_text(FieldType::Json, "[1, 2]"),
            Ok(Value::Json("[1,2]".into()))
        );
    }
}
