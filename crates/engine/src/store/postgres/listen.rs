//! The listener thread of a PostgreSQL store: it follows the catalog changes other instances
//! announce (reloading at once), and closes pooled connections left idle.

use super::{Inner, CHANNEL};
use std::sync::atomic::Ordering;
use std::sync::Weak;
use std::time::Duration;

/// Follows catalog changes other instances announce, and closes idle connections, until the
/// store closes or is gone.
pub(super) fn listen(store: Weak<Inner>) {
    let live = || store.upgrade().filter(|s| !s.closed.load(Ordering::SeqCst));
    while let Some(inner) = live() {
        let conn = inner.readers.connect();
        drop(inner);
        let Ok(mut conn) = conn else {
            std::thread::sleep(Duration::from_secs(1));
            continue;
        };
        if conn
            .client
            .batch_execute(&format!("LISTEN {CHANNEL}"))
            .is_err()
        {
            continue;
        }
        while !conn.client.is_closed() {
            let heard = postgres::fallible_iterator::FallibleIterator::next(
                &mut conn
                    .client
                    .notifications()
                    .timeout_iter(Duration::from_millis(500)),
            );
            let Some(inner) = live() else {
                return;
            };
            inner.writers.close_idle();
            inner.readers.close_idle();
            inner.shared.queries.close_idle();
            match heard {
                Ok(Some(_)) => {
                    let _ = conn.client.batch_execute("BEGIN");
                    if let Err(e) = inner.fresh(&mut conn) {
                        tracing::warn!(error = %e, "could not reload the catalog");
                    }
                    let _ = conn.client.batch_execute("ROLLBACK");
                }
                Ok(None) => {}
                Err(_) => break,
            }
        }
    }
}
