//! Zoho's accounts and identity calls that an SDK makes before Bulk Write: `POST /oauth/v2/token`
//! (Zoho Accounts' token endpoint, form-encoded), `GET /crm/{v}/users?type=CurrentUser` and
//! `GET /crm/{v}/org` — so an SDK configured with a custom environment works unchanged.

use super::wire::{base_url, caller, error, Refusals};
use crate::State;
use axum::extract::{RawQuery, State as S};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json as AxJson;
use serde::Deserialize;
use serde_json::json;
use sluice_engine::auth::Principal;
use sluice_engine::model::AliasKind;
use sluice_engine::{Error, Result};

/// How long an access token handed out for an app token is said to last: the SDK refreshes by
/// this clock (it never refreshes on a 401), and an app token does not expire meanwhile.
const APP_TOKEN_EXPIRES_IN: u64 = 3600;

#[derive(Deserialize)]
struct Grant {
    grant_type: Option<String>,
    refresh_token: Option<String>,
    code: Option<String>,
    client_secret: Option<String>,
}

/// The token endpoint. `refresh_token` is a sluice refresh token (from a user's login) or an app
/// token (an API key: the password-free grant, answered with itself); `authorization_code` and
/// `client_credentials` take an app token as `code` / `client_secret`. Failures answer 200
/// `{"error":"invalid_code"}`, as Zoho Accounts does.
pub async fn token(S(state): S<State>, headers: HeaderMap, body: String) -> Response {
    let grant: Grant = serde_urlencoded::from_str(&body)
        .or_else(|_| serde_json::from_str(&body))
        .unwrap_or(Grant {
            grant_type: None,
            refresh_token: None,
            code: None,
            client_secret: None,
        });
    let secret = match grant.grant_type.as_deref() {
        Some("refresh_token") => grant.refresh_token,
        Some("authorization_code") => grant.code,
        Some("client_credentials") => grant.client_secret,
        _ => None,
    };
    let answer = async {
        let secret = secret.ok_or_else(Error::unauthorized)?;
        let auth = state.engine.auth();
        // A refresh token from a login first (kept valid: Zoho's clients store theirs for good,
        // and Zoho's refresh answer carries none); else an app token stands for itself.
        if let Ok(s) = auth.refresh_keeping(&secret).await {
            return Ok::<_, Error>((s.token, s.expires_in));
        }
        match auth.authenticate(Some(&secret)).await? {
            Principal::Anonymous => Err(Error::unauthorized()),
            _ => Ok((secret, APP_TOKEN_EXPIRES_IN)),
        }
    }
    .await;
    match answer {
        Ok((access, expires_in)) => AxJson(json!({
            "access_token": access, "api_domain": base_url(&state, &headers),
            "token_type": "Bearer", "expires_in": expires_in,
        }))
        .into_response(),
        Err(_) => AxJson(json!({"error": "invalid_code"})).into_response(),
    }
}

/// `GET /crm/{v}/users?type=CurrentUser`: the caller, with its numeric id.
pub async fn users(S(state): S<State>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let answer = async {
        let current = q
            .as_deref()
            .unwrap_or_default()
            .contains("type=CurrentUser");
        if !current {
            return Err(Error::invalid("only type=CurrentUser is served here").with_field("type"));
        }
        let (who, app) = caller(&state, &headers).await?;
        let n = state
            .engine
            .aliases()
            .number(AliasKind::User, who.user_id())
            .await?;
        let role = match &who {
            Principal::Admin { .. } => "Administrator".to_owned(),
            Principal::Member { role, .. } => role.as_str().to_owned(),
            Principal::Anonymous => String::new(),
        };
        Ok::<_, Error>(json!({
            "users": [{"id": n.to_string(), "full_name": who.user_name(), "email": who.user_name(),
                       "role": {"name": role}, "status": "active", "org": app}],
            "info": {"per_page": 200, "count": 1, "page": 1, "more_records": false},
        }))
    }
    .await;
    answer.map_or_else(|e| error(&e, Refusals::Http), |v| AxJson(v).into_response())
}

/// `GET /crm/{v}/org`: the app the caller acts in, as Zoho's organisation (`zgid` is the number
/// `X-CRM-ORG` takes).
pub async fn org(S(state): S<State>, headers: HeaderMap) -> Response {
    let answer: Result<_> = async {
        let (_, app) = caller(&state, &headers).await?;
        let cat = state.engine.catalog();
        let a = cat
            .app(&app)
            .ok_or_else(|| Error::not_found(format!("no app named {app:?}")))?;
        let n = state
            .engine
            .aliases()
            .number(AliasKind::App, &a.id.to_string())
            .await?;
        Ok(json!({"org": [{"id": n.to_string(), "zgid": n.to_string(),
                           "company_name": a.label, "primary_email": null}]}))
    }
    .await;
    answer.map_or_else(|e| error(&e, Refusals::Http), |v| AxJson(v).into_response())
}
