//! sluice's engine: the data model, the store, operations and their executor, and auth. It knows
//! nothing of HTTP: front doors translate their wire formats into ops and back.

pub mod auth;
pub mod batches;
mod engine;
mod engine_batches;
mod engine_jobs;
pub mod error;
pub mod jobs;
pub mod model;
pub mod ops;
pub mod query;
pub mod settings;
pub mod store;

pub use engine::{Engine, Session};
pub use engine_jobs::ResultFormat;
pub use error::{Error, ErrorCode, Result};
pub use settings::Settings;
