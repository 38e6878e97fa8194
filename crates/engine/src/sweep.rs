//! The sweeper: a background task that drops what has outlived its time — expired idempotency
//! keys — once an hour, on every instance (each sweep is one transaction; instances may overlap).

use crate::core::Core;
use crate::leases::every;
use std::sync::Arc;
use std::time::Duration;

/// How often the sweeper runs.
pub const SWEEP_EVERY: Duration = Duration::from_secs(3600);

pub fn start(core: &Arc<Core>) {
    let c = core.clone();
    every(core, SWEEP_EVERY, move || {
        let c = c.clone();
        async move {
            match c.purge_idempotency_keys().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(keys = n, "dropped expired idempotency keys"),
                Err(e) => tracing::warn!(error = %e, "could not drop expired idempotency keys"),
            }
        }
    });
}
