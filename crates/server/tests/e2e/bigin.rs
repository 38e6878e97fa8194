//! The Zoho Bigin dialect: upload, create job, poll details, download the result, the callback,
//! and Bigin's error codes; every id numeric, as Zoho's are.

use crate::common::{poll, spawn_app_with, unzip, zip_of, Receiver, TestApp};
use serde_json::{json, Value};

async fn setup(app: &TestApp) -> String {
    app.create_app("org1").await;
    let fields = json!([
        {"name": "Last_Name", "type": "text", "required": true},
        {"name": "Email", "type": "text", "unique": true},
        {"name": "Lead_Source", "type": "text"},
        {"name": "Age", "type": "integer"}
    ]);
    app.create_object("org1", "Contacts", fields).await;
    app.token("org1", "zoe", "writer").await
}

async fn zoho(
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

async fn upload(app: &TestApp, token: &str, csv: &[u8]) -> String {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(zip_of(&[("Contacts.csv", csv)]))
            .file_name("Contacts.zip")
            .mime_str("application/zip")
            .unwrap(),
    );
    let resp = app
        .client
        .post(app.url("/bigin/v2/upload"))
        .header("Authorization", format!("Zoho-oauthtoken {token}"))
        .header("feature", "bulk-write")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let b: Value = resp.json().await.unwrap();
    assert_eq!(
        (
            b["status"].as_str(),
            b["code"].as_str(),
            b["message"].as_str()
        ),
        (
            Some("success"),
            Some("FILE_UPLOAD_SUCCESS"),
            Some("file uploaded.")
        )
    );
    assert!(
        b["details"]["created_time"]
            .as_str()
            .unwrap()
            .ends_with("+00:00"),
        "{b}"
    );
    let id = b["details"]["file_id"].as_str().unwrap().to_owned();
    assert!(numeric(&id), "{b}");
    id
}

