//! The shapes of the native API's requests and answers, as OpenAPI schemas. The types exist for the
//! document only (the handlers render the same shapes); schemathesis in CI checks every answer
//! against them, and a snapshot test makes every change to them deliberate.

#![allow(dead_code)]

use serde_json::Value;
use std::collections::HashMap;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// An error: a stable machine-readable `code`, a human `message`, and the field or input row it
/// concerns when there is one.
#[derive(ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(ToSchema)]
pub struct ErrorDetail {
    /// A stable snake_case code (`validation_failed`, `unique_violation`, `not_found`…).
    pub code: String,
    pub message: String,
    pub field: Option<String>,
    pub row: Option<u64>,
}

#[derive(ToSchema)]
pub struct Health {
    pub status: String,
}

#[derive(ToSchema)]
pub struct Ready {
    /// `ready`, or `unavailable` with a reason.
    pub status: String,
    pub reason: Option<String>,
}

/// The limits in force, so clients can size their requests.
#[derive(ToSchema)]
pub struct Limits {
    pub max_bulk_ops: u64,
    pub max_body_bytes: u64,
    pub max_page_size: u64,
    pub max_fields: u64,
    pub max_job_records: u64,
    pub max_upload_bytes: u64,
    pub max_unzipped_bytes: u64,
    pub max_zip_ratio: u64,
    pub max_columns: u64,
    pub max_batch_records: u64,
    pub max_query_rows: u64,
    pub query_timeout_ms: u64,
    /// The longest query text, in characters.
    pub query_max_sql_len: u64,
    /// The deepest nesting of parentheses, brackets and braces in a query.
    pub query_max_nesting: u64,
    /// SELECTs one query may join with UNION, INTERSECT, EXCEPT or MINUS.
    pub query_max_compound_terms: u64,
    /// Terms on any path into one expression of a query (`a OR b OR …` counts each).
    pub query_max_expression_terms: u64,
    /// Tables, subqueries and CTEs one query may name.
    pub query_max_tables: u64,
    /// Columns one SELECT may list.
    pub query_max_result_columns: u64,
    /// How deeply a JSON value kept in a record or a stored document may nest.
    pub max_value_depth: u64,
}

/// Who the presented credentials are.
#[derive(ToSchema)]
pub struct Me {
    /// `admin`, `app` or `anonymous`.
    pub kind: String,
    pub user: String,
    pub app: Option<String>,
    pub role: Option<Role>,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Writer,
    Reader,
}

#[derive(ToSchema)]
pub struct AppInput {
    /// An identifier: letters, digits and `_`, not starting with `_`.
    pub name: String,
    pub label: Option<String>,
    /// The role callers without credentials get; none by default.
    pub anonymous_role: Option<Role>,
}

#[derive(ToSchema)]
pub struct App {
    pub id: String,
    pub name: String,
    pub label: String,
    pub anonymous_role: Option<Role>,
    pub anonymous_token: Option<String>,
    /// Lets clients sign new users up (Backand's `SignUpToken`; shown to owners only).
    pub signup_token: Option<String>,
    /// The key callbacks are signed with (shown to owners only).
    pub secret: Option<String>,
    /// The app's numeric alias (19 digits), for clients that hold an organisation id as an
    /// integer (Zoho's `X-CRM-ORG`).
    pub org_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(ToSchema)]
pub struct AppList {
    pub apps: Vec<App>,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum FieldType {
    Text,
    Integer,
    Number,
    Boolean,
    Date,
    Datetime,
    Json,
    /// Another record's id; `object` names its object, `on_delete` what deleting it does.
    Relation,
}

/// What deleting a related record does to the records pointing at it.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum OnDelete {
    Restrict,
    Cascade,
    SetNull,
}

#[derive(ToSchema)]
pub struct Field {
    pub name: String,
    #[schema(rename = "type")]
    pub ty: FieldType,
    pub required: Option<bool>,
    pub unique: Option<bool>,
    /// A non-unique index, used by list filters and sorts.
    pub indexed: Option<bool>,
    pub default: Option<Value>,
    pub label: Option<String>,
    /// For a `relation` field: the object (of the same app) it points at.
    pub object: Option<String>,
    /// For a `relation` field: `restrict` (the default), `cascade` or `set_null`.
    pub on_delete: Option<OnDelete>,
}

#[derive(ToSchema)]
pub struct ObjectInput {
    pub name: String,
    pub label: Option<String>,
    pub fields: Vec<Field>,
}

