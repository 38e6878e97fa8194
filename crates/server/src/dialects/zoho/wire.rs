//! What the Zoho dialects (Bigin and CRM Bulk Write) share on the wire: error bodies and their
//! codes, the caller (`Authorization: Zoho-oauthtoken`, `X-CRM-ORG`), numeric ids, the server's
//! public base URL and Zoho's time format (docs/DIALECTS.md, "Zoho").

use crate::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json as AxJson;
use serde_json::{json, Value as Json};
use sluice_engine::model::{AliasKind, Principal};
use sluice_engine::{Error, ErrorCode, Result};

/// Which answer an upload refusal gets: Bigin's v1 answers them with HTTP 200 (its upload page),
/// Bigin v2 and CRM with 400 / 413 (CRM's upload page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusals {
    Ok200,
    Http,
}

fn body(code: &str, message: &str, details: Json) -> Json {
    json!({"status": "error", "code": code, "message": message, "details": details})
}

/// Zoho's error answer for `e`: `{"status":"error","code","message","details"}`, with sluice's
/// own code in `details.sluice_code` wherever Zoho's details are free.
pub fn error(e: &Error, refusals: Refusals) -> Response {
    use ErrorCode as C;
    let (status, code, message) = match (e.code, e.field.as_deref()) {
        // Zoho's authentication answers carry empty details and Zoho's own words.
        (C::Unauthorized, Some("authorization")) => {
            return reply(
                StatusCode::UNAUTHORIZED,
                body("AUTHENTICATION_FAILURE", "Authentication failed", json!({})),
            );
        }
        (C::Unauthorized, _) => {
            return reply(
                StatusCode::UNAUTHORIZED,
                body("INVALID_TOKEN", "invalid oauth token", json!({})),
            );
        }
        (C::Forbidden, _) => {
            let b = body(
                "OAUTH_SCOPE_MISMATCH",
                "invalid oauth scope to access this URL",
                json!({}),
            );
            return reply(StatusCode::UNAUTHORIZED, b);
        }
        // Only uploads refuse files: not a ZIP, or a ZIP that does not hold one readable CSV.
        (C::InvalidFile, _) => {
            let status = match refusals {
                Refusals::Ok200 => StatusCode::OK,
                Refusals::Http => StatusCode::BAD_REQUEST,
            };
            let b = body(
                "INVALID_FILE_FORMAT",
                "invalid file format. only zip format is supported",
                json!({"sluice_code": e.code.as_str(), "reason": e.message}),
            );
            return reply(status, b);
        }
        (C::TooLarge, _) => {
            let status = match refusals {
                Refusals::Ok200 => StatusCode::OK,
                Refusals::Http => StatusCode::PAYLOAD_TOO_LARGE,
            };
            return reply(
                status,
                body(
                    "FILE_TOO_LARGE",
                    "File size too large to process",
                    json!({"sluice_code": e.code.as_str()}),
                ),
            );
        }
        (C::Required, Some("find_by")) => (
            StatusCode::BAD_REQUEST,
            "MANDATORY_NOT_FOUND",
            "Required key find_by is not available".to_owned(),
        ),
        (C::Required, _) => (
            StatusCode::BAD_REQUEST,
            "MANDATORY_FIELDS_NOT_MAPPED",
            e.message.clone(),
        ),
        (C::UnknownField, _) => (StatusCode::BAD_REQUEST, "INVALID_FIELD", e.message.clone()),
        (C::NotFound, Some("file_id")) => (
            StatusCode::BAD_REQUEST,
            "INVALID_FILE_ID",
            e.message.clone(),
        ),
        (C::NotFound, Some("object")) => (
            StatusCode::BAD_REQUEST,
            "MODULE_NOT_AVAILABLE",
            e.message.clone(),
        ),
        (C::NotFound, Some("path")) => (
            StatusCode::NOT_FOUND,
            "INVALID_URL_PATTERN",
            "Please check if the URL trying to access is a correct one".to_owned(),
        ),
        (C::NotFound, _) => (
            StatusCode::NOT_FOUND,
            "RESOURCE_NOT_FOUND",
            "The requested resource doesn't exist.".to_owned(),
        ),
        (C::ValidationFailed, Some("index" | "column")) => (
            StatusCode::BAD_REQUEST,
            "COLUMN_INDEX_NOT_FOUND",
            e.message.clone(),
        ),
        (C::LimitExceeded, Some("columns")) => (
            StatusCode::BAD_REQUEST,
            "HEADER_LIMIT_EXCEEDED",
            e.message.clone(),
        ),
        (C::LimitExceeded, _) => (StatusCode::BAD_REQUEST, "LIMIT_EXCEEDED", e.message.clone()),
        (C::MethodNotAllowed, _) => (
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST_METHOD",
            "The http request method type is not a valid one".to_owned(),
        ),
        (C::InvalidJson | C::InvalidRequest, _) => {
            (StatusCode::BAD_REQUEST, "INVALID_FORMAT", e.message.clone())
        }
        (C::Internal | C::Unavailable | C::Busy, _) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            e.message.clone(),
        ),
        _ => (StatusCode::BAD_REQUEST, "INVALID_DATA", e.message.clone()),
    };
    let mut details = json!({"sluice_code": e.code.as_str()});
    if let Some(f) = &e.field {
        details["api_name"] = json!(f);
    }
    reply(status, body(code, &message, details))
}

