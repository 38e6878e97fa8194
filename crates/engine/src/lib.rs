//! sluice's engine: the data model, the store, operations and their executor, and auth. It knows
//! nothing of HTTP: front doors translate their wire formats into ops and back.

pub mod auth;
mod engine;
mod engine_jobs;
pub mod error;
pub mod jobs;
pub mod model;
pub mod ops;
pub mod settings;
pub mod store;

pub use engine::{Engine, Session};
pub use engine_jobs::ResultFormat;
pub use error::{Error, ErrorCode, Result};
pub use settings::Settings;
