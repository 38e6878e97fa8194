//! Salesforce's OAuth token endpoint, `POST /services/oauth2/token` (form-encoded): the
//! username-password grant logs an app user in (the app is the one `client_id` names, else the
//! server's default app); the client-credentials grant takes an app token as `client_secret`.
//! The answer is Salesforce's: `access_token`, `instance_url`, `id`, `token_type`, `issued_at` and
//! `signature` (an HMAC of `id` and `issued_at`, keyed by the client secret, as Salesforce signs).

use super::wire::{self, sf_id};
use crate::State;
use axum::body::Bytes;
use axum::extract::State as S;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json as AxJson;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use sluice_engine::model::{AliasKind, Principal};
use sluice_engine::{Error, Result};

#[derive(Deserialize, Default)]
struct Grant {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

/// Salesforce's refusal of a grant: 400 with `error` and `error_description`.
fn refused(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        AxJson(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

pub async fn token(S(state): S<State>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(grant) = serde_urlencoded::from_bytes::<Grant>(&body) else {
        return refused("invalid_request", "invalid form body");
    };
    let secret = grant.client_secret.clone().unwrap_or_default();
    let issued = match grant.grant_type.as_deref() {
        Some("password") => password(&state, &grant).await,
        Some("client_credentials") => app_token(&state, &secret).await,
        _ => return refused("unsupported_grant_type", "grant type not supported"),
    };
    let Ok((token, who, app)) = issued else {
        return refused("invalid_grant", "authentication failure");
    };
    let instance = super::base_url(&state, &headers);
    let numbers = state.engine.aliases();
    let org = numbers
        .number(AliasKind::App, &app)
        .await
        .unwrap_or_default();
    let user = numbers
        .number(AliasKind::User, who.user_id())
        .await
        .unwrap_or_default();
    let id = format!(
        "{instance}/id/{}/{}",
        sf_id(wire::ORG, org),
        sf_id(wire::USER, user)
    );
    let issued_at = state
        .engine
        .settings()
        .clock
        .now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
        .to_string();
    let signature = sign(&secret, &id, &issued_at);
    AxJson(json!({
        "access_token": token, "instance_url": instance, "id": id, "token_type": "Bearer",
        "issued_at": issued_at, "signature": signature,
    }))
    .into_response()
}

/// The username-password grant: a login as the app's user.
async fn password(state: &State, grant: &Grant) -> Result<(String, Principal, String)> {
    let app = grant
        .client_id
        .as_deref()
        .filter(|c| state.engine.catalog().app(c).is_some())
        .or(state.config.default_app.as_deref())
        .ok_or_else(Error::unauthorized)?
        .to_owned();
    let (user, pass) = (
        grant.username.as_deref().unwrap_or_default(),
        grant.password.as_deref().unwrap_or_default(),
    );
    let session = state.engine.auth().login(&app, user, pass).await?;
    let who = state
        .engine
        .auth()
        .authenticate(Some(&session.token))
        .await?;
    let id = app_id(state, &app)?;
    Ok((session.token, who, id))
}

/// The client-credentials grant: an app token stands for itself.
async fn app_token(state: &State, secret: &str) -> Result<(String, Principal, String)> {
    let who = state.engine.auth().authenticate(Some(secret)).await?;
    let app = who
        .app_id()
        .map(|id| id.to_string())
        .ok_or_else(Error::unauthorized)?;
    Ok((secret.to_owned(), who, app))
}

fn app_id(state: &State, name: &str) -> Result<String> {
    state
        .engine
        .catalog()
        .app(name)
        .map(|a| a.id.to_string())
        .ok_or_else(Error::unauthorized)
}

/// Base64 of HMAC-SHA256(`id` + `issued_at`) keyed by the client secret.
fn sign(secret: &str, id: &str, issued_at: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(id.as_bytes());
    mac.update(issued_at.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}
