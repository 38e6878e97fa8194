//! The one scheduler of background work. Every kind of task (bulk-write jobs, exports, batches)
//! waits in one durable queue, is claimed under a lease by a worker of its kind, kept by a
//! heartbeat while it runs, and taken back when its holder stops renewing it; an executor per
//! kind holds only what is particular to running it (see `docs/ARCHITECTURE.md`).

pub mod queue;
mod scheduler;

pub use scheduler::{every, Executor, Scheduler};
