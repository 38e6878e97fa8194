//! Zoho Bulk Write lookup fields: `find_by: "id"` on a field mapping carries Zoho numeric record
//! ids (from an earlier job's result) that name the related record, `find_by` on a unique field,
//! an `<field>.id` header without mappings, `find_by` echoed in the job details, and unknown ids
//! failing their row as `INVALID_DATA`.

use crate::common::{poll, spawn_app, unzip, zip_of, TestApp};
use serde_json::{json, Value};

/// App `org1`: `Accounts` (unique `Account_Name`) and `Contacts` pointing at them.
async fn setup(app: &TestApp) -> String {
    app.create_app("org1").await;
    let accounts =
        json!([{"name": "Account_Name", "type": "text", "required": true, "unique": true}]);
    app.create_object("org1", "Accounts", accounts).await;
    let contacts = json!([
        {"name": "Last_Name", "type": "text", "required": true},
        {"name": "Account_Name", "type": "relation", "object": "Accounts", "on_delete": "set_null"}
    ]);
    app.create_object("org1", "Contacts", contacts).await;
    app.token("org1", "zoe", "writer").await
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

/// Uploads `csv` and runs a job on it; its details and result lines.
async fn run(
    app: &TestApp,
    token: &str,
    module: &str,
    csv: &str,
    mappings: Option<Value>,
) -> (Value, Vec<String>) {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(zip_of(&[("f.csv", csv.as_bytes())])).file_name("f.zip"),
    );
    let resp = app
        .client
        .post(app.url("/bigin/v2/upload"))
        .header("Authorization", format!("Zoho-oauthtoken {token}"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let up: Value = resp.json().await.unwrap();
    let file = up["details"]["file_id"].as_str().unwrap();
    let mut res = json!({"type": "data", "module": {"api_name": module}, "file_id": file});
    if let Some(m) = mappings {
        res["field_mappings"] = m;
    }
    let body = json!({"operation": "insert", "resource": [res]});
    let (s, b) = call(app, "POST", "/bigin/bulk/v2/write", token, Some(body)).await;
    assert_eq!(s, 201, "{b}");
    let path = format!(
        "/bigin/bulk/v2/write/{}",
        b["details"]["id"].as_str().unwrap()
    );
    let d = poll("the Zoho job to complete", || async {
        let (_, d) = call(app, "GET", &path, token, None).await;
        (d["status"] == "COMPLETED").then_some(d)
    })
    .await;
    let (s, bytes) = app
        .client
        .get(app.url(&format!("{path}/result")))
        .header("Authorization", format!("Zoho-oauthtoken {token}"))
        .send()
        .await
        .map(|r| (r.status(), r))
        .unwrap();
    assert_eq!(s, 200);
    let text = unzip(&bytes.bytes().await.unwrap()).remove(0).1;
    (d, text.lines().map(str::to_owned).collect())
}

/// The contacts and the account names they point at (by the native API, with `expand`).
async fn contacts(app: &TestApp) -> Vec<(String, Value)> {
    let (_, b) = app
        .admin(
            "GET",
            "/v1/apps/org1/objects/Contacts/records?expand=Account_Name&sort=Last_Name&limit=50",
            None,
        )
        .await;
    b["records"]
        .as_array()
        .unwrap_or_else(|| panic!("{b}"))
        .iter()
        .map(|r| {
            let name = r["Last_Name"].as_str().unwrap().to_owned();
            (name, r["Account_Name"]["Account_Name"].clone())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_fields_by_numeric_id_unique_field_and_header() {
    let app = spawn_app().await;
    let token = setup(&app).await;
    let (_, lines) = run(&app, &token, "Accounts", "Account_Name\nAcme\nBeta\n", None).await;
    let number = |line: &str| line.split(',').nth(2).unwrap().to_owned();
    let (acme, beta) = (number(&lines[1]), number(&lines[2]));
    assert_eq!(acme.len(), 19, "{lines:?}");

    // find_by "id": the cells are Zoho numeric ids, read as the records they stand for.
    let csv = format!("Name,Account\nSmith,{acme}\nJones,1000000000999999999\nLee,\nPark,{beta}\n");
    let maps = json!([{"api_name": "Last_Name", "index": 0},
                      {"api_name": "Account_Name", "index": 1, "find_by": "id"}]);
    let (d, lines) = run(&app, &token, "Contacts", &csv, Some(maps)).await;
    let echoed = &d["resource"][0]["field_mappings"];
    assert_eq!(
        echoed[1],
        json!({"api_name": "Account_Name", "index": 1, "find_by": "id"}),
        "{d}"
    );
    assert!(echoed[0].get("find_by").is_none(), "{d}");
    assert!(
        lines[1].starts_with(&format!("Smith,{acme},ADDED,")),
        "{lines:?}"
    );
    assert!(
        lines[2].starts_with("Jones,1000000000999999999,SKIPPED,,INVALID_DATA"),
        "{lines:?}"
    );
    assert!(lines[3].starts_with("Lee,,ADDED,"), "{lines:?}");
    assert!(
        lines[4].starts_with(&format!("Park,{beta},ADDED,")),
        "{lines:?}"
    );
    assert_eq!(d["resource"][0]["file"]["added_count"], 3, "{d}");

    // find_by a unique field of the related module, and an unknown value.
    let maps = json!([{"api_name": "Last_Name", "index": 0},
                      {"api_name": "Account_Name", "index": 1, "find_by": "Account_Name"}]);
    let (d, lines) = run(
        &app,
        &token,
        "Contacts",
        "Name,Account\nAdams,Beta\nBrown,Gamma\n",
        Some(maps),
    )
    .await;
    assert_eq!(
        d["resource"][0]["field_mappings"][1]["find_by"],
        "Account_Name"
    );
    assert!(lines[1].contains(",ADDED,"), "{lines:?}");
    assert!(
        lines[2].contains(",SKIPPED,,INVALID_DATA-Account"),
        "{lines:?}"
    );

    // No mappings: a `<field>.id` header looks the record up by its numeric id too.
    let csv = format!("Last_Name,Account_Name.id\nKim,{beta}\n");
    let (_, lines) = run(&app, &token, "Contacts", &csv, None).await;
    assert!(lines[1].contains(",ADDED,"), "{lines:?}");

    let found = contacts(&app).await;
    let expect = [
        ("Adams", json!("Beta")),
        ("Kim", json!("Beta")),
        ("Lee", Value::Null),
        ("Park", json!("Beta")),
        ("Smith", json!("Acme")),
    ];
    let expect: Vec<(String, Value)> = expect.into_iter().map(|(n, a)| (n.to_owned(), a)).collect();
    assert_eq!(found, expect);
}
