//! The engine's query and batch face: read-only SQL, and batches created, started, run in chunked
//! transactions with live counters, canceled, and resumed after a restart.

use crate::auth::{Need, Principal};
use crate::batches::{self, Action, Batch, BatchDialect, BatchRequest, BatchStatus};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{App, WriteMode, Writes};
use crate::query::{self, CheckedQuery, Flavor, QueryLimits, QueryResult};
use crate::Engine;
use serde_json::Value as Json;
use std::sync::Arc;

fn flavor(d: BatchDialect) -> Flavor {
    match d {
        BatchDialect::Native => Flavor::Native,
        BatchDialect::Fulcrum => Flavor::Fulcrum,
    }
}

impl Engine {
    /// Runs one read-only query over `app`'s objects (reader role is enough).
    pub async fn query(
        &self,
        who: &Principal,
        app: &str,
        sql: &str,
        params: Vec<Json>,
        flavor: Flavor,
    ) -> Result<QueryResult> {
        let app = self.app_for(who, app, Need::Read)?;
        let limits = self.settings().query.clone();
        let checked = query::prepare(&app, sql, flavor, limits.max_sql_len)?;
        self.read(move |ctx| ctx.tx.query(&checked, &params, &limits))
            .await?
    }

    /// The ids a batch query selects; the query must yield an `id` column.
    async fn selected_ids(
        &self,
        checked: CheckedQuery,
        limits: QueryLimits,
    ) -> Result<Vec<String>> {
        let result = self
            .read(move |ctx| ctx.tx.query(&checked, &[], &limits))
            .await??;
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

    fn check_batch_query(
        &self,
        app: &App,
        sql: &str,
        dialect: BatchDialect,
    ) -> Result<CheckedQuery> {
        query::prepare(app, sql, flavor(dialect), self.settings().query.max_sql_len)
            .map_err(|e| e.with_field("query"))
    }

    /// Checks a batch request completely and stores it; starts it if asked.
    pub async fn create_batch(
        self: &Arc<Self>,
        who: &Principal,
        app_name: &str,
        req: BatchRequest,
        dialect: BatchDialect,
    ) -> Result<Batch> {
        let app = self.app_for(who, app_name, Need::Write)?;
        let max = self.settings().max_batch_records;
        let mut specs = req.operations;
        if specs.is_empty() {
            return Err(
                Error::new(ErrorCode::Required, "a batch needs at least one operation")
                    .with_field("operations"),
            );
        }
        if dialect == BatchDialect::Fulcrum {
            // Fulcrum: "Only the first operation will run."
            specs.truncate(1);
        }
        let mut ops = Vec::with_capacity(specs.len());
        for spec in specs {
            let obj = match (&spec.object, &spec.form_id) {
                (Some(name), _) => app.object(name),
                (None, Some(id)) => app
                    .object_by_id(id)
                    .or_else(|| app.object_by_name_or_label(id)),
                (None, None) => {
                    return Err(
                        Error::new(ErrorCode::Required, "an operation names its object")
                            .with_field("object"),
                    )
                }
            }
            .cloned()
            .ok_or_else(|| {
                Error::not_found("the operation's object does not exist").with_field("object")
            })?;
            if let Some(sql) = &spec.query {
                // Checked now, not at start: a query that cannot run or yields no id is refused here.
                let mut probe = self.check_batch_query(&app, sql, dialect)?;
                probe.sql = format!("SELECT * FROM ({}) LIMIT 0", probe.sql);
                let limits = self.settings().query.clone();
                let cols = self
                    .read(move |ctx| ctx.tx.query(&probe, &[], &limits))
                    .await??;
                cols.column("id").ok_or_else(no_id_column)?;
            }
            ops.push(batches::check_op(spec, &obj, max)?);
        }
        let total_ids: usize = ops
            .iter()
            .filter_map(|o| o.ids.as_ref().map(Vec::len))
            .sum();
        if total_ids as u64 > max {
            return Err(Error::new(
                ErrorCode::LimitExceeded,
                format!("a batch changes at most {max} records"),
            )
            .with_field("ids"));
        }
        let (name, id) = self.display_name(&app, who).await;
        let now = crate::model::Timestamp::now();
        let batch = Batch {
            id: batches::new_id(),
            app_id: app.id,
            app: app.name.to_string(),
            dialect,
            status: BatchStatus::Pending,
            operations: ops,
            objects_total: 0,
            objects_success: 0,
            objects_failed: 0,
            position: 0,
            cancel_requested: false,
            error: None,
            created_at: now.clone(),
            updated_at: now,
            started_at: None,
            completed_at: None,
            created_by: name.clone(),
            created_by_id: id.clone(),
            updated_by: name,
            updated_by_id: id,
        };
        // Given ids go straight into the stored selection; the batch document keeps their count.
        let mut batch = batch;
        let mut given = Vec::with_capacity(total_ids);
        for (i, op) in batch.operations.iter_mut().enumerate() {
            if let Some(ids) = op.ids.take() {
                op.ids_count = Some(ids.len());
                given.extend(
                    ids.into_iter()
                        .enumerate()
                        .map(|(j, id)| (seq(i, j), i as u32, id)),
                );
            }
        }
        let b = batch.clone();
        self.write(move |ctx| {
            let r = ctx
                .tx
                .put_batch(&b)
                .and_then(|()| ctx.tx.put_batch_ids(&b.id, &given));
            (r.is_ok(), r)
        })
        .await??;
        if req.start {
            return self.start_batch(who, app_name, &batch.id).await;
        }
        Ok(batch)
    }

    /// A user's display name ("First Last" when the app knows the user) and id.
    async fn display_name(&self, app: &App, who: &Principal) -> (String, String) {
        let (app_id, user) = (app.id, who.user_name().to_owned());
        let row = self
            .read(move |ctx| ctx.tx.get_user(app_id, &user))
            .await
            .ok()
            .and_then(|r| r.ok())
            .flatten();
        match row {
            Some(u) if !format!("{}{}", u.first_name, u.last_name).trim().is_empty() => (
                format!("{} {}", u.first_name, u.last_name)
                    .trim()
                    .to_owned(),
                u.id,
            ),
            Some(u) => (u.name, u.id),
            None => (who.user_name().to_owned(), who.user_id().to_owned()),
        }
    }

    async fn load_batch(&self, who: &Principal, app: &str, id: &str, need: Need) -> Result<Batch> {
        let app = self.app_for(who, app, need)?;
        let id = id.to_owned();
        let b = self.read(move |ctx| ctx.tx.get_batch(&id)).await??;
        b.filter(|b| b.app_id == app.id)
            .ok_or_else(|| Error::not_found("no such batch"))
    }

    pub async fn get_batch(&self, who: &Principal, app: &str, id: &str) -> Result<Batch> {
        self.load_batch(who, app, id, Need::Read).await
    }

    pub async fn list_batches(
        &self,
        who: &Principal,
        app: &str,
        limit: usize,
    ) -> Result<Vec<Batch>> {
        let app = self.app_for(who, app, Need::Read)?;
        self.read(move |ctx| ctx.tx.list_batches(app.id, limit))
            .await?
    }

    /// Resolves the selection (now, not at creation), checks the record limit before anything
    /// changes, stores the selection with the batch, and runs it in the background.
    pub async fn start_batch(
        self: &Arc<Self>,
        who: &Principal,
        app_name: &str,
        id: &str,
    ) -> Result<Batch> {
        let batch = self.load_batch(who, app_name, id, Need::Write).await?;
        if batch.status != BatchStatus::Pending {
            return Err(Error::new(
                ErrorCode::Conflict,
                format!("the batch is already {}", batch.status.as_str()),
            ));
        }
        let app = self.app_for(who, app_name, Need::Write)?;
        let max = self.settings().max_batch_records;
        let limits = QueryLimits {
            max_rows: max as usize + 1,
            ..self.settings().query.clone()
        };
        // Query operations are resolved now; given ids were stored at creation.
        let mut selection: Vec<(u64, u32, String)> = Vec::new();
        let mut total = batch
            .operations
            .iter()
            .filter_map(|o| o.ids_count)
            .sum::<usize>() as u64;
        for (i, op) in batch.operations.iter().enumerate() {
            let ids = match &op.query {
                Some(sql) => {
                    let checked = self.check_batch_query(&app, sql, batch.dialect)?;
                    match self.selected_ids(checked, limits.clone()).await {
                        Err(e) if e.code == ErrorCode::LimitExceeded => {
                            vec![String::new(); max as usize + 1]
                        }
                        other => other?,
                    }
                }
                None => Vec::new(),
            };
            total += ids.len() as u64;
            selection.extend(
                ids.into_iter()
                    .enumerate()
                    .map(|(j, id)| (seq(i, j), i as u32, id)),
            );
        }
        let (name, user_id) = self.display_name(&app, who).await;
        let over = total > max;
        let id = batch.id.clone();
        let started = self
            .write(move |ctx| {
                let r = (|| {
                    let mut b = ctx
                        .tx
                        .get_batch(&id)?
                        .ok_or_else(|| Error::not_found("no such batch"))?;
                    if b.status != BatchStatus::Pending {
                        return Err(Error::new(
                            ErrorCode::Conflict,
                            format!("the batch is already {}", b.status.as_str()),
                        ));
                    }
                    b.updated_at = ctx.now.clone();
                    b.updated_by = name;
                    b.updated_by_id = user_id;
                    b.started_at = Some(ctx.now.clone());
                    if over {
                        ctx.tx.delete_batch_ids(&b.id)?;
                        b.status = BatchStatus::Failed;
                        b.completed_at = Some(ctx.now.clone());
                        b.error = Some(format!(
                            "the selection holds more than {max} records; nothing was changed"
                        ));
                    } else {
                        b.status = BatchStatus::Running;
                        b.objects_total = total;
                        ctx.tx.put_batch_ids(&b.id, &selection)?;
                    }
                    ctx.tx.put_batch(&b)?;
                    Ok(b)
                })();
                (r.is_ok(), r)
            })
            .await??;
        if over {
            return Err(Error::new(ErrorCode::LimitExceeded, format!("the batch selects more than {max} records; it is marked failed and nothing changed")));
        }
        let engine = self.clone();
        let bid = started.id.clone();
        tokio::spawn(async move { engine.run_batch(bid).await });
        Ok(started)
    }

    /// Cancels a batch (native only): a pending one at once, a running one before its next chunk.
    pub async fn cancel_batch(&self, who: &Principal, app: &str, id: &str) -> Result<Batch> {
        let batch = self.load_batch(who, app, id, Need::Write).await?;
        let id = batch.id;
        self.write(move |ctx| {
            let r = (|| {
                let mut b = ctx
                    .tx
                    .get_batch(&id)?
                    .ok_or_else(|| Error::not_found("no such batch"))?;
                match b.status {
                    BatchStatus::Pending => {
                        b.status = BatchStatus::Canceled;
                        b.completed_at = Some(ctx.now.clone());
                        ctx.tx.delete_batch_ids(&b.id)?;
                    }
                    BatchStatus::Running => b.cancel_requested = true,
                    s => {
                        return Err(Error::new(
                            ErrorCode::Conflict,
                            format!("the batch is already {}", s.as_str()),
                        ))
                    }
                }
                b.updated_at = ctx.now.clone();
                ctx.tx.put_batch(&b)?;
                Ok(b)
            })();
            (r.is_ok(), r)
        })
        .await?
    }

    /// Resumes batches a crash left running.
    pub(crate) async fn resume_batches(self: &Arc<Self>) -> Result<()> {
        let running = self
            .read(|ctx| ctx.tx.batches_by_status(BatchStatus::Running.as_str()))
            .await??;
        for b in running {
            let engine = self.clone();
            tokio::spawn(async move { engine.run_batch(b.id).await });
        }
        Ok(())
    }

    /// Runs a started batch chunk by chunk; each chunk and the counters move in one transaction.
    async fn run_batch(self: Arc<Self>, id: String) {
        let chunk = self.settings().batch_chunk_rows.max(1);
        let pause = self.settings().batch_pause;
        loop {
            let bid = id.clone();
            let step = self
                .write(move |ctx| {
                    let r = batch_chunk(ctx, &bid, chunk);
                    (r.is_ok(), r)
                })
                .await;
            match step {
                Ok(Ok(true)) => {
                    crate::jobs::failpoint::hit("batch.chunk.after_commit");
                    if !pause.is_zero() {
                        tokio::time::sleep(pause).await;
                    }
                }
                Ok(Ok(false)) => return,
                // Stopping: the batch resumes at the next start. Otherwise the store refused this
                // time: try again shortly.
                Err(_) if self.jobs.is_stopping() => return,
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(500)).await,
                Ok(Err(e)) => {
                    tracing::error!(batch = %id, error = %e, "batch failed");
                    let bid = id.clone();
                    let _ = self
                        .write(move |ctx| {
                            let r = (|| {
                                let mut b = ctx
                                    .tx
                                    .get_batch(&bid)?
                                    .ok_or_else(|| Error::not_found("gone"))?;
                                b.status = BatchStatus::Failed;
                                b.error = Some(e.message.clone());
                                b.completed_at = Some(ctx.now.clone());
                                b.updated_at = ctx.now.clone();
                                ctx.tx.delete_batch_ids(&bid)?;
                                ctx.tx.put_batch(&b)
                            })();
                            (r.is_ok(), r)
                        })
                        .await;
                    return;
                }
            }
        }
    }
}