fn reply(status: StatusCode, body: Json) -> Response {
    (status, AxJson(body)).into_response()
}

/// The caller: `Authorization: Zoho-oauthtoken <token>` (or `Bearer`). An app token acts in its
/// own app, whatever `X-CRM-ORG` says (every documented upload sends one); an admin token names
/// the app with `X-CRM-ORG`: the app's numeric org id (`org_id` in its document), or its name.
pub async fn caller(state: &State, headers: &HeaderMap) -> Result<(Principal, String)> {
    let Some(v) = headers.get("authorization") else {
        return Err(Error::unauthorized().with_field("authorization"));
    };
    let v = v.to_str().map_err(|_| Error::unauthorized())?;
    let (scheme, token) = v.trim().split_once(' ').ok_or_else(Error::unauthorized)?;
    if !scheme.eq_ignore_ascii_case("zoho-oauthtoken") && !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Error::unauthorized());
    }
    let who = state.engine.auth().authenticate(Some(token.trim())).await?;
    if who.app_id().is_some() {
        let app = super::super::app_for(&state.engine, &who, None)?;
        return Ok((who, app));
    }
    let org = headers
        .get("x-crm-org")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .ok_or_else(|| {
            Error::invalid("name the organisation with X-CRM-ORG").with_field("X-CRM-ORG")
        })?;
    let app = match numeric(org) {
        Some(n) => {
            let id = state.engine.aliases().id_of(AliasKind::App, n).await?;
            id.and_then(|id| {
                let cat = state.engine.catalog();
                let found = cat
                    .apps()
                    .find(|a| a.id.to_string() == id)
                    .map(|a| a.name.to_string());
                found
            })
            .ok_or_else(|| {
                Error::not_found(format!("no organisation {org}")).with_field("X-CRM-ORG")
            })?
        }
        None => org.to_owned(),
    };
    Ok((who, app))
}

/// A Zoho id given as digits.
pub fn numeric(s: &str) -> Option<u64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// The sluice id a Zoho id stands for: a number is looked up among the aliases of `kind`; a UUID
/// is taken as it is. An unknown number names nothing (`not_found` on `field`).
pub async fn resolve(state: &State, kind: AliasKind, given: &str, field: &str) -> Result<String> {
    match numeric(given) {
        Some(n) => state.engine.aliases().id_of(kind, n).await?.ok_or_else(|| {
            Error::not_found(format!("no {} with id {given}", kind.as_str())).with_field(field)
        }),
        None => Ok(given.to_owned()),
    }
}

/// The server's base URL as a client reaches it: `--public-url`, else the request's `Host` (with
/// `https://` when the server serves TLS).
pub fn base_url(state: &State, headers: &HeaderMap) -> String {
    let host = headers.get("host").and_then(|v| v.to_str().ok());
    state
        .config
        .public_base(host)
        .trim_end_matches('/')
        .to_owned()
}

/// Zoho's timestamps: seconds and an offset, `2024-01-31T12:00:00+00:00` (sluice keeps
/// milliseconds and `Z`).
pub fn zoho_time(t: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(t) {
        Ok(d) => d.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        Err(_) => t.to_owned(),
    }
}
