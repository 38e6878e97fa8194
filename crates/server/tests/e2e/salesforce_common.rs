//! What the Salesforce tests share: an org (app `sforg`) with `Account` and `Contact` (a relation
//! to Account), a session from the token endpoint, and raw Bulk API 2.0 calls.

use crate::common::{poll, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

pub const V: &str = "/services/data/v59.0/jobs";

/// Creates the org and a user `sam` (password `password-1`); a session for it.
pub async fn setup(app: &TestApp) -> String {
    app.create_app("sforg").await;
    let account = json!([
        {"name": "Name", "type": "text", "required": true},
        {"name": "Email__c", "type": "text", "unique": true}
    ]);
    app.create_object("sforg", "Account", account).await;
    let contact = json!([
        {"name": "LastName", "type": "text", "required": true},
        {"name": "Email", "type": "text", "unique": true},
        {"name": "Score", "type": "integer"},
        {"name": "AccountId", "type": "relation", "object": "Account", "on_delete": "set_null"}
    ]);
    app.create_object("sforg", "Contact", contact).await;
    app.create_user("sforg", "sam", "writer").await;
    let resp = app
        .client
        .post(app.url("/services/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "sforg"),
            ("client_secret", "unused"),
            ("username", "sam"),
            ("password", "password-1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_owned()
}

/// A JSON call with the session; (status, body).
pub async fn sf(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    let (s, v) = app
        .send(method, path, &[("Authorization", &auth)], body)
        .await;
    (s.as_u16(), v)
}

/// `PUT …/batches` with a CSV body; the status.
pub async fn put_csv(app: &TestApp, token: &str, id: &str, csv: &str) -> u16 {
    app.client
        .request(Method::PUT, app.url(&format!("{V}/ingest/{id}/batches")))
        .bearer_auth(token)
        .header("Content-Type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// GET as text; (status, headers, body).
pub async fn get_text(
    app: &TestApp,
    token: &str,
    path: &str,
) -> (u16, reqwest::header::HeaderMap, String) {
    let r = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let (s, h) = (r.status().as_u16(), r.headers().clone());
    (s, h, r.text().await.unwrap())
}

/// Runs an ingest job over `parts` to its end; the job info.
pub async fn ingest(app: &TestApp, token: &str, job: Value, parts: &[&str]) -> Value {
    let (s, created) = sf(app, "POST", &format!("{V}/ingest"), token, Some(job)).await;
    assert_eq!(s, 200, "{created}");
    assert_eq!(created["state"], "Open", "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    for p in parts {
        assert_eq!(put_csv(app, token, &id, p).await, 201);
    }
    let (s, closed) = sf(
        app,
        "PATCH",
        &format!("{V}/ingest/{id}"),
        token,
        Some(json!({"state": "UploadComplete"})),
    )
    .await;
    assert_eq!(s, 200, "{closed}");
    wait(app, token, &format!("{V}/ingest/{id}")).await
}

/// Polls a job until it ends; its info.
pub async fn wait(app: &TestApp, token: &str, path: &str) -> Value {
    poll("the Salesforce job to end", || async {
        let (_, v) = sf(app, "GET", path, token, None).await;
        let st = v["state"].as_str().unwrap_or_default().to_owned();
        matches!(st.as_str(), "JobComplete" | "Failed" | "Aborted").then_some(v)
    })
    .await
}
