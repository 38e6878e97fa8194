//! Sugar's session calls besides the login: `POST oauth2/logout` (`OAuth2Api::logout`) and
//! `GET me` (`CurrentUserApi`), the subset of the current user sluice can fill.

use crate::dialects::skeleton::reply;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value as Json};
use sluice_engine::model::{Principal, Role};
use sluice_engine::{Engine, Result};

/// Revokes the caller's access token, and the refresh token the body names if any; answers
/// `{"success": true}`. API keys are not revoked by signing out (they are not a session).
pub async fn logout(engine: &Engine, token: &str, data: Option<Json>) -> Result<Response> {
    engine.auth().revoke(token).await?;
    if let Some(refresh) = data.as_ref().and_then(|d| d["refresh_token"].as_str()) {
        engine.auth().revoke(refresh).await?;
    }
    Ok(reply((StatusCode::OK, json!({"success": true}))))
}

/// `{"current_user": {...}}`: who the token acts as. Owners and admins show as Sugar's `admin`
/// type, everyone else as `user`; `roles` holds the sluice role.
pub async fn me(engine: &Engine, who: &Principal) -> Result<Response> {
    let profile = engine.auth().profile(who).await?;
    let (kind, role) = match who {
        Principal::Admin { .. } => ("admin", "admin"),
        Principal::Member { role, .. } => (
            if *role == Role::Owner {
                "admin"
            } else {
                "user"
            },
            role.as_str(),
        ),
        Principal::Anonymous => ("user", "anonymous"),
    };
    let (id, user_name) = (who.user_id().to_owned(), who.user_name().to_owned());
    let (first, last) = profile
        .as_ref()
        .map(|u| (u.first_name.clone(), u.last_name.clone()))
        .unwrap_or_default();
    let full = format!("{first} {last}").trim().to_owned();
    let full_name = if full.is_empty() {
        user_name.clone()
    } else {
        full
    };
    Ok(reply((
        StatusCode::OK,
        json!({"current_user": {
            "type": kind,
            "id": id,
            "user_name": user_name,
            "full_name": full_name,
            "first_name": first,
            "last_name": last,
            "roles": [role],
            "is_password_expired": false,
            "password_expired_message": "",
            "show_wizard": false,
            "preferences": {},
        }}),
    )))
}
