//! Values across the PostgreSQL wire: a `Value` binds as whatever type the statement asks for
//! (a record's text id as `uuid`, a timestamp string as `timestamptz`, JSON text as `jsonb`), and
//! record rows come back as the engine's own text forms (RFC 3339 UTC with milliseconds, ISO dates,
//! hyphenated ids).

use crate::model::{FieldType, Object, Record, Stamp, Value};
use bytes::{BufMut, BytesMut};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use postgres::Row;
use std::error::Error as StdError;
use uuid::Uuid;

type BoxError = Box<dyn StdError + Sync + Send>;

/// A value bound as a statement parameter, converted to the parameter's type.
#[derive(Debug)]
pub struct PgValue<'a>(pub &'a Value);

fn bad(what: &str, v: &str) -> BoxError {
    format!("{v:?} is not a valid {what}").into()
}

/// PostgreSQL text cannot hold NUL characters; refuse them before anything is sent.
fn text_ok(s: &str) -> Result<&str, BoxError> {
    if s.contains('\0') {
        return Err("text may not contain NUL characters".into());
    }
    Ok(s)
}

fn json_ok(s: &str) -> Result<&str, BoxError> {
    if s.contains("\\u0000") {
        return Err("JSON may not contain \\u0000".into());
    }
    text_ok(s)
}

pub fn timestamp(s: &str) -> Result<DateTime<Utc>, BoxError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| bad("timestamp", s))
}

/// A record id as the table keeps it; text that is no UUID names no record.
pub fn uuid(id: &str) -> Option<Uuid> {
    Uuid::parse_str(id).ok()
}

/// When a stamp was made, as a `timestamptz`.
pub fn at(stamp: &Stamp) -> crate::error::Result<DateTime<Utc>> {
    timestamp(stamp.at.as_str()).map_err(|e| crate::error::Error::internal(e.to_string()))
}

/// A statement's parameters: `first`, then `values`.
pub fn params<'a>(
    values: &'a [PgValue<'a>],
    first: &[&'a (dyn ToSql + Sync)],
) -> Vec<&'a (dyn ToSql + Sync)> {
    let mut p: Vec<&(dyn ToSql + Sync)> = first.to_vec();
    p.extend(values.iter().map(|v| v as &(dyn ToSql + Sync)));
    p
}

fn text_as(ty: &Type, s: &str, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    match *ty {
        Type::UUID => Uuid::parse_str(s)
            .map_err(|_| bad("id", s))?
            .to_sql(ty, out),
        Type::TIMESTAMPTZ => timestamp(s)?.to_sql(ty, out),
        Type::DATE => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| bad("date", s))?
            .to_sql(ty, out),
        Type::JSONB => {
            out.put_u8(1);
            out.put_slice(json_ok(s)?.as_bytes());
            Ok(IsNull::No)
        }
        Type::INT8 => s
            .parse::<i64>()
            .map_err(|_| bad("integer", s))?
            .to_sql(ty, out),
        Type::FLOAT8 => s
            .parse::<f64>()
            .map_err(|_| bad("number", s))?
            .to_sql(ty, out),
        _ => text_ok(s)?.to_sql(ty, out),
    }
}

impl ToSql for PgValue<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let text = |s: String, out: &mut BytesMut| text_as(ty, &s, out);
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Lookup(_) => Err("a lookup reached the store unresolved".into()),
            Value::Text(s) | Value::Date(s) | Value::DateTime(s) | Value::Json(s) => {
                text_as(ty, s, out)
            }
            Value::Integer(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                _ => text(i.to_string(), out),
            },
            Value::Number(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                _ => text(f.to_string(), out),
            },
            Value::Boolean(b) => match *ty {
                Type::BOOL => b.to_sql(ty, out),
                _ => text(b.to_string(), out),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// The PostgreSQL type of a field's column.
pub fn sql_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Text => "text",
        // Ids as `id` keeps them, so a query joins a relation to its records as they are.
        FieldType::Relation => "uuid",
        FieldType::Integer => "bigint",
        FieldType::Number => "double precision",
        FieldType::Boolean => "boolean",
        FieldType::Date => "date",
        FieldType::Datetime => "timestamptz",
        FieldType::Json => "jsonb",
    }
}

/// The wire type of a field's column (for binary `COPY`).
pub fn wire_type(ty: FieldType) -> Type {
    match ty {
        FieldType::Text => Type::TEXT,
        FieldType::Relation => Type::UUID,
        FieldType::Integer => Type::INT8,
        FieldType::Number => Type::FLOAT8,
        FieldType::Boolean => Type::BOOL,
        FieldType::Date => Type::DATE,
        FieldType::Datetime => Type::TIMESTAMPTZ,
        FieldType::Json => Type::JSONB,
    }
}

