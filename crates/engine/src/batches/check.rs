//! Batch requests as clients send them, and their checks against the objects (pure).

use crate::error::{Error, ErrorCode, Result};
use crate::model::{Action, BatchOp, Object, WriteMode, Writes};
use serde::Deserialize;
use serde_json::Value as Json;

/// One operation as clients send it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpSpec {
    pub action: Action,
    #[serde(default)]
    pub object: Option<String>,
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub ids: Option<Vec<String>>,
    #[serde(default)]
    pub set: Option<Json>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    #[serde(default)]
    pub start: bool,
    /// Resolve the selection and say how many records it holds; create nothing.
    #[serde(default)]
    pub dry_run: bool,
    pub operations: Vec<OpSpec>,
}

fn over_limit(max_records: u64, given: usize) -> Error {
    Error::new(
        ErrorCode::LimitExceeded,
        format!("a batch changes at most {max_records} records; {given} ids were given"),
    )
    .with_field("ids")
}

/// Checks one operation against its object (its query is checked by the caller).
pub fn check_op(spec: OpSpec, obj: &Object, max_records: u64) -> Result<BatchOp> {
    match (&spec.query, &spec.ids) {
        (Some(_), Some(_)) => {
            return Err(
                Error::invalid("an operation takes query or ids, not both").with_field("ids")
            )
        }
        (None, None) => {
            return Err(
                Error::new(ErrorCode::Required, "an operation needs query or ids")
                    .with_field("query"),
            )
        }
        (None, Some(ids)) if ids.len() as u64 > max_records => {
            return Err(over_limit(max_records, ids.len()))
        }
        _ => {}
    }
    match (spec.action, &spec.set) {
        (Action::Update, None) => {
            return Err(Error::new(ErrorCode::Required, "update needs set").with_field("set"))
        }
        (Action::Delete, Some(_)) => {
            return Err(Error::invalid("delete takes no set").with_field("set"))
        }
        (Action::Update, Some(set)) => {
            let w = Writes::from_body(obj, set, WriteMode::Merge)?;
            if w.0.is_empty() {
                return Err(Error::validation("set", "set changes no field"));
            }
        }
        (Action::Delete, None) => {}
    }
    Ok(BatchOp {
        action: spec.action,
        object: obj.name.to_string(),
        object_id: obj.id,
        query: spec.query,
        ids: spec.ids,
        ids_count: None,
        set: spec.set,
    })
}

/// Checks the ids given across all operations against the limit.
pub fn check_given(ops: &[BatchOp], max_records: u64) -> Result<usize> {
    let given: usize = ops
        .iter()
        .filter_map(|o| o.ids.as_ref().map(Vec::len))
        .sum();
    if given as u64 > max_records {
        return Err(Error::new(
            ErrorCode::LimitExceeded,
            format!("a batch changes at most {max_records} records"),
        )
        .with_field("ids"));
    }
    Ok(given)
}

pub fn no_id_column() -> Error {
    Error::validation(
        "query",
        "the query must yield an id column (e.g. SELECT _record_id AS id …)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ObjectSpec, Timestamp};
    use serde_json::json;

    fn obj() -> Object {
        let spec: ObjectSpec = serde_json::from_value(json!({"name": "o", "fields": [
            {"name": "status", "type": "text"}, {"name": "n", "type": "integer"}
        ]}))
        .unwrap();
        Object::from_spec(uuid::Uuid::nil(), spec, Timestamp::now()).unwrap()
    }

    fn spec(v: Json) -> OpSpec {
        serde_json::from_value(v).unwrap()
    }

    fn code(v: Json) -> (ErrorCode, Option<String>) {
        let e = check_op(spec(v), &obj(), 3).unwrap_err();
        (e.code, e.field)
    }

    #[test]
    fn an_operation_takes_a_query_or_ids() {
        let ok = check_op(
            spec(json!({"action": "delete", "ids": ["a", "b"]})),
            &obj(),
            3,
        )
        .unwrap();
        assert_eq!(
            (ok.object.as_str(), ok.ids.map(|i| i.len())),
            ("o", Some(2))
        );
        assert_eq!(
            code(json!({"action": "delete", "ids": ["a"], "query": "SELECT 1"})),
            (ErrorCode::InvalidRequest, Some("ids".into()))
        );
        assert_eq!(
            code(json!({"action": "delete"})),
            (ErrorCode::Required, Some("query".into()))
        );
        assert_eq!(
            code(json!({"action": "delete", "ids": ["a", "b", "c", "d"]})),
            (ErrorCode::LimitExceeded, Some("ids".into()))
        );
    }

    #[test]
    fn updates_need_a_set_that_changes_a_field() {
        assert_eq!(
            code(json!({"action": "update", "ids": ["a"]})),
            (ErrorCode::Required, Some("set".into()))
        );
        assert_eq!(
            code(json!({"action": "delete", "ids": ["a"], "set": {"n": 1}})),
            (ErrorCode::InvalidRequest, Some("set".into()))
        );
        assert_eq!(
            code(json!({"action": "update", "ids": ["a"], "set": {}})).0,
            ErrorCode::ValidationFailed
        );
        assert_eq!(
            code(json!({"action": "update", "ids": ["a"], "set": {"n": "x"}})).0,
            ErrorCode::ValidationFailed
        );
        assert!(check_op(
            spec(json!({"action": "update", "ids": ["a"], "set": {"status": "done"}})),
            &obj(),
            3
        )
        .is_ok());
    }

    #[test]
    fn given_ids_count_across_operations() {
        let ops: Vec<BatchOp> = (0..2)
            .map(|_| {
                check_op(
                    spec(json!({"action": "delete", "ids": ["a", "b"]})),
                    &obj(),
                    3,
                )
                .unwrap()
            })
            .collect();
        assert_eq!(check_given(&ops[..1], 3).unwrap(), 2);
        assert_eq!(
            check_given(&ops, 3).unwrap_err().code,
            ErrorCode::LimitExceeded
        );
    }
}
