//! SugarCRM's `/bulk`: the seed's example with a failure in the middle, idempotent replays, and
//! versioned URLs with their errors.

use crate::common::spawn_app;
use crate::sugar_common::{login, setup, sugar};
use serde_json::json;

#[tokio::test]
async fn the_seed_bulk_example_and_a_failure_in_the_middle() {
    let app = spawn_app().await;
    setup(&app).await;
    let token = login(&app).await;
    let body = json!({"requests": [
        {"url": "/v10/Accounts", "method": "POST", "data": "{\"name\": \"test123\"}"},
        {"url": "/v10/Accounts", "method": "POST", "data": "{\"employees\": 5}"},
        {"url": "/v10/Accounts", "method": "GET"}
    ]});
    let (s, b) = sugar(&app, "POST", "/rest/v10/bulk", &token, Some(body)).await;
    assert_eq!(s, 200, "{b}");
    let r = b.as_array().unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!(r[0]["status"], 200);
    assert_eq!(r[0]["contents"]["name"], "test123");
    assert_eq!(r[0]["contents"]["_module"], "Accounts");
    let entered = r[0]["contents"]["date_entered"].as_str().unwrap();
    assert!(
        entered.ends_with("+00:00") && entered.len() == 25,
        "{entered}"
    );
    assert!(r[0]["headers"].is_array());
    assert_eq!(r[1]["status"], 422);
    assert_eq!(r[1]["contents"]["error"], "invalid_parameter");
    assert_eq!(r[1]["contents"]["sluice_code"], "required");
    assert!(r[1]["contents"]["error_message"].is_string());
    assert_eq!(r[2]["status"], 200);
    assert_eq!(r[2]["contents"]["next_offset"], -1);
    assert_eq!(r[2]["contents"]["records"][0]["id"], r[0]["contents"]["id"]);

    // With an Idempotency-Key the bulk runs once: the repeat replays the first answer.
    let keyed = json!({"requests": [{"url": "/v10/Accounts", "method": "POST", "data": "{\"name\": \"once\"}"}]});
    let send = || {
        app.keyed(
            "POST",
            "/rest/v10/bulk",
            ("OAuth-Token", &token),
            "sugar-bulk-1",
            &keyed,
        )
    };
    let (_, _, first) = send().await;
    let (_, replayed, again) = send().await;
    assert!(replayed);
    assert_eq!(again, first);
    assert_eq!(
        app.count("crm", "Accounts").await,
        2,
        "test123 and one \"once\""
    );
}

#[tokio::test]
async fn a_bulk_of_versioned_urls_and_errors() {
    let app = spawn_app().await;
    setup(&app).await;
    let token = login(&app).await;
    let body = json!({"requests": [
        {"url": "/v11_24/Accounts", "method": "POST", "data": {"name": "One", "employees": 1}},
        {"url": "/v11_24/Accounts/filter", "method": "POST", "data": "{\"filter\":[{\"employees\":{\"$gt\":0}}],\"fields\":\"name\"}"},
        {"url": "/v11_1/Accounts/count"},
        {"url": "/v11_24/Nope"},
        {"url": "/v99x/Accounts"},
        {"url": "/v10/Accounts", "method": "POST", "data": "{\"name\":\"two\"}", "headers": ["OAuth-Token: bad"]}
    ]});
    let (s, b) = sugar(
        &app,
        "POST",
        "/apps/crm/rest/v11_24/bulk",
        &token,
        Some(body),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let statuses: Vec<u64> = b
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 200, 200, 404, 404, 401]);
    assert_eq!(b[1]["contents"]["records"][0]["name"], "One");
    assert!(b[1]["contents"]["records"][0].get("employees").is_none());
    assert_eq!(b[2]["contents"]["record_count"], 1);

    let (s, e) = sugar(
        &app,
        "POST",
        "/rest/v10/bulk",
        &token,
        Some(json!({"calls": []})),
    )
    .await;
    assert_eq!(
        (s, e["error"].as_str(), e["error_message"].as_str()),
        (
            422,
            Some("missing_parameter"),
            Some("Missing parameter: requests")
        )
    );
    let (s, e) = sugar(&app, "GET", "/rest/v10/Accounts", "bad-token", None).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (401, Some("invalid_grant")),
        "{e}"
    );
    let (s, e) = app
        .call(
            "POST",
            "/apps/crm/rest/v10/oauth2/token",
            None,
            Some(json!({"grant_type": "password", "username": "sally", "password": "nope"})),
        )
        .await;
    assert_eq!((s.as_u16(), e["error"].as_str()), (401, Some("need_login")));
    let (s, e) = sugar(&app, "GET", "/rest/latest/Accounts", &token, None).await;
    assert_eq!((s, e["error"].as_str()), (404, Some("no_method")));
}
