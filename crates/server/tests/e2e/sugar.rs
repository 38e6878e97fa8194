//! The SugarCRM dialect: login under `/apps/{app}/rest/{version}` (and a bare `/rest/{version}`
//! with a default app), module list/filter/count/CRUD, `/bulk` with the seed's example, `fields`,
//! free-text `q`, refused parameters, Sugar's error labels, logout, `me` and `ping`.

use crate::common::{spawn_app, spawn_app_with, TestApp};
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
        &format!("{base}/Accounts/filter/count"),
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
    assert_eq!(
        b["error_message"].as_str(),
        Some(format!("Could not find record: {id} in module: Accounts").as_str())
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
        (422, Some("invalid_parameter")),
        "{b}"
    );
    let (s, _) = sugar(&app, "GET", "/rest/v10/Accounts", &token, None).await;
    assert_eq!(s, 200, "the server is still up");
}

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
async fn unknown_and_read_only_keys_are_ignored_and_fields_limits_answers() {
    let app = spawn_app().await;
    setup(&app).await;
    let token = login(&app).await;
    let base = "/apps/crm/rest/v11_24";
    // A record as a Sugar client sends it back after reading it, with keys Sugar adds.
    let body = json!({
        "name": "Acme", "industry": "Tools", "employees": 5,
        "assigned_user_name": "Sally", "team_name": [{"id": "1", "name": "Global"}],
        "locked_fields": [], "_acl": {"fields": {}}, "my_favorite": false, "following": false,
        "date_entered": "2020-01-01T00:00:00+00:00", "created_by": "someone", "deleted": false,
        "not_a_field": 1
    });
    let (s, b) = sugar(
        &app,
        "POST",
        &format!("{base}/Accounts"),
        &token,
        Some(body),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (b["name"].as_str(), b["created_by"].as_str()),
        (Some("Acme"), Some("sally"))
    );
    assert!(
        b.get("not_a_field").is_none() && b.get("team_name").is_none(),
        "{b}"
    );
    let id = b["id"].as_str().unwrap().to_owned();
    let (s, b) = sugar(
        &app,
        "PUT",
        &format!("{base}/Accounts/{id}"),
        &token,
        Some(json!({"employees": 6, "assigned_user_name": "x", "fields": "employees"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["employees"], 6);
    assert!(
        b.get("name").is_none(),
        "fields in a write body limits the answer: {b}"
    );

    // In a bulk request, `fields` inside `data` is a parameter, not a record key.
    let bulk = json!({"requests": [
        {"url": "/v11_24/Accounts", "method": "POST", "data": "{\"name\":\"Beta\",\"industry\":\"Energy\",\"fields\":\"name\"}"},
        {"url": "/v11_24/Accounts", "method": "POST", "data": {"name": "Gamma", "industry": "Retail", "fields": ["name", "industry"]}},
        {"url": "/v11_24/Accounts/filter", "method": "POST", "data": {"fields": [{"name": "employees"}], "filter": [{"name": "Acme"}]}}
    ]});
    let (s, b) = sugar(&app, "POST", &format!("{base}/bulk"), &token, Some(bulk)).await;
    assert_eq!(s, 200, "{b}");
    let beta = &b[0]["contents"];
    assert_eq!(
        (b[0]["status"].as_u64(), beta["name"].as_str()),
        (Some(200), Some("Beta")),
        "{b}"
    );
    assert!(
        beta.get("industry").is_none()
            && beta.get("id").is_some()
            && beta.get("date_modified").is_some(),
        "{beta}"
    );
    assert_eq!(b[1]["contents"]["industry"], "Retail");
    assert!(b[1]["contents"].get("employees").is_none());
    let acme = &b[2]["contents"]["records"][0];
    assert_eq!(acme["employees"], 6);
    assert!(acme.get("name").is_none(), "{acme}");
    // `fields` as an array in the query string (`fields[]=name`), and a wrong type.
    let (_, b) = sugar(
        &app,
        "GET",
        &format!("{base}/Accounts/{id}?fields[]=industry"),
        &token,
        None,
    )
    .await;
    assert_eq!(b["industry"], "Tools");
    assert!(b.get("employees").is_none(), "{b}");
    let (s, e) = sugar(
        &app,
        "POST",
        &format!("{base}/Accounts/filter"),
        &token,
        Some(json!({"fields": 7})),
    )
    .await;
    assert_eq!(
        (s, e["error_message"].as_str()),
        (
            422,
            Some("Fields must be string or array, integer is given")
        )
    );
}

#[tokio::test]
async fn counts_free_text_search_and_refused_parameters() {
    let app = spawn_app().await;
    setup(&app).await;
    let token = login(&app).await;
    let base = "/apps/crm/rest/v11_24";
    for (name, industry) in [
        ("Acme Tools", "Hardware"),
        ("Apex", "Energy"),
        ("Beta", "TOOLS and dies"),
        ("Gamma", "Retail"),
    ] {
        let (s, _) = sugar(
            &app,
            "POST",
            &format!("{base}/Accounts"),
            &token,
            Some(json!({"name": name, "industry": industry})),
        )
        .await;
        assert_eq!(s, 200);
    }
    let (s, b) = sugar(
        &app,
        "GET",
        &format!("{base}/Accounts/filter/count?filter[0][name][$starts]=A"),
        &token,
        None,
    )
    .await;
    assert_eq!((s, b), (200, json!({"record_count": 2})));
    let (s, b) = sugar(
        &app,
        "POST",
        &format!("{base}/Accounts/filter/count"),
        &token,
        Some(json!({"filter": [{"industry": "Retail"}]})),
    )
    .await;
    assert_eq!((s, b), (200, json!({"record_count": 1})));

    // `q`: free text over the text fields, ignoring case.
    let (s, b) = sugar(
        &app,
        "GET",
        &format!("{base}/Accounts?q=tools&order_by=name:asc&fields=name"),
        &token,
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let names: Vec<&str> = b["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Acme Tools", "Beta"]);
    let (_, b) = sugar(
        &app,
        "POST",
        &format!("{base}/Accounts/filter"),
        &token,
        Some(json!({"q": "ENERGY", "max_num": 5})),
    )
    .await;
    assert_eq!(b["records"][0]["name"], "Apex");
    let (s, e) = sugar(
        &app,
        "GET",
        &format!("{base}/Accounts?q=tools&filter[0][name]=Beta"),
        &token,
        None,
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (422, Some("invalid_parameter")));

    // Documented list parameters sluice does not implement are refused, naming the parameter;
    // `deleted` is accepted (no soft deletes), and parameters Sugar does not know are ignored.
    for param in [
        "favorites=1",
        "my_items=true",
        "view=list",
        "filter_id=abc",
        "nulls_last=1",
        "erased_fields=1",
    ] {
        let (s, e) = sugar(
            &app,
            "GET",
            &format!("{base}/Accounts?{param}"),
            &token,
            None,
        )
        .await;
        let name = param.split('=').next().unwrap();
        assert_eq!(
            (s, e["error"].as_str()),
            (422, Some("invalid_parameter")),
            "{param}"
        );
        assert!(e["error_message"].as_str().unwrap().contains(name), "{e}");
    }
    let (s, e) = sugar(
        &app,
        "POST",
        &format!("{base}/Accounts/filter/count"),
        &token,
        Some(json!({"my_items": "1"})),
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (422, Some("invalid_parameter")));
    let (s, b) = sugar(
        &app,
        "GET",
        &format!("{base}/Accounts?deleted=1&favorites=0&view=&platform=base"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        (s, b["records"].as_array().map(Vec::len)),
        (200, Some(4)),
        "{b}"
    );
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