/// The array type a field's values travel in, in batched statements.
pub fn array_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Text => "text[]",
        FieldType::Relation => "uuid[]",
        FieldType::Integer => "int8[]",
        FieldType::Number => "float8[]",
        FieldType::Boolean => "bool[]",
        FieldType::Date => "date[]",
        FieldType::Datetime => "timestamptz[]",
        FieldType::Json => "jsonb[]",
    }
}

/// JSON as the text the store holds (`jsonb` arrives as a version byte and the text).
struct JsonText(String);

impl<'a> FromSql<'a> for JsonText {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let body = match (*ty == Type::JSONB, raw.split_first()) {
            (true, Some((1, rest))) => rest,
            (true, _) => return Err("unknown jsonb version".into()),
            (false, _) => raw,
        };
        Ok(JsonText(std::str::from_utf8(body)?.to_owned()))
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::JSON | Type::JSONB)
    }
}

pub fn stamp_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn field(row: &Row, idx: usize, ty: FieldType) -> Result<Value, postgres::Error> {
    Ok(match ty {
        FieldType::Text => row.try_get::<_, Option<String>>(idx)?.map(Value::Text),
        FieldType::Relation => row
            .try_get::<_, Option<Uuid>>(idx)?
            .map(|u| Value::Text(u.hyphenated().to_string())),
        FieldType::Integer => row.try_get::<_, Option<i64>>(idx)?.map(Value::Integer),
        FieldType::Number => row.try_get::<_, Option<f64>>(idx)?.map(Value::Number),
        FieldType::Boolean => row.try_get::<_, Option<bool>>(idx)?.map(Value::Boolean),
        FieldType::Date => row
            .try_get::<_, Option<NaiveDate>>(idx)?
            .map(|d| Value::Date(d.format("%Y-%m-%d").to_string())),
        FieldType::Datetime => row
            .try_get::<_, Option<DateTime<Utc>>>(idx)?
            .map(|t| Value::DateTime(stamp_text(t))),
        FieldType::Json => row
            .try_get::<_, Option<JsonText>>(idx)?
            .map(|j| Value::Json(j.0)),
    }
    .unwrap_or(Value::Null))
}

/// A record from a row of `select_list` columns.
pub fn read_record(obj: &Object, row: &Row) -> Result<Record, postgres::Error> {
    let mut values = Vec::with_capacity(obj.fields.len());
    for (i, f) in obj.fields.iter().enumerate() {
        values.push(field(row, 5 + i, f.ty)?);
    }
    Ok(Record {
        id: row.try_get::<_, Uuid>(0)?.hyphenated().to_string(),
        created_at: stamp_text(row.try_get(1)?),
        updated_at: stamp_text(row.try_get(2)?),
        created_by: row.try_get(3)?,
        updated_by: row.try_get(4)?,
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(v: &Value, ty: &Type) -> Result<Vec<u8>, BoxError> {
        let mut out = BytesMut::new();
        PgValue(v).to_sql(ty, &mut out)?;
        Ok(out.to_vec())
    }

    #[test]
    fn values_take_the_parameter_type() {
        let id = "0190b6a0-0000-7000-8000-000000000001";
        assert_eq!(
            encode(&Value::Text(id.into()), &Type::UUID).unwrap().len(),
            16
        );
        assert_eq!(
            encode(&Value::Json("{\"a\":1}".into()), &Type::JSONB).unwrap(),
            b"\x01{\"a\":1}"
        );
        assert_eq!(
            encode(&Value::Integer(7), &Type::TEXT).unwrap(),
            b"7".to_vec()
        );
        assert!(encode(&Value::Text("x".into()), &Type::UUID).is_err());
        assert!(encode(&Value::Text("a\0b".into()), &Type::TEXT).is_err());
        assert!(encode(&Value::Json("\"\\u0000\"".into()), &Type::JSONB).is_err());
        assert!(encode(&Value::Integer(1 << 40), &Type::INT4).is_err());
    }

    #[test]
    fn timestamps_come_back_in_the_engine_form() {
        let t = timestamp("2024-02-03T04:05:06.789Z").unwrap();
        assert_eq!(stamp_text(t), "2024-02-03T04:05:06.789Z");
        assert!(timestamp("yesterday").is_err());
    }
}
