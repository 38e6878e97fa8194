//! The engine's core, shared by every service: the store, the settings (with the clock), the
//! background tasks, and the two ways into the store — `transact` (a write transaction whose work
//! is kept when it returns `Ok`) and `read` (a snapshot).

use crate::background::Background;
use crate::error::{Error, ErrorCode, Result};
use crate::idempotency::{self, InFlight};
use crate::model::{
    Answer, App, Catalog, Held, IdemKey, Keyed, Lease, Need, Object, Positions, Principal,
    TaskKind, Timestamp,
};
use crate::settings::Settings;
use crate::store::{ReadJob, Store, Tx, WriteJob, WriteWork};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

/// What work runs against: a transaction and the catalog as this transaction sees it.
pub struct Ctx<'a> {
    pub tx: &'a mut dyn Tx,
    pub catalog: &'a mut Arc<Catalog>,
    pub settings: &'a Settings,
    pub now: Timestamp,
    /// The work may run again on a fresh transaction: it keeps what it consumes (a copy each run).
    pub reruns: bool,
    discarded: bool,
}

impl Ctx<'_> {
    /// Finds an app and checks `who` may do `need` in it; an app the caller cannot see is "not found".
    pub fn app(&self, who: &Principal, name: &str, need: Need) -> Result<Arc<App>> {
        let app = self
            .catalog
            .app(name)
            .ok_or_else(|| Error::not_found(format!("no app named {name:?}")))?;
        who.authorize(app, need)?;
        Ok(app.clone())
    }

    pub fn object(
        &self,
        who: &Principal,
        app: &str,
        object: &str,
        need: Need,
    ) -> Result<(Arc<App>, Arc<Object>)> {
        let a = self.app(who, app, need)?;
        let obj = a
            .object(object)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("app {app} has no object named {object:?}")))?;
        Ok((a, obj))
    }

    /// Mutable catalog access for schema changes; copies on write if readers share it.
    pub fn catalog_mut(&mut self) -> &mut Catalog {
        Arc::make_mut(self.catalog)
    }

    /// Takes `kept` for this run: a copy when the work may run again, else the value itself.
    pub fn take<T: Clone>(&self, kept: &mut Option<T>) -> Option<T> {
        match self.reruns {
            true => kept.clone(),
            false => kept.take(),
        }
    }

    /// Undoes this transaction's work even though it succeeds (an atomic bulk request that failed
    /// part-way still answers, item by item).
    pub fn discard(&mut self) {
        self.discarded = true;
    }
}

fn gone() -> Error {
    Error::new(ErrorCode::Unavailable, "the store is not available")
}

/// Write work queued for the store: await it, or `wait` for it on a blocking thread.
pub struct Pending<R>(oneshot::Receiver<Result<R>>);

impl<R> Pending<R> {
    /// Blocks this (non-async) thread until the work commits or fails.
    pub fn wait(self) -> Result<R> {
        self.0.blocking_recv().map_err(|_| gone())?
    }
}

impl<R> Future for Pending<R> {
    type Output = Result<R>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<R>> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.map_err(|_| gone()).and_then(|r| r))
    }
}

/// A write closure as the store's unit of work: the result of its last run waits for the commit.
struct Work<F, R> {
    f: F,
    /// When the work was queued; its first run records how long it waited.
    queued: Option<std::time::Instant>,
    settings: Arc<Settings>,
    reruns: bool,
    /// The thread that made the work: an answer given on another is a hand-off back.
    submitter: std::thread::ThreadId,
    result: Option<Result<R>>,
    send: oneshot::Sender<Result<R>>,
}

