//! Zoho's Bulk Write API (on the job engine) and Bulk Read API (on the export engine), for Bigin
//! (`/bigin/…`, v1 and v2) and for Zoho CRM (`/crm/…`, v2, v2.1 and v3 to v8): the same design
//! on other paths (docs/DIALECTS.md, "Zoho"). CRM's SDKs also need the accounts token endpoint
//! and the current user and org.

mod accounts;
mod criteria;
mod jobs;
mod read;
mod read_query;
mod read_wire;
pub mod request;
pub(crate) mod wire;

use crate::State;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Request, State as S};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{any, get, post};
use axum::Router;
use sluice_engine::{Engine, Error};
use std::sync::Arc;
use wire::Refusals;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    Bigin,
    Crm,
}

impl Product {
    /// The product's one tag: it names its result files, and with a version its jobs'
    /// (`zoho:crm:v2`, as stored with each job).
    fn tag(self) -> &'static str {
        match self {
            Product::Bigin => "zoho:bigin",
            Product::Crm => "zoho:crm",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Product::Bigin => "bigin",
            Product::Crm => "crm",
        }
    }

    /// The API versions each serves (Bigin's pages: v1, v2; CRM's: v2, v2.1, v3 … v8).
    fn versions(self) -> &'static [&'static str] {
        match self {
            Product::Bigin => &["v1", "v2"],
            Product::Crm => &["v2", "v2.1", "v3", "v4", "v5", "v6", "v7", "v8"],
        }
    }
}

/// One product at one version: where its jobs live, and how it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Api {
    pub product: Product,
    pub version: &'static str,
}

impl Api {
    /// The job tag: callbacks of the job render its details for this product and version.
    fn tag(&self) -> String {
        format!("{}:{}", self.product.tag(), self.version)
    }

    fn write_path(&self) -> String {
        format!("/{}/bulk/{}/write", self.product.prefix(), self.version)
    }

    fn read_path(&self) -> String {
        format!("/{}/bulk/{}/read", self.product.prefix(), self.version)
    }

    fn refusals(&self) -> Refusals {
        match (self.product, self.version) {
            (Product::Bigin, "v1") => Refusals::Ok200,
            _ => Refusals::Http,
        }
    }
}

/// Registers the callback renderers of every product and version: a write job's details, their
/// download link under `base` (a callback has no request to take a host from), and a read job's.
pub fn register(engine: &Engine, base: &str) {
    for product in [Product::Bigin, Product::Crm] {
        for version in product.versions() {
            let api = Api { product, version };
            let (tag, base, read) = (api.tag(), base.to_owned(), api.clone());
            engine.jobs().set_callback_renderer(
                &tag,
                Arc::new(move |job| jobs::job_details(job, &api, &base)),
            );
            engine.exports().set_tagged_callback_renderer(
                &tag,
                Arc::new(move |e| read::callback_body(e, &read)),
            );
        }
    }
}

async fn unknown() -> Response {
    wire::error(
        &Error::not_found("no Zoho API at this URL").with_field("path"),
        Refusals::Http,
    )
}

/// Every product at every version, on its own paths (a path of no version is Zoho's
/// `INVALID_URL_PATTERN`).
pub fn router() -> Router<State> {
    let mut r = Router::new();
    for product in [Product::Bigin, Product::Crm] {
        let p = product.prefix();
        for version in product.versions() {
            let api = Api { product, version };
            let (a1, a2, a3, a4) = (api.clone(), api.clone(), api.clone(), api.clone());
            let (r1, r2, r3) = (api.clone(), api.clone(), api);
            r = r
                .route(
                    &format!("/{p}/{version}/upload"),
                    post(move |S(s): S<State>, req: Request| jobs::upload(s, a1, req))
                        .layer(axum::extract::DefaultBodyLimit::disable()),
                )
                .route(
                    &format!("/{p}/bulk/{version}/write"),
                    post(
                        move |S(s): S<State>, h: HeaderMap, b: Result<Bytes, BytesRejection>| {
                            jobs::create(s, a2, h, b)
                        },
                    ),
                )
                .route(
                    &format!("/{p}/bulk/{version}/write/{{id}}"),
                    get(
                        move |S(s): S<State>, Path(id): Path<String>, h: HeaderMap| {
                            jobs::details(s, a3, id, h)
                        },
                    ),
                )
                .route(
                    &format!("/{p}/bulk/{version}/write/{{id}}/result"),
                    get(
                        move |S(s): S<State>, Path(id): Path<String>, h: HeaderMap| {
                            jobs::result(s, a4, id, h)
                        },
                    ),
                )
                .route(
                    &format!("/{p}/bulk/{version}/read"),
                    post(
                        move |S(s): S<State>, h: HeaderMap, b: Result<Bytes, BytesRejection>| {
                            read::create(s, r1, h, b)
                        },
                    ),
                )
                .route(
                    &format!("/{p}/bulk/{version}/read/{{id}}"),
                    get(
                        move |S(s): S<State>, Path(id): Path<String>, h: HeaderMap| {
                            read::details(s, r2, id, h)
                        },
                    ),
                )
                .route(
                    &format!("/{p}/bulk/{version}/read/{{id}}/result"),
                    get(
                        move |S(s): S<State>, Path(id): Path<String>, h: HeaderMap| {
                            read::result(s, r3, id, h)
                        },
                    ),
                );
        }
        r = r.route(&format!("/{p}/{{*rest}}"), any(unknown));
    }
    for version in Product::Crm.versions() {
        r = r
            .route(&format!("/crm/{version}/users"), get(accounts::users))
            .route(&format!("/crm/{version}/org"), get(accounts::org));
    }
    r.route("/oauth/v2/token", post(accounts::token))
}
