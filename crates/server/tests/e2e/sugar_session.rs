//! SugarCRM sessions and errors: login under `/apps/{app}/rest/{version}` and a bare
//! `/rest/{version}` with a default app, token refresh, Sugar's error labels, `me`, `ping` and
//! logout.

use crate::common::{spawn_app, spawn_app_with, TestApp};
use crate::sugar_common::{setup, sugar};
use serde_json::{json, Value};

/// Logs `user` in and returns the whole token answer.
async fn session(app: &TestApp, base: &str, user: &str) -> Value {
    let body = json!({"grant_type": "password", "client_id": "sugar", "client_secret": "", "username": user, "password": "password-1", "platform": "base"});
    let (s, b) = app
        .call("POST", &format!("{base}/oauth2/token"), None, Some(body))
        .await;
    assert_eq!(s, 200, "{b}");
    b
}

#[tokio::test]
async fn errors_carry_sugars_labels_and_bad_tokens_trigger_a_refresh() {
    let app = spawn_app().await;
    setup(&app).await;
    app.create_user("crm", "rita", "reader").await;
    let base = "/apps/crm/rest/v11_24";
    let tokens = session(&app, base, "sally").await;
    let token = tokens["access_token"].as_str().unwrap();

    // No token at all: need_login; an unknown one: invalid_grant, which Sugar clients refresh on.
    let (s, e) = app
        .send("GET", &format!("{base}/Accounts"), &[], None)
        .await;
    assert_eq!(
        (s.as_u16(), e["error"].as_str(), e["error_message"].as_str()),
        (
            401,
            Some("need_login"),
            Some("No valid authentication for user.")
        )
    );
    let (s, e) = sugar(&app, "GET", &format!("{base}/Accounts"), "nope", None).await;
    assert_eq!(
        (s, e["error"].as_str(), e["error_message"].as_str()),
        (
            401,
            Some("invalid_grant"),
            Some("The access token provided is invalid.")
        )
    );
    // An expired token says so, and the refresh grant renews the session.
    app.clock.advance(std::time::Duration::from_secs(3601));
    let (s, e) = sugar(&app, "GET", &format!("{base}/Accounts"), token, None).await;
    assert_eq!(
        (s, e["error"].as_str(), e["error_message"].as_str()),
        (
            401,
            Some("invalid_grant"),
            Some("The access token provided has expired.")
        )
    );
    let refresh = json!({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": "sugar", "client_secret": "", "platform": "base"});
    let (s, renewed) = app
        .call(
            "POST",
            &format!("{base}/oauth2/token"),
            None,
            Some(refresh.clone()),
        )
        .await;
    assert_eq!(s, 200, "{renewed}");
    let token = renewed["access_token"].as_str().unwrap();
    let (s, _) = sugar(&app, "GET", &format!("{base}/Accounts"), token, None).await;
    assert_eq!(s, 200);
    // A spent refresh token: 400 invalid_grant.
    let (s, e) = app
        .call("POST", &format!("{base}/oauth2/token"), None, Some(refresh))
        .await;
    assert_eq!(
        (s.as_u16(), e["error"].as_str(), e["error_message"].as_str()),
        (400, Some("invalid_grant"), Some("Invalid refresh token"))
    );
    let (s, e) = app
        .call(
            "POST",
            &format!("{base}/oauth2/token"),
            None,
            Some(json!({"grant_type": "password", "username": "sally"})),
        )
        .await;
    assert_eq!(
        (s.as_u16(), e["error"].as_str()),
        (400, Some("invalid_request"))
    );

    // A reader may not write: not_authorized; broken records: invalid_parameter; unknown
    // modules and routes: no_method; a missing record: not_found.
    let reader = session(&app, base, "rita").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, e) = sugar(
        &app,
        "POST",
        &format!("{base}/Accounts"),
        &reader,
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(
        (s, e["error"].as_str(), e["sluice_code"].as_str()),
        (403, Some("not_authorized"), Some("forbidden"))
    );
    let (s, e) = sugar(
        &app,
        "POST",
        &format!("{base}/Accounts"),
        token,
        Some(json!({"employees": "many"})),
    )
    .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (422, Some("invalid_parameter")),
        "{e}"
    );
    let (s, e) = sugar(&app, "GET", &format!("{base}/Leads"), token, None).await;
    assert_eq!((s, e["error"].as_str()), (404, Some("no_method")), "{e}");
    assert!(e["error_message"].as_str().unwrap().contains("/Leads"));
    let (s, e) = sugar(
        &app,
        "PATCH",
        &format!("{base}/Accounts/x"),
        token,
        Some(json!({})),
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (404, Some("no_method")));
    let (s, e) = sugar(
        &app,
        "DELETE",
        &format!("{base}/Accounts/0199"),
        token,
        None,
    )
    .await;
    assert_eq!(
        (s, e["error"].as_str(), e["error_message"].as_str()),
        (
            404,
            Some("not_found"),
            Some("Could not find record: 0199 in module: Accounts")
        )
    );
    // Sugar has no POST <module>/count (only GET, and GET/POST <module>/filter/count).
    let (s, e) = sugar(
        &app,
        "POST",
        &format!("{base}/Accounts/count"),
        token,
        Some(json!({})),
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (404, Some("no_method")));
}

#[tokio::test]
async fn a_bare_base_url_logs_in_to_the_default_app_then_me_ping_and_logout() {
    let app = spawn_app_with(|c| c.default_app = Some("crm".into())).await;
    setup(&app).await;
    // A Sugar client configured with `http://host` logs in at /rest/{version}/oauth2/token.
    let tokens = session(&app, "/rest/v11_24", "sally").await;
    let token = tokens["access_token"].as_str().unwrap();
    let (s, b) = sugar(
        &app,
        "POST",
        "/rest/v11_24/Accounts",
        token,
        Some(json!({"name": "Acme"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, me) = sugar(&app, "GET", "/rest/v11_24/me", token, None).await;
    assert_eq!(s, 200, "{me}");
    let user = &me["current_user"];
    assert_eq!(
        (
            user["type"].as_str(),
            user["user_name"].as_str(),
            user["full_name"].as_str()
        ),
        (Some("user"), Some("sally"), Some("A B"))
    );
    assert!(user["id"].is_string() && user["roles"].is_array(), "{me}");
    for path in ["/rest/v10/ping", "/apps/crm/rest/v11/ping"] {
        let (s, b) = sugar(&app, "GET", path, token, None).await;
        assert_eq!((s, b), (200, json!("pong")), "{path}");
    }
    let (s, e) = app.send("GET", "/rest/v10/ping", &[], None).await;
    assert_eq!((s.as_u16(), e["error"].as_str()), (401, Some("need_login")));

    // Logout revokes the access token (and the refresh token it is given).
    let (s, b) = sugar(
        &app,
        "POST",
        "/apps/crm/rest/v11_24/oauth2/logout",
        token,
        Some(json!({"token": token, "refresh_token": tokens["refresh_token"]})),
    )
    .await;
    assert_eq!((s, b), (200, json!({"success": true})));
    let (s, e) = sugar(&app, "GET", "/rest/v11_24/me", token, None).await;
    assert_eq!((s, e["error"].as_str()), (401, Some("invalid_grant")));
    let refresh = json!({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": "sugar"});
    let (s, _) = app
        .call("POST", "/rest/v11_24/oauth2/token", None, Some(refresh))
        .await;
    assert_eq!(s, 400);

    // Without a default app, a bare login says where to log in.
    let plain = spawn_app().await;
    setup(&plain).await;
    let body = json!({"grant_type": "password", "client_id": "sugar", "username": "sally", "password": "password-1"});
    let (s, e) = plain
        .call("POST", "/rest/v11_24/oauth2/token", None, Some(body))
        .await;
    assert_eq!((s.as_u16(), e["error"].as_str()), (401, Some("need_login")));
}
