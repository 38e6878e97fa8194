//! Sugar's `oauth2/token`: password and refresh grants, answered in Sugar's token shape.

use super::super::skeleton::{reply, Vendor};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json as AxJson;
use serde_json::{json, Value as Json};
use sluice_engine::{Engine, Error, ErrorCode, Result, Session};

/// Lifetime Sugar clients are told for refresh tokens (sluice's own refresh lifetime).
const REFRESH_EXPIRES_IN: u64 = 30 * 24 * 3600;
/// `oauth2/token`: password and refresh grants, answered in Sugar's token shape.
pub async fn token(engine: &Engine, app: Option<&str>, data: Option<Json>) -> Response {
    let data = data.unwrap_or(Json::Null);
    let get = |k: &str| data[k].as_str().unwrap_or_default().to_owned();
    let session: Result<Session> = match get("grant_type").as_str() {
        "password" => match app {
            Some(app) => {
                engine
                    .auth()
                    .login(app, &get("username"), &get("password"))
                    .await
            }
            None => Err(Error::new(
                ErrorCode::Unauthorized,
                "log in under /apps/{app}/rest/{version}/ to name the app",
            )),
        },
        "refresh_token" => engine.auth().refresh(&get("refresh_token")).await,
        other => Err(Error::invalid(format!("unsupported grant_type {other:?}"))),
    };
    match session {
        Ok(s) => AxJson(json!({
            "access_token": s.token,
            "expires_in": s.expires_in,
            "token_type": "bearer",
            "scope": null,
            "refresh_token": s.refresh_token,
            "refresh_expires_in": REFRESH_EXPIRES_IN,
            "download_token": s.token,
        }))
        .into_response(),
        Err(e) if e.code == ErrorCode::InvalidRequest => reply(super::Sugar::error(&e)),
        Err(e) => {
            let status = if e.code == ErrorCode::TooManyAttempts {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNAUTHORIZED
            };
            (
                status,
                AxJson(json!({"error": "need_login", "error_message": e.message})),
            )
                .into_response()
        }
    }
}
