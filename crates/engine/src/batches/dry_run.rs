//! A batch's dry run: the request checked as for a real batch, its selection resolved (given ids
//! that name records, and what its queries select), and how many records that is — nothing is
//! stored or changed.

use super::check::BatchRequest;
use super::service::Batches;
use crate::error::Result;
use crate::model::{Need, Principal, QueryView, Value};
use serde_json::Value as Json;

/// Ids a dry run shows of its selection.
pub const SAMPLE_IDS: usize = 20;

/// What a batch would change.
#[derive(Debug, Clone, PartialEq)]
pub struct DryRun {
    /// Records the batch would delete or update: exact, however far past the limit (a query is
    /// counted as it streams, within the query time limit).
    pub count: u64,
    pub sample_ids: Vec<String>,
    /// The batch's record limit, and whether the selection is over it (a real batch would fail).
    pub limit: u64,
    pub over_limit: bool,
}

impl Batches {
    /// How many ids `sql` selects (null ids are skipped), and the first `wanted` of them: the rows
    /// stream through once, nothing is held but the sample, and the query's time limit bounds it.
    async fn counted_ids(
        &self,
        app: &crate::model::App,
        sql: &str,
        view: Option<QueryView>,
        wanted: usize,
    ) -> Result<(u64, Vec<String>)> {
        let checked = self.check(app, sql, view)?;
        let limits = self.core().settings.query.clone();
        self.core()
            .read(move |ctx| {
                let columns = ctx.tx.query_columns(&checked, &limits)?;
                let col = columns
                    .iter()
                    .position(|c| c == "id")
                    .ok_or_else(super::check::no_id_column)?;
                let (mut n, mut sample) = (0u64, Vec::new());
                ctx.tx.query_each(&checked, &[], &limits, &mut |row| {
                    match row.into_iter().nth(col) {
                        None | Some(Json::Null) => {}
                        Some(id) => {
                            n += 1;
                            if sample.len() < wanted {
                                sample.push(match id {
                                    Json::String(s) => s,
                                    other => other.to_string(),
                                });
                            }
                        }
                    }
                    Ok(())
                })?;
                Ok((n, sample))
            })
            .await
    }

    /// Resolves what `req` would select, and changes nothing.
    pub async fn dry_run(
        &self,
        who: &Principal,
        app_name: &str,
        req: BatchRequest,
        view: Option<QueryView>,
    ) -> Result<DryRun> {
        let app = self.core().app(who, app_name, Need::Write)?;
        let ops = self.checked_ops(&app, req.operations, view.clone()).await?;
        let max = self.core().settings.max_batch_records;
        let (mut count, mut sample) = (0u64, Vec::new());
        for op in &ops {
            let ids = match (&op.ids, &op.query) {
                (Some(given), _) => {
                    let obj = app.object_by_id(&op.object_id.to_string()).cloned();
                    let given = given.clone();
                    self.core()
                        .read(move |ctx| {
                            let Some(obj) = obj else {
                                return Ok(Vec::new());
                            };
                            let keys: Vec<Value> =
                                given.iter().map(|id| Value::Text(id.clone())).collect();
                            let refs: Vec<&Value> = keys.iter().collect();
                            Ok(ctx
                                .tx
                                .find_ids(&obj, None, &refs)?
                                .into_iter()
                                .flatten()
                                .collect())
                        })
                        .await?
                }
                (None, Some(sql)) => {
                    let wanted = SAMPLE_IDS.saturating_sub(sample.len());
                    let (n, ids) = self.counted_ids(&app, sql, view.clone(), wanted).await?;
                    count += n;
                    sample.extend(ids);
                    continue;
                }
                (None, None) => Vec::new(),
            };
            count += ids.len() as u64;
            sample.extend(
                ids.into_iter()
                    .take(SAMPLE_IDS.saturating_sub(sample.len())),
            );
        }
        Ok(DryRun {
            count,
            sample_ids: sample,
            limit: max,
            over_limit: count > max,
        })
    }
}
