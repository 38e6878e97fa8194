//! End-to-end tests over HTTP against real servers; one module per area.

mod auth;
mod backand;
mod bigin;
mod bulk;
mod common;
mod durability;
mod errors;
mod jobs;
mod records;
mod schema;
mod sugar;
