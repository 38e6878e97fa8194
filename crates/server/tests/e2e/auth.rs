//! Tokens, roles, app isolation, anonymous access, user login with refresh and throttling.

use crate::common::{spawn_app, spawn_app_with, ADMIN};
use serde_json::json;

const RECS: &str = "/v1/apps/crm/objects/contacts/records";

#[tokio::test]
async fn roles_are_enforced() {
    let app = spawn_app().await;
    app.setup_crm().await;
    let reader = app.token("crm", "rita", "reader").await;
    let writer = app.token("crm", "will", "writer").await;
    let owner = app.token("crm", "olga", "owner").await;

    let (s, b) = app
        .call("POST", RECS, Some(&reader), Some(json!({"email": "r@x"})))
        .await;
    assert_eq!(s, 403);
    assert_eq!(b["error"]["code"], "forbidden");
    let (s, _) = app.call("GET", RECS, Some(&reader), None).await;
    assert_eq!(s, 200);
    assert_eq!(
        app.count("crm", "contacts").await,
        0,
        "the refused write changed nothing"
    );

    let (s, _) = app
        .call("POST", RECS, Some(&writer), Some(json!({"email": "w@x"})))
        .await;
    assert_eq!(s, 201);
    // Schema, tokens and users need the owner role.
    let obj = json!({"name": "notes", "fields": []});
    let (s, _) = app
        .call(
            "POST",
            "/v1/apps/crm/objects",
            Some(&writer),
            Some(obj.clone()),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = app
        .call(
            "POST",
            "/v1/apps/crm/tokens",
            Some(&writer),
            Some(json!({"user": "x", "role": "owner"})),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = app
        .call("POST", "/v1/apps/crm/objects", Some(&owner), Some(obj))
        .await;
    assert_eq!(s, 201);
    // Only admins make apps.
    let (s, _) = app
        .call(
            "POST",
            "/v1/apps",
            Some(&owner),
            Some(json!({"name": "other"})),
        )
        .await;
    assert_eq!(s, 403);

    // Missing or bad credentials.
    let (s, b) = app.call("GET", RECS, None, None).await;
    assert_eq!(s, 401);
    assert_eq!(b["error"]["code"], "unauthorized");
    let (s, _) = app.call("GET", RECS, Some("sk_not-a-token"), None).await;
    assert_eq!(s, 401);

    // Tokens are listed without secrets and can be revoked.
    let (s, b) = app
        .call("GET", "/v1/apps/crm/tokens", Some(&owner), None)
        .await;
    assert_eq!(s, 200);
    let tokens = b["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 3);
    assert!(tokens.iter().all(|t| t.get("token").is_none()));
    let rita = tokens.iter().find(|t| t["user"] == "rita").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, _) = app
        .call(
            "DELETE",
            &format!("/v1/apps/crm/tokens/{rita}"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = app.call("GET", RECS, Some(&reader), None).await;
    assert_eq!(s, 401, "a revoked token stops working at once");
}

#[tokio::test]
async fn an_app_token_never_sees_another_app() {
    let app = spawn_app().await;
    app.setup_crm().await;
    app.admin("POST", "/v1/apps", Some(json!({"name": "hr"})))
        .await;
    app.admin(
        "POST",
        "/v1/apps/hr/objects",
        Some(json!({"name": "people", "fields": [{"name": "n", "type": "text"}]})),
    )
    .await;
    app.admin(
        "POST",
        "/v1/apps/hr/objects/people/records",
        Some(json!({"n": "secret"})),
    )
    .await;
    let crm_owner = app.token("crm", "o", "owner").await;
    for path in [
        "/v1/apps/hr",
        "/v1/apps/hr/objects",
        "/v1/apps/hr/objects/people/records",
        "/v1/apps/hr/tokens",
    ] {
        let (s, b) = app.call("GET", path, Some(&crm_owner), None).await;
        assert_eq!(s, 404, "{path}: {b}");
        assert!(!b.to_string().contains("secret"));
    }
    let (s, b) = app.call("GET", "/v1/apps", Some(&crm_owner), None).await;
    assert_eq!(s, 200);
    assert_eq!(b["apps"].as_array().unwrap().len(), 1);
    assert_eq!(b["apps"][0]["name"], "crm");
    let (s, _) = app
        .call(
            "POST",
            "/v1/apps/hr/objects/people/records",
            Some(&crm_owner),
            Some(json!({"n": "x"})),
        )
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn anonymous_role_allows_what_it_says() {
    let app = spawn_app().await;
    app.setup_crm().await;
    let (s, _) = app.call("GET", RECS, None, None).await;
    assert_eq!(s, 401);
    let (s, b) = app
        .admin(
            "PATCH",
            "/v1/apps/crm",
            Some(json!({"anonymous_role": "reader"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["anonymous_role"], "reader");
    let (s, _) = app.call("GET", RECS, None, None).await;
    assert_eq!(s, 200);
    let (s, _) = app
        .call("POST", RECS, None, Some(json!({"email": "anon@x"})))
        .await;
    assert_eq!(s, 401);
    app.admin(
        "PATCH",
        "/v1/apps/crm",
        Some(json!({"anonymous_role": "writer"})),
    )
    .await;
    let (s, rec) = app
        .call("POST", RECS, None, Some(json!({"email": "anon@x"})))
        .await;
    assert_eq!(s, 201);
    assert_eq!(rec["created_by"], "anonymous");
}

#[tokio::test]
async fn users_log_in_refresh_and_are_throttled() {
    let app = spawn_app().await;
    app.setup_crm().await;
    let user = json!({"name": "alice", "password": "wonderland", "role": "writer", "first_name": "Alice", "last_name": "Liddell"});
    let (s, b) = app.admin("POST", "/v1/apps/crm/users", Some(user)).await;
    assert_eq!(s, 201, "{b}");
    assert!(b.get("password").is_none() && !b.to_string().contains("wonderland"));
    let (s, _) = app
        .admin(
            "POST",
            "/v1/apps/crm/users",
            Some(json!({"name": "bob", "password": "short", "role": "reader"})),
        )
        .await;
    assert_eq!(s, 422);

    let login = |pw: &str| json!({"app": "crm", "username": "alice", "password": pw});
    let (s, sess) = app
        .call("POST", "/v1/auth/token", None, Some(login("wonderland")))
        .await;
    assert_eq!(s, 200, "{sess}");
    assert_eq!(sess["user"], "alice");
    assert_eq!(sess["role"], "writer");
    assert_eq!(sess["expires_in"], 3600);
    let token = sess["token"].as_str().unwrap();
    let (s, rec) = app
        .call("POST", RECS, Some(token), Some(json!({"email": "a@x"})))
        .await;
    assert_eq!(s, 201);
    assert_eq!(rec["created_by"], "alice");

    // Refresh: a new pair; the refresh token is spent; it is no access token.
    let refresh = sess["refresh_token"].as_str().unwrap();
    let (s, _) = app.call("GET", RECS, Some(refresh), None).await;
    assert_eq!(s, 401);
    let (s, sess2) = app
        .call(
            "POST",
            "/v1/auth/token",
            None,
            Some(json!({"grant_type": "refresh_token", "refresh_token": refresh})),
        )
        .await;
    assert_eq!(s, 200, "{sess2}");
    assert_ne!(sess2["token"], sess["token"]);
    let (s, _) = app
        .call(
            "POST",
            "/v1/auth/token",
            None,
            Some(json!({"grant_type": "refresh_token", "refresh_token": refresh})),
        )
        .await;
    assert_eq!(s, 401);

    // Wrong password and unknown user look the same.
    let (s1, b1) = app
        .call("POST", "/v1/auth/token", None, Some(login("nope-nope")))
        .await;
    let (s2, b2) = app
        .call(
            "POST",
            "/v1/auth/token",
            None,
            Some(json!({"app": "crm", "username": "mallory", "password": "x"})),
        )
        .await;
    assert_eq!((s1.as_u16(), s2.as_u16()), (401, 401));
    assert_eq!(b1, b2);
    // Repeated failures lock the login out, even for the right password.
    for _ in 0..4 {
        app.call("POST", "/v1/auth/token", None, Some(login("nope-nope")))
            .await;
    }
    let (s, b) = app
        .call("POST", "/v1/auth/token", None, Some(login("wonderland")))
        .await;
    assert_eq!(s, 429, "{b}");
    assert_eq!(b["error"]["code"], "too_many_attempts");

    // Changing a user's role ends their sessions.
    let (s, _) = app
        .admin(
            "PATCH",
            "/v1/apps/crm/users/alice",
            Some(json!({"role": "reader"})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .call("GET", RECS, Some(sess2["token"].as_str().unwrap()), None)
        .await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn short_lived_tokens_expire() {
    let app = spawn_app_with(|c| c.access_token_ttl = 1).await;
    app.setup_crm().await;
    app.admin(
        "POST",
        "/v1/apps/crm/users",
        Some(json!({"name": "u", "password": "password1", "role": "reader"})),
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
    let token = sess["token"].as_str().unwrap().to_owned();
    let (s, _) = app.call("GET", RECS, Some(&token), None).await;
    assert_eq!(s, 200);
    app.clock.advance(std::time::Duration::from_secs(2));
    // The token cache may hold it; the expiry check runs on every use.
    let (s, _) = app.call("GET", RECS, Some(&token), None).await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn bootstrap_admin_token_is_written_once() {
    let app = spawn_app_with(|c| c.admin_token = None).await;
    let file = app.data_dir.join("admin-token");
    let token = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let (s, _) = app
        .call("POST", "/v1/apps", Some(&token), Some(json!({"name": "a"})))
        .await;
    assert_eq!(s, 201);
    let (s, _) = app.call("GET", "/v1/apps", Some(ADMIN), None).await;
    assert_eq!(
        s, 401,
        "without SLUICE_ADMIN_TOKEN the test token means nothing"
    );
    let dir = app.stop().await.unwrap();
    // A restart keeps the same token and does not write a new one.
    let mut config = crate::common::test_config(dir.path());
    config.admin_token = None;
    let again = crate::common::start_in_process(config).await;
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), token);
    let (s, _) = again.call("GET", "/v1/apps", Some(&token), None).await;
    assert_eq!(s, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_cannot_outrun_the_lockout() {
    let app = std::sync::Arc::new(spawn_app().await);
    app.setup_crm().await;
    app.admin(
        "POST",
        "/v1/apps/crm/users",
        Some(json!({"name": "eve", "password": "correct-horse", "role": "reader"})),
    )
    .await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({"app": "crm", "username": "eve", "password": format!("guess-{i}")});
            app.call("POST", "/v1/auth/token", None, Some(body))
                .await
                .0
                .as_u16()
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    let tried = codes.iter().filter(|c| **c == 401).count();
    assert_eq!(
        tried, 5,
        "only the free failures are checked; the rest wait out the lockout: {codes:?}"
    );
    assert_eq!(codes.iter().filter(|c| **c == 429).count(), 7);
}
