//! Backand credentials: `Authorization` (Bearer, or Basic `master:user`), `AnonymousToken` and
//! `AppName`, from headers or, as Backand's docs allow, from the query string
//! (`?authorization=basic <master>:<user>`, `?AnonymousToken=<token>`).

use crate::dialects::caller;
use axum::http::HeaderMap;
use base64::Engine as _;
use serde_json::{Map, Value as Json};
use sluice_engine::model::Principal;
use sluice_engine::{Engine, Error, Result};

/// Credentials as a Backand client sends them, before they are checked.
pub enum Creds {
    None,
    Bearer(String),
    Anonymous(String),
}

impl Creds {
    /// The stored token these credentials name, which bulk entries check again as they run.
    pub fn token(&self) -> Option<String> {
        match self {
            Creds::Bearer(t) => Some(t.clone()),
            Creds::None | Creds::Anonymous(_) => None,
        }
    }
}

/// Reads credentials and the app through `get` (lower-case names).
pub fn read_creds(get: &dyn Fn(&str) -> Option<String>) -> Result<(Creds, Option<String>)> {
    let app = get("appname");
    // Some SDKs send both; `Authorization` wins.
    let Some(auth) = get("authorization") else {
        return Ok((
            get("anonymoustoken").map_or(Creds::None, Creds::Anonymous),
            app,
        ));
    };
    let (scheme, rest) = auth
        .trim()
        .split_once(' ')
        .ok_or_else(Error::unauthorized)?;
    let token = if scheme.eq_ignore_ascii_case("bearer") {
        rest.trim().to_owned()
    } else if scheme.eq_ignore_ascii_case("basic") {
        // The header carries base64(master:user) (the SDK's `btoa`); the query-string form in
        // Backand's docs carries `master:user` as it is. The user token acts; without one, the
        // master token does (ours).
        let rest = rest.trim();
        let text = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()
            .and_then(|raw| String::from_utf8(raw).ok())
            .filter(|t| t.contains(':'))
            .unwrap_or_else(|| rest.to_owned());
        let (master, user) = text.split_once(':').unwrap_or((&text, ""));
        if user.is_empty() { master } else { user }.to_owned()
    } else {
        return Err(Error::unauthorized());
    };
    if token.is_empty() {
        return Err(Error::unauthorized());
    }
    Ok((Creds::Bearer(token), app))
}

/// Names Backand reads credentials from; the query string may carry them when headers do not.
const CREDENTIAL_NAMES: [&str; 3] = ["authorization", "anonymoustoken", "appname"];

/// A lookup over headers, then over query parameters (names in any case).
pub fn lookup<'a>(
    headers: &'a dyn Fn(&str) -> Option<String>,
    query: &'a Map<String, Json>,
) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        headers(name).or_else(|| {
            let from_query = CREDENTIAL_NAMES.contains(&name);
            query
                .iter()
                .find(|(k, _)| from_query && k.eq_ignore_ascii_case(name))
                .map(|(_, v)| crate::dialects::text(v))
        })
    }
}

/// Whether a call carries any credentials (a bulk command's own ones replace the request's).
pub fn has_creds(get: &dyn Fn(&str) -> Option<String>) -> bool {
    get("authorization").is_some() || get("anonymoustoken").is_some()
}

pub fn headers_get(h: &HeaderMap) -> impl Fn(&str) -> Option<String> + '_ {
    move |name| h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Checks credentials and settles the app the call acts in.
pub async fn resolve(
    engine: &Engine,
    creds: Creds,
    app: Option<String>,
) -> Result<(Principal, String)> {
    match creds {
        Creds::Anonymous(token) => {
            let catalog = engine.catalog();
            let found = catalog
                .apps()
                .find(|a| !a.anonymous_token.is_empty() && a.anonymous_token == token)
                .ok_or_else(Error::unauthorized)?;
            Ok((Principal::Anonymous, found.name.to_string()))
        }
        Creds::Bearer(token) => caller(engine, Some(&token), app.as_deref()).await,
        Creds::None => caller(engine, None, app.as_deref()).await,
    }
}
