//! What jobs and batches share: a waiting → running → finished life, and one way to cancel it.

use super::time::Timestamp;
use crate::error::{Error, ErrorCode, Result};

/// Where a tracked unit of background work stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Queued or pending: nothing has run yet.
    Waiting,
    Running,
    Finished,
}

/// A unit of background work a caller can cancel.
pub trait Tracked {
    /// `"job"`, `"batch"`: for messages.
    const KIND: &'static str;
    fn phase(&self) -> Phase;
    fn status_name(&self) -> &'static str;
    /// Ends work that has not started.
    fn mark_canceled(&mut self, now: &Timestamp);
    /// Asks running work to stop at its next chunk.
    fn request_cancel(&mut self, now: &Timestamp);
}

/// Cancels `item`: waiting work at once, running work at its next chunk; finished work is a
/// conflict. Returns the phase it was in.
pub fn cancel<T: Tracked>(item: &mut T, now: &Timestamp) -> Result<Phase> {
    let phase = item.phase();
    match phase {
        Phase::Waiting => item.mark_canceled(now),
        Phase::Running => item.request_cancel(now),
        Phase::Finished => {
            return Err(Error::new(
                ErrorCode::Conflict,
                format!("the {} is already {}", T::KIND, item.status_name()),
            ))
        }
    }
    Ok(phase)
}
