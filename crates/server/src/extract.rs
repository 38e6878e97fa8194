//! What handlers take from a request: the caller (a bearer token resolved to a principal) and a
//! JSON body parsed into a typed request, with clear errors for bodies that are missing, too large
//! or malformed.

use crate::credentials::bearer;
use crate::error::ApiError;
use crate::State;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sluice_engine::model::Principal;
use sluice_engine::ops::parse_body;
use sluice_engine::{Error, ErrorCode, Result};

/// The authenticated caller of a native call (`Authorization: Bearer …`, or anonymous).
pub struct Caller(pub Principal);

impl FromRequestParts<State> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers)?;
        let who = state.engine.auth().authenticate(token).await?;
        crate::read_after::take(state, &parts.headers, &who)?;
        Ok(Caller(who))
    }
}

/// A request type's name in error messages (`invalid job: …`).
pub trait BodyName {
    const NAME: &'static str;
}

/// A required JSON body parsed into `T`; unknown and missing fields are named in the error.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + BodyName> FromRequest<State> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &State) -> Result<Self, ApiError> {
        let body = json_body(Bytes::from_request(req, state).await)?
            .ok_or_else(|| Error::new(ErrorCode::InvalidJson, "a JSON body is required"))?;
        Ok(JsonBody(parse_body(body, T::NAME)?))
    }
}

/// A `JsonBody` with the request's fingerprint (method, path, query, body) and headers, for
/// creating calls that take an `Idempotency-Key`.
pub struct KeyedBody<T> {
    pub body: T,
    /// The request's fingerprint when it names an `Idempotency-Key` (else empty, never read).
    pub print: String,
    pub headers: axum::http::HeaderMap,
}

impl<T: DeserializeOwned + BodyName> FromRequest<State> for KeyedBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &State) -> Result<Self, ApiError> {
        let (method, uri, headers) = (
            req.method().clone(),
            req.uri().clone(),
            req.headers().clone(),
        );
        let bytes = read_bytes(Bytes::from_request(req, state).await)?;
        // Only a keyed request needs its fingerprint: the body is not hashed otherwise.
        let print = match headers.contains_key(crate::idempotency::HEADER) {
            true => crate::idempotency::fingerprint(&method, &uri, &bytes),
            false => String::new(),
        };
        let body = json_body(Ok(bytes))?
            .ok_or_else(|| Error::new(ErrorCode::InvalidJson, "a JSON body is required"))?;
        Ok(KeyedBody {
            body: parse_body(body, T::NAME)?,
            print,
            headers,
        })
    }
}

/// Query parameters parsed into `T`; a malformed one gets the native error (400 `invalid_request`,
/// naming it), not a plain-text rejection.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(query).map(Params).map_err(|e| {
            ApiError(Error::invalid(format!(
                "a query parameter is not valid: {e}"
            )))
        })
    }
}

/// The body's bytes; an oversized or unreadable body gets a clear error.
pub fn read_bytes(body: std::result::Result<Bytes, BytesRejection>) -> Result<Bytes> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::new(
                ErrorCode::TooLarge,
                "the request body is larger than the configured limit",
            )
        } else {
            Error::invalid("the request body could not be read")
        }
    })
}

/// The body as JSON: `None` when empty; oversized and malformed bodies get clear errors.
pub fn json_body(body: std::result::Result<Bytes, BytesRejection>) -> Result<Option<Value>> {
    let bytes = read_bytes(body)?;
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
