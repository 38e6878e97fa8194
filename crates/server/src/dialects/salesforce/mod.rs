//! Salesforce Bulk API 2.0 on the job and export engines: the OAuth token endpoint, ingest jobs
//! (an assembled upload, then a bulk-write job) and query jobs (SOQL translated to a checked
//! read-only query, run as an export read in pages), under `/services/data/v{version}/jobs/`,
//! wire-exact for Salesforce's own clients (docs/DIALECTS.md, "Salesforce").

mod auth;
mod ingest;
mod ingest_info;
mod ingest_plan;
mod names;
mod query;
mod results;
pub mod soql;
mod wire;

use crate::State;
use axum::http::HeaderMap;
use axum::routing::{get, post, put};
use axum::Router;

pub fn router() -> Router<State> {
    let jobs = "/services/data/{version}/jobs";
    Router::new()
        .route("/services/oauth2/token", post(auth::token))
        .route(
            &format!("{jobs}/ingest"),
            post(ingest::create).get(ingest::list),
        )
        .route(
            &format!("{jobs}/ingest/"),
            post(ingest::create).get(ingest::list),
        )
        .route(
            &format!("{jobs}/ingest/{{id}}"),
            get(ingest::show)
                .patch(ingest::set_state)
                .delete(ingest::delete),
        )
        .route(
            &format!("{jobs}/ingest/{{id}}/batches"),
            put(ingest::upload),
        )
        .route(
            &format!("{jobs}/ingest/{{id}}/batches/"),
            put(ingest::upload),
        )
        .route(
            &format!("{jobs}/ingest/{{id}}/{{results}}"),
            get(results::download),
        )
        .route(
            &format!("{jobs}/ingest/{{id}}/{{results}}/"),
            get(results::download),
        )
        .route(
            &format!("{jobs}/query"),
            post(query::create).get(query::list),
        )
        .route(
            &format!("{jobs}/query/"),
            post(query::create).get(query::list),
        )
        .route(
            &format!("{jobs}/query/{{id}}"),
            get(query::show)
                .patch(query::set_state)
                .delete(query::delete),
        )
        .route(&format!("{jobs}/query/{{id}}/results"), get(query::results))
        .route(
            &format!("{jobs}/query/{{id}}/results/"),
            get(query::results),
        )
}

/// The server's base URL as a client reaches it (the `instance_url` clients build every call on).
pub fn base_url(state: &State, headers: &HeaderMap) -> String {
    super::zoho::wire::base_url(state, headers)
}
