//! Slows down password guessing: after a few failures for one login, further attempts wait out a growing lockout.

use crate::clock::Clock;
use crate::error::{Error, ErrorCode, Result};
use crate::settings::ThrottleSettings;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Default)]
struct Entry {
    failures: u32,
    locked_until: Option<Instant>,
}

/// Failed-login bookkeeping, keyed by app and user name (so one attacker cannot lock out everyone).
pub struct LoginThrottle {
    settings: ThrottleSettings,
    clock: Clock,
    entries: Mutex<HashMap<String, Entry>>,
    /// One login attempt at a time per key: concurrent guesses cannot all pass the check before
    /// any failure is counted.
    turns: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Bound on tracked keys, so a flood of made-up user names cannot grow memory without end.
const MAX_ENTRIES: usize = 100_000;

impl LoginThrottle {
    pub fn new(settings: ThrottleSettings, clock: Clock) -> Self {
        Self {
            settings,
            clock,
            entries: Mutex::new(HashMap::new()),
            turns: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for this key's turn; hold the guard across the check, the verification and the record.
    pub async fn turn(&self, key: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut turns = self.turns.lock().unwrap_or_else(|p| p.into_inner());
            if turns.len() >= MAX_ENTRIES {
                turns.retain(|_, l| Arc::strong_count(l) > 1);
            }
            turns.entry(key.to_owned()).or_default().clone()
        };
        lock.lock_owned().await
    }

    /// Refuses the attempt while the key is locked out.
    pub fn check(&self, key: &str) -> Result<()> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = entries.get(key).and_then(|e| e.locked_until) {
            let now = self.clock.instant();
            if until > now {
                let secs = (until - now).as_secs() + 1;
                return Err(Error::new(
                    ErrorCode::TooManyAttempts,
                    format!("too many failed logins; retry in {secs} s"),
                ));
            }
        }
        Ok(())
    }

    pub fn failed(&self, key: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(key) {
            let now = self.clock.instant();
            entries.retain(|_, e| e.locked_until.is_some_and(|u| u > now));
        }
        let e = entries.entry(key.to_owned()).or_default();
        e.failures += 1;
        if e.failures >= self.settings.free_failures {
            let extra = (e.failures - self.settings.free_failures).min(20);
            let lock = self
                .settings
                .base_lockout
                .saturating_mul(1 << extra)
                .min(self.settings.max_lockout);
            e.locked_until = Some(self.clock.instant() + lock);
        }
    }

    pub fn succeeded(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn locks_after_free_failures() {
        let clock = Clock::default();
        let t = LoginThrottle::new(
            ThrottleSettings {
                free_failures: 2,
                base_lockout: Duration::from_secs(60),
                max_lockout: Duration::from_secs(600),
            },
            clock.clone(),
        );
        t.failed("a");
        assert!(t.check("a").is_ok());
        t.failed("a");
        assert_eq!(t.check("a").unwrap_err().code, ErrorCode::TooManyAttempts);
        assert!(t.check("b").is_ok());
        clock.advance(Duration::from_secs(61));
        assert!(t.check("a").is_ok(), "the first lockout is over");
        t.failed("a");
        clock.advance(Duration::from_secs(61));
        assert!(t.check("a").is_err(), "the second lockout is twice as long");
        clock.advance(Duration::from_secs(60));
        assert!(t.check("a").is_ok());
        t.succeeded("a");
        t.failed("a");
        assert!(t.check("a").is_ok(), "success forgets earlier failures");
    }
}
