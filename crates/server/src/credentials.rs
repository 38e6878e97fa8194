//! Reading credentials from request headers.

use axum::http::HeaderMap;
use sluice_engine::{Error, Result};

/// The bearer token of an `Authorization` header value; any other scheme is refused.
pub fn bearer_of(value: &str) -> Result<&str> {
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or_else(Error::unauthorized)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(Error::unauthorized());
    }
    Ok(token.trim())
}

/// The request's bearer token, if it sent one.
pub fn bearer(headers: &HeaderMap) -> Result<Option<&str>> {
    match headers.get(axum::http::header::AUTHORIZATION) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map_err(|_| Error::unauthorized())
            .and_then(bearer_of)
            .map(Some),
    }
}
