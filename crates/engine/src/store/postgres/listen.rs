//! The listener thread of a PostgreSQL store: it follows the catalog changes other instances
//! announce (reloading at once), and closes pooled connections left idle. LISTEN holds a session,
//! so it runs on the notification URL: a direct connection when the database URL is a pooler.

use super::{Inner, CHANNEL};
use std::sync::atomic::Ordering;
use std::sync::Weak;
use std::time::Duration;

/// How often idle connections are looked for.
const CLOSE_IDLE_EVERY: Duration = Duration::from_millis(500);

impl Inner {
    fn close_idle(&self) {
        self.writers.close_idle();
        self.readers.close_idle();
        self.shared.queries.close_idle();
    }
}

/// Follows catalog changes other instances announce, and closes idle connections, until the
/// store closes or is gone.
pub(super) fn listen(store: Weak<Inner>) {
    let live = || store.upgrade().filter(|s| !s.closed.load(Ordering::SeqCst));
    while let Some(inner) = live() {
        let Some(notify) = inner.notify.clone() else {
            drop(inner);
            std::thread::sleep(CLOSE_IDLE_EVERY);
            if let Some(inner) = live() {
                inner.close_idle();
            }
            continue;
        };
        drop(inner);
        let conn = notify.connect();
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
                &mut conn.client.notifications().timeout_iter(CLOSE_IDLE_EVERY),
            );
            let Some(inner) = live() else {
                return;
            };
            inner.close_idle();
            match heard {
                Ok(Some(_)) => {
                    if let Err(e) = conn.transact("BEGIN", |conn| inner.fresh(conn)) {
                        tracing::warn!(error = %e, "could not reload the catalog");
                    }
                }
                Ok(None) => {}
                Err(_) => break,
            }
        }
    }
}
