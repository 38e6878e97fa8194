//! Zoho Bulk Read's refusals in Zoho's codes, an export of the native door read by its number,
//! and hostile criteria trees against a server on the production runtime.

use crate::common::{spawn_app_with, spawn_process};
use crate::zoho_read_common::{completed, create, numeric, setup, zoho};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zohos_refusals_and_any_door_s_export_by_number() {
    let app = spawn_app_with(|_| {}).await;
    let token = setup(&app).await;
    let base = "/crm/bulk/v2.1/read";
    let q = |extra: Value| {
        let mut query = json!({"module": {"api_name": "Leads"}});
        for (k, v) in extra.as_object().unwrap() {
            query[k] = v.clone();
        }
        json!({"query": query})
    };
    let crit = |f: &str, cmp: &str, v: Value| json!({"criteria": {"field": {"api_name": f}, "comparator": cmp, "value": v}});
    let many: Vec<Value> = (0..26)
        .map(|i| json!({"field": {"api_name": "Age"}, "comparator": "equal", "value": i}))
        .collect();
    let cases = vec![
        (
            json!({"query": {"module": {"api_name": "Deals"}}}),
            "MODULE_NOT_AVAILABLE",
        ),
        (
            json!({"callback": {"url": "http://127.0.0.1:9/x"}}),
            "MANDATORY_NOT_FOUND",
        ),
        (
            json!({"query": {"fields": ["Last_Name"]}}),
            "MANDATORY_NOT_FOUND",
        ),
        (
            q(json!({"fields": ["Last_Name", "Nope"]})),
            "FIELD_NOT_AVAILABLE",
        ),
        (
            q(crit("Nope", "equal", json!("x"))),
            "FIELD_IN_CRITERIA_NOT_AVAILABLE",
        ),
        (q(crit("Age", "like", json!("x"))), "INVALID_CRITERIA"),
        (q(crit("Age", "equal", json!("abc"))), "INVALID_CRITERIA"),
        (
            q(crit("Age", "between", json!([1]))),
            "COMPARATOR_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE",
        ),
        (
            q(
                json!({"criteria": {"group_operator": "xor", "group": [{"field": {"api_name": "Age"}, "comparator": "equal", "value": 1}]}}),
            ),
            "GROUP_OPERATOR_NOT_SUPPORTED",
        ),
        (
            q(json!({"criteria": {"group_operator": "or", "group": many}})),
            "CRITERIA_LIMIT_EXCEEDED",
        ),
        (
            q(crit("Age", "in", json!((0..201).collect::<Vec<_>>()))),
            "VALUE_LIMIT_EXCEEDED_IN_CRITERIA",
        ),
        (q(json!({"fields": vec!["Age"; 1001]})), "INVALID_DATA"),
        (
            q(json!({"cvid": "3477061000000087501"})),
            "CVID_NOT_SUPPORTED",
        ),
        (q(json!({"file_type": "ics"})), "NOT_SUPPORTED_FEATURE"),
        (q(json!({"page": 0})), "INVALID_DATA"),
        (
            q(json!({"page_token": "1000000000000999999-2"})),
            "INVALID_DATA",
        ),
        (
            json!({"callback": {"url": "http://127.0.0.1:9/x", "method": "get"}, "query": {"module": {"api_name": "Leads"}}}),
            "INVALID_CALLBACK_METHOD",
        ),
        (
            json!({"callback": {"url": "not a url"}, "query": {"module": {"api_name": "Leads"}}}),
            "INVALID_CALLBACK_URL",
        ),
        (json!([1, 2]), "REQUEST_BODY_NOT_SUPPORTED"),
    ];
    for (body, code) in cases {
        let (s, b) = zoho(&app, "POST", base, &token, Some(body.clone())).await;
        assert_eq!(
            (s, b["code"].as_str(), b["status"].as_str()),
            (400, Some(code), Some("error")),
            "{body}: {b}"
        );
    }
    let resp = app
        .client
        .post(app.url(base))
        .header("Authorization", format!("Zoho-oauthtoken {token}"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["code"],
        "REQUEST_BODY_NOT_SUPPORTED"
    );
    let (s, b) = app.send("POST", base, &[], Some(q(json!({})))).await;
    assert_eq!(
        (s.as_u16(), b["code"].as_str()),
        (401, Some("AUTHENTICATION_FAILURE"))
    );
    let (s, b) = zoho(
        &app,
        "GET",
        &format!("{base}/1000000000000999999"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        (s, b["code"].as_str(), b["details"]["resource"].as_str()),
        (404, Some("RESOURCE_NOT_FOUND"), Some("job_id")),
        "{b}"
    );

    // An export made at the native door shows a number, and is found by it; its CSV is not a
    // Zoho ZIP.
    let (s, e) = app
        .call(
            "POST",
            "/v1/apps/org1/exports",
            Some(&token),
            Some(json!({"object": "Leads", "format": "csv"})),
        )
        .await;
    assert_eq!(s, 201, "{e}");
    let uuid = e["id"].as_str().unwrap();
    let (s, d) = zoho(&app, "GET", &format!("{base}/{uuid}"), &token, None).await;
    assert_eq!(s, 200, "{d}");
    let number = d["data"][0]["id"].as_str().unwrap().to_owned();
    assert!(numeric(&number), "{d}");
    let job = completed(&app, base, &token, &number).await;
    assert_eq!(job["result"]["count"], 5);
    let (s, b) = zoho(
        &app,
        "GET",
        &format!("{base}/{number}/result"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (400, Some("RESOURCE_NOT_FOUND")),
        "{b}"
    );
}

/// `depth` groups, each holding the next.
fn deep(depth: usize) -> Value {
    let leaf = json!({"field": {"api_name": "Age"}, "comparator": "equal", "value": 1});
    (0..depth).fold(
        leaf,
        |inner, _| json!({"group_operator": "and", "group": [inner]}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_criteria_are_refused_on_the_production_stacks() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_process(dir.path(), &[]);
    let app = server.app();
    let token = setup(&app).await;
    let base = "/crm/bulk/v8/read";
    for depth in [16, 60, 1000] {
        let body = json!({"query": {"module": {"api_name": "Leads"}, "criteria": deep(depth)}});
        let resp = app
            .client
            .post(app.url(base))
            .header("Authorization", format!("Zoho-oauthtoken {token}"))
            .header("content-type", "application/json")
            .body(serde_json::to_string(&body).unwrap())
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let b: Value = resp.json().await.unwrap();
        assert_eq!(status, 400, "{depth} levels: {b}");
        let code = b["code"].as_str().unwrap();
        assert!(
            ["INVALID_CRITERIA", "REQUEST_BODY_NOT_SUPPORTED"].contains(&code),
            "{depth}: {b}"
        );
        let (s, _) = app.send("GET", "/healthz", &[], None).await;
        assert_eq!(s, 200, "the server stopped after {depth} levels");
    }
    // As deep as the engine's filters go is fine (a group takes two levels of JSON).
    let id = create(
        &app,
        base,
        &token,
        json!({"query": {"module": {"api_name": "Leads"}, "criteria": deep(15)}}),
    )
    .await;
    let job = completed(&app, base, &token, &id).await;
    assert_eq!(job["result"]["count"], 0);
    let raw = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let resp = app
        .client
        .post(app.url(base))
        .header("Authorization", format!("Zoho-oauthtoken {token}"))
        .header("content-type", "application/json")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["code"],
        "REQUEST_BODY_NOT_SUPPORTED"
    );
}
