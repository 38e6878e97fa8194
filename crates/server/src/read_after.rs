//! `Sluice-Read-After`: read-your-writes across instances. With read replicas, each instance knows
//! where its callers' writes are in the primary's log; an answer to a records or bulk call carries
//! the caller's position, and a client that sends it back on a later request (to any instance
//! sharing the database) has its reads there wait for a replica that replayed it, or go to the
//! primary. Without replicas neither side does anything.

use crate::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use sluice_engine::model::Principal;
use sluice_engine::{Error, ErrorCode, Result};

pub const HEADER: &str = "sluice-read-after";

/// Takes the position a client carried over: `who`'s reads here must see it. A value that is not
/// a position (a decimal number, as `give` writes it) is refused with the header named.
pub fn take(state: &State, headers: &HeaderMap, who: &Principal) -> Result<()> {
    let Some(value) = headers.get(HEADER) else {
        return Ok(());
    };
    let at = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidRequest,
                "Sluice-Read-After must be a position as an answer gave it (a decimal number)",
            )
            .with_field("Sluice-Read-After")
        })?;
    state.engine.must_see(who, at);
    Ok(())
}

/// Tells the client where `who`'s writes are, for its next request to any instance.
pub fn give(state: &State, who: &Principal, response: &mut Response) {
    if let Some(at) = state.engine.position_of(who).filter(|at| *at > 0) {
        response.headers_mut().insert(HEADER, HeaderValue::from(at));
    }
}
