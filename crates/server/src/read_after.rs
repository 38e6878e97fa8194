//! `Sluice-Read-After`: read-your-writes across instances. With read replicas, each instance knows
//! where its callers' writes are in the primary's log; an answer to a records or bulk call carries
//! the caller's position, and a client that sends it back on a later request (to any instance
//! sharing the database) has its reads there wait for a replica that replayed it, or go to the
//! primary. Without replicas neither side does anything.

use crate::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use sluice_engine::model::Principal;

pub const HEADER: &str = "sluice-read-after";

/// Takes the position a client carried over: `who`'s reads here must see it. A value that is not
/// a position is ignored (it could only make reads more careful).
pub fn take(state: &State, headers: &HeaderMap, who: &Principal) {
    let Some(value) = headers.get(HEADER) else {
        return;
    };
    if let Some(at) = value.to_str().ok().and_then(|v| v.trim().parse().ok()) {
        state.engine.must_see(who, at);
    }
}

/// Tells the client where `who`'s writes are, for its next request to any instance.
pub fn give(state: &State, who: &Principal, response: &mut Response) {
    if let Some(at) = state.engine.position_of(who).filter(|at| *at > 0) {
        response.headers_mut().insert(HEADER, HeaderValue::from(at));
    }
}
