//! Reads a read replica may serve: the `Core`'s ways to read for a caller (after their last write
//! here, `model::Positions`) or after everything this instance committed, and how a caller's
//! writes are noted. Without replicas each is a plain `Core::read`.

use crate::core::Core;
use crate::core::Ctx;
use crate::error::Result;
use crate::model::Principal;

impl Core {
    /// Runs `f` on a read snapshot for `who`, which a read replica may serve once it has replayed
    /// `who`'s last write made here (records, lists, counts, queries).
    pub async fn read_for<R: Send + 'static>(
        &self,
        who: &Principal,
        f: impl FnOnce(&mut Ctx<'_>) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let (job, pending) = self.read_job(f);
        match &self.positions {
            Some(p) => self.store.read_after(job, p.of(who)),
            None => self.store.read(job),
        }
        pending.await
    }

    /// Runs `f` on a read snapshot that sees every write this instance committed so far (a
    /// replica may serve it once it has replayed them): background reads after a claim, such as
    /// an export's chunks.
    pub async fn read_current<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Ctx<'_>) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let (job, pending) = self.read_job(f);
        match &self.positions {
            Some(_) => self
                .store
                .read_after(job, self.store.position().unwrap_or(0)),
            None => self.store.read(job),
        }
        pending.await
    }

    /// Notes that `who` just wrote (their write committed): their next reads must see it.
    pub fn wrote(&self, who: &Principal) {
        if let Some(p) = &self.positions {
            p.raise(who, self.store.position().unwrap_or(0));
        }
    }

    /// `who`'s reads must see the store's log up to `position` (a position a client carried over
    /// from another instance).
    pub fn must_see(&self, who: &Principal, position: u64) {
        if let Some(p) = &self.positions {
            p.raise(who, position);
        }
    }

    /// The position `who`'s reads must see, if reads may go to replicas.
    pub fn position_of(&self, who: &Principal) -> Option<u64> {
        self.positions.as_ref().map(|p| p.of(who))
    }
}
