//! Hostile list requests meet named limits (4xx, natively, inside bulk and in every dialect);
//! counts are bounded; indexed fields; bulk credentials are checked as of each entry; result files
//! carry safe entry names.

use crate::common::{spawn_app, spawn_app_with, unzip, TestApp, ADMIN};
use serde_json::{json, Value};

const RECS: &str = "/v1/apps/crm/objects/contacts/records";

fn repeat(part: &str, n: usize) -> String {
    (0..n)
        .map(|i| part.replace("{i}", &i.to_string()))
        .collect::<Vec<_>>()
        .join("&")
}

/// The exact oversized requests that used to reach SQLite's own limits and answer 500.
#[tokio::test]
async fn oversized_filters_and_sorts_are_refused_by_name() {
    let app = spawn_app().await;
    app.setup_crm().await;
    let conditions = format!("{RECS}?{}", repeat("age[ne]={i}", 1000));
    let sorts = format!("{RECS}?sort={}", vec!["age"; 2500].join(","));
    for (path, field, limit) in [
        (conditions.as_str(), "filter", "max_filter_conditions"),
        (sorts.as_str(), "sort", "max_sort_terms"),
    ] {
        let (s, b) = app.admin("GET", path, None).await;
        assert_eq!(
            (
                s.as_u16(),
                b["error"]["code"].as_str(),
                b["error"]["field"].as_str()
            ),
            (413, Some("limit_exceeded"), Some(field)),
            "{b}"
        );
        assert!(
            b["error"]["message"].as_str().unwrap().contains(limit),
            "{b}"
        );
        // The same inside /v1/bulk: that entry fails alone, with the same answer.
        let ops = json!({"operations": [{"url": path}, {"url": RECS}]});
        let (s, b) = app.admin("POST", "/v1/bulk", Some(ops)).await;
        assert_eq!(s, 200);
        assert_eq!(b["results"][0]["status"], 413, "{b}");
        assert_eq!(b["results"][1]["status"], 200);
    }
    let (s, _) = app
        .admin(
            "GET",
            &format!("{RECS}?{}", repeat("age[ne]={i}", 100)),
            None,
        )
        .await;
    assert_eq!(s, 200, "the limit itself is allowed");
}

#[tokio::test]
async fn dialects_meet_the_same_limits() {
    let app = spawn_app().await;
    app.setup_crm().await;
    let token = app.token("crm", "ann", "writer").await;
    let sugar = |path: String, body: Option<Value>| {
        let app = &app;
        let token = token.clone();
        async move {
            let method = if body.is_some() { "POST" } else { "GET" };
            let (s, b) = app
                .send(method, &path, &[("OAuth-Token", &token)], body)
                .await;
            (s.as_u16(), b)
        }
    };
    let conditions: Vec<Value> = (0..1200)
        .map(|i| json!({"age": {"$not_equals": i}}))
        .collect();
    let (s, b) = sugar(
        "/rest/v11/contacts/filter".into(),
        Some(json!({"filter": conditions})),
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str(), b["sluice_code"].as_str()),
        (413, Some("request_too_large"), Some("limit_exceeded")),
        "{b}"
    );
    let lists: Vec<Value> = (0..33)
        .map(|_| json!({"age": {"$not_in": (0..1000).collect::<Vec<_>>()}}))
        .collect();
    let (s, b) = sugar(
        "/rest/v11/contacts/filter/count".into(),
        Some(json!({"filter": lists})),
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str(), b["sluice_code"].as_str()),
        (413, Some("request_too_large"), Some("limit_exceeded")),
        "{b}"
    );
    let order = vec!["age:desc"; 2500].join(",");
    let (s, b) = sugar(format!("/rest/v11/contacts?order_by={order}"), None).await;
    assert_eq!(
        (s, b["error"].as_str(), b["sluice_code"].as_str()),
        (413, Some("request_too_large"), Some("limit_exceeded")),
        "{b}"
    );
    // Backand's bulk: the oversized command fails alone.
    let filter: Vec<Value> = (0..1000)
        .map(|i| json!({"fieldName": "age", "operator": "notEquals", "value": i}))
        .collect();
    let cmds = json!([
        {"method": "GET", "url": "/1/objects/contacts", "parameters": {"filter": filter}},
        {"method": "GET", "url": "/1/objects/contacts"}
    ]);
    let auth = format!("Bearer {token}");
    let (s, b) = app
        .send("POST", "/1/bulk", &[("Authorization", &auth)], Some(cmds))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        (b[0]["status"].as_u64(), b[1]["status"].as_u64()),
        (Some(413), Some(200)),
        "{b}"
    );
}

