//! Values across the SQLite boundary: a `Value` binds as its SQLite storage class, and record rows
//! read back as typed values (the twin of PostgreSQL's `value`).

use crate::model::{FieldType, Object, Record, Value};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Row, ToSql};

/// A value bound as a SQL parameter.
pub struct SqlValue<'a>(pub &'a Value);

impl ToSql for SqlValue<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Lookup(_) => {
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    "a lookup reached the store unresolved".into(),
                ))
            }
            Value::Text(s) | Value::Date(s) | Value::DateTime(s) | Value::Json(s) => {
                ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()))
            }
            Value::Integer(i) => ToSqlOutput::Owned((*i).into()),
            Value::Number(f) => ToSqlOutput::Owned((*f).into()),
            Value::Boolean(b) => ToSqlOutput::Owned(i64::from(*b).into()),
        })
    }
}

fn read_value(row: &Row<'_>, idx: usize, ty: FieldType) -> rusqlite::Result<Value> {
    let v = row.get_ref(idx)?;
    if v == ValueRef::Null {
        return Ok(Value::Null);
    }
    Ok(match ty {
        FieldType::Text | FieldType::Relation => Value::Text(v.as_str()?.to_owned()),
        FieldType::Date => Value::Date(v.as_str()?.to_owned()),
        FieldType::Datetime => Value::DateTime(v.as_str()?.to_owned()),
        FieldType::Json => Value::Json(v.as_str()?.to_owned()),
        FieldType::Integer => Value::Integer(v.as_i64()?),
        FieldType::Number => Value::Number(v.as_f64()?),
        FieldType::Boolean => Value::Boolean(v.as_i64()? != 0),
    })
}

/// A record from a row that selects the system fields, then the object's fields in order.
pub fn read_record(obj: &Object, row: &Row<'_>) -> rusqlite::Result<Record> {
    let mut values = Vec::with_capacity(obj.fields.len());
    for (i, f) in obj.fields.iter().enumerate() {
        values.push(read_value(row, 5 + i, f.ty)?);
    }
    Ok(Record {
        id: row.get(0)?,
        created_at: row.get(1)?,
        updated_at: row.get(2)?,
        created_by: row.get(3)?,
        updated_by: row.get(4)?,
        values,
    })
}
