//! What this instance holds under leases (running jobs, batches and exports), and the two periodic tasks
//! that keep leases honest: a heartbeat renewing what is held here, a rescuer taking over what
//! another instance stopped renewing.

use crate::core::Core;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Ids of work running on this instance, each with its latest rate (rows per second).
#[derive(Default)]
pub struct Held(Mutex<HashMap<String, f64>>);

impl Held {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, f64>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks `id` as running here; false if it already was.
    pub fn hold(&self, id: &str) -> bool {
        self.lock().insert(id.to_owned(), 0.0).is_none()
    }

    pub fn release(&self, id: &str) {
        self.lock().remove(id);
    }

    pub fn ids(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Records the rate of `id`'s last chunk, if it is held here.
    pub fn set_rate(&self, id: &str, rows_per_second: f64) {
        if let Some(r) = self.lock().get_mut(id) {
            *r = rows_per_second;
        }
    }

    /// The rates of everything held here, summed.
    pub fn total_rate(&self) -> f64 {
        // An empty sum of floats is -0.0, which the metrics text prints as `-0`.
        let sum: f64 = self.lock().values().sum();
        if sum > 0.0 {
            sum
        } else {
            0.0
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

/// Every third of a lease, renews the leases of what `held` lists as running here (`what`:
/// jobs, batches, exports), so other instances never take it over while it runs.
pub fn heartbeat<R, Fut>(core: &Arc<Core>, what: &'static str, held: fn(&Core) -> &Held, renew: R)
where
    R: Fn(Arc<Core>, Vec<String>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = crate::error::Result<()>> + Send,
{
    let (c, renew) = (core.clone(), Arc::new(renew));
    every(core, core.settings.lease / 3, move || {
        let (c, renew) = (c.clone(), renew.clone());
        async move {
            let ids = held(&c).ids();
            if !ids.is_empty() {
                if let Err(e) = renew(c.clone(), ids).await {
                    tracing::warn!(error = %e, what, "could not renew leases");
                }
            }
        }
    });
}
