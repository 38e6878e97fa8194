//! Turns an op's outcome into the native status and body — for single calls and bulk entries alike.

use crate::error::{error_body, status_of};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::Value;
use sluice_engine::ops::{Body, Output};
use sluice_engine::Result;

/// A rendered body: an op's typed body, an error document, or nothing.
pub enum Reply {
    Body(Body),
    Value(Value),
    Empty,
}

impl Serialize for Reply {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Reply::Body(b) => b.serialize(s),
            Reply::Value(v) => v.serialize(s),
            Reply::Empty => s.serialize_unit(),
        }
    }
}

pub fn render(result: Result<Output>) -> (StatusCode, Reply) {
    match result {
        Ok(Output::Created(b)) => (StatusCode::CREATED, Reply::Body(b)),
        Ok(Output::Ok(b)) => (StatusCode::OK, Reply::Body(b)),
        Ok(Output::Deleted) => (StatusCode::NO_CONTENT, Reply::Empty),
        Err(e) => (status_of(e.code), Reply::Value(error_body(&e))),
    }
}

pub fn respond(result: Result<Output>) -> Response {
    if let Err(e) = result {
        return crate::error::ApiError(e).into_response();
    }
    match render(result) {
        (StatusCode::NO_CONTENT, _) => StatusCode::NO_CONTENT.into_response(),
        (status, reply) => (status, Json(reply)).into_response(),
    }
}
