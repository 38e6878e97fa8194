//! The executor of exports: it runs a claimed export (see `run`), then counts it, makes its
//! callback due and logs how it stopped.

use super::queue::{self, End};
use super::Runner;
use crate::model::Export;
use crate::tasks::Executor;
use std::sync::Arc;

impl Runner {
    fn after(&self, done: &Export) {
        crate::metrics::export_finished(done.status.as_str(), done.rows);
        if done.callback_due() {
            self.callbacks.spawn_export(done.id.clone());
        }
        tracing::info!(
            status = done.status.as_str(),
            rows = done.rows,
            bytes = done.bytes,
            "export stopped running here"
        );
    }
}

impl Executor for Runner {
    type Task = Export;

    async fn run(self: Arc<Self>, e: Export) {
        let span = tracing::info_span!("export", export_id = %e.id);
        let run = async move {
            let done = self.run_export(e).await;
            self.after(&done);
        };
        tracing::Instrument::instrument(run, span).await
    }

    async fn crashed(self: Arc<Self>, id: String) {
        let failed = End::Failed("the export stopped on an internal error".into());
        if let Ok(done) = queue::end(&self.core, &id, failed).await {
            self.after(&done);
        }
    }
}