/// Changes to an object: a new label; fields added, renamed (old name → new), dropped, indexed or
/// not; existing fields' rules changed (`change`, by name).
#[derive(ToSchema)]
pub struct ObjectPatch {
    pub label: Option<String>,
    pub add: Option<Vec<Field>>,
    pub rename: Option<HashMap<String, String>>,
    pub drop: Option<Vec<String>>,
    pub index: Option<Vec<String>>,
    pub unindex: Option<Vec<String>>,
    pub change: Option<HashMap<String, FieldChange>>,
}

/// New rules for an existing field, checked against its records. The type cannot change in place.
#[derive(ToSchema)]
pub struct FieldChange {
    #[schema(rename = "type")]
    pub ty: Option<FieldType>,
    pub required: Option<bool>,
    pub unique: Option<bool>,
    /// A new default; null removes it.
    pub default: Option<Value>,
    pub label: Option<String>,
}

/// An object: a typed table of an app.
// Named `Object` in the document only: utoipa reads a type of that name as any JSON object, which
// left every answer holding one untyped.
#[derive(ToSchema)]
#[schema(as = Object)]
pub struct ObjectDef {
    pub id: String,
    pub app_id: String,
    pub name: String,
    pub label: String,
    pub fields: Vec<Field>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(ToSchema)]
pub struct ObjectList {
    pub objects: Vec<ObjectDef>,
}

/// A record: its fields as the object defines them, plus the system fields.
pub struct Record;

impl PartialSchema for Record {
    fn schema() -> RefOr<Schema> {
        let text = || ObjectBuilder::new().schema_type(Type::String);
        let time = || text().format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)));
        ObjectBuilder::new()
            .property(
                "id",
                text().format(Some(SchemaFormat::Custom("uuid".into()))),
            )
            .property("created_at", time())
            .property("updated_at", time())
            .property("created_by", text())
            .property("updated_by", text())
            .required("id")
            .required("created_at")
            .required("updated_at")
            .required("created_by")
            .required("updated_by")
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .description(Some(
                "A record: its fields as the object defines them, plus the system fields",
            ))
            .into()
    }
}

impl ToSchema for Record {}

/// A record's fields to write (system fields are ignored).
pub struct RecordInput;

impl PartialSchema for RecordInput {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .description(Some("Field values by field name"))
            .into()
    }
}

impl ToSchema for RecordInput {}

#[derive(ToSchema)]
pub struct RecordPage {
    pub records: Vec<Record>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
    /// With `count=true`: how many records match the filters.
    pub total: Option<u64>,
    /// With `count=true`, when the count ran out of time: why `total` is missing.
    pub total_omitted: Option<String>,
}

#[derive(ToSchema)]
pub struct TokenInput {
    pub user: String,
    pub role: Role,
}

/// A new token: its secret is shown here only.
#[derive(ToSchema)]
pub struct TokenCreated {
    pub id: String,
    pub token: String,
    pub user: String,
    pub role: Role,
    pub created_at: String,
}

#[derive(ToSchema)]
pub struct Token {
    pub id: String,
    pub user: String,
    pub role: Role,
    pub created_at: String,
}

#[derive(ToSchema)]
pub struct TokenList {
    pub tokens: Vec<Token>,
}

#[derive(ToSchema)]
pub struct UserInput {
    pub name: String,
    pub password: String,
    pub role: Role,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

#[derive(ToSchema)]
pub struct UserPatch {
    pub password: Option<String>,
    pub role: Option<Role>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

#[derive(ToSchema)]
pub struct User {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub first_name: String,
    pub last_name: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(ToSchema)]
pub struct UserList {
    pub users: Vec<User>,
}

/// A login (`app`, `username`, `password`) or a refresh (`grant_type: refresh_token`).
#[derive(ToSchema)]
pub struct LoginRequest {
    pub app: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub grant_type: Option<String>,
    pub refresh_token: Option<String>,
}

#[derive(ToSchema)]
pub struct Session {
    pub token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    pub user: String,
    pub role: Role,
    pub app: String,
}

#[derive(ToSchema)]
pub struct BulkRequest {
    /// All or nothing: on the first failure nothing is kept.
    pub atomic: Option<bool>,
    pub operations: Vec<BulkOperation>,
}

#[derive(ToSchema)]
pub struct BulkOperation {
    /// A name later operations refer to: `${id.body.path}`.
    pub id: Option<String>,
    /// GET by default.
    pub method: Option<String>,
    /// A native path (scheme and host are ignored), with its query string.
    pub url: String,
    pub body: Option<Value>,
    /// Credentials of this operation (`Authorization`), overriding the request's.
    pub headers: Option<Value>,
}

#[derive(ToSchema)]
pub struct BulkResults {
    pub results: Vec<BulkResult>,
}

#[derive(ToSchema)]
pub struct BulkResult {
    pub id: Option<String>,
    pub status: u16,
    pub body: Option<Value>,
}
