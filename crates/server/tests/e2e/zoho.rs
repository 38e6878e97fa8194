//! What real Zoho clients send and need beyond the main Bigin flow: v1 paths, `X-CRM-ORG` with the
//! app's numeric org id, Zoho's upload refusals and their statuses, `ERRORS` grouped per code with
//! the upload's column headers, numeric record ids going back in (`find_by: id`), absolute links
//! from `--public-url`; and Zoho CRM's Bulk Write paths with its accounts and identity calls.

use crate::common::{poll, spawn_app_with, unzip, zip_of, TestApp, ADMIN};
use serde_json::{json, Value};

async fn setup(app: &TestApp) -> (String, String) {
    app.create_app("org1").await;
    app.create_app("org2").await;
    let fields = json!([
        {"name": "Company", "type": "text", "required": true},
        {"name": "Last_Name", "type": "text", "required": true},
        {"name": "Email", "type": "text", "unique": true}
    ]);
    app.create_object("org1", "Leads", fields).await;
    let (_, a) = app.admin("GET", "/v1/apps/org1", None).await;
    let org = a["org_id"].as_str().unwrap().to_owned();
    (app.token("org1", "zoe", "writer").await, org)
}

/// A multipart upload of `bytes` to `path` with these headers; (status, body).
async fn upload_to(
    app: &TestApp,
    path: &str,
    headers: &[(&str, &str)],
    bytes: Vec<u8>,
) -> (u16, Value) {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name("file"),
    );
    let mut req = app.client.post(app.url(path)).multipart(form);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let auth = format!("Zoho-oauthtoken {token}");
    let (s, v) = app
        .send(method, path, &[("Authorization", &auth)], body)
        .await;
    (s.as_u16(), v)
}

fn job(op: &str, file: &str, find_by: Option<&str>, mappings: Value) -> Value {
    let mut res = json!({"type": "data", "module": {"api_name": "Leads"}, "file_id": file,
                         "field_mappings": mappings});
    if let Some(f) = find_by {
        res["find_by"] = json!(f);
    }
    json!({"operation": op, "resource": [res]})
}

