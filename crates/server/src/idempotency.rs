//! `Idempotency-Key` on creating calls: the key (scoped to the app and the caller), the
//! request's fingerprint (method, path, query and body), and answers that say when they are the
//! kept answer of an earlier request (`Idempotent-Replayed: true`).

use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use sluice_engine::model::{Answer, IdemKey, Keyed, Principal};
use sluice_engine::{Error, Result};

pub const HEADER: &str = "idempotency-key";

/// Who a key belongs to: the caller, within its app (an admin's keys are its own).
pub fn scope(who: &Principal, app: Option<&str>) -> Result<String> {
    let caller =
        match who {
            Principal::Admin { user } => format!("admin:{user}"),
            Principal::Member {
                app_id, user_id, ..
            } => format!("{app_id}:{user_id}"),
            // Anonymous callers cannot be told apart: one's key could be taken by any other.
            Principal::Anonymous => return Err(Error::invalid(
                "an Idempotency-Key needs credentials: an anonymous caller's key could be anyone's",
            )
            .with_field("Idempotency-Key")),
        };
    Ok(match app {
        Some(app) => format!("{caller}@{app}"),
        None => caller,
    })
}

/// The request's fingerprint: a repeat must be the same call with the same body.
pub fn fingerprint(method: &Method, uri: &Uri, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_str().as_bytes());
    h.update(b" ");
    h.update(uri.path().as_bytes());
    h.update(b"?");
    h.update(uri.query().unwrap_or_default().as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

/// The key a request names, if any, with its fingerprint.
pub fn key_of(
    headers: &HeaderMap,
    who: &Principal,
    app: Option<&str>,
    print: impl FnOnce() -> String,
) -> Result<Option<IdemKey>> {
    match headers.get(HEADER) {
        None => Ok(None),
        // A header that is not visible ASCII is refused like any bad key.
        Some(v) => IdemKey::new(scope(who, app)?, v.to_str().unwrap_or("\u{0}"), print()).map(Some),
    }
}

/// The app a native path names (`/v1/apps/{app}/…`).
pub fn app_of(path: &str) -> Option<&str> {
    path.strip_prefix("/v1/apps/")?
        .split('/')
        .next()
        .filter(|a| !a.is_empty())
}

/// A JSON answer to keep.
pub fn json_answer(status: StatusCode, body: &impl serde::Serialize) -> Answer {
    Answer {
        status: status.as_u16(),
        body: serde_json::to_vec(body).unwrap_or_default(),
    }
}

/// The answer as sent: the kept status and body, marked when replayed.
pub fn respond(k: Keyed) -> Response {
    let status = StatusCode::from_u16(k.answer.status).unwrap_or(StatusCode::OK);
    let mut resp = if status == StatusCode::NO_CONTENT {
        status.into_response()
    } else {
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            k.answer.body,
        )
            .into_response()
    };
    if k.replayed {
        resp.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    resp
}
