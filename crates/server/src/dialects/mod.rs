//! Vendor dialects: each translates a vendor's wire format into engine calls and the results back
//! into the vendor's shapes. No business logic lives here; the record dialects share one path
//! (`skeleton`) and each vendor file holds only its wire format. `docs/DIALECTS.md` says what each
//! implements and why.

pub mod backand;
pub mod fulcrum;
pub(crate) mod links;
pub mod salesforce;
pub(crate) mod skeleton;
pub mod sugar;
pub mod zoho;

use crate::native::documents::job_json;
use crate::State;
use axum::Router;
use sluice_engine::model::Principal;
use sluice_engine::{Engine, Error, Result};
use std::sync::Arc;

pub fn router() -> Router<State> {
    Router::new()
        .merge(backand::router())
        .merge(sugar::router())
        .merge(zoho::router())
        .merge(fulcrum::router())
}

/// Registers how each front door's callbacks are rendered: the native job or export document,
/// unless the job was made through a dialect with a document of its own (whose links start at
/// `base`).
pub fn register(engine: &Engine, base: &str) {
    engine.jobs().set_callback_renderer("", Arc::new(job_json));
    engine
        .exports()
        .set_callback_renderer(Arc::new(crate::native::documents::export_json));
    zoho::register(engine, base);
}

/// The app a dialect call acts in: the one the request names, else an app token's own app.
pub fn app_for(engine: &Engine, who: &Principal, named: Option<&str>) -> Result<String> {
    if let Some(name) = named.filter(|n| !n.is_empty()) {
        return Ok(name.to_owned());
    }
    match who.app_id() {
        Some(id) => engine
            .catalog()
            .app_by_id(id)
            .map(|a| a.name.to_string())
            .ok_or_else(|| Error::not_found("the token's app no longer exists")),
        None => Err(Error::invalid(
            "this token belongs to no app: name the app in the request",
        )),
    }
}

/// Resolves a dialect call's token (or none) and the app it acts in. Without credentials and
/// without an app to act in, the call is unauthorized rather than malformed.
pub async fn caller(
    engine: &Engine,
    token: Option<&str>,
    named: Option<&str>,
) -> Result<(Principal, String)> {
    let who = engine.auth().authenticate(token).await?;
    let app = app_for(engine, &who, named).map_err(|e| {
        if who == Principal::Anonymous {
            Error::unauthorized()
        } else {
            e
        }
    })?;
    Ok((who, app))
}

/// Renames keys of a JSON object in place (`from` → `to`).
pub fn rename_keys(v: &mut serde_json::Value, pairs: &[(&str, &str)]) {
    if let Some(m) = v.as_object_mut() {
        for (from, to) in pairs {
            if let Some(x) = m.remove(*from) {
                m.insert((*to).to_owned(), x);
            }
        }
    }
}

/// A JSON value as text: strings as they are, anything else as JSON (vendors send numbers and
/// flags either way).
pub fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
