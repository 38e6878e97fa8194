//! Leases: background work (a job, a batch, a callback delivery) is held by one server instance
//! until a time it keeps moving forward; once that time has passed, another instance may take the
//! work over from its last committed checkpoint.

use super::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The instance holding the work.
    pub owner: String,
    pub until: Timestamp,
}

impl Lease {
    pub fn expired(&self, now: &Timestamp) -> bool {
        self.until < *now
    }

    pub fn held_by(&self, owner: &str) -> bool {
        self.owner == owner
    }
}

/// Whether work with `lease` runs under `owner` (its lease is `owner`'s).
pub fn held(lease: Option<&Lease>, owner: &str) -> bool {
    lease.is_some_and(|l| l.held_by(owner))
}

/// Whether work with `lease` may be taken by `owner` at `now`: it is free, expired, or already its.
pub fn takeable(lease: Option<&Lease>, owner: &str, now: &Timestamp) -> bool {
    lease.is_none_or(|l| l.held_by(owner) || l.expired(now))
}

/// Whether work under `lease` was left by another instance that stopped renewing it (`me`'s own
/// leases are renewed by its heartbeat while it lives).
pub fn abandoned(lease: Option<&Lease>, me: &str, now: &Timestamp) -> bool {
    lease.is_none_or(|l| !l.held_by(me) && l.expired(now))
}
