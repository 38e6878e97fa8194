//! The read replicas' probe, on a thread of its own (never on a request's path): every round it
//! notes the primary's WAL position, then asks each replica how far it has replayed. A replica
//! that cannot be reached, is not a standby, or lags more than `--max-replica-lag` is skipped
//! until a later round finds it well.
//!
//! Lag is measured against the primary's own history, not clocks: a replica that has replayed
//! position P is as old as the last round whose primary position was at most P. An idle primary
//! therefore shows no lag (where `now() - pg_last_xact_replay_timestamp()` would grow), and a
//! standby whose replay is paused while the primary writes falls behind by the rounds since.

use super::replicas::{first_number, Replicas, LAGS, REPLAYED};
use super::Inner;
use postgres::{Client, NoTls};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// Samples kept at most, whatever the lag allowed (a day of one-second rounds would be more).
const MAX_SAMPLES: usize = 4096;
/// How long a probe waits for a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How often the probe runs: a quarter of the lag allowed, between 100 ms and a second.
pub(super) fn interval(max_lag: Duration) -> Duration {
    (max_lag / 4).clamp(Duration::from_millis(100), Duration::from_secs(1))
}

/// How far behind a replica that replayed `replayed` is at `now`, given the primary's positions
/// over time (oldest first): `None` when it is behind every sample (older than they reach).
pub(super) fn lag(
    samples: &VecDeque<(Instant, u64)>,
    replayed: u64,
    now: Instant,
) -> Option<Duration> {
    samples
        .iter()
        .rev()
        .find(|(_, at)| *at <= replayed)
        .map(|(t, _)| now.saturating_duration_since(*t))
}

/// One probe connection, opened again when it broke.
struct Link {
    config: postgres::Config,
    client: Option<Client>,
}

impl Link {
    fn new(config: &postgres::Config) -> Link {
        let mut config = config.clone();
        config.connect_timeout(CONNECT_TIMEOUT);
        Link {
            config,
            client: None,
        }
    }

    /// The first column of `sql`'s first row as a number: `Err` when the server cannot be asked,
    /// `Ok(None)` when it answers NULL.
    fn ask(&mut self, sql: &str) -> Result<Option<u64>, postgres::Error> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.client = Some(self.config.connect(NoTls)?);
        }
        let client = self.client.as_mut().unwrap_or_else(|| unreachable!());
        match client.simple_query(sql) {
            Ok(answer) => Ok(first_number(&answer)),
            Err(e) => {
                self.client = None;
                Err(e)
            }
        }
    }
}

/// Starts the probe of the replicas, if there are any.
pub(super) fn start(inner: &Arc<Inner>, primary: postgres::Config) -> crate::error::Result<()> {
    if inner.replicas.is_none() {
        return Ok(());
    }
    let probed = Arc::downgrade(inner);
    std::thread::Builder::new()
        .name("sluice-replicas".into())
        .spawn(move || probe(probed, primary))
        .map(|_| ())
        .map_err(crate::error::Error::internal)
}

/// Runs rounds until the store is dropped or closed.
pub(super) fn probe(store: Weak<Inner>, primary: postgres::Config) {
    let Some(every) = store
        .upgrade()
        .and_then(|s| s.replicas.as_ref().map(|r| interval(r.max_lag)))
    else {
        return;
    };
    let mut primary = Link::new(&primary);
    let mut links: Option<Vec<Link>> = None;
    let mut samples: VecDeque<(Instant, u64)> = VecDeque::new();
    loop {
        {
            let Some(inner) = store.upgrade() else { return };
            if inner.closed.load(Ordering::SeqCst) {
                return;
            }
            let Some(replicas) = inner.replicas.as_ref() else {
                return;
            };
            let links = links.get_or_insert_with(|| {
                replicas.list.iter().map(|r| Link::new(&r.config)).collect()
            });
            round(replicas, &mut primary, links, &mut samples);
        }
        std::thread::sleep(every);
    }
}

fn round(
    replicas: &Replicas,
    primary: &mut Link,
    links: &mut [Link],
    samples: &mut VecDeque<(Instant, u64)>,
) {
    // The primary's position first: a replica that replayed it by the time it is asked is current.
    match primary.ask("SELECT (pg_current_wal_insert_lsn() - '0/0')::int8") {
        Ok(Some(at)) => samples.push_back((Instant::now(), at)),
        Ok(None) => {}
        Err(e) => tracing::debug!(error = %e, "the replica probe cannot reach the primary"),
    }
    let keep = replicas.max_lag + 2 * interval(replicas.max_lag);
    while samples.len() > MAX_SAMPLES
        || (samples.len() > 1 && samples.front().is_some_and(|(t, _)| t.elapsed() > keep))
    {
        samples.pop_front();
    }
    let mut usable = 0;
    for (r, link) in replicas.list.iter().zip(links.iter_mut()) {
        let replayed = match link.ask(REPLAYED) {
            Ok(Some(p)) => p,
            Ok(None) => {
                r.down("it is not a standby (promoted?)");
                continue;
            }
            Err(e) => {
                tracing::debug!(replica = %r.name, error = %e, "probe failed");
                r.down("it cannot be reached");
                continue;
            }
        };
        r.replayed.store(replayed, Ordering::Release);
        match lag(samples, replayed, Instant::now()) {
            Some(l) if l <= replicas.max_lag => {
                usable += 1;
                if !r.usable.swap(true, Ordering::SeqCst) {
                    tracing::info!(replica = %r.name, lag_ms = l.as_millis() as u64, "read replica in use");
                }
            }
            _ => r.down(LAGS),
        }
    }
    crate::metrics::replicas_usable(usable);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_the_age_of_the_last_primary_position_replayed() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let samples: VecDeque<_> = [(at(0), 100), (at(1000), 100), (at(2000), 300)].into();
        // Caught up with the latest round.
        assert_eq!(
            lag(&samples, 300, at(2100)),
            Some(Duration::from_millis(100))
        );
        assert_eq!(
            lag(&samples, 900, at(2100)),
            Some(Duration::from_millis(100))
        );
        // Replayed what the primary had until the second round, not the third.
        assert_eq!(
            lag(&samples, 299, at(2100)),
            Some(Duration::from_millis(1100))
        );
        // Behind everything the samples reach: too old to tell.
        assert_eq!(lag(&samples, 99, at(2100)), None);
        assert_eq!(lag(&VecDeque::new(), 5, at(0)), None);
    }

    #[test]
    fn rounds_are_a_quarter_of_the_lag_within_bounds() {
        assert_eq!(interval(Duration::from_secs(5)), Duration::from_secs(1));
        assert_eq!(
            interval(Duration::from_millis(800)),
            Duration::from_millis(200)
        );
        assert_eq!(interval(Duration::ZERO), Duration::from_millis(100));
    }
}
