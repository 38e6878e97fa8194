//! The document's operations for health, sign-in, apps, objects, records, tokens and users. Each
//! stub carries one route's description; `mod.rs` checks that the router serves every one.

#![allow(dead_code)]

use super::bodies::RecordFilter;
use super::schemas::*;
use super::work::Failures;

#[utoipa::path(get, path = "/healthz", tag = "system", security(()),
    responses((status = 200, description = "The process is up", body = Health)))]
pub(super) fn healthz() {}

#[utoipa::path(get, path = "/readyz", tag = "system", security(()),
    responses(
        (status = 200, description = "The store answers and background work runs", body = Ready),
        (status = 503, description = "Not ready, with the reason", body = Ready)))]
pub(super) fn readyz() {}

#[utoipa::path(get, path = "/metrics", tag = "system", security(()),
    responses((status = 200, description = "Prometheus text format", body = String,
        content_type = "text/plain")))]
pub(super) fn metrics() {}

#[utoipa::path(get, path = "/v1/limits", tag = "system", security(()),
    responses((status = 200, description = "The limits in force", body = Limits)))]
pub(super) fn limits() {}

#[utoipa::path(get, path = "/v1/me", tag = "auth",
    responses((status = 200, description = "Who the credentials are", body = Me), Failures))]
pub(super) fn me() {}

#[utoipa::path(post, path = "/v1/auth/token", tag = "auth", security(()),
    request_body = LoginRequest,
    responses((status = 200, description = "A short-lived access token and its refresh token",
        body = Session), Failures))]
pub(super) fn token() {}

#[utoipa::path(get, path = "/v1/apps", tag = "apps",
    responses((status = 200, description = "The apps the caller can see", body = AppList), Failures))]
pub(super) fn list_apps() {}

#[utoipa::path(post, path = "/v1/apps", tag = "apps", request_body = AppInput,
    responses((status = 201, description = "The new app", body = App), Failures))]
pub(super) fn create_app() {}

#[utoipa::path(get, path = "/v1/apps/{app}", tag = "apps", params(("app" = String, Path)),
    responses((status = 200, body = App), Failures))]
pub(super) fn get_app() {}

#[utoipa::path(patch, path = "/v1/apps/{app}", tag = "apps", params(("app" = String, Path)),
    request_body = AppInput, responses((status = 200, body = App), Failures))]
pub(super) fn patch_app() {}

#[utoipa::path(delete, path = "/v1/apps/{app}", tag = "apps", params(("app" = String, Path)),
    responses((status = 204, description = "Deleted with everything in it"), Failures))]
pub(super) fn delete_app() {}

#[utoipa::path(get, path = "/v1/apps/{app}/objects", tag = "objects",
    params(("app" = String, Path)), responses((status = 200, body = ObjectList), Failures))]
pub(super) fn list_objects() {}

#[utoipa::path(post, path = "/v1/apps/{app}/objects", tag = "objects",
    params(("app" = String, Path)), request_body = ObjectInput,
    responses((status = 201, description = "The new object (a typed table)", body = ObjectDef), Failures))]
pub(super) fn create_object() {}

#[utoipa::path(get, path = "/v1/apps/{app}/objects/{object}", tag = "objects",
    params(("app" = String, Path), ("object" = String, Path)),
    responses((status = 200, body = ObjectDef), Failures))]
pub(super) fn get_object() {}

#[utoipa::path(patch, path = "/v1/apps/{app}/objects/{object}", tag = "objects",
    params(("app" = String, Path), ("object" = String, Path)), request_body = ObjectPatch,
    responses((status = 200, body = ObjectDef), Failures))]
pub(super) fn patch_object() {}

#[utoipa::path(delete, path = "/v1/apps/{app}/objects/{object}", tag = "objects",
    params(("app" = String, Path), ("object" = String, Path)),
    responses((status = 204, description = "Deleted with its records"), Failures))]
pub(super) fn delete_object() {}