/// A selection entry's place: operations in order, then records in order within each.
fn seq(op: usize, j: usize) -> u64 {
    ((op as u64) << 32) | j as u64
}

fn no_id_column() -> Error {
    Error::validation(
        "query",
        "the query must yield an id column (e.g. SELECT _record_id AS id …)",
    )
}

/// One chunk of a running batch; `Ok(true)` while there is more to do.
fn batch_chunk(ctx: &mut crate::ops::Ctx<'_>, id: &str, chunk: usize) -> Result<bool> {
    let Some(mut b) = ctx.tx.get_batch(id)? else {
        return Ok(false);
    };
    if b.status != BatchStatus::Running {
        return Ok(false);
    }
    let finish = |ctx: &mut crate::ops::Ctx<'_>, b: &mut Batch, status| -> Result<bool> {
        b.status = status;
        b.completed_at = Some(ctx.now.clone());
        b.updated_at = ctx.now.clone();
        ctx.tx.delete_batch_ids(&b.id)?;
        ctx.tx.put_batch(b)?;
        Ok(false)
    };
    if b.cancel_requested {
        return finish(ctx, &mut b, BatchStatus::Canceled);
    }
    let items = ctx.tx.batch_ids(&b.id, b.position, chunk)?;
    if items.is_empty() {
        return finish(ctx, &mut b, BatchStatus::Success);
    }
    let stamp = crate::model::Stamp {
        user: b.updated_by.clone(),
        at: ctx.now.clone(),
    };
    let app = ctx.catalog.app_by_id(b.app_id).cloned();
    let mut writes: Vec<Option<Writes>> = Vec::with_capacity(b.operations.len());
    let objects: Vec<_> = b
        .operations
        .iter()
        .map(|op| {
            app.as_ref()
                .and_then(|a| a.object_by_id(&op.object_id.to_string()).cloned())
        })
        .collect();
    for (op, obj) in b.operations.iter().zip(&objects) {
        writes.push(match (op.action, &op.set, obj) {
            (Action::Update, Some(set), Some(obj)) => {
                Writes::from_body(obj, set, WriteMode::Merge).ok()
            }
            _ => None,
        });
    }
    for (seq, op_index, record) in items {
        let i = op_index as usize;
        let ok = match (
            b.operations.get(i).map(|o| o.action),
            objects.get(i).and_then(Option::as_ref),
        ) {
            (Some(Action::Delete), Some(obj)) => {
                ctx.tx.delete_record(obj, &record).unwrap_or(false)
            }
            (Some(Action::Update), Some(obj)) => match writes.get(i).and_then(Option::as_ref) {
                Some(w) => ctx
                    .tx
                    .update_record(obj, &record, w, &stamp)
                    .unwrap_or(false),
                None => false,
            },
            _ => false,
        };
        if ok {
            b.objects_success += 1;
        } else {
            b.objects_failed += 1;
        }
        b.position = seq + 1;
    }
    b.updated_at = ctx.now.clone();
    ctx.tx.put_batch(&b)?;
    Ok(true)
}
