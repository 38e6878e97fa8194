//! Helpers the Backand dialect's tests share: the `news` app, `/token` sign-in, requests with a
//! bearer token, and URL and base64 encoding.

use crate::common::TestApp;
use serde_json::{json, Value};

/// App `news` with objects `articles` and `authors`, a user `ann` (writer) and `rob` (reader).
pub async fn setup(app: &TestApp) {
    app.create_app("news").await;
    let title = json!([{"name": "title", "type": "text", "required": true}, {"name": "views", "type": "integer"}]);
    app.create_object("news", "articles", title).await;
    let name = json!([{"name": "name", "type": "text", "required": true, "unique": true}, {"name": "age", "type": "integer"}]);
    app.create_object("news", "authors", name).await;
    app.create_user("news", "ann@news.io", "writer").await;
    app.create_user("news", "rob@news.io", "reader").await;
}

/// Signs in at `/token` the way Backand's SDK does (form-encoded).
pub async fn sign_in(app: &TestApp, user: &str) -> Value {
    let resp = app
        .client
        .post(app.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "username={}&password=password-1&appName=news&grant_type=password",
            user.replace('@', "%40")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

pub async fn send(
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

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}
