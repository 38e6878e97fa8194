//! Zoho's accounts and identity calls that an SDK makes before Bulk Write: `POST /oauth/v2/token`
//! (Zoho Accounts' token endpoint; parameters in the query string or a form), `GET /crm/{v}/users?type=CurrentUser` and
//! `GET /crm/{v}/org` — so an SDK configured with a custom environment works unchanged.

use super::wire::{base_url, caller, error, Refusals};
use crate::State;
use axum::extract::{FromRequest, Multipart, RawQuery, Request, State as S};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json as AxJson;
use serde::Deserialize;
use serde_json::json;
use sluice_engine::model::{AliasKind, Principal};
use sluice_engine::{Error, Result};

/// How long an access token handed out for an app token is said to last: the SDK refreshes by
/// this clock (it never refreshes on a 401), and an app token does not expire meanwhile.
const APP_TOKEN_EXPIRES_IN: u64 = 3600;
/// The largest grant body read: a few parameters.
const MAX_GRANT_BYTES: usize = 64 << 10;

#[derive(Deserialize, Default)]
struct Grant {
    grant_type: Option<String>,
    refresh_token: Option<String>,
    code: Option<String>,
    client_secret: Option<String>,
}

impl Grant {
    /// Takes what `other` names and this does not.
    fn or(self, other: Grant) -> Grant {
        Grant {
            grant_type: self.grant_type.or(other.grant_type),
            refresh_token: self.refresh_token.or(other.refresh_token),
            code: self.code.or(other.code),
            client_secret: self.client_secret.or(other.client_secret),
        }
    }

    fn set(&mut self, name: &str, value: String) {
        let slot = match name {
            "grant_type" => &mut self.grant_type,
            "refresh_token" => &mut self.refresh_token,
            "code" => &mut self.code,
            "client_secret" => &mut self.client_secret,
            _ => return,
        };
        *slot = Some(value);
    }
}

/// The grant's parameters wherever a Zoho client puts them: the query string (as Zoho Accounts'
/// documentation shows every refresh), a multipart form (Zoho's Node SDK), a urlencoded or a
/// JSON body. The query string wins where both name a parameter.
async fn grant_of(req: Request) -> Grant {
    let from_query = req
        .uri()
        .query()
        .and_then(|q| serde_urlencoded::from_str::<Grant>(q).ok())
        .unwrap_or_default();
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let from_body = if multipart {
        let mut grant = Grant::default();
        if let Ok(mut form) = Multipart::from_request(req, &()).await {
            while let Ok(Some(field)) = form.next_field().await {
                let name = field.name().unwrap_or_default().to_owned();
                if let Ok(value) = field.text().await {
                    grant.set(&name, value);
                }
            }
        }
        grant
    } else {
        let body = axum::body::to_bytes(req.into_body(), MAX_GRANT_BYTES)
            .await
            .unwrap_or_default();
        serde_urlencoded::from_bytes(&body)
            .or_else(|_| serde_json::from_slice(&body))
            .unwrap_or_default()
    };
    from_query.or(from_body)
}

/// The token endpoint. `refresh_token` is a sluice refresh token (from a user's login) or an app
/// token (an API key: the password-free grant, answered with itself); `authorization_code` and
/// `client_credentials` take an app token as `code` / `client_secret`. Failures answer 200
/// `{"error":"invalid_code"}`, as Zoho Accounts does.
pub async fn token(S(state): S<State>, req: Request) -> Response {
    let headers = req.headers().clone();
    let grant = grant_of(req).await;
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
