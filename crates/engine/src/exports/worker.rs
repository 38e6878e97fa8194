//! Export workers: a few per instance (`--export-workers`), each taking the oldest queued export;
//! a heartbeat renews the leases of those running here, a rescuer takes back those whose holder
//! stopped renewing.

use super::queue::{self, End};
use super::Runner;
use crate::leases::{every, heartbeat};
use crate::model::Export;
use std::sync::Arc;
use std::time::Duration;

/// How long an idle worker waits before looking at the queue again unprompted.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// Wait after the store refused a claim.
const CLAIM_RETRY: Duration = Duration::from_millis(200);

impl Runner {
    /// Requeues exports a stop left running, then starts the workers, heartbeat and rescuer.
    pub(super) async fn start(self: &Arc<Self>) -> crate::error::Result<()> {
        let n = queue::rescue(&self.core, !self.core.store.shared()).await?;
        if n > 0 {
            tracing::info!(exports = n, "resuming exports left running");
        }
        for _ in 0..self.core.settings.export.workers.max(1) {
            let me = self.clone();
            self.core.background.spawn(async move { me.work().await });
        }
        heartbeat(
            &self.core,
            "exports",
            |c| &c.held_exports,
            |c, ids| async move { queue::renew(&c, ids).await },
        );
        let me = self.clone();
        every(&self.core, self.core.settings.lease / 2, move || {
            let me = me.clone();
            async move {
                match queue::rescue(&me.core, false).await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(exports = n, "taking over exports whose holder stopped");
                        me.queued.notify_one();
                    }
                    Err(e) => tracing::warn!(error = %e, "could not look for abandoned exports"),
                }
            }
        });
        Ok(())
    }

    async fn work(self: Arc<Self>) {
        let bg = &self.core.background;
        while !bg.is_stopping() {
            match queue::claim(&self.core).await {
                Ok(Some(e)) => {
                    bg.breakpoint("export.claimed").await;
                    let id = e.id.clone();
                    self.core.held_exports.hold(&id);
                    let span = tracing::info_span!("export", export_id = %id);
                    let me = self.clone();
                    let run = tokio::spawn(tracing::Instrument::instrument(
                        async move { me.run(e).await },
                        span,
                    ))
                    .await;
                    self.core.held_exports.release(&id);
                    // A run that panicked leaves its export failed, not running forever.
                    let done = match run {
                        Ok(done) => done,
                        Err(_) => {
                            let failed =
                                End::Failed("the export stopped on an internal error".into());
                            match queue::end(&self.core, &id, failed).await {
                                Ok(done) => done,
                                Err(_) => continue,
                            }
                        }
                    };
                    crate::metrics::export_finished(done.status.as_str(), done.rows);
                    if done.callback_due() {
                        self.callbacks.spawn_export(done.id.clone());
                    }
                    announce(&done);
                }
                Ok(None) => {
                    tokio::select! {
                        _ = self.queued.notified() => {}
                        _ = bg.sleep(IDLE_POLL) => {}
                    }
                }
                Err(_) => {
                    bg.sleep(CLAIM_RETRY).await;
                }
            }
        }
    }
}

fn announce(e: &Export) {
    tracing::info!(
        status = e.status.as_str(),
        rows = e.rows,
        bytes = e.bytes,
        "export stopped running here"
    );
}
