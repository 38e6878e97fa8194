//! The native API (`/v1`): resource routes, bulk, login, health and limits.

mod auth;
pub mod bulk;
pub mod documents;
mod events;
mod exports;
pub mod handler;
mod inspect;
pub mod jobs;
mod query;
pub(crate) mod records;
mod refs;
pub mod render;
pub mod route;
mod system;

use crate::State;
use axum::routing::{any, get, post};
use axum::Router;

pub fn router() -> Router<State> {
    let resources = [
        "/v1/apps",
        "/v1/apps/{app}",
        "/v1/apps/{app}/objects",
        "/v1/apps/{app}/objects/{object}",
        "/v1/apps/{app}/objects/{object}/records",
        "/v1/apps/{app}/objects/{object}/records/{id}",
        "/v1/apps/{app}/tokens",
        "/v1/apps/{app}/tokens/{id}",
        "/v1/apps/{app}/users",
        "/v1/apps/{app}/users/{name}",
    ];
    let mut r = Router::new()
        .route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .route("/metrics", get(crate::metrics::metrics))
        .route("/v1/limits", get(system::limits))
        .route("/v1/me", get(system::me))
        .route("/v1/auth/token", post(auth::token))
        .route("/v1/bulk", post(bulk::bulk))
        .route(
            "/v1/apps/{app}/files",
            post(jobs::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/v1/apps/{app}/files/{id}/preview", get(inspect::preview))
        .route("/v1/apps/{app}/jobs", post(jobs::create).get(jobs::list))
        .route("/v1/apps/{app}/jobs/{id}", get(jobs::get))
        .route("/v1/apps/{app}/jobs/{id}/cancel", post(jobs::cancel))
        .route("/v1/apps/{app}/jobs/{id}/retry", post(jobs::retry))
        .route("/v1/apps/{app}/jobs/{id}/result", get(jobs::result))
        .route("/v1/apps/{app}/jobs/{id}/events", get(events::job_events))
        .route("/v1/apps/{app}/jobs/{id}/failures", get(inspect::failures))
        .route("/v1/apps/{app}/query", post(query::query))
        .route(
            "/v1/apps/{app}/batches",
            post(query::create_batch).get(query::list_batches),
        )
        .route("/v1/apps/{app}/batches/{id}", get(query::get_batch))
        .route(
            "/v1/apps/{app}/batches/{id}/start",
            post(query::start_batch),
        )
        .route(
            "/v1/apps/{app}/batches/{id}/cancel",
            post(query::cancel_batch),
        )
        .route(
            "/v1/apps/{app}/batches/{id}/events",
            get(events::batch_events),
        )
        .route(
            "/v1/apps/{app}/exports",
            post(exports::create).get(exports::list),
        )
        .route("/v1/apps/{app}/exports/{id}", get(exports::get))
        .route("/v1/apps/{app}/exports/{id}/cancel", post(exports::cancel))
        .route("/v1/apps/{app}/exports/{id}/result", get(exports::result))
        .route(
            "/v1/apps/{app}/exports/{id}/events",
            get(events::export_events),
        );
    for path in resources {
        r = r.route(path, any(handler::dispatch));
    }
    r
}

pub use handler::fallback;
