//! A CRM with relations for the relation tests: people own accounts, contacts belong to accounts
//! (restrict), notes to contacts (cascade), and tasks name a contact that may go (set_null).

use crate::common::TestApp;
use serde_json::{json, Value};

pub const APP: &str = "rel";

pub fn recs(object: &str) -> String {
    format!("/v1/apps/{APP}/objects/{object}/records")
}

/// Creates the app and its objects; `contacts_rule` is contacts.account's `on_delete`.
pub async fn setup(app: &TestApp, contacts_rule: &str) {
    app.create_app(APP).await;
    app.create_object(
        APP,
        "people",
        json!([{"name": "login", "type": "text", "unique": true}]),
    )
    .await;
    app.create_object(
        APP,
        "accounts",
        json!([
            {"name": "email", "type": "text", "unique": true},
            {"name": "name", "type": "text"},
            {"name": "owner", "type": "relation", "object": "people"}
        ]),
    )
    .await;
    app.create_object(
        APP,
        "contacts",
        json!([
            {"name": "email", "type": "text", "unique": true},
            {"name": "account", "type": "relation", "object": "accounts", "on_delete": contacts_rule}
        ]),
    )
    .await;
    app.create_object(
        APP,
        "notes",
        json!([
            {"name": "text", "type": "text"},
            {"name": "contact", "type": "relation", "object": "contacts", "on_delete": "cascade"}
        ]),
    )
    .await;
    app.create_object(
        APP,
        "tasks",
        json!([
            {"name": "title", "type": "text"},
            {"name": "contact", "type": "relation", "object": "contacts", "on_delete": "set_null"}
        ]),
    )
    .await;
}

/// Creates a record and returns its id.
pub async fn create(app: &TestApp, object: &str, body: Value) -> String {
    let (s, b) = app.admin("POST", &recs(object), Some(body)).await;
    assert_eq!(s, 201, "{b}");
    b["id"].as_str().unwrap().to_owned()
}

/// `n` accounts (`a{i}@x`), each with `per` contacts (`c{i}-{j}@x`), each contact with one note;
/// returns the account ids.
pub async fn seed(app: &TestApp, n: usize, per: usize) -> Vec<String> {
    let mut ops: Vec<Value> = (0..n)
        .map(|i| json!({"method": "POST", "url": recs("accounts"), "body": {"email": format!("a{i}@x"), "name": format!("A{i}")}}))
        .collect();
    let accounts = bulk(app, &ops).await;
    ops = (0..n * per)
        .map(|k| json!({"method": "POST", "url": recs("contacts"), "body": {"email": format!("c{}-{}@x", k / per, k % per), "account": {"email": format!("a{}@x", k / per)}}}))
        .collect();
    let contacts = bulk(app, &ops).await;
    ops = contacts
        .iter()
        .map(|c| json!({"method": "POST", "url": recs("notes"), "body": {"text": "n", "contact": c}}))
        .collect();
    bulk(app, &ops).await;
    accounts
}

/// Runs creates through `/v1/bulk`, 1,000 at a time; every one must succeed. Their ids.
pub async fn bulk(app: &TestApp, ops: &[Value]) -> Vec<String> {
    let mut ids = Vec::new();
    for chunk in ops.chunks(1000) {
        let (s, b) = app
            .admin("POST", "/v1/bulk", Some(json!({"operations": chunk})))
            .await;
        assert_eq!(s, 200, "{b}");
        for r in b["results"].as_array().unwrap() {
            assert_eq!(r["status"], 201, "{r}");
            ids.push(r["body"]["id"].as_str().unwrap().to_owned());
        }
    }
    ids
}
