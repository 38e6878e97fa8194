//! A batch's dry run: the request checked as for a real batch, its selection resolved (given ids
//! that name records, and what its queries select), and how many records that is — nothing is
//! stored or changed.

use super::check::BatchRequest;
use super::service::Batches;
use crate::auth::{Need, Principal};
use crate::error::{ErrorCode, Result};
use crate::model::{QueryView, Value};

/// Ids a dry run shows of its selection.
pub const SAMPLE_IDS: usize = 20;

/// What a batch would change.
#[derive(Debug, Clone, PartialEq)]
pub struct DryRun {
    /// Records the batch would delete or update (a query's count stops past the limit).
    pub count: u64,
    pub sample_ids: Vec<String>,
    /// The batch's record limit, and whether the selection is over it (a real batch would fail).
    pub limit: u64,
    pub over_limit: bool,
}

impl Batches {
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
                    match self.selected_ids(&app, sql, view.clone(), max).await {
                        // More than the limit: counted as one past it.
                        Err(e) if e.code == ErrorCode::LimitExceeded => {
                            count += max + 1;
                            continue;
                        }
                        other => other?,
                    }
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