impl<F, R> WriteWork for Work<F, R>
where
    F: FnMut(&mut Ctx<'_>) -> Result<R> + Send,
    R: Send,
{
    fn run(&mut self, tx: &mut dyn Tx, catalog: &mut Arc<Catalog>) -> bool {
        if let Some(queued) = self.queued.take() {
            crate::metrics::writer_wait(queued.elapsed());
        }
        let mut ctx = Ctx {
            tx,
            catalog,
            now: self.settings.clock.timestamp(),
            settings: &self.settings,
            reruns: self.reruns,
            discarded: false,
        };
        let r = (self.f)(&mut ctx);
        let keep = r.is_ok() && !ctx.discarded;
        self.result = Some(r);
        keep
    }

    fn done(self: Box<Self>, committed: Result<()>) {
        let r = self
            .result
            .unwrap_or_else(|| Err(Error::internal("write work never ran")));
        if std::thread::current().id() != self.submitter {
            crate::counters::handoff();
        }
        let _ = self.send.send(committed.and(r));
    }
}

pub struct Core {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
    pub background: Background,
    /// Turns for expensive calls (queries, counts), so a few heavy ones cannot slow everyone.
    pub expensive: Arc<Semaphore>,
    /// This instance's name in the leases it holds.
    pub instance: String,
    /// Tasks running here, whose leases the heartbeat renews.
    pub held: Held,
    /// One wake-up per kind of task, for its idle workers when one is queued.
    queued: [tokio::sync::Notify; TaskKind::ALL.len()],
    /// Idempotency keys whose first request runs here now.
    pub in_flight: InFlight,
    /// Small writes under way (`transact_small`): one alone may run on its caller's thread; with
    /// others at hand they queue, so the writer commits them together.
    small_writes: std::sync::atomic::AtomicUsize,
    /// Where each caller's last write is in the store's log, when reads may go to replicas.
    pub(crate) positions: Option<Positions>,
}

impl Core {
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Core {
        let turns = match settings.max_expensive {
            0 => settings.store.readers(),
            n => n,
        };
        Core {
            settings: Arc::new(settings),
            background: Background::default(),
            expensive: Arc::new(Semaphore::new(turns)),
            instance: uuid::Uuid::new_v4().to_string(),
            held: Held::default(),
            queued: Default::default(),
            in_flight: Default::default(),
            small_writes: Default::default(),
            positions: store.position().map(|_| Positions::default()),
            store,
        }
    }

    /// Tells an idle worker of `kind` that a task is waiting.
    pub fn wake(&self, kind: TaskKind) {
        self.queued[kind.index()].notify_one();
    }

    /// Resolves when a task of `kind` was queued (or at once, if one was since the last wait).
    pub async fn woken(&self, kind: TaskKind) {
        self.queued[kind.index()].notified().await
    }

    /// A lease for this instance, from now.
    pub fn lease(&self) -> Lease {
        self.lease_for(Duration::ZERO)
    }

    /// A lease for this instance held `extra` beyond the usual time (through a wait it plans).
    pub fn lease_for(&self, extra: Duration) -> Lease {
        let clock = &self.settings.clock;
        Lease {
            owner: self.instance.clone(),
            until: Timestamp::at(clock.now() + self.settings.lease + extra),
        }
    }

    /// Waits (a bounded time) for a turn to run an expensive call; `busy` when none comes.
    pub async fn expensive_turn(&self) -> Result<OwnedSemaphorePermit> {
        let wait = self.settings.expensive_wait;
        match tokio::time::timeout(wait, self.expensive.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Error::new(
                ErrorCode::Busy,
                format!(
                    "every turn for queries and counts stayed taken for {} ms; retry shortly",
                    wait.as_millis()
                ),
            )),
        }
    }

    pub fn catalog(&self) -> Arc<Catalog> {
        self.store.catalog()
    }

    pub fn now(&self) -> Timestamp {
        self.settings.clock.timestamp()
    }

    /// Finds an app and checks `who` may do `need` in it, against the committed catalog.
    pub fn app(&self, who: &Principal, name: &str, need: Need) -> Result<Arc<App>> {
        let catalog = self.catalog();
        let app = catalog
            .app(name)
            .ok_or_else(|| Error::not_found(format!("no app named {name:?}")))?;
        who.authorize(app, need)?;
        Ok(app.clone())
    }

    /// Runs `f` in a write transaction; its work is kept when it returns `Ok` (unless it called
    /// `discard`), and undone otherwise. A store may run `f` again on a fresh transaction when the
    /// first lost a race, so `f` must not consume what it captures.
    pub async fn transact<R: Send + 'static>(
        &self,
        f: impl FnMut(&mut Ctx<'_>) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        self.submit(f).await
    }

    /// Queues `f` for the writer and returns at once; the handle waits for the commit.
    pub fn submit<R: Send + 'static>(
        &self,
        f: impl FnMut(&mut Ctx<'_>) -> Result<R> + Send + 'static,
    ) -> Pending<R> {
        let (work, pending) = self.work(f);
        self.store.write(work);
        pending
    }

    /// `transact` for small work (one op): run on this thread when the store's writer is idle,
    /// which spares two thread hand-offs; queued like any other work otherwise.
    pub async fn transact_small<R: Send + 'static>(
        &self,
        f: impl FnMut(&mut Ctx<'_>) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        use std::sync::atomic::Ordering;
        let (work, pending) = self.work(f);
        let others = self.small_writes.fetch_add(1, Ordering::SeqCst);
        let queued = match others {
            0 => self.store.write_now(work),
            _ => Some(work),
        };
        if let Some(work) = queued {
            self.store.write(work);
        }
        let result = pending.await;
        self.small_writes.fetch_sub(1, Ordering::SeqCst);
        result
    }

    fn work<R: Send + 'static>(
        &self,
        f: impl FnMut(&mut Ctx<'_>) -> Result<R> + Send + 'static,
    ) -> (WriteJob, Pending<R>) {
        let (send, recv) = oneshot::channel();
        let work = Box::new(Work {
            f,
            queued: Some(std::time::Instant::now()),
            settings: self.settings.clone(),
            reruns: self.store.reruns_writes(),
            submitter: std::thread::current().id(),
            result: None,
            send,
        });
        (work, Pending(recv))
    }

    /// Runs `f` on a read snapshot of the primary database.
    pub async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Ctx<'_>) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let (job, pending) = self.read_job(f);
        self.store.read(job);
        pending.await
    }

    pub(crate) fn read_job<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Ctx<'_>) -> Result<R> + Send + 'static,
    ) -> (ReadJob, Pending<R>) {
        let (send, recv) = oneshot::channel();
        let settings = self.settings.clone();
        let caller = std::thread::current().id();
        let job: ReadJob = Box::new(move |snapshot| {
            let result = snapshot.and_then(|s| {
                let mut catalog = s.catalog.clone();
                let mut ctx = Ctx {
                    tx: s.tx,
                    catalog: &mut catalog,
                    now: settings.clock.timestamp(),
                    settings: &settings,
                    reruns: false,
                    discarded: false,
                };
                f(&mut ctx)
            });
            if std::thread::current().id() != caller {
                crate::counters::handoff();
            }
            let _ = send.send(result);
        });
        (job, Pending(recv))
    }

    fn now_ms(&self) -> i64 {
        self.settings
            .clock
            .now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }

    /// The answer kept for `key`, as a replay (read on a snapshot), if there is one.
    pub async fn kept_answer(&self, key: &IdemKey) -> Result<Option<Keyed>> {
        let (key, now) = (key.clone(), self.now_ms());
        self.read(move |ctx| idempotency::kept(ctx.tx, &key, now))
            .await
    }

    /// Runs `work` (which answers as the front door will) once for `key`: in the transaction
    /// that claims the key and keeps the answer, or not at all when an answer is kept.
    pub async fn transact_keyed(
        &self,
        key: IdemKey,
        mut work: impl FnMut(&mut Ctx<'_>) -> Result<Answer> + Send + 'static,
    ) -> Result<Keyed> {
        let _hold = self.in_flight.hold(&key)?;
        // A repeat is found by the claim itself: looking first, on a snapshot, would cost every
        // first request (the common case) a read before its write.
        let now = self.now_ms();
        let expires = now + self.settings.idempotency_ttl.as_millis() as i64;
        let keyed = self
            .transact(
                move |ctx| match idempotency::claim(ctx.tx, &key, expires, now)? {
                    Some(replayed) => Ok(replayed),
                    None => {
                        let answer = work(ctx)?;
                        idempotency::keep(ctx.tx, &key, answer)
                    }
                },
            )
            .await;
        // Committed, not yet answered: where a crash leaves work done and its answer kept.
        crate::background::failpoint("idempotency.after_commit");
        keyed
    }

    /// Drops expired idempotency keys (a background sweep).
    pub async fn purge_idempotency_keys(&self) -> Result<u64> {
        let now = self.now_ms();
        self.transact(move |ctx| ctx.tx.purge_keys(now)).await
    }
}
