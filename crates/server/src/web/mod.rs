//! The pages the binary serves itself, with no asset from elsewhere: `GET /` (what this is, with
//! links), `GET /docs` (the API reference, laid out in the browser from `reference`'s
//! `/assets/docs.json`) and `GET /ui` (the dashboard: hand-written HTML, CSS and JavaScript over
//! the native API).

mod reference;

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

/// The dashboard's files, by name.
const UI: &[(&str, &str)] = &[
    ("ui.css", include_str!("ui/ui.css")),
    ("core.js", include_str!("ui/core.js")),
    ("main.js", include_str!("ui/main.js")),
    ("schema.js", include_str!("ui/schema.js")),
    ("records.js", include_str!("ui/records.js")),
    ("import.js", include_str!("ui/import.js")),
    ("work.js", include_str!("ui/work.js")),
    ("query.js", include_str!("ui/query.js")),
    ("access.js", include_str!("ui/access.js")),
];

pub async fn ui() -> Html<&'static str> {
    Html(include_str!("ui/index.html"))
}

pub async fn ui_file(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let Some((_, body)) = UI.iter().find(|(n, _)| *n == name) else {
        return crate::native::fallback(axum::http::Uri::from_static("/ui")).await;
    };
    let kind = if name.ends_with(".css") {
        "text/css; charset=utf-8"
    } else {
        "text/javascript; charset=utf-8"
    };
    ([(header::CONTENT_TYPE, kind)], *body).into_response()
}

/// The pages' routes, and the document's.
pub fn router() -> axum::Router<crate::State> {
    use axum::routing::get;
    axum::Router::new()
        .route("/", get(index))
        .route("/docs", get(docs))
        .route("/assets/docs.js", get(docs_js))
        .route("/assets/docs.json", get(reference::docs_json))
        .route("/assets/style.css", get(style))
        .route("/openapi.json", get(crate::openapi::openapi_json))
        .route("/ui", get(ui))
        .route("/ui/", get(ui))
        .route("/ui/{name}", get(ui_file))
}