/// A Zoho id: 19 digits (it fits a signed 64-bit integer, as Zoho's SDKs hold it).
fn numeric(id: &str) -> bool {
    id.len() == 19 && id.parse::<i64>().is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bigin_flow_from_upload_to_result_download() {
    let app = spawn_app_with(|c| {
        c.callback_allow = "127.0.0.0/8".into();
        c.callback_backoff_ms = 100;
    })
    .await;
    let token = setup(&app).await;
    app.admin(
        "POST",
        "/v1/apps/org1/objects/Contacts/records",
        Some(json!({"Last_Name": "Old", "Email": "old@x", "Age": 1})),
    )
    .await;
    let csv =
        b"Last_Name,Email,Age\nSmith,smith@x,30\n,nolast@x,31\nOlder,old@x,2\nJones,jones@x,abc\n";
    let file_id = upload(&app, &token, csv).await;
    let receiver = Receiver::start(0).await;
    let job = json!({
        "character_encoding": "UTF-8", "operation": "upsert", "ignore_empty": true,
        "callback": {"url": receiver.url, "method": "post"},
        "resource": [{"type": "data", "module": {"api_name": "Contacts"}, "file_id": file_id, "find_by": "Email",
            "field_mappings": [{"api_name": "Last_Name", "index": 0}, {"api_name": "Email", "index": 1}, {"api_name": "Age", "index": 2},
                               {"api_name": "Lead_Source", "default_value": {"value": "Import"}}]}]
    });
    let (s, b) = zoho(&app, "POST", "/bigin/bulk/v2/write", &token, Some(job)).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        (
            b["status"].as_str(),
            b["code"].as_str(),
            b["message"].as_str()
        ),
        (Some("success"), Some("SUCCESS"), Some("success"))
    );
    assert_eq!(b["details"]["created_by"]["name"], "zoe");
    assert!(
        numeric(b["details"]["created_by"]["id"].as_str().unwrap()),
        "{b}"
    );
    let id = b["details"]["id"].as_str().unwrap().to_owned();
    assert!(numeric(&id), "{b}");

    let path = format!("/bigin/bulk/v2/write/{id}");
    let details = poll("the Bigin job to complete", || async {
        let (s, d) = zoho(&app, "GET", &path, &token, None).await;
        assert_eq!(s, 200);
        assert!(
            ["ADDED", "IN PROGRESS", "COMPLETED"].contains(&d["status"].as_str().unwrap()),
            "{d}"
        );
        (d["status"] == "COMPLETED").then_some(d)
    })
    .await;
    assert_eq!(details["operation"], "upsert");
    assert_eq!(details["callback"]["url"], receiver.url.as_str());
    let res = &details["resource"][0];
    assert_eq!(
        (
            res["type"].as_str(),
            res["module"]["api_name"].as_str(),
            res["find_by"].as_str()
        ),
        (Some("data"), Some("Contacts"), Some("Email"))
    );
    assert!(numeric(res["module"]["id"].as_str().unwrap()), "{details}");
    assert!(numeric(details["created_by"]["id"].as_str().unwrap()));
    let f = &res["file"];
    assert_eq!(
        (
            f["added_count"].as_u64(),
            f["updated_count"].as_u64(),
            f["skipped_count"].as_u64(),
            f["total_count"].as_u64(),
            f["name"].as_str()
        ),
        (Some(1), Some(1), Some(2), Some(4), Some("Contacts.csv")),
        "{details}"
    );
    // Absolute, as Zoho returns it (built from the request's Host without --public-url).
    let url = details["result"]["download_url"].as_str().unwrap();
    assert_eq!(url, app.url(&format!("/bigin/bulk/v2/write/{id}/result")));

    let resp = app
        .client
        .get(url)
        .header("Authorization", format!("Zoho-oauthtoken {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let files = unzip(&resp.bytes().await.unwrap());
    assert_eq!(files[0].0, "Contacts-Contacts.csv");
    let lines: Vec<&str> = files[0].1.lines().collect();
    assert_eq!(lines[0], "Last_Name,Email,Age,STATUS,RECORD_ID,ERRORS");
    let cells: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(
        cells[..4],
        ["Smith", "smith@x", "30", "ADDED"],
        "{}",
        lines[1]
    );
    assert!(numeric(cells[4]), "a numeric RECORD_ID: {}", lines[1]);
    assert_eq!(
        lines[2],
        ",nolast@x,31,SKIPPED,,MANDATORY_NOT_FOUND-Last_Name"
    );
    assert!(
        lines[3].starts_with("Older,old@x,2,UPDATED,"),
        "{}",
        lines[3]
    );
    assert_eq!(lines[4], "Jones,jones@x,abc,SKIPPED,,INVALID_DATA-Age");
    let (_, old) = app
        .admin(
            "GET",
            "/v1/apps/org1/objects/Contacts/records?Email=old@x",
            None,
        )
        .await;
    assert_eq!(
        (
            old["records"][0]["Age"].as_i64(),
            old["records"][0]["Lead_Source"].as_str()
        ),
        (Some(2), Some("Import"))
    );

    // The callback carries Bigin's job-details JSON.
    let got = receiver.wait(1).await;
    let sent: Value = serde_json::from_slice(&got[0].1).unwrap();
    assert_eq!(
        (sent["id"].as_str(), sent["status"].as_str()),
        (Some(id.as_str()), Some("COMPLETED"))
    );
    let link = sent["result"]["download_url"].as_str().unwrap();
    assert!(
        link.starts_with("http://127.0.0.1:") && link.ends_with("/result"),
        "{sent}"
    );
    assert_eq!(sent["resource"][0]["file"]["total_count"], 4);
    assert!(got[0].0["x-sluice-signature"]
        .to_str()
        .unwrap()
        .starts_with("sha256="));
}

#[tokio::test]
async fn bigin_error_codes() {
    let app = spawn_app_with(|_| {}).await;
    let token = setup(&app).await;
    let file_id = upload(&app, &token, b"Last_Name,Email\nA,a@x\n").await;
    let job = |op: &str, module: &str, file: &str, find_by: Option<&str>, mappings: Value| {
        let mut res = json!({"type": "data", "module": {"api_name": module}, "file_id": file, "field_mappings": mappings});
        if let Some(f) = find_by {
            res["find_by"] = json!(f);
        }
        json!({"operation": op, "resource": [res]})
    };
    let good = json!([{"api_name": "Last_Name", "index": 0}, {"api_name": "Email", "index": 1}]);
    let cases = vec![
        (
            job("upsert", "Contacts", &file_id, None, good.clone()),
            400,
            "MANDATORY_NOT_FOUND",
        ),
        (
            job("insert", "Deals", &file_id, None, good.clone()),
            400,
            "MODULE_NOT_AVAILABLE",
        ),
        (
            job(
                "insert",
                "Contacts",
                "1000000000000999999",
                None,
                good.clone(),
            ),
            400,
            "INVALID_FILE_ID",
        ),
        (
            job(
                "insert",
                "Contacts",
                &file_id,
                None,
                json!([{"api_name": "Last_Name", "index": 7}]),
            ),
            400,
            "COLUMN_INDEX_NOT_FOUND",
        ),
        (
            job(
                "insert",
                "Contacts",
                &file_id,
                None,
                json!([{"api_name": "Last_Name", "index": 0}, {"api_name": "Nope", "index": 1}]),
            ),
            400,
            "INVALID_FIELD",
        ),
        (
            job(
                "insert",
                "Contacts",
                &file_id,
                None,
                json!([{"api_name": "Email", "index": 1}]),
            ),
            400,
            "MANDATORY_FIELDS_NOT_MAPPED",
        ),
    ];
    for (body, status, code) in cases {
        let (s, b) = zoho(
            &app,
            "POST",
            "/bigin/bulk/v2/write",
            &token,
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            (s, b["code"].as_str(), b["status"].as_str()),
            (status, Some(code), Some("error")),
            "{body}: {b}"
        );
        assert!(b["message"].is_string() && b["details"]["sluice_code"].is_string());
    }
    let (_, b) = zoho(
        &app,
        "POST",
        "/bigin/bulk/v2/write",
        &token,
        Some(job("upsert", "Contacts", &file_id, None, good.clone())),
    )
    .await;
    assert_eq!(b["message"], "Required key find_by is not available");
    let (s, b) = zoho(
        &app,
        "POST",
        "/bigin/bulk/v2/write",
        "bad-token",
        Some(job("insert", "Contacts", &file_id, None, good.clone())),
    )
    .await;
    assert_eq!(
        (s, b["code"].as_str(), b["message"].as_str()),
        (401, Some("INVALID_TOKEN"), Some("invalid oauth token"))
    );
    assert_eq!(b["details"], json!({}));
    let (s, b) = app
        .send("POST", "/bigin/bulk/v2/write", &[], Some(json!({})))
        .await;
    assert_eq!(
        (s.as_u16(), &b["code"]),
        (401, &json!("AUTHENTICATION_FAILURE"))
    );
    let reader = app.token("org1", "ro", "reader").await;
    let (s, b) = zoho(
        &app,
        "POST",
        "/bigin/bulk/v2/write",
        &reader,
        Some(job("insert", "Contacts", &file_id, None, good)),
    )
    .await;
    // A role that may not do the call: Zoho's scope answer.
    assert_eq!(
        (s, b["code"].as_str(), b["message"].as_str()),
        (
            401,
            Some("OAUTH_SCOPE_MISMATCH"),
            Some("invalid oauth scope to access this URL")
        )
    );
    let (s, b) = zoho(&app, "GET", "/bigin/bulk/v2/nothing", &token, None).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("INVALID_URL_PATTERN")));
    // Over 200 columns.
    let wide: String = (0..201)
        .map(|i| format!("c{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(zip_of(&[("w.csv", format!("{wide}\n").as_bytes())]))
            .file_name("w.zip"),
    );
    let resp = app
        .client
        .post(app.url("/bigin/v2/upload"))
        .header("Authorization", format!("Zoho-oauthtoken {token}"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let b: Value = resp.json().await.unwrap();
    assert_eq!(b["code"], "HEADER_LIMIT_EXCEEDED");
}
