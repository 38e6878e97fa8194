//! SOQL's literals as parameters for the column they compare with: a value of the field's type
//! or Salesforce's refusal, in the form sluice stores it (dates `YYYY-MM-DD`, dateTimes RFC 3339
//! in UTC with milliseconds, record ids in lower case, text folded for comparisons without regard
//! to case), and date literals as the ends of their ranges.

use super::ast::{Cmp, Op, Value};
use super::dates;
use super::resolve::{Column, Kind};
use super::translate::Sql;
use super::{SoqlError, INVALID_FIELD, MALFORMED_QUERY};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{json, Value as Json};

/// A dateTime as sluice stores them: RFC 3339 in UTC with milliseconds, so text order (SQLite's)
/// is time order.
fn stamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A record id as sluice writes them (UUIDs in lower case); other text as it is.
fn id_form(s: &str) -> String {
    let uuid = s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    if uuid {
        s.to_ascii_lowercase()
    } else {
        s.to_owned()
    }
}

impl Sql<'_> {
    /// Salesforce's refusal of a value whose type is not the field's.
    pub(super) fn wrong_type(&self, col: &Column, at: usize) -> SoqlError {
        let t = col.kind.soap_type();
        let quotes = if t == "string" || t == "id" {
            "should be enclosed in quotes"
        } else {
            "should not be enclosed in quotes"
        };
        self.error_at(
            INVALID_FIELD,
            at,
            &format!(
                "value of filter criterion for field '{}' must be of type {t} and {quotes}",
                col.written
            ),
        )
    }

    /// A literal as a parameter for `col`, and whether it must be read as a real number (a
    /// fraction compared with an integer field).
    pub(super) fn typed(
        &self,
        col: &Column,
        v: &Value,
        at: usize,
    ) -> Result<(Json, bool), SoqlError> {
        let number = |n: &str| -> Result<(Json, bool), SoqlError> {
            if let Ok(i) = n.parse::<i64>() {
                return Ok((json!(i), false));
            }
            match n.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok((json!(f), col.kind == Kind::Integer)),
                _ => Err(self.error_at(
                    MALFORMED_QUERY,
                    at,
                    &format!("numeric value out of range: {n}"),
                )),
            }
        };
        match (col.kind, v) {
            (Kind::Text, Value::Str { value, .. }) => {
                Ok((json!(value.to_ascii_lowercase()), false))
            }
            (Kind::Exact, Value::Str { value, .. }) => Ok((json!(value), false)),
            (Kind::Id, Value::Str { value, .. }) => Ok((json!(id_form(value)), false)),
            (Kind::Integer | Kind::Number, Value::Num(n)) => number(n),
            (Kind::Boolean, Value::Bool(b)) => Ok((json!(b), false)),
            (Kind::Date, Value::Date(d)) => Ok((json!(d.format("%Y-%m-%d").to_string()), false)),
            (Kind::DateTime, Value::DateTime(t)) => Ok((json!(stamp(t)), false)),
            _ => Err(self.wrong_type(col, at)),
        }
    }

    /// A typed literal's placeholder.
    pub(super) fn placeholder(
        &mut self,
        col: &Column,
        v: &Value,
        at: usize,
    ) -> Result<String, SoqlError> {
        let (value, real) = self.typed(col, v, at)?;
        let p = self.param(value);
        Ok(if real {
            format!("CAST({p} AS DOUBLE PRECISION)")
        } else {
            p
        })
    }

    /// A comparison with a date literal: the range of days it stands for.
    pub(super) fn relative(
        &mut self,
        col: &Column,
        op: Op,
        c: &Cmp,
        name: &str,
        n: Option<&str>,
        negate: bool,
    ) -> Result<String, SoqlError> {
        let (lo, hi) = dates::range(name, n, self.today)
            .map_err(|text| self.error_at(MALFORMED_QUERY, c.value_at, &text))?;
        let bound = |d: NaiveDate| match col.kind {
            Kind::Date => Ok(json!(d.format("%Y-%m-%d").to_string())),
            Kind::DateTime => Ok(json!(format!("{}T00:00:00.000Z", d.format("%Y-%m-%d")))),
            _ => Err(self.wrong_type(col, c.value_at)),
        };
        let (lo, hi) = (bound(lo)?, bound(hi)?);
        let raw = col.sql.clone();
        // `=` is within the range (`!=`, its negation, outside it); the others compare with one of
        // its ends.
        let (op, other, end) = match op {
            Op::Eq => {
                let (lo, hi) = (self.param(lo), self.param(hi));
                return Ok(if negate {
                    format!("({raw} IS NULL OR {raw} < {lo} OR {raw} >= {hi})")
                } else {
                    format!("({raw} >= {lo} AND {raw} < {hi})")
                });
            }
            Op::Lt => ("<", ">=", lo),
            Op::Le => ("<", ">=", hi),
            Op::Gt => (">=", "<", hi),
            Op::Ge => (">=", "<", lo),
            _ => return Err(self.wrong_type(col, c.value_at)),
        };
        let p = self.param(end);
        Ok(if negate {
            format!("({raw} IS NULL OR {raw} {other} {p})")
        } else {
            format!("({raw} {op} {p})")
        })
    }
}
