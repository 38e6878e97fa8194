//! A batch's selection: the ids it was given (stored when it is created) and the ids its queries
//! yield (resolved when it starts), as ordered entries of the stored selection.

use super::check::no_id_column;
use crate::error::Result;
use crate::model::{Batch, QueryResult, Selected};
use serde_json::Value as Json;

/// Moves the ids given with the operations into selection entries; the operations keep their count.
pub fn take_given(batch: &mut Batch) -> Vec<Selected> {
    let mut given = Vec::new();
    for (i, op) in batch.operations.iter_mut().enumerate() {
        if let Some(ids) = op.ids.take() {
            op.ids_count = Some(ids.len());
            given.extend(
                ids.into_iter()
                    .enumerate()
                    .map(|(j, id)| Selected::new(i, j, id)),
            );
        }
    }
    given
}

/// The ids a query answer selects, from its `id` column (null ids are skipped).
pub fn ids_of(result: QueryResult) -> Result<Vec<String>> {
    let col = result.column("id").ok_or_else(no_id_column)?;
    Ok(result
        .rows
        .into_iter()
        .filter_map(|mut r| match r.swap_remove(col) {
            Json::String(s) => Some(s),
            Json::Null => None,
            other => Some(other.to_string()),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::model::{Action, BatchOp, BatchStatus, Timestamp};
    use serde_json::json;

    #[test]
    fn given_ids_become_ordered_entries() {
        let op = |ids: Option<Vec<&str>>| BatchOp {
            action: Action::Delete,
            object: "o".into(),
            object_id: uuid::Uuid::nil(),
            query: ids.is_none().then(|| "SELECT id FROM o".into()),
            ids: ids.map(|v| v.into_iter().map(String::from).collect()),
            ids_count: None,
            set: None,
        };
        let now = Timestamp::now();
        let mut b = Batch {
            id: "b".into(),
            app_id: uuid::Uuid::nil(),
            app: "a".into(),
            view: None,
            status: BatchStatus::Pending,
            lease: None,
            operations: vec![op(Some(vec!["x", "y"])), op(None), op(Some(vec!["z"]))],
            objects_total: 0,
            objects_success: 0,
            objects_failed: 0,
            objects_cascaded: 0,
            position: 0,
            cancel_requested: false,
            error: None,
            created_at: now.clone(),
            updated_at: now,
            started_at: None,
            completed_at: None,
            created_by: String::new(),
            created_by_id: String::new(),
            updated_by: String::new(),
            updated_by_id: String::new(),
        };
        let given = take_given(&mut b);
        let seqs: Vec<(u32, &str)> = given.iter().map(|s| (s.op, s.record.as_str())).collect();
        assert_eq!(seqs, vec![(0, "x"), (0, "y"), (2, "z")]);
        assert!(given.windows(2).all(|w| w[0].seq < w[1].seq));
        assert_eq!(b.operations[0].ids_count, Some(2));
        assert!(b.operations.iter().all(|o| o.ids.is_none()));
    }

    #[test]
    fn query_answers_need_an_id_column() {
        let r = QueryResult {
            columns: vec!["n".into(), "ID".into()],
            types: vec![],
            rows: vec![
                vec![json!(1), json!("a")],
                vec![json!(2), Json::Null],
                vec![json!(3), json!(7)],
            ],
        };
        assert_eq!(ids_of(r).unwrap(), vec!["a".to_owned(), "7".to_owned()]);
        let none = QueryResult {
            columns: vec!["n".into()],
            ..QueryResult::default()
        };
        assert_eq!(ids_of(none).unwrap_err().code, ErrorCode::ValidationFailed);
    }
}