/// Lists records. Besides the paging parameters, every other parameter filters: `field=value`, or
/// `field[op]=value` with `op` one of `eq ne gt gte lt lte in nin like null`.
#[utoipa::path(get, path = "/v1/apps/{app}/objects/{object}/records", tag = "records",
    params(("app" = String, Path), ("object" = String, Path),
        ("limit" = Option<u64>, Query, minimum = 1, description = "Records per page (the \
            server's default page size when absent; at most `max_page_size` of `/v1/limits`)"),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the page before"),
        ("offset" = Option<u64>, Query, description = "Records to skip (ignored with a `cursor`)"),
        ("sort" = Option<String>, Query, description = "Fields, comma-separated; `-` for \
            descending (`-created_at,name`); the id breaks ties"),
        ("count" = Option<bool>, Query, description = "Add `total`, how many records match"),
        ("expand" = Option<String>, Query, description = "Relation fields whose records replace \
            their ids, comma-separated; `account.owner` follows two"),
        // Field names are the object's own, so the filters are one open object whose entries each
        // become a parameter of their own (`style: form, explode: true`): `age[gte]=30`.
        ("filter" = Option<RecordFilter>, Query, style = Form, explode,
            description = "The conditions, each sent as a parameter of its own name: \
            `{\"age[gte]\": \"30\"}` is `age[gte]=30`")),
    responses((status = 200, body = RecordPage), Failures))]
pub(super) fn list_records() {}

#[utoipa::path(post, path = "/v1/apps/{app}/objects/{object}/records", tag = "records",
    params(("app" = String, Path), ("object" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Once per key: a repeat with the same body replays the first answer (`Idempotent-Replayed: true`); another body 422 `idempotency_mismatch`; while the first runs 409 `idempotency_in_flight`")), request_body = RecordInput,
    responses((status = 201, body = Record), Failures))]
pub(super) fn create_record() {}

#[utoipa::path(get, path = "/v1/apps/{app}/objects/{object}/records/{id}", tag = "records",
    params(("app" = String, Path), ("object" = String, Path), ("id" = String, Path),
        ("expand" = Option<String>, Query, description = "Relation fields whose records replace \
            their ids, comma-separated; `account.owner` follows two")),
    responses((status = 200, body = Record), Failures))]
pub(super) fn get_record() {}

#[utoipa::path(patch, path = "/v1/apps/{app}/objects/{object}/records/{id}", tag = "records",
    params(("app" = String, Path), ("object" = String, Path), ("id" = String, Path)),
    request_body = RecordInput,
    responses((status = 200, description = "Merged", body = Record), Failures))]
pub(super) fn patch_record() {}

#[utoipa::path(put, path = "/v1/apps/{app}/objects/{object}/records/{id}", tag = "records",
    params(("app" = String, Path), ("object" = String, Path), ("id" = String, Path)),
    request_body = RecordInput,
    responses((status = 200, description = "Replaced", body = Record), Failures))]
pub(super) fn put_record() {}

#[utoipa::path(delete, path = "/v1/apps/{app}/objects/{object}/records/{id}", tag = "records",
    params(("app" = String, Path), ("object" = String, Path), ("id" = String, Path)),
    responses((status = 204, description = "Deleted"), Failures))]
pub(super) fn delete_record() {}

#[utoipa::path(get, path = "/v1/apps/{app}/tokens", tag = "tokens",
    params(("app" = String, Path)), responses((status = 200, body = TokenList), Failures))]
pub(super) fn list_tokens() {}

#[utoipa::path(post, path = "/v1/apps/{app}/tokens", tag = "tokens",
    params(("app" = String, Path)), request_body = TokenInput,
    responses((status = 201, description = "The token, its secret shown once", body = TokenCreated), Failures))]
pub(super) fn create_token() {}

#[utoipa::path(delete, path = "/v1/apps/{app}/tokens/{id}", tag = "tokens",
    params(("app" = String, Path), ("id" = String, Path)),
    responses((status = 204, description = "Revoked"), Failures))]
pub(super) fn delete_token() {}

#[utoipa::path(get, path = "/v1/apps/{app}/users", tag = "users",
    params(("app" = String, Path)), responses((status = 200, body = UserList), Failures))]
pub(super) fn list_users() {}

#[utoipa::path(post, path = "/v1/apps/{app}/users", tag = "users",
    params(("app" = String, Path)), request_body = UserInput,
    responses((status = 201, body = User), Failures))]
pub(super) fn create_user() {}

#[utoipa::path(get, path = "/v1/apps/{app}/users/{name}", tag = "users",
    params(("app" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = User), Failures))]
pub(super) fn get_user() {}

#[utoipa::path(patch, path = "/v1/apps/{app}/users/{name}", tag = "users",
    params(("app" = String, Path), ("name" = String, Path)), request_body = UserPatch,
    responses((status = 200, body = User), Failures))]
pub(super) fn patch_user() {}

#[utoipa::path(delete, path = "/v1/apps/{app}/users/{name}", tag = "users",
    params(("app" = String, Path), ("name" = String, Path)),
    responses((status = 204, description = "Deleted, with their sessions"), Failures))]
pub(super) fn delete_user() {}
