//! The engine's face: opens a store and starts the background work, runs ops and bulk requests,
//! and hands out the services (auth, jobs, batches, queries) that front doors call.

use crate::aliases::Aliases;
use crate::auth::Auth;
use crate::batches::Batches;
use crate::core::Core;
use crate::error::{Error, ErrorCode, Result};
use crate::exports::Exports;
use crate::jobs::Jobs;
use crate::model::{Answer, Catalog, IdemKey, Keyed, Principal};
use crate::ops::{self, BulkItem, BulkMsg, Op, Output};
use crate::query::Queries;
use crate::settings::Settings;
use crate::store;
use crate::tasks::Scheduler;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub struct Engine {
    core: Arc<Core>,
    aliases: Aliases,
    auth: Auth,
    jobs: Jobs,
    batches: Batches,
    exports: Exports,
    queries: Queries,
    /// Where local caches live (the sweeper clears what outlived the retention period).
    data_dir: std::path::PathBuf,
}

impl Engine {
    /// Opens the store `database` names (`None`: the embedded database in `data_dir`), creating it if
    /// needed; local files (uploads, results) live in `data_dir`.
    pub fn open(database: Option<&str>, data_dir: &Path, settings: Settings) -> Result<Engine> {
        std::fs::create_dir_all(data_dir).map_err(Error::internal)?;
        let store = store::open(database, data_dir, &settings.store, settings.lease)?;
        let core = Arc::new(Core::new(store, settings));
        let jobs = Jobs::new(core.clone(), data_dir)?;
        Ok(Engine {
            aliases: Aliases::new(core.clone()),
            auth: Auth::new(core.clone()),
            exports: Exports::new(core.clone(), jobs.callbacks(), data_dir)?,
            jobs,
            batches: Batches::new(core.clone()),
            queries: Queries::new(core.clone()),
            data_dir: data_dir.to_owned(),
            core,
        })
    }

    /// Starts the background work: the sweeper, pending callbacks, and the scheduler's executors
    /// of jobs, exports and batches (each taking back first what a crash left running).
    pub async fn start(&self) -> Result<()> {
        crate::sweep::start(&self.core, self.data_dir.join("cache"));
        let scheduler = Scheduler::new(self.core.clone());
        self.jobs.start(&scheduler).await?;
        self.exports.start(&scheduler).await?;
        self.batches.run_background(&scheduler).await
    }

    /// Stops background work at its next chunk boundary (waiting up to `limit`), then the store
    /// once queued writes are done.
    pub async fn shutdown(&self, limit: Duration) {
        self.core.background.stop();
        self.core.background.drain(limit).await;
        self.core.store.close();
    }

    /// Copies this whole instance into `target`, which must be empty (see `copy`); returns the
    /// counts of both sides. Neither engine needs to be started.
    pub async fn copy_into(
        &self,
        target: &Engine,
        progress: &(dyn Fn(crate::copy::CopyProgress) + Send + Sync),
    ) -> Result<Vec<crate::copy::Counted>> {
        crate::copy::run(&self.core, &target.core, progress).await
    }

    pub fn settings(&self) -> &Settings {
        &self.core.settings
    }

    pub fn catalog(&self) -> Arc<Catalog> {
        self.core.catalog()
    }

    pub fn aliases(&self) -> &Aliases {
        &self.aliases
    }

    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    pub fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    pub fn batches(&self) -> &Batches {
        &self.batches
    }

    pub fn exports(&self) -> &Exports {
        &self.exports
    }

    /// Deletes now what outlived the result retention (the sweeper does it every hour).
    pub async fn sweep_results(&self) -> Result<crate::sweep::Swept> {
        crate::sweep::expire_results(&self.core, &self.data_dir.join("cache")).await
    }

    pub fn queries(&self) -> &Queries {
        &self.queries
    }

    /// The SQL the store's read-only queries are written in.
    pub fn syntax(&self) -> crate::model::SqlSyntax {
        self.core.store.syntax()
    }

    /// Breakpoints tests arm to hold background runners at named places.
    #[cfg(feature = "failpoints")]
    pub fn breakpoints(&self) -> &crate::background::testing::Breakpoints {
        &self.core.background.breakpoints
    }

    /// Whether this instance can serve: background work runs and the store answers a read.
    pub async fn ready(&self) -> Result<()> {
        if self.core.background.is_stopping() {
            return Err(Error::new(ErrorCode::Unavailable, "the server is stopping"));
        }
        self.core.read(|_| Ok(())).await
    }

    /// Jobs queued and batches running, on this store (every instance's).
    pub async fn queue_depth(&self) -> Result<(u64, u64)> {
        self.core.read(|ctx| ctx.tx.queue_depth()).await
    }

