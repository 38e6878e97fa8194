//! The engine's time source: the system clock, which tests can move forward instead of sleeping.

use crate::model::Timestamp;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// System time plus an offset that only tests move (`advance`); clones share the offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicU64>,
}

impl Clock {
    fn offset(&self) -> Duration {
        Duration::from_millis(self.offset_ms.load(Ordering::SeqCst))
    }

    pub fn now(&self) -> SystemTime {
        SystemTime::now() + self.offset()
    }

    /// A monotonic instant, moved by the same offset.
    pub fn instant(&self) -> Instant {
        Instant::now() + self.offset()
    }

    /// Unix seconds.
    pub fn unix(&self) -> i64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }

    pub fn timestamp(&self) -> Timestamp {
        Timestamp::at(self.now())
    }

    /// Moves this clock (and every clone) forward.
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_every_clone() {
        let a = Clock::default();
        let b = a.clone();
        let before = b.unix();
        a.advance(Duration::from_secs(120));
        assert!(b.unix() >= before + 120);
        assert!(b.instant() >= Instant::now() + Duration::from_secs(119));
    }
}
