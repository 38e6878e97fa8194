//! Sugar's `oauth2/token`: password and refresh grants, answered in Sugar's token shape, with the
//! OAuth2 library's errors (`OAuth2::grantAccessToken`) and Sugar's `need_login` for bad passwords.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json as AxJson;
use serde_json::{json, Value as Json};
use sluice_engine::{Engine, ErrorCode, Session};

/// Lifetime Sugar clients are told for refresh tokens (sluice's own refresh lifetime).
const REFRESH_EXPIRES_IN: u64 = 30 * 24 * 3600;

fn refused(status: StatusCode, error: &str, message: &str) -> Response {
    (
        status,
        AxJson(json!({"error": error, "error_message": message})),
    )
        .into_response()
}

/// `oauth2/token` in `app` (from the base URL or the server's default app).
pub async fn token(engine: &Engine, app: Option<&str>, data: Option<Json>) -> Response {
    let data = data.unwrap_or(Json::Null);
    let get = |k: &str| data[k].as_str().unwrap_or_default().to_owned();
    let session = match get("grant_type").as_str() {
        "password" => {
            let (user, password) = (get("username"), get("password"));
            if user.is_empty() || password.is_empty() {
                return refused(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Missing parameters. \"username\" and \"password\" required",
                );
            }
            let Some(app) = app else {
                return refused(
                    StatusCode::UNAUTHORIZED,
                    "need_login",
                    "log in under /apps/{app}/rest/{version}/ to name the app, or start the server with --default-app",
                );
            };
            match engine.auth().login(app, &user, &password).await {
                Ok(s) => s,
                Err(e) if e.code == ErrorCode::TooManyAttempts => {
                    return refused(StatusCode::TOO_MANY_REQUESTS, "need_login", &e.message)
                }
                // Sugar's storage throws NeedLogin for a wrong user name or password.
                Err(e) => return refused(StatusCode::UNAUTHORIZED, "need_login", &e.message),
            }
        }
        "refresh_token" => {
            let refresh = get("refresh_token");
            if refresh.is_empty() {
                return refused(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "No \"refresh_token\" parameter found",
                );
            }
            match engine.auth().refresh(&refresh).await {
                Ok(s) => s,
                Err(e) if e.code == ErrorCode::Unauthorized => {
                    return refused(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "Invalid refresh token",
                    )
                }
                Err(e) => return super::super::skeleton::reply(super::errors::error(&e)),
            }
        }
        _ => {
            return refused(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Invalid grant_type parameter or parameter missing",
            )
        }
    };
    session_json(&session)
}

fn session_json(s: &Session) -> Response {
    AxJson(json!({
        "access_token": s.token,
        "expires_in": s.expires_in,
        "token_type": "bearer",
        "scope": null,
        "refresh_token": s.refresh_token,
        "refresh_expires_in": REFRESH_EXPIRES_IN,
        "download_token": s.token,
    }))
    .into_response()
}
