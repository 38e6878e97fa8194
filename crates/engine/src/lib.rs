//! sluice's engine: the data model, the store seam and its backends, operations and their
//! executor, the task scheduler and the jobs, exports and batches it runs, queries and auth. It knows nothing of HTTP or of any vendor: front
//! doors translate their wire formats into engine calls and back (see `docs/ARCHITECTURE.md`).

pub mod aliases;
pub mod auth;
pub mod background;
pub mod batches;
pub mod clock;
pub mod copy;
pub mod core;
pub mod counters;
mod engine;
pub mod error;
pub mod exports;
mod idempotency;
pub mod jobs;
#[cfg(test)]
mod layers;
pub mod metrics;
pub mod model;
pub mod ops;
#[cfg(test)]
mod properties;
pub mod query;
mod replica_reads;
pub mod settings;
pub mod store;
mod sweep;
pub mod tasks;

pub use auth::Session;
pub use engine::Engine;
pub use error::{Error, ErrorCode, Result};
pub use settings::Settings;
pub use sweep::Swept;
