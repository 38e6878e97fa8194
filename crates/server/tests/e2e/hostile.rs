//! Deep and long input through every door that takes it, against a server in a process of its own
//! on the production runtime (its worker stacks, on either backend): each is refused with a 4xx
//! that names what was too much, and the server still answers `/healthz` after each.

use crate::common::{spawn_process, ChildServer, TestApp};
use serde_json::{json, Value};

/// SQL no door may run, each with the limit its refusal names.
fn hostile_sql() -> Vec<(String, &'static str)> {
    vec![
        (
            vec!["SELECT 1"; 600].join(" UNION ALL "),
            "query_max_compound_terms",
        ),
        (
            vec!["SELECT 1, 1"; 600].join(" MINUS "),
            "query_max_compound_terms",
        ),
        (
            format!(
                "SELECT id FROM contacts WHERE {}",
                vec!["age=1"; 10_000].join(" OR ")
            ),
            "query_max_expression_terms",
        ),
        (
            format!("SELECT {}1", "1 + ".repeat(20_000)),
            "query_max_expression_terms",
        ),
        (
            format!(
                "SELECT id FROM contacts WHERE {}age = 1",
                "NOT ".repeat(20_000)
            ),
            "query_max_expression_terms",
        ),
        (
            format!(
                "WITH {} SELECT 1",
                (0..2000)
                    .map(|i| format!("c{i} AS (SELECT 1)"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "query_max_tables",
        ),
        (
            format!("SELECT {} FROM contacts", vec!["age"; 3000].join(", ")),
            "query_max_result_columns",
        ),
        (
            format!("SELECT {}1{}", "(".repeat(2000), ")".repeat(2000)),
            "query_max_nesting",
        ),
    ]
}

/// Asserts a refusal that names `limit`, and that the server still answers.
async fn refused(app: &TestApp, door: &str, status: u16, body: &Value, limit: &str) {
    assert!(
        (400..500).contains(&status),
        "{door} ({limit}): {status} {body}"
    );
    assert!(body.to_string().contains(limit), "{door}: {body}");
    let (s, _) = app.send("GET", "/healthz", &[], None).await;
    assert_eq!(s, 200, "{door} ({limit}): the server stopped");
}

async fn start() -> (tempfile::TempDir, ChildServer, TestApp, String) {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_process(dir.path(), &[]);
    let app = server.app();
    app.setup_crm().await;
    let reader = app.token("crm", "rita", "reader").await;
    (dir, server, app, reader)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_and_long_sql_is_refused_at_every_door() {
    let (_dir, _server, app, reader) = start().await;
    let owner = app.token("crm", "olga", "owner").await;
    let (s, _) = app
        .call(
            "POST",
            "/v1/apps/crm/objects/contacts/records",
            Some(&owner),
            Some(json!({"email": "a@x", "age": 1})),
        )
        .await;
    assert_eq!(s, 201);
    for (sql, limit) in hostile_sql() {
        let (s, b) = app
            .call(
                "POST",
                "/v1/apps/crm/query",
                Some(&reader),
                Some(json!({"sql": sql})),
            )
            .await;
        refused(&app, "query", s.as_u16(), &b, limit).await;
        let batch = json!({"dry_run": true, "operations": [
            {"action": "delete", "object": "contacts", "query": sql}
        ]});
        let (s, b) = app
            .call("POST", "/v1/apps/crm/batches", Some(&owner), Some(batch))
            .await;
        refused(&app, "batch dry run", s.as_u16(), &b, limit).await;
        let (s, b) = app
            .send(
                "POST",
                "/api/v2/query.json",
                &[("X-ApiToken", &reader)],
                Some(json!({"q": sql, "format": "json"})),
            )
            .await;
        refused(&app, "Fulcrum query", s.as_u16(), &b, limit).await;
        let (s, b) = app
            .call(
                "POST",
                "/v1/apps/crm/exports",
                Some(&reader),
                Some(json!({"query": sql, "format": "csv"})),
            )
            .await;
        refused(&app, "query export", s.as_u16(), &b, limit).await;
    }
    // A query at the edge of what is allowed still runs.
    let ok = format!(
        "SELECT count(*) AS n FROM contacts WHERE {}",
        vec!["age = 1"; 100].join(" OR ")
    );
    let (s, b) = app
        .call(
            "POST",
            "/v1/apps/crm/query",
            Some(&reader),
            Some(json!({"sql": ok})),
        )
        .await;
    assert_eq!((s.as_u16(), &b["rows"][0][0]), (200, &json!(1)), "{b}");
}

/// `depth` levels of `[` around `inner`.
fn nested(depth: usize, inner: Value) -> Value {
    (0..depth).fold(inner, |v, _| json!([v]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_json_filters_and_references_are_refused() {
    let (_dir, _server, app, reader) = start().await;
    let (s, b) = app
        .admin(
            "PATCH",
            "/v1/apps/crm/objects/contacts",
            Some(json!({"add": [{"name": "tags", "type": "json"}]})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let records = "/v1/apps/crm/objects/contacts/records";
    // A body deeper than any parser allows, raw.
    let deep_text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let resp = app
        .client
        .post(app.url(records))
        .bearer_auth(crate::common::ADMIN)
        .header("content-type", "application/json")
        .body(deep_text)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    refused(&app, "record body", status, &body, "invalid_json").await;
    // A json field value within the parser's bound but past what a record keeps.
    let (s, b) = app
        .admin(
            "POST",
            records,
            Some(json!({"email": "d@x", "tags": nested(100, json!(1))})),
        )
        .await;
    refused(&app, "json field", s.as_u16(), &b, "at most 32").await;
    // A field default likewise (it would be kept in the catalog).
    let (s, b) = app
        .admin(
            "PATCH",
            "/v1/apps/crm/objects/contacts",
            Some(json!({"add": [{"name": "deep", "type": "json", "default": nested(120, json!(1))}]})),
        )
        .await;
    refused(&app, "field default", s.as_u16(), &b, "at most 32").await;
    // A reference whose value would nest the body past what it may arrive as.
    let bulk = json!({"operations": [
        {"id": "c1", "method": "POST", "url": records, "body": {"email": "r@x", "tags": nested(30, json!(1))}},
        {"method": "POST", "url": records, "body": {"email": "s@x", "tags": nested(110, json!("${c1.body.tags}"))}}
    ]});
    let (s, b) = app.admin("POST", "/v1/bulk", Some(bulk)).await;
    assert_eq!(s, 200, "{b}");
    refused(
        &app,
        "${ref}",
        b["results"][1]["status"].as_u64().unwrap() as u16,
        &b["results"][1],
        "nest the body deeper",
    )
    .await;
    // Export filters and parameters stay values (a stored export must read back).
    let export = |body: Value| app.call("POST", "/v1/apps/crm/exports", Some(&reader), Some(body));
    let (s, b) =
        export(json!({"object": "contacts", "filter": {"email[in]": nested(120, json!("x"))}}))
            .await;
    refused(
        &app,
        "export filter",
        s.as_u16(),
        &b,
        "a value or a list of values",
    )
    .await;
    let (s, b) = export(json!({"query": "SELECT id FROM contacts WHERE email = ?", "params": [nested(124, json!("x"))]})).await;
    refused(&app, "export params", s.as_u16(), &b, "single values").await;
    // Vendors' filters: Sugar's nesting and Backand's JSON.
    let and = (0..60).fold(json!({"age": 1}), |f, _| json!({"$and": [f]}));
    let (s, b) = app
        .send(
            "POST",
            "/rest/v10/contacts/filter",
            &[("OAuth-Token", &reader)],
            Some(json!({"filter": [and]})),
        )
        .await;
    refused(&app, "Sugar filter", s.as_u16(), &b, "invalid_parameter").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_costs_one_request() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_process(
        dir.path(),
        &[("SLUICE_FAILPOINTS", "panic@native_request:1")],
    );
    let app = server.app();
    let (s, b) = app.admin("GET", "/v1/apps", None).await;
    assert_eq!(
        (s.as_u16(), b["error"]["code"].as_str()),
        (500, Some("internal")),
        "{b}"
    );
    let (s, _) = app.send("GET", "/healthz", &[], None).await;
    assert_eq!(s, 200, "the server lives on");
    // The same kept-alive client goes on; the next request is served.
    let (s, b) = app.admin("GET", "/v1/apps", None).await;
    assert_eq!(s, 200, "{b}");
}
