//! Batches: records selected by a read-only query or by ids, then deleted or updated as one tracked
//! unit with live counters. The selection is resolved when the batch starts and stored with it, so
//! a restart resumes a running batch where it stood and finishes it.

mod check;
mod dry_run;
mod run;
mod selection;
mod service;
mod start;

pub use check::{BatchRequest, OpSpec};
pub use dry_run::{DryRun, SAMPLE_IDS};
pub use service::{Batches, Render};