/// A count that takes longer than its bound answers the page without a total, saying why.
#[tokio::test]
async fn slow_counts_answer_without_a_total() {
    let app = spawn_app_with(|c| c.count_timeout_ms = 0).await;
    app.setup_crm().await;
    let ops: Vec<Value> = (0..3000)
        .map(|i| json!({"method": "POST", "url": RECS, "body": {"email": format!("{i}@x"), "age": i % 90}}))
        .collect();
    for chunk in ops.chunks(1000) {
        app.admin("POST", "/v1/bulk", Some(json!({"operations": chunk})))
            .await;
    }
    let (s, b) = app
        .admin(
            "GET",
            &format!("{RECS}?age[gte]=10&count=true&limit=2"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["records"].as_array().map(Vec::len), Some(2));
    assert!(b.get("total").is_none(), "{b}");
    assert!(
        b["total_omitted"]
            .as_str()
            .unwrap()
            .contains("count_timeout_ms"),
        "{b}"
    );
}

#[tokio::test]
async fn fields_can_be_indexed_and_unindexed() {
    let app = spawn_app().await;
    app.setup_crm().await;
    let obj = "/v1/apps/crm/objects/contacts";
    let (s, b) = app
        .admin("PATCH", obj, Some(json!({"index": ["age"]})))
        .await;
    assert_eq!(s, 200, "{b}");
    let age = |b: &Value| {
        b["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "age")
            .cloned()
            .unwrap()
    };
    assert_eq!(age(&b)["indexed"], true);
    app.admin("POST", RECS, Some(json!({"email": "a@x", "age": 40})))
        .await;
    let (s, b) = app
        .admin("GET", &format!("{RECS}?age=40&sort=-age"), None)
        .await;
    assert_eq!(
        (s.as_u16(), b["records"].as_array().map(Vec::len)),
        (200, Some(1))
    );
    // An indexed field can be renamed and dropped like any other.
    let (s, b) = app
        .admin("PATCH", obj, Some(json!({"rename": {"age": "years"}})))
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = app
        .admin("PATCH", obj, Some(json!({"unindex": ["years"]})))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "years")
            .unwrap()["indexed"],
        false
    );
    let (s, _) = app
        .admin("PATCH", obj, Some(json!({"index": ["nope"]})))
        .await;
    assert_eq!(s, 422);
    let (s, b) = app
        .admin("POST", "/v1/apps/crm/objects", Some(json!({"name": "deals", "fields": [{"name": "stage", "type": "text", "indexed": true}]})))
        .await;
    assert_eq!(
        (s.as_u16(), b["fields"][0]["indexed"].as_bool()),
        (201, Some(true))
    );
}

async fn writer_token(app: &TestApp) -> (String, String) {
    let (_, b) = app
        .admin(
            "POST",
            "/v1/apps/crm/tokens",
            Some(json!({"user": "w", "role": "writer"})),
        )
        .await;
    (
        b["id"].as_str().unwrap().to_owned(),
        b["token"].as_str().unwrap().to_owned(),
    )
}

