//! What the Zoho Bulk Read tests share: a CRM app of leads and accounts, and a job's calls
//! (create, poll its details, download its ZIP) as a Zoho client makes them.

use crate::common::{poll, unzip, TestApp};
use serde_json::{json, Value};

/// A Zoho id: 19 digits (it fits a signed 64-bit integer, as Zoho's SDKs hold it).
pub fn numeric(id: &str) -> bool {
    id.len() == 19 && id.parse::<i64>().is_ok()
}

pub async fn zoho(
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

/// Leads (with a lookup to Accounts) as the CRM tests use them; the token of a reader.
pub async fn setup(app: &TestApp) -> String {
    app.create_app("org1").await;
    app.create_object(
        "org1",
        "Accounts",
        json!([{"name": "Account_Name", "type": "text", "required": true}]),
    )
    .await;
    let fields = json!([
        {"name": "Last_Name", "type": "text", "required": true},
        {"name": "Email", "type": "text"},
        {"name": "Age", "type": "integer"},
        {"name": "Account", "type": "relation", "object": "Accounts", "on_delete": "set_null"}
    ]);
    app.create_object("org1", "Leads", fields).await;
    let mut accounts = Vec::new();
    for name in ["Acme", "Beta"] {
        let (s, a) = app
            .admin(
                "POST",
                "/v1/apps/org1/objects/Accounts/records",
                Some(json!({"Account_Name": name})),
            )
            .await;
        assert_eq!(s, 201, "{a}");
        accounts.push(a["id"].as_str().unwrap().to_owned());
    }
    let (acme, beta) = (&accounts[0], &accounts[1]);
    for lead in [
        json!({"Last_Name": "Smith", "Email": "smith@a.com", "Age": 30, "Account": acme}),
        json!({"Last_Name": "Jones", "Email": "jones@b.com", "Age": 41, "Account": beta}),
        json!({"Last_Name": "Brown", "Age": 25}),
        json!({"Last_Name": "Black", "Email": "black@a.com", "Age": 52, "Account": acme}),
        json!({"Last_Name": "Green", "Email": "green@c.org", "Account": beta}),
    ] {
        let (s, r) = app
            .admin("POST", "/v1/apps/org1/objects/Leads/records", Some(lead))
            .await;
        assert_eq!(s, 201, "{r}");
    }
    app.token("org1", "zoe", "reader").await
}

/// Creates a read job at `base` (`/crm/bulk/v8/read`); its id.
pub async fn create(app: &TestApp, base: &str, token: &str, body: Value) -> String {
    let (s, b) = zoho(app, "POST", base, token, Some(body)).await;
    assert_eq!(s, 201, "{b}");
    let d = &b["data"][0];
    assert_eq!(
        (
            d["status"].as_str(),
            d["code"].as_str(),
            d["message"].as_str()
        ),
        (
            Some("success"),
            Some("ADDED_SUCCESSFULLY"),
            Some("Added successfully.")
        )
    );
    assert_eq!(
        (
            d["details"]["operation"].as_str(),
            d["details"]["state"].as_str()
        ),
        (Some("read"), Some("ADDED"))
    );
    assert!(
        numeric(d["details"]["created_by"]["id"].as_str().unwrap()),
        "{b}"
    );
    assert!(
        d["details"]["created_time"]
            .as_str()
            .unwrap()
            .ends_with("+00:00"),
        "{b}"
    );
    assert_eq!(b["info"], json!({}));
    let id = d["details"]["id"].as_str().unwrap().to_owned();
    assert!(numeric(&id), "{b}");
    id
}

/// Polls a job's details until it completed; the job object.
pub async fn completed(app: &TestApp, base: &str, token: &str, id: &str) -> Value {
    let path = format!("{base}/{id}");
    poll("the read job to complete", || async {
        let (s, d) = zoho(app, "GET", &path, token, None).await;
        assert_eq!(s, 200, "{d}");
        let job = d["data"][0].clone();
        assert!(
            ["ADDED", "IN PROGRESS", "COMPLETED"].contains(&job["state"].as_str().unwrap()),
            "{d}"
        );
        (job["state"] == "COMPLETED").then_some(job)
    })
    .await
}

/// Downloads a completed job's ZIP from its `download_url`: the entry's name and its CSV rows.
pub async fn download(app: &TestApp, job: &Value, token: &str) -> (String, Vec<Vec<String>>) {
    let url = job["result"]["download_url"].as_str().unwrap();
    let resp = app
        .client
        .get(app.url(url))
        .header("Authorization", format!("Zoho-oauthtoken {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let id = job["id"].as_str().unwrap();
    assert_eq!(resp.headers()["content-type"], "application/zip");
    assert_eq!(
        resp.headers()["content-disposition"],
        format!("attachment; filename=\"{id}.zip\"").as_str()
    );
    let mut files = unzip(&resp.bytes().await.unwrap());
    assert_eq!(files.len(), 1);
    let (name, csv) = files.remove(0);
    let rows = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (name, rows)
}

/// Runs a job for `query` to its end: its details and CSV rows (the header first).
pub async fn run(app: &TestApp, token: &str, query: Value) -> (Value, Vec<Vec<String>>) {
    let base = "/crm/bulk/v8/read";
    let id = create(app, base, token, json!({"query": query})).await;
    let job = completed(app, base, token, &id).await;
    let (name, rows) = download(app, &job, token).await;
    assert_eq!(name, format!("{id}.csv"));
    (job, rows)
}

/// The leads' names in sluice's id order.
pub async fn names_by_id(app: &TestApp) -> Vec<String> {
    let (_, b) = app
        .admin(
            "GET",
            "/v1/apps/org1/objects/Leads/records?sort=id&limit=100",
            None,
        )
        .await;
    b["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Last_Name"].as_str().unwrap().to_owned())
        .collect()
}
