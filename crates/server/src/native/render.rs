//! Turns an op's outcome into the native status and body — for single calls and bulk entries alike.

use crate::error::{error_body, status_of, ApiError};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;
use sluice_engine::ops::Output;
use sluice_engine::{Error, ErrorCode, Result};

pub fn render(result: &Result<Output>) -> (StatusCode, Value) {
    match result {
        Ok(Output::Created(j)) => (StatusCode::CREATED, j.clone()),
        Ok(Output::Ok(j)) => (StatusCode::OK, j.clone()),
        Ok(Output::Deleted) => (StatusCode::NO_CONTENT, Value::Null),
        Err(e) => (status_of(e.code), error_body(e)),
    }
}

pub fn respond(result: Result<Output>) -> Response {
    match result {
        Ok(Output::Created(j)) => (StatusCode::CREATED, Json(j)).into_response(),
        Ok(Output::Ok(j)) => Json(j).into_response(),
        Ok(Output::Deleted) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

/// The body as JSON: `None` when empty; oversized and malformed bodies get clear errors.
pub fn json_body(body: std::result::Result<Bytes, BytesRejection>) -> Result<Option<Value>> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::new(
                ErrorCode::TooLarge,
                "the request body is larger than the configured limit",
            )
        } else {
            Error::invalid("the request body could not be read")
        }
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        Error::new(
            ErrorCode::InvalidJson,
            format!("the body is not valid JSON: {e}"),
        )
    })
}
