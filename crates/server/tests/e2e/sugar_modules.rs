//! SugarCRM modules: list, filter, count and CRUD, `fields`, ignored keys, free-text `q` and
//! refused parameters.

use crate::common::spawn_app;
use crate::sugar_common::{login, setup, sugar};
use serde_json::json;

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
