//! Sugar's errors: `{"error": <label>, "error_message": <text>}` with Sugar's labels and statuses
//! (as SugarCRM's API exception classes and REST service define them), sluice's own code in
//! `sluice_code` (Sugar merges extra keys into the same object, so clients tolerate them).

use axum::http::StatusCode;
use serde_json::{json, Value as Json};
use sluice_engine::{Error, ErrorCode};

/// `ServiceBase::needLogin()`: a call without a token.
pub const NEED_LOGIN: &str = "No valid authentication for user.";
/// OAuth2 `verifyAccessToken`: an unknown token, and an expired one. Clients refresh on
/// `invalid_grant`.
const INVALID_TOKEN: &str = "The access token provided is invalid.";
const EXPIRED_TOKEN: &str = "The access token provided has expired.";
/// `EXCEPTION_NOT_AUTHORIZED`'s text.
const NOT_AUTHORIZED: &str =
    "You are not authorized to perform this action. Contact your administrator if you need access.";
/// Marks a not-found error as "no such route" (`no_method`) rather than "no such record".
const ROUTE: &str = "__sugar_route";
/// `SugarApi::requireArgs`: "Missing parameter: <name>".
const MISSING: &str = "Missing parameter: ";

/// No route (or no module) for `path`: Sugar's `no_method`, as `RestService` words it.
pub fn no_method(path: &str) -> Error {
    Error::not_found(format!(
        "Could not find any route that accepted a path like: {path}"
    ))
    .with_field(ROUTE)
}

/// A required request argument is absent: Sugar's `missing_parameter`.
pub fn missing(name: &str) -> Error {
    Error::new(ErrorCode::Required, format!("{MISSING}{name}")).with_field(name)
}

/// A call that sent no token.
pub fn need_login() -> Error {
    Error::new(ErrorCode::Unauthorized, NEED_LOGIN)
}

/// Sugar's status, label and text for a sluice error.
pub fn error(e: &Error) -> (StatusCode, Json) {
    use ErrorCode as C;
    let own = || e.message.clone();
    let (status, label, message) = match e.code {
        C::Unauthorized if e.message == NEED_LOGIN => (401, "need_login", own()),
        C::Unauthorized if e.is_token_expired() => (401, "invalid_grant", EXPIRED_TOKEN.into()),
        C::Unauthorized => (401, "invalid_grant", INVALID_TOKEN.into()),
        C::Forbidden => (403, "not_authorized", NOT_AUTHORIZED.into()),
        C::NotFound if e.field.as_deref() == Some(ROUTE) => (404, "no_method", own()),
        C::MethodNotAllowed => (404, "no_method", own()),
        C::NotFound => (404, "not_found", own()),
        C::Required if e.message.starts_with(MISSING) => (422, "missing_parameter", own()),
        C::InvalidJson
        | C::InvalidRequest
        | C::InvalidFile
        | C::ValidationFailed
        | C::Required
        | C::UnknownField
        | C::UniqueViolation
        | C::InvalidReference
        | C::ReferenceNotFound
        | C::IdempotencyMismatch => (422, "invalid_parameter", own()),
        C::Conflict | C::StillReferenced | C::IdempotencyInFlight | C::NotReady => {
            (409, "edit_conflict", own())
        }
        C::Expired => (404, "not_found", own()),
        C::RangeNotSatisfiable => (416, "invalid_parameter", own()),
        C::NotApplied => (424, "request_failure", own()),
        C::TooLarge | C::LimitExceeded => (413, "request_too_large", own()),
        // Stock Sugar has no 429; sluice's throttles answer it (ours).
        C::TooManyAttempts | C::RateLimited => (429, "too_many_requests", own()),
        C::Busy | C::Unavailable | C::Timeout | C::InsufficientStorage => {
            (503, "service_unavailable", own())
        }
        C::Internal => (500, "fatal_error", own()),
    };
    let mut body =
        json!({"error": label, "error_message": message, "sluice_code": e.code.as_str()});
    if let Some(field) = e.field.as_deref().filter(|f| *f != ROUTE) {
        body["sluice_field"] = json!(field);
    }
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body,
    )
}

/// A record call's error: a missing record is named as `SugarApi::loadBean` names it.
pub fn record_error(e: &Error, module: &str, id: &str) -> (StatusCode, Json) {
    let (status, mut body) = error(e);
    if e.code == ErrorCode::NotFound && e.field.as_deref() != Some(ROUTE) {
        body["error_message"] = json!(format!("Could not find record: {id} in module: {module}"));
    }
    (status, body)
}

/// A list call's error: a module the caller may not list is named as
/// `FilterApi::filterListSetup` names it.
pub fn list_error(e: &Error, module: &str) -> (StatusCode, Json) {
    let (status, mut body) = error(e);
    if e.code == ErrorCode::Forbidden {
        body["error_message"] = json!(format!("No access to view records for module: {module}"));
    }
    (status, body)
}

/// A link route's error: a missing parent record is named as `RelateApi::filterRelatedSetup`
/// names it ("Could not find parent record %s in module: %s").
pub fn link_error(e: &Error, parent: &str, id: &str, inner: &super::Kind) -> (StatusCode, Json) {
    if e.code == ErrorCode::NotFound && e.field.as_deref() != Some(ROUTE) {
        let (status, mut body) = error(e);
        body["error_message"] = json!(format!(
            "Could not find parent record {id} in module: {parent}"
        ));
        return (status, body);
    }
    <super::Sugar as super::skeleton::Vendor>::error_in(inner, e)
}
