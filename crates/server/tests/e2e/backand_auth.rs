//! Backand credentials: tokens and basic keys in the query string (also inside bulk commands),
//! sign-up, sign-in and sign-out.

use crate::backand_common::{b64, send, setup, sign_in, urlencode};
use crate::common::spawn_app;
use serde_json::{json, Value};

#[tokio::test]
async fn credentials_in_the_query_string() {
    let app = spawn_app().await;
    setup(&app).await;
    app.admin(
        "POST",
        "/v1/apps",
        Some(json!({"name": "blog", "anonymous_role": "reader"})),
    )
    .await;
    app.create_object("blog", "posts", json!([{"name": "t", "type": "text"}]))
        .await;
    let (_, blog) = app.admin("GET", "/v1/apps/blog", None).await;
    let anon = blog["anonymous_token"].as_str().unwrap().to_owned();
    let key = app.token("news", "bot", "writer").await;

    let (s, b) = app
        .send(
            "GET",
            &format!("/1/objects/posts?AnonymousToken={anon}"),
            &[],
            None,
        )
        .await;
    assert_eq!((s.as_u16(), b["totalRows"].as_u64()), (200, Some(0)), "{b}");
    // Backand's docs: `?authorization=basic <master key>:<user key>` (the `+` is a space).
    let (s, b) = app
        .send(
            "POST",
            &format!("/1/objects/articles?authorization=basic+master:{key}"),
            &[],
            Some(json!({"title": "raw"})),
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{b}");
    let encoded = urlencode(&b64(&format!("master:{key}")));
    let (s, b) = app
        .send(
            "GET",
            &format!("/1/objects/articles?authorization=Basic%20{encoded}"),
            &[],
            None,
        )
        .await;
    assert_eq!(
        (s.as_u16(), b["data"][0]["created_by"].as_str()),
        (200, Some("bot")),
        "{b}"
    );
    let (s, e) = app
        .send(
            "GET",
            "/1/objects/articles?authorization=basic+master:wrong",
            &[],
            None,
        )
        .await;
    assert_eq!(
        (s.as_u16(), e["Message"].as_str()),
        (401, Some("invalid or expired token"))
    );

    // Inside a bulk request, a command's URL may carry them too.
    let ann = sign_in(&app, "ann@news.io").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let commands = json!([
        {"method": "POST", "url": format!("https://api.backand.com/1/objects/articles?authorization=basic%20:{key}"), "data": {"title": "by bot"}},
        {"method": "GET", "url": format!("/1/objects/posts?AnonymousToken={anon}")},
        {"method": "POST", "url": "/1/objects/articles", "data": {"title": "by ann"}}
    ]);
    let (s, b) = send(&app, "POST", "/1/bulk", &ann, Some(commands)).await;
    assert_eq!(s, 200);
    let statuses: Vec<u64> = b
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 200, 200], "{b}");
    assert!(b[0]["data"]["__metadata"]["id"].is_string());
    let (_, list) = send(
        &app,
        "GET",
        "/1/objects/articles?sort=%5B%7B%22fieldName%22%3A%22title%22%7D%5D",
        &ann,
        None,
    )
    .await;
    let by: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["created_by"].as_str().unwrap())
        .collect();
    assert_eq!(by, ["ann@news.io", "bot", "bot"], "{list}");
}

#[tokio::test]
async fn sign_up_then_sign_in_and_sign_out() {
    let app = spawn_app().await;
    setup(&app).await;
    let (_, news) = app.admin("GET", "/v1/apps/news", None).await;
    let signup_token = news["signup_token"].as_str().unwrap().to_owned();
    // What the SDK's `signup(firstName, lastName, email, password, confirmPassword, parameters)` sends.
    let body = json!({"firstName": "Matt", "lastName": "Test", "email": "matt@news.io", "password": "secret-pass", "confirmPassword": "secret-pass", "parameters": {}});
    let (s, b) = app
        .send(
            "POST",
            "/1/user/signup",
            &[("SignUpToken", &signup_token)],
            Some(body.clone()),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (b["username"].as_str(), b["currentStatus"].as_u64()),
        (Some("matt@news.io"), Some(1))
    );
    assert_eq!(b["message"], "The user is ready to sign in");
    assert_eq!(b["listOfPossibleStatus"].as_array().map(Vec::len), Some(3));
    assert!(b["token"].is_string());
    // The SDK then signs in with the answer's username (runSigninAfterSignup).
    let resp = app
        .client
        .post(app.url("/token"))
        .form(&[
            ("username", "matt@news.io"),
            ("password", "secret-pass"),
            ("appName", "news"),
            ("grant_type", "password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let session: Value = resp.json().await.unwrap();
    assert_eq!(
        (session["role"].as_str(), session["firstName"].as_str()),
        (Some("reader"), Some("Matt"))
    );
    let token = session["access_token"].as_str().unwrap().to_owned();

    let (s, e) = app
        .send(
            "POST",
            "/1/user/signup",
            &[("SignUpToken", &signup_token)],
            Some(body.clone()),
        )
        .await;
    assert_eq!(
        (s.as_u16(), e["code"].as_str()),
        (409, Some("conflict")),
        "{e}"
    );
    let mut mismatch = body.clone();
    mismatch["email"] = json!("other@news.io");
    mismatch["confirmPassword"] = json!("something-else");
    let (s, e) = app
        .send(
            "POST",
            "/1/user/signup",
            &[("SignUpToken", &signup_token)],
            Some(mismatch),
        )
        .await;
    assert_eq!(s.as_u16(), 400, "{e}");
    let (s, e) = app
        .send(
            "POST",
            "/1/user/signup",
            &[("SignUpToken", "wrong")],
            Some(body),
        )
        .await;
    assert_eq!(
        (s.as_u16(), e["code"].as_str()),
        (401, Some("unauthorized"))
    );

    // Sign-out revokes the token.
    let (s, b) = send(&app, "GET", "/1/user/signout", &token, None).await;
    assert_eq!((s, b), (200, json!({})));
    let (s, _) = send(&app, "GET", "/1/objects/articles", &token, None).await;
    assert_eq!(s, 401);
}