/// `[DELETE …/tokens/<id>, POST records as that token]` used to answer `[204, 201]`.
#[tokio::test]
async fn bulk_entries_are_authorized_as_of_their_turn() {
    let app = spawn_app().await;
    app.setup_crm().await;
    let (id, token) = writer_token(&app).await;
    let ops = json!({"operations": [
        {"method": "POST", "url": RECS, "body": {"email": "before@x"}, "headers": {"Authorization": format!("Bearer {token}")}},
        {"method": "DELETE", "url": format!("/v1/apps/crm/tokens/{id}")},
        {"method": "POST", "url": RECS, "body": {"email": "after@x"}, "headers": {"Authorization": format!("Bearer {token}")}}
    ]});
    let (_, b) = app.admin("POST", "/v1/bulk", Some(ops)).await;
    let statuses: Vec<u64> = b["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 204, 401], "{b}");
    // The request's own token, revoked by its first entry, does not act for the next.
    let (id, token) = writer_token(&app).await;
    let owner = app.token("crm", "o", "owner").await;
    let ops = json!({"operations": [
        {"method": "DELETE", "url": format!("/v1/apps/crm/tokens/{id}"), "headers": {"Authorization": format!("Bearer {owner}")}},
        {"method": "POST", "url": RECS, "body": {"email": "outer@x"}}
    ]});
    let (_, b) = app.call("POST", "/v1/bulk", Some(&token), Some(ops)).await;
    assert_eq!(b["results"][1]["status"], 401, "{b}");
    // A user demoted in one entry is refused writes in the next.
    app.admin(
        "POST",
        "/v1/apps/crm/users",
        Some(json!({"name": "u", "password": "password1", "role": "writer"})),
    )
    .await;
    let (_, sess) = app
        .call(
            "POST",
            "/v1/auth/token",
            None,
            Some(json!({"app": "crm", "username": "u", "password": "password1"})),
        )
        .await;
    let access = sess["token"].as_str().unwrap();
    let ops = json!({"operations": [
        {"method": "PATCH", "url": "/v1/apps/crm/users/u", "body": {"role": "reader"}, "headers": {"Authorization": format!("Bearer {ADMIN}")}},
        {"method": "POST", "url": RECS, "body": {"email": "demoted@x"}}
    ]});
    let (_, b) = app.call("POST", "/v1/bulk", Some(access), Some(ops)).await;
    assert_eq!(b["results"][0]["status"], 200, "{b}");
    assert_eq!(b["results"][1]["status"], 401, "{b}");
    assert_eq!(app.count("crm", "contacts").await, 1);
}

/// Upload names such as `../../../evil.csv` or a ZIP entry `..\..\evil.csv` never become paths
/// inside result files.
#[tokio::test]
async fn result_files_carry_safe_entry_names() {
    let app = spawn_app().await;
    app.setup_crm().await;
    for name in [
        "../../../evil.csv",
        "/etc/cron.d/x.csv",
        "..%5C..%5Cevil.csv",
        "C:%5Cx.csv",
    ] {
        let (s, f) = app
            .upload("crm", name, "text/csv", b"email\na@x\n".to_vec())
            .await;
        assert_eq!(s, 201, "{f}");
        let (_, job) = app
            .admin("POST", "/v1/apps/crm/jobs", Some(json!({"operation": "upsert", "object": "contacts", "file_id": f["file_id"], "find_by": "email"})))
            .await;
        let id = job["id"].as_str().unwrap();
        app.wait_job("crm", id).await;
        let (_, zip) = app
            .download(&format!("/v1/apps/crm/jobs/{id}/result"))
            .await;
        let entries = unzip(&zip);
        let entry = &entries[0].0;
        assert!(
            !entry.contains('/')
                && !entry.contains('\\')
                && !entry.contains("..")
                && !entry.contains(':'),
            "{name} → {entry}"
        );
        assert!(
            entry.starts_with("contacts-") && entry.ends_with(".csv"),
            "{entry}"
        );
    }
}