    /// Runs one op as `who`: reads on a snapshot, writes in the writer's transaction.
    pub async fn run(&self, caller: &Principal, op: Op) -> Result<Output> {
        let who = caller.clone();
        if op.is_read() {
            let _turn = match op.is_expensive() {
                true => Some(self.core.expensive_turn().await?),
                false => None,
            };
            return self
                .core
                .read_for(caller, move |ctx| ops::run(ctx, &who, op))
                .await;
        }
        let clears = op.touches_tokens();
        let op = self.prepared(op).await?;
        let mut op = Some(op);
        let result = self
            .core
            .transact_small(move |ctx| match ctx.take(&mut op) {
                Some(op) => ops::run(ctx, &who, op),
                None => Err(Error::internal(
                    "write work ran again on a store that runs it once",
                )),
            })
            .await;
        self.core.wrote(caller);
        if clears {
            self.auth.clear_cache();
        }
        result
    }

    /// A write op checked against the catalog, and its passwords hashed, before the writer.
    async fn prepared(&self, op: Op) -> Result<Op> {
        let op = ops::precheck(&self.catalog(), op);
        if !op.hashes() {
            return Ok(op);
        }
        crate::counters::handoff();
        tokio::task::spawn_blocking(move || ops::prehash(op))
            .await
            .map_err(Error::internal)
    }

    /// Runs a write op once for idempotency `key`; `render` makes the answer kept with it.
    pub async fn run_keyed(
        &self,
        caller: &Principal,
        op: Op,
        key: IdemKey,
        render: impl Fn(Output) -> Answer + Send + 'static,
    ) -> Result<Keyed> {
        let who = caller.clone();
        let clears = op.touches_tokens();
        let op = self.prepared(op).await?;
        let result = self
            .core
            .transact_keyed(key, move |ctx| ops::run(ctx, &who, op.clone()).map(&render))
            .await;
        self.core.wrote(caller);
        if clears {
            self.auth.clear_cache();
        }
        result
    }

    /// `bulk_stream` once for idempotency `key`; `render` answers from the items' results.
    pub async fn bulk_stream_keyed(
        &self,
        rx: std::sync::mpsc::Receiver<BulkMsg>,
        key: IdemKey,
        mut render: impl FnMut(Vec<Result<Output>>) -> Answer + Send + 'static,
    ) -> Result<Keyed> {
        let max = self.core.settings.max_bulk_ops;
        let mut feed = ops::BulkFeed::new(rx);
        let keyed = self
            .core
            .transact_keyed(key, move |ctx| {
                let results = ops::run_bulk(ctx, &mut feed, max)?;
                crate::metrics::bulk_operations(&results);
                Ok(render(results))
            })
            .await;
        self.auth.clear_cache();
        keyed
    }

    /// Notes that `who` wrote (a bulk request of theirs committed): their next reads must see it.
    pub fn wrote(&self, who: &Principal) {
        self.core.wrote(who);
    }

    /// Whether reads may go to read replicas (then callers' writes are worth noting).
    pub fn reads_replicas(&self) -> bool {
        self.core.position_of(&Principal::Anonymous).is_some()
    }

    /// Where `who`'s last write made here is in the store's log, with read replicas.
    pub fn position_of(&self, who: &Principal) -> Option<u64> {
        self.core.position_of(who)
    }

    /// `who`'s reads must see the store's log up to `position` (carried from another instance).
    pub fn must_see(&self, who: &Principal, position: u64) {
        self.core.must_see(who, position);
    }

    /// Runs a bulk request in one transaction. More items than the limit → `limit_exceeded`, nothing runs.
    pub async fn bulk(&self, items: Vec<BulkItem>, atomic: bool) -> Result<Vec<Result<Output>>> {
        let max = self.core.settings.max_bulk_ops;
        if items.len() > max {
            return Err(ops::too_many(max));
        }
        let (tx, rx) = std::sync::mpsc::channel();
        if atomic {
            let _ = tx.send(BulkMsg::Atomic);
        }
        let _ = tx.send(BulkMsg::Items(items));
        let _ = tx.send(BulkMsg::End(Ok(atomic)));
        self.bulk_stream(rx).await
    }

    /// Runs a bulk request whose items are still being decoded: the writer executes each item as it
    /// arrives. An invalid end (bad JSON late in the body, too many items) undoes everything.
    pub async fn bulk_stream(
        &self,
        rx: std::sync::mpsc::Receiver<BulkMsg>,
    ) -> Result<Vec<Result<Output>>> {
        let max = self.core.settings.max_bulk_ops;
        let mut feed = ops::BulkFeed::new(rx);
        let results = self
            .core
            .transact(move |ctx| ops::run_bulk(ctx, &mut feed, max))
            .await;
        self.auth.clear_cache();
        if let Ok(r) = &results {
            crate::metrics::bulk_operations(r);
        }
        results
    }
}
