//! The listener thread of a PostgreSQL store: it follows the catalog changes other instances
//! announce (reloading at once), and closes pooled connections left idle. LISTEN holds a session,
//! so it runs on the notification URL: a direct connection when the database URL is a pooler.

use super::pool::Pool;
use super::{config, Inner, CHANNEL};
use crate::error::Result;
use crate::settings::StoreLimits;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
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

/// The listener's connection: on `--notify-database`, else on the database URL `main` unless
/// that is pooled (LISTEN needs a session of its own: never through a pooler). The listener names
/// itself, so it is told apart among the database's sessions.
pub(super) fn pool(limits: &StoreLimits, main: &postgres::Config) -> Result<Option<Arc<Pool>>> {
    let mut listen_to = match &limits.notify_url {
        Some(direct) => config(direct)?,
        None if limits.pooled => {
            tracing::warn!(
                "the database is pooled and no --notify-database is set: other instances' \
                 schema changes are seen as each transaction checks, not announced"
            );
            return Ok(None);
        }
        None => main.clone(),
    };
    listen_to.application_name("sluice-listener");
    Ok(Some(Pool::new(listen_to, false, 1, "notifications")))
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
