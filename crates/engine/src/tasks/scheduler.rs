//! The scheduler: for each registered kind of task, a few workers that claim and run its tasks,
//! a heartbeat that renews the leases of those running here, and a rescuer that takes back those
//! another instance stopped renewing. What runs a task is its kind's `Executor`.

use super::queue;
use crate::core::Core;
use crate::error::Result;
use crate::model::Task;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How long an idle worker waits before looking at the queue again unprompted.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// Wait after the store refused a claim.
const CLAIM_RETRY: Duration = Duration::from_millis(200);

/// What runs the tasks of one kind.
pub trait Executor: Send + Sync + 'static {
    type Task: Task;

    /// Runs a claimed task until it ends, is given back, or is no longer this instance's; ending
    /// it (and what follows: its callback, its events) is the executor's.
    fn run(self: Arc<Self>, task: Self::Task) -> impl Future<Output = ()> + Send;

    /// Ends a task whose run stopped on a panic, so it does not stay running forever.
    fn crashed(self: Arc<Self>, id: String) -> impl Future<Output = ()> + Send;
}

/// Registers executors and runs their tasks on the engine's background tasks.
pub struct Scheduler {
    core: Arc<Core>,
}

impl Scheduler {
    pub fn new(core: Arc<Core>) -> Scheduler {
        Scheduler { core }
    }

    /// Takes back what a stop left running, then starts `workers` workers for `E`'s kind with
    /// their heartbeat and rescuer.
    pub async fn register<E: Executor>(&self, executor: Arc<E>, workers: usize) -> Result<()> {
        let (core, kind) = (&self.core, E::Task::TASK);
        // A store no other instance shares holds only tasks a stopped process left running.
        let n = queue::rescue::<E::Task>(core, !core.store.shared()).await?;
        if n > 0 {
            tracing::info!(
                kind = kind.as_str(),
                tasks = n,
                "resuming tasks left running"
            );
        }
        for _ in 0..workers.max(1) {
            let (c, e) = (core.clone(), executor.clone());
            core.background.spawn(work(c, e));
        }
        let c = core.clone();
        every(core, core.settings.lease / 3, move || {
            let c = c.clone();
            async move {
                let ids = c.held.ids(kind);
                if ids.is_empty() {
                    return;
                }
                if let Err(e) = queue::renew::<E::Task>(&c, ids).await {
                    tracing::warn!(error = %e, kind = kind.as_str(), "could not renew leases");
                }
            }
        });
        let c = core.clone();
        every(core, core.settings.lease / 2, move || {
            let c = c.clone();
            async move {
                match queue::rescue::<E::Task>(&c, false).await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(
                            kind = kind.as_str(),
                            tasks = n,
                            "taking over tasks whose holder stopped"
                        );
                        c.wake(kind);
                    }
                    Err(e) => tracing::warn!(error = %e, kind = kind.as_str(),
                        "could not look for abandoned tasks"),
                }
            }
        });
        Ok(())
    }
}

/// One worker: claims the oldest waiting task of `E`'s kind, runs it, and looks again; idle, it
/// waits to be woken (or looks again after a while, for tasks queued by other instances).
async fn work<E: Executor>(core: Arc<Core>, executor: Arc<E>) {
    let (bg, kind) = (&core.background, E::Task::TASK);
    while !bg.is_stopping() {
        match queue::claim::<E::Task>(&core).await {
            Ok(Some(task)) => {
                bg.breakpoint(kind.claimed_point()).await;
                let id = task.id().to_owned();
                core.held.hold(kind, &id);
                let run = tokio::spawn(executor.clone().run(task)).await;
                core.held.release(kind, &id);
                if run.is_err() {
                    executor.clone().crashed(id).await;
                }
            }
            Ok(None) => {
                tokio::select! {
                    _ = core.woken(kind) => {}
                    _ = bg.sleep(IDLE_POLL) => {}
                }
            }
            Err(_) => {
                bg.sleep(CLAIM_RETRY).await;
            }
        }
    }
}

/// Runs `tick` every `period` on a background task until the engine stops.
pub fn every<F, Fut>(core: &Arc<Core>, period: Duration, tick: F)
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let c = core.clone();
    core.background.spawn(async move {
        while c.background.sleep(period).await {
            tick().await;
        }
    });
}
