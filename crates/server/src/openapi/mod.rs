//! The native API's OpenAPI 3.1 document, built with `utoipa` from the operation descriptions in
//! `paths_*` and `exports` and the schemas in `schemas`, `work` and `bodies`, and served at
//! `GET /openapi.json`. Tests pin it to a committed snapshot and check the router serves every
//! operation it lists; CI runs schemathesis against a live server with it, and generates a Python
//! client from it and drives that (`.ci/openapi-client`).

mod bodies;
mod exports;
mod paths_data;
mod paths_work;
mod schemas;
mod work;

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as Document;
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sluice",
        description = "A self-hostable records API server built for bulk work: apps hold typed \
            objects whose records carry system fields; synchronous bulk requests of up to 1,000 \
            calls; bulk-write jobs from uploads, with per-row result files; batches by query; \
            read-only SQL; exports of millions of rows. Every call takes `Authorization: Bearer <token>` (an admin token, an \
            app token, or a login's access token); errors are `{\"error\":{\"code\",\"message\"}}`."
    ),
    paths(
        paths_data::healthz, paths_data::readyz, paths_data::metrics, paths_data::limits,
        paths_data::me, paths_data::token, paths_data::list_apps, paths_data::create_app,
        paths_data::get_app, paths_data::patch_app, paths_data::delete_app,
        paths_data::list_objects, paths_data::create_object, paths_data::get_object,
        paths_data::patch_object, paths_data::delete_object, paths_data::list_records,
        paths_data::create_record, paths_data::get_record, paths_data::patch_record,
        paths_data::put_record, paths_data::delete_record, paths_data::list_tokens,
        paths_data::create_token, paths_data::delete_token, paths_data::list_users,
        paths_data::create_user, paths_data::get_user, paths_data::patch_user,
        paths_data::delete_user,
        paths_work::bulk, paths_work::upload, paths_work::preview, paths_work::failures,
        paths_work::list_jobs, paths_work::create_job,
        paths_work::get_job, paths_work::cancel_job, paths_work::retry_job, paths_work::job_result,
        paths_work::job_events, paths_work::query, paths_work::list_batches,
        paths_work::create_batch, paths_work::get_batch, paths_work::start_batch,
        paths_work::cancel_batch, paths_work::batch_events,
        exports::list_exports, exports::create_export, exports::get_export,
        exports::cancel_export, exports::export_result, exports::export_events,
    ),
    components(
        // A parameter's schema is not collected from the paths as bodies' are.
        schemas(schemas::ErrorBody, schemas::ErrorDetail, bodies::RecordFilter),
        responses(work::Failure)
    ),
    modifiers(&Bearer),
    security(("bearer" = [])),
    tags(
        (name = "system", description = "Health, readiness, metrics and limits"),
        (name = "auth", description = "Sign-in and who the caller is"),
        (name = "apps", description = "Apps: the tenants"),
        (name = "objects", description = "Objects: typed tables of an app"),
        (name = "records", description = "Records: CRUD, filters, sorting, cursor paging, counts"),
        (name = "tokens", description = "App tokens (API keys) with roles"),
        (name = "users", description = "App users who log in"),
        (name = "bulk", description = "Synchronous bulk: many calls in one request"),
        (name = "jobs", description = "Uploads and bulk-write jobs"),
        (name = "query", description = "Read-only SQL over an app's objects"),
        (name = "batches", description = "Deletes and updates of selected records, tracked"),
        (name = "exports", description = "Records or query rows out to CSV, NDJSON or ZIP files"),
    )
)]
struct ApiDoc;

/// The bearer scheme every operation (but health and sign-in) takes.
struct Bearer;

impl Modify for Bearer {
    fn modify(&self, doc: &mut Document) {
        let scheme = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build();
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The document.
pub fn document() -> Document {
    ApiDoc::openapi()
}

/// `GET /openapi.json`.
pub async fn openapi_json() -> Json<Document> {
    Json(document())
}

#[cfg(test)]
mod tests {
    /// The document is committed (`docs/openapi.json`), so every change to the API's shapes shows
    /// in review. `SLUICE_UPDATE_SNAPSHOTS=1 cargo test -p sluice-server openapi` rewrites it.
    #[test]
    fn the_document_matches_its_committed_snapshot() {
        let now = serde_json::to_string_pretty(&super::document()).unwrap() + "\n";
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
        if std::env::var_os("SLUICE_UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(path, &now).unwrap();
            return;
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == now,
            "the OpenAPI document changed: review the change, then rewrite docs/openapi.json with \
             SLUICE_UPDATE_SNAPSHOTS=1 cargo test -p sluice-server openapi"
        );
    }

    /// Client generators leave out an operation whose body has no schema and cannot read bytes
    /// described as `Vec<u8>`'s array of integers: every body, sent or answered, has a schema, and
    /// every one that is not JSON is a string (binary bytes, or text).
    #[test]
    fn every_body_has_a_schema_a_client_generator_can_use() {
        let doc = serde_json::to_value(super::document()).unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let answers = op["responses"].as_object().unwrap().values();
                let bodies = answers.chain([&op["requestBody"]]);
                for (ty, media) in bodies.filter_map(|b| b["content"].as_object()).flatten() {
                    let schema = &media["schema"];
                    assert!(schema.is_object(), "{method} {path}: {ty} has no schema");
                    let raw = !ty.contains("json") || ty.contains("ndjson");
                    if raw && ty != "multipart/form-data" {
                        assert_eq!(schema["type"], "string", "{method} {path}: {ty}");
                    }
                }
            }
        }
    }
}
