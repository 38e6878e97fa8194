//! Helpers the SugarCRM dialect's tests share: the `crm` app, login, and requests with an
//! `OAuth-Token`.

use crate::common::TestApp;
use serde_json::{json, Value};

/// App `crm` with module `Accounts` and a user `sally`.
pub async fn setup(app: &TestApp) {
    app.create_app("crm").await;
    let fields = json!([
        {"name": "name", "type": "text", "required": true},
        {"name": "industry", "type": "text"},
        {"name": "employees", "type": "integer"}
    ]);
    app.create_object("crm", "Accounts", fields).await;
    app.create_user("crm", "sally", "writer").await;
}

pub async fn login(app: &TestApp) -> String {
    let body = json!({"grant_type": "password", "client_id": "sugar", "client_secret": "", "username": "sally", "password": "password-1", "platform": "base"});
    let (s, b) = app
        .call(
            "POST",
            "/apps/crm/rest/v11_24/oauth2/token",
            None,
            Some(body),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    for key in [
        "access_token",
        "expires_in",
        "token_type",
        "scope",
        "refresh_token",
        "refresh_expires_in",
        "download_token",
    ] {
        assert!(b.get(key).is_some(), "{key}");
    }
    assert_eq!(b["token_type"], "bearer");
    b["access_token"].as_str().unwrap().to_owned()
}

pub async fn sugar(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let (s, v) = app
        .send(method, path, &[("OAuth-Token", token)], body)
        .await;
    (s.as_u16(), v)
}
