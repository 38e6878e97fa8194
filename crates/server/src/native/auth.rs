//! `POST /v1/auth/token`: password login and refresh for app users.

use crate::error::{ApiError, ApiResult};
use crate::extract::json_body;
use crate::State;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State as S;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use sluice_engine::{Error, Session};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    grant_type: Option<String>,
    app: Option<String>,
    username: Option<String>,
    password: Option<String>,
    refresh_token: Option<String>,
}

pub fn session_json(s: &Session) -> Value {
    json!({
        "token": s.token,
        "refresh_token": s.refresh_token,
        "expires_in": s.expires_in,
        "user": s.user.name,
        "role": s.user.role,
        "app": s.app,
    })
}

pub async fn token(
    S(state): S<State>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let body = json_body(body)?.ok_or_else(|| Error::invalid("a JSON body is required"))?;
    let req: TokenRequest = serde_json::from_value(body)
        .map_err(|e| ApiError(Error::invalid(format!("invalid login request: {e}"))))?;
    let session = match req.grant_type.as_deref().unwrap_or("password") {
        "password" => {
            let (Some(app), Some(user), Some(pw)) = (req.app, req.username, req.password) else {
                return Err(Error::invalid("app, username and password are required").into());
            };
            state.engine.auth().login(&app, &user, &pw).await?
        }
        "refresh_token" => {
            let token = req
                .refresh_token
                .ok_or_else(|| Error::invalid("refresh_token is required"))?;
            state.engine.auth().refresh(&token).await?
        }
        other => return Err(Error::invalid(format!("unknown grant_type {other:?}")).into()),
    };
    Ok(Json(session_json(&session)))
}
