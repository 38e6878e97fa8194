//! The SugarCRM dialect: login under `/apps/{app}/rest/{version}`, module list/filter/count/CRUD,
//! `/bulk` with the seed's example, `fields`, errors.

use crate::common::{spawn_app, TestApp};
use serde_json::{json, Value};

/// App `crm` with module `Accounts` and a user `sally`.
async fn setup(app: &TestApp) {
    app.create_app("crm").await;
    let fields = json!([
        {"name": "name", "type": "text", "required": true},
        {"name": "industry", "type": "text"},
        {"name": "employees", "type": "integer"}
    ]);
    app.create_object("crm", "Accounts", fields).await;
    app.create_user("crm", "sally", "writer").await;
}

async fn login(app: &TestApp) -> String {
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

async fn sugar(
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
    assert_eq!(r[1]["contents"]["error"], "required");
    assert!(r[1]["contents"]["error_message"].is_string());
    assert_eq!(r[2]["status"], 200);
    assert_eq!(r[2]["contents"]["next_offset"], -1);
    assert_eq!(r[2]["contents"]["records"][0]["id"], r[0]["contents"]["id"]);
}

#[tokio::test]
async fn modules_filters_fields_and_counts() {
    let app = spawn_app().await;
    setup(&app).await;
    let token = login(&app).await;
    let base = "/apps/crm/rest/v11_24";
    for (name, industry, employees) in [
        ("Acme", "Tools", 50),
        ("Apex", "Energy", 500),
        ("Beta", "Tools", 5),
        ("Gamma", "Energy", 5000),
        ("Alpha", "Retail", 20),
    ] {
        let (s, b) = sugar(
            &app,
            "POST",
            &format!("{base}/Accounts"),
            &token,
            Some(json!({"name": name, "industry": industry, "employees": employees})),
        )
        .await;
        assert_eq!(s, 200, "{b}");
    }
    let (_, page) = sugar(
        &app,
        "GET",
        &format!("{base}/Accounts?max_num=2&offset=0&fields=name&order_by=name:asc"),
        &token,
        None,
    )
    .await;
    assert_eq!(page["next_offset"], 2);
    let recs = page["records"].as_array().unwrap();
    assert_eq!(recs[0]["name"], "Acme");
    assert!(
        recs[0].get("industry").is_none(),
        "fields limits the answer: {}",
        recs[0]
    );
    assert!(recs[0].get("id").is_some() && recs[0].get("date_modified").is_some());
    let (_, last) = sugar(
        &app,
        "GET",
        &format!("{base}/Accounts?max_num=2&offset=4&order_by=name:asc"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        (
            last["next_offset"].as_i64(),
            last["records"].as_array().unwrap().len()
        ),
        (Some(-1), 1)
    );

    // $or of an $and group and a $starts, with comparison operators.
    let filter = json!({"filter": [{"$or": [
        {"$and": [{"industry": "Energy"}, {"employees": {"$gte": 1000}}]},
        {"name": {"$starts": "Al"}}
    ]}], "order_by": "name:desc", "fields": "name,employees"});
    let (s, b) = sugar(
        &app,
        "POST",
        &format!("{base}/Accounts/filter"),
        &token,
        Some(filter),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let names: Vec<&str> = b["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Gamma", "Alpha"]);
    let (_, b) = sugar(&app, "GET", &format!("{base}/Accounts/filter?filter[0][name][$starts]=A&filter[1][employees][$lt]=100&order_by=name"), &token, None).await;
    let names: Vec<&str> = b["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Acme", "Alpha"]);
    let (_, b) = sugar(&app, "GET", &format!("{base}/Accounts/count?filter[0][industry][$in][]=Tools&filter[0][industry][$in][]=Retail"), &token, None).await;
    assert_eq!(b, json!({"record_count": 3}));
    let (_, b) = sugar(&app, "GET", &format!("{base}/Accounts/count?filter[0][employees][$between][0]=5&filter[0][employees][$between][1]=50"), &token, None).await;
    assert_eq!(b["record_count"], 3);
    let (_, b) = sugar(
        &app,
        "POST",
        &format!("{base}/Accounts/count"),
        &token,
        Some(
            json!({"filter": [{"name": {"$not_equals": "Beta"}}, {"industry": {"$not_null": ""}}]}),
        ),
    )
    .await;
    assert_eq!(b["record_count"], 4);

    // CRUD by id; PUT merges; DELETE answers the id.
    let (_, one) = sugar(
        &app,
        "GET",
        &format!("{base}/Accounts?max_num=1&order_by=name:asc"),
        &token,
        None,
    )
    .await;
    let id = one["records"][0]["id"].as_str().unwrap().to_owned();
    let (s, b) = sugar(
        &app,
        "PUT",
        &format!("{base}/Accounts/{id}"),
        &token,
        Some(json!({"employees": 51, "date_modified": "ignored", "_module": "Accounts"})),
    )
    .await;
    assert_eq!(
        (s, b["employees"].as_i64(), b["name"].as_str()),
        (200, Some(51), Some("Acme"))
    );
    let (s, b) = sugar(
        &app,
        "DELETE",
        &format!("/rest/v10/Accounts/{id}"),
        &token,
        None,
    )
    .await;
    assert_eq!((s, b), (200, json!({"id": id})));
    let (s, b) = sugar(&app, "GET", &format!("{base}/Accounts/{id}"), &token, None).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("not_found")));
    assert!(b["error_message"].is_string());
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
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_request")));
    let (s, e) = sugar(&app, "GET", "/rest/v10/Accounts", "bad-token", None).await;
    assert_eq!(s, 401, "{e}");
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
    assert_eq!((s, e["error"].as_str()), (404, Some("not_found")));
}

#[tokio::test]
async fn deeply_bracketed_parameters_are_refused() {
    let app = spawn_app().await;
    setup(&app).await;
    let token = login(&app).await;
    let key = format!("filter{}", "[a]".repeat(20_000));
    let (s, b) = sugar(
        &app,
        "GET",
        &format!("/rest/v10/Accounts?{key}=1"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_request")),
        "{b}"
    );
    let (s, _) = sugar(&app, "GET", "/rest/v10/Accounts", &token, None).await;
    assert_eq!(s, 200, "the server is still up");
}
