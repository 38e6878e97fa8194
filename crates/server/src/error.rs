//! The one place where engine error codes become HTTP statuses, and the native error body.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use sluice_engine::{Error, ErrorCode};

/// The HTTP status for each stable error code: the engine declares the number beside the code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    StatusCode::from_u16(code.status()).expect("every error code declares a valid HTTP status")
}

/// The native error body: `{"error":{"code","message","field"?,"row"?}}`.
pub fn error_body(e: &Error) -> Value {
    let mut inner = json!({"code": e.code.as_str(), "message": e.message});
    if let Some(f) = &e.field {
        inner["field"] = json!(f);
    }
    if let Some(r) = e.row {
        inner["row"] = json!(r);
    }
    json!({ "error": inner })
}

/// An engine error on its way out of a native handler.
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (status_of(self.0.code), Json(error_body(&self.0))).into_response();
        // RFC 6750: a 401 names the scheme the credentials go in.
        if self.0.code == ErrorCode::Unauthorized {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"sluice\""),
            );
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_maps_to_an_error_status() {
        for &code in ErrorCode::ALL {
            let s = status_of(code);
            assert!(s.is_client_error() || s.is_server_error(), "{code}");
        }
        assert_eq!(status_of(ErrorCode::UniqueViolation), StatusCode::CONFLICT);
        assert_eq!(status_of(ErrorCode::NotApplied).as_u16(), 424);
    }
}
