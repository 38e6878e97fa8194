//! Read-your-writes over read replicas: the store's log position after each caller's last write,
//! so that the caller's next read goes only to a replica that has replayed it.
//!
//! Callers are hashed into a fixed table of slots, each holding the highest position written to
//! it. Two callers that share a slot only make each other's reads more careful (a read that could
//! have gone to a replica goes to the primary), never less: the table is bounded without evicting
//! anything, takes no lock and allocates nothing per call.

use super::Principal;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// Slots of the table (a power of two): 64 KiB, where two of a few thousand active callers
/// seldom meet.
const SLOTS: usize = 8192;

pub struct Positions {
    slots: Box<[AtomicU64]>,
}

impl Default for Positions {
    fn default() -> Self {
        Positions {
            slots: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

/// Who a position belongs to: a user of an app, an admin, or every anonymous caller together.
fn slot(who: &Principal) -> usize {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    match who {
        Principal::Admin { user } => (0u8, user).hash(&mut h),
        Principal::Member {
            app_id, user_id, ..
        } => (1u8, app_id, user_id).hash(&mut h),
        Principal::Anonymous => 2u8.hash(&mut h),
    }
    h.finish() as usize & (SLOTS - 1)
}

impl Positions {
    /// The position `who`'s reads must see (0: none of theirs is recorded).
    pub fn of(&self, who: &Principal) -> u64 {
        self.slots[slot(who)].load(Ordering::Acquire)
    }

    /// Records that `who` wrote at `position` (or later); positions only grow.
    pub fn raise(&self, who: &Principal, position: u64) {
        self.slots[slot(who)].fetch_max(position, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;

    fn member(user: &str) -> Principal {
        Principal::Member {
            app_id: uuid::Uuid::nil(),
            user: user.into(),
            user_id: user.into(),
            role: Role::Writer,
        }
    }

    #[test]
    fn a_callers_position_only_grows_and_is_theirs() {
        let p = Positions::default();
        let (a, b) = (member("a"), member("b"));
        assert_eq!(p.of(&a), 0);
        p.raise(&a, 200);
        p.raise(&a, 100);
        assert_eq!(p.of(&a), 200);
        if slot(&a) != slot(&b) {
            assert_eq!(p.of(&b), 0);
        }
        // An admin named like a member is another caller.
        let admin = Principal::Admin { user: "a".into() };
        assert_ne!(slot(&admin), slot(&a));
    }
}