/// Runs a job to completion on `write` (`/bigin/bulk/v1/write`…); its details and result lines.
async fn run(app: &TestApp, write: &str, token: &str, body: Value) -> (Value, Vec<String>) {
    let (s, b) = call(app, "POST", write, token, Some(body)).await;
    assert_eq!(s, 201, "{b}");
    let path = format!("{write}/{}", b["details"]["id"].as_str().unwrap());
    let d = poll("the Zoho job to complete", || async {
        let (_, d) = call(app, "GET", &path, token, None).await;
        (d["status"] == "COMPLETED").then_some(d)
    })
    .await;
    let url = d["result"]["download_url"].as_str().unwrap().to_owned();
    // Fetched here whatever host the link names (`--public-url` names one that is not this test's).
    let path = url.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap();
    let resp = app
        .client
        .get(app.url(&path))
        .header("Authorization", format!("Zoho-oauthtoken {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.contains(&format!("\"{}.zip\"", d["id"].as_str().unwrap())),
        "{disposition}"
    );
    let text = unzip(&resp.bytes().await.unwrap()).remove(0).1;
    (d, text.lines().map(str::to_owned).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bigin_v1_org_ids_refusals_grouped_errors_and_numeric_ids_back_in() {
    let app = spawn_app_with(|c| {
        c.public_url = Some("https://sluice.example.com/".into());
        c.max_upload_bytes = 4000;
    })
    .await;
    let (token, org) = setup(&app).await;
    assert_eq!(org.len(), 19, "each app has a numeric org id: {org}");
    let csv = b"Company Name,Last Name,E-mail\nAcme,Smith,s@x\n,,nobody@x\nBeta,Jones,s@x\n";
    // An admin token names the app by its org id; an app token acts in its own app whatever
    // X-CRM-ORG says.
    let admin = format!("Zoho-oauthtoken {ADMIN}");
    let (s, up) = upload_to(
        &app,
        "/bigin/v1/upload",
        &[
            ("Authorization", &admin),
            ("X-CRM-ORG", &org),
            ("feature", "bulk-write"),
        ],
        zip_of(&[("Leads.csv", csv)]),
    )
    .await;
    assert_eq!(
        (s, &up["code"]),
        (200, &json!("FILE_UPLOAD_SUCCESS")),
        "{up}"
    );
    let (_, other) = app.admin("GET", "/v1/apps/org2", None).await;
    let auth = format!("Zoho-oauthtoken {token}");
    let other_org = other["org_id"].as_str().unwrap();
    let (s, up2) = upload_to(
        &app,
        "/bigin/v2/upload",
        &[("Authorization", &auth), ("X-CRM-ORG", other_org)],
        zip_of(&[("Leads.csv", csv)]),
    )
    .await;
    assert_eq!(s, 200, "{up2}");
    let maps = json!([{"api_name": "Company", "index": 0}, {"api_name": "Last_Name", "index": 1},
                      {"api_name": "Email", "index": 2}]);
    let file = up2["details"]["file_id"].as_str().unwrap();
    let (d, lines) = run(
        &app,
        "/bigin/bulk/v1/write",
        &token,
        job("insert", file, None, maps),
    )
    .await;
    let url = d["result"]["download_url"].as_str().unwrap();
    assert!(
        url.starts_with("https://sluice.example.com/bigin/bulk/v1/write/"),
        "{url}"
    );
    assert_eq!(
        lines[0],
        "Company Name,Last Name,E-mail,STATUS,RECORD_ID,ERRORS"
    );
    // One group per code, its columns comma-joined (so the CSV cell is quoted).
    assert_eq!(
        lines[2],
        ",,nobody@x,SKIPPED,,\"MANDATORY_NOT_FOUND-Company Name,Last Name\""
    );
    assert_eq!(lines[3], "Beta,Jones,s@x,SKIPPED,,DUPLICATE_DATA-E-mail");
    let number = lines[1].split(',').nth(4).unwrap().to_owned();
    assert_eq!(number.len(), 19, "{}", lines[1]);

    // The record number goes back in: an update by id.
    let update = format!("id,Company Name\n{number},Acme Renamed\n1000000000999999999,Nobody\n");
    let (_, up3) = upload_to(
        &app,
        "/bigin/v2/upload",
        &[("Authorization", &auth)],
        zip_of(&[("u.csv", update.as_bytes())]),
    )
    .await;
    let maps = json!([{"api_name": "id", "index": 0}, {"api_name": "Company", "index": 1}]);
    let body = job(
        "update",
        up3["details"]["file_id"].as_str().unwrap(),
        Some("id"),
        maps,
    );
    let (_, lines) = run(&app, "/bigin/bulk/v2/write", &token, body).await;
    assert!(
        lines[1].starts_with(&format!("{number},Acme Renamed,UPDATED,{number},")),
        "{lines:?}"
    );
    assert!(
        lines[2].contains("SKIPPED,,RESOURCE_NOT_FOUND-id"),
        "{lines:?}"
    );
    let (_, recs) = app
        .admin("GET", "/v1/apps/org1/objects/Leads/records?Email=s@x", None)
        .await;
    assert_eq!(recs["records"][0]["Company"], "Acme Renamed");

    // Refusals: not a ZIP, and too large — HTTP 200 on v1 (its upload page), 400 / 413 on v2.
    for (path, status) in [("/bigin/v1/upload", 200), ("/bigin/v2/upload", 400)] {
        let (s, b) = upload_to(&app, path, &[("Authorization", &auth)], csv.to_vec()).await;
        assert_eq!(
            (s, &b["code"], &b["status"]),
            (status, &json!("INVALID_FILE_FORMAT"), &json!("error")),
            "{path}: {b}"
        );
    }
    let big: Vec<u8> = (0..20_000u32)
        .flat_map(|i| format!("{i}\n").into_bytes())
        .collect();
    for (path, status) in [("/bigin/v1/upload", 200), ("/bigin/v2/upload", 413)] {
        let (s, b) = upload_to(
            &app,
            path,
            &[("Authorization", &auth)],
            zip_of(&[("big.csv", &big)]),
        )
        .await;
        assert_eq!(
            (s, &b["code"]),
            (status, &json!("FILE_TOO_LARGE")),
            "{path}: {b}"
        );
    }
    let (s, b) = call(&app, "GET", "/bigin/v3/upload", &token, None).await;
    assert_eq!((s, &b["code"]), (404, &json!("INVALID_URL_PATTERN")), "{b}");
}

/// Zoho CRM's Bulk Write on its own paths and versions, with the token endpoint (refresh and
/// app-token grants) and the current user and org an SDK asks for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crm_bulk_write_with_its_accounts_calls() {
    let app = spawn_app_with(|_| {}).await;
    let (token, org) = setup(&app).await;
    // The app-token grant answers with the token itself; a refresh token from a login is
    // exchanged for a new access token.
    let form = |body: &str| {
        let (app, body) = (&app, body.to_owned());
        async move {
            let resp = app
                .client
                .post(app.url("/oauth/v2/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            resp.json::<Value>().await.unwrap()
        }
    };
    let t = form(&format!(
        "grant_type=refresh_token&refresh_token={token}&client_id=1000.X&client_secret=s"
    ))
    .await;
    assert_eq!(
        (
            t["access_token"].as_str(),
            t["token_type"].as_str(),
            t["expires_in"].as_u64()
        ),
        (Some(token.as_str()), Some("Bearer"), Some(3600)),
        "{t}"
    );
    assert_eq!(t["api_domain"], app.url(""));
    app.create_user("org1", "ann", "writer").await;
    let (_, session) = app
        .send(
            "POST",
            "/v1/auth/token",
            &[],
            Some(json!({"app": "org1", "username": "ann", "password": "password-1"})),
        )
        .await;
    let refresh = session["refresh_token"].as_str().unwrap();
    let t2 = form(&format!("grant_type=refresh_token&refresh_token={refresh}")).await;
    assert!(
        t2["access_token"].as_str().is_some_and(|a| a != refresh),
        "{t2}"
    );
    // As Zoho's: the answer names no new refresh token, and the one held keeps working.
    assert!(t2.get("refresh_token").is_none(), "{t2}");
    let t3 = form(&format!("grant_type=refresh_token&refresh_token={refresh}")).await;
    let access = t3["access_token"].as_str().unwrap_or_default();
    assert!(
        !access.is_empty() && t3["access_token"] != t2["access_token"],
        "{t3}"
    );
    let (s, _) = call(&app, "GET", "/crm/v8/org", access, None).await;
    assert_eq!(s, 200);
    let bad = form("grant_type=refresh_token&refresh_token=nope").await;
    assert_eq!(bad, json!({"error": "invalid_code"}));
    let (s, me) = call(&app, "GET", "/crm/v8/users?type=CurrentUser", &token, None).await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(
        me["users"][0]["id"].as_str().map(str::len),
        Some(19),
        "{me}"
    );
    let (_, o) = call(&app, "GET", "/crm/v8/org", &token, None).await;
    assert_eq!(o["org"][0]["zgid"], org.as_str());

    let csv = b"Company,Last_Name,Email\nAcme,Smith,s@x\nBeta,Jones,j@x\n";
    for (v, op) in [("v2", "insert"), ("v2.1", "upsert"), ("v8", "upsert")] {
        let auth = format!("Zoho-oauthtoken {token}");
        let (s, up) = upload_to(
            &app,
            &format!("/crm/{v}/upload"),
            &[
                ("Authorization", &auth),
                ("feature", "bulk-write"),
                ("X-CRM-ORG", &org),
            ],
            zip_of(&[("Leads.csv", csv)]),
        )
        .await;
        assert_eq!(s, 200, "{up}");
        let maps = json!([{"api_name": "Company", "index": 0}, {"api_name": "Last_Name", "index": 1}, {"api_name": "Email", "index": 2}]);
        let find_by = (op == "upsert").then_some("Email");
        let body = job(
            op,
            up["details"]["file_id"].as_str().unwrap(),
            find_by,
            maps,
        );
        let (d, lines) = run(&app, &format!("/crm/bulk/{v}/write"), &token, body).await;
        assert_eq!(d["resource"][0]["module"]["api_name"], "Leads");
        assert_eq!(
            d["resource"][0]["module"]["id"].as_str().map(str::len),
            Some(19)
        );
        assert!(d["result"]["download_url"]
            .as_str()
            .unwrap()
            .contains(&format!("/crm/bulk/{v}/write/")));
        let want = if op == "insert" { "ADDED" } else { "UPDATED" };
        assert_eq!(lines[1].split(',').nth(3), Some(want), "{v}: {lines:?}");
    }
    let (s, b) = call(&app, "POST", "/crm/bulk/v9/write", &token, Some(json!({}))).await;
    assert_eq!((s, &b["code"]), (404, &json!("INVALID_URL_PATTERN")));
    let (s, b) = call(
        &app,
        "GET",
        "/crm/bulk/v8/write/1000000000999999999",
        &token,
        None,
    )
    .await;
    assert_eq!((s, &b["code"]), (404, &json!("RESOURCE_NOT_FOUND")), "{b}");
}
