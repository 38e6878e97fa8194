//! How long a database session may go unanswered before either end gives it up, all derived from
//! the lease: PostgreSQL ends a write transaction left idle, and both ends close a connection whose
//! data stays unacknowledged or whose keepalive probes go unanswered. So an instance cut off from
//! the database mid-chunk holds its rows and its task's row for less than the lease, and another
//! instance can take the work over without waiting on it.

use crate::settings::defaults::{KEEPALIVE_PROBES, UNREACHABLE_LEASE_DIVISOR};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct Reach {
    /// `idle_in_transaction_session_timeout` in write transactions.
    pub idle_in_transaction: Duration,
    /// `tcp_user_timeout`, on the client's socket and the server's.
    pub unacknowledged: Duration,
    /// Silence before the first keepalive probe (whole seconds, at least one).
    pub keepalive_idle: Duration,
    /// Time between probes (whole seconds, at least one).
    pub keepalive_interval: Duration,
    pub keepalive_probes: u32,
}

impl Reach {
    /// The bounds for `lease`: each within its `UNREACHABLE_LEASE_DIVISOR`th, keepalive probes as
    /// far as whole seconds allow.
    pub fn for_lease(lease: Duration) -> Reach {
        let bound = (lease / UNREACHABLE_LEASE_DIVISOR).max(Duration::from_millis(1));
        let secs = |d: Duration| Duration::from_secs(d.as_secs().max(1));
        Reach {
            idle_in_transaction: bound,
            unacknowledged: bound,
            keepalive_idle: secs(bound / 2),
            keepalive_interval: secs(bound / (2 * KEEPALIVE_PROBES)),
            keepalive_probes: KEEPALIVE_PROBES,
        }
    }

    /// The client's side, on every connection: keepalives and `tcp_user_timeout`, unless the
    /// database URL sets its own.
    pub fn client(&self, c: &mut postgres::Config, url: &str) {
        if !url.contains("keepalives") {
            c.keepalives(true)
                .keepalives_idle(self.keepalive_idle)
                .keepalives_interval(self.keepalive_interval)
                .keepalives_retries(self.keepalive_probes);
        }
        if !url.contains("tcp_user_timeout") {
            c.tcp_user_timeout(self.unacknowledged);
        }
    }

    /// The server's side, for one write transaction (`SET LOCAL`, so nothing outlives it on a
    /// pooled server connection): it ends the session if the transaction sits idle, and probes
    /// a silent client as the client probes it.
    pub fn server(&self) -> String {
        format!(
            "SET LOCAL idle_in_transaction_session_timeout = {}; \
             SET LOCAL tcp_user_timeout = {}; SET LOCAL tcp_keepalives_idle = {}; \
             SET LOCAL tcp_keepalives_interval = {}; SET LOCAL tcp_keepalives_count = {}",
            self.idle_in_transaction.as_millis(),
            self.unacknowledged.as_millis(),
            self.keepalive_idle.as_secs(),
            self.keepalive_interval.as_secs(),
            self.keepalive_probes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_given_up_well_within_the_lease() {
        for ms in [2_000, 3_000, 30_000, 120_000] {
            let lease = Duration::from_millis(ms);
            let r = Reach::for_lease(lease);
            assert!(r.idle_in_transaction <= lease / 2, "{r:?}");
            assert!(r.unacknowledged <= lease / 2, "{r:?}");
            let probing = r.keepalive_idle + r.keepalive_interval * r.keepalive_probes;
            // Whole seconds: a lease of a few seconds probes for a little longer.
            assert!(probing <= (lease / 2).max(Duration::from_secs(4)), "{r:?}");
        }
        let r = Reach::for_lease(Duration::from_secs(30));
        assert_eq!(
            (r.keepalive_idle.as_secs(), r.keepalive_interval.as_secs()),
            (7, 2)
        );
        assert!(r
            .server()
            .contains("idle_in_transaction_session_timeout = 15000;"));
    }
}
