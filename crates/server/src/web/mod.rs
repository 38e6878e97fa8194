//! The pages the binary serves itself, with no asset from elsewhere: `GET /` (what this is, with
//! links) and `GET /docs` (the API reference, rendered in the browser from `/openapi.json`).

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

const INDEX: &str = include_str!("index.html");
const DOCS: &str = include_str!("docs.html");
const DOCS_JS: &str = include_str!("docs.js");
const STYLE: &str = include_str!("style.css");

pub async fn index() -> Html<&'static str> {
    Html(INDEX)
}

pub async fn docs() -> Html<&'static str> {
    Html(DOCS)
}

pub async fn docs_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        DOCS_JS,
    )
        .into_response()
}

pub async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}

/// The pages' routes, and the document's.
pub fn router() -> axum::Router<crate::State> {
    use axum::routing::get;
    axum::Router::new()
        .route("/", get(index))
        .route("/docs", get(docs))
        .route("/assets/docs.js", get(docs_js))
        .route("/assets/style.css", get(style))
        .route("/openapi.json", get(crate::openapi::openapi_json))
}
