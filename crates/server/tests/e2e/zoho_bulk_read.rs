//! Zoho Bulk Read on the CRM and Bigin paths: create a job, poll its details, download the ZIP
//! (`<job>.csv`), criteria groups and comparators, ids as numbers both ways, page 2 and
//! `more_records` (and the page token), and the callback.

use crate::common::{spawn_app_with, Receiver};
use crate::zoho_read_common::{completed, create, download, names_by_id, numeric, run, setup};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_job_from_create_to_the_zip_and_its_callback() {
    let app = spawn_app_with(|c| {
        c.callback_allow = "127.0.0.0/8".into();
        c.callback_backoff_ms = 100;
    })
    .await;
    let token = setup(&app).await;
    let receiver = Receiver::start(0).await;
    let base = "/crm/bulk/v8/read";
    let body = json!({
        "callback": {"url": receiver.url, "method": "post"},
        "query": {"module": {"api_name": "Leads"}, "fields": ["Last_Name", "Age", "Account", "Account.Account_Name"], "page": 1},
        "file_type": "csv"
    });
    let id = create(&app, base, &token, body).await;
    let job = completed(&app, base, &token, &id).await;
    assert_eq!(
        (
            job["id"].as_str(),
            job["operation"].as_str(),
            job["file_type"].as_str()
        ),
        (Some(id.as_str()), Some("read"), Some("csv"))
    );
    let q = &job["query"];
    assert_eq!(q["module"]["api_name"], "Leads");
    assert!(numeric(q["module"]["id"].as_str().unwrap()), "{job}");
    assert_eq!(
        q["fields"],
        json!(["Id", "Last_Name", "Age", "Account", "Account.Account_Name"])
    );
    assert_eq!(q["page"], 1);
    assert_eq!(
        job["result"],
        json!({"page": 1, "count": 5, "per_page": 200000, "more_records": false,
               "download_url": format!("/crm/bulk/v8/read/{id}/result")})
    );
    let (name, rows) = download(&app, &job, &token).await;
    assert_eq!(name, format!("{id}.csv"));
    assert_eq!(
        rows[0],
        ["Id", "Last_Name", "Age", "Account", "Account.Account_Name"]
    );
    let names: Vec<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(names, names_by_id(&app).await, "in the records' id order");
    let row = |n: &str| rows.iter().find(|r| r[1] == n).unwrap().clone();
    let (smith, black, jones, brown) = (row("Smith"), row("Black"), row("Jones"), row("Brown"));
    assert!(rows[1..].iter().all(|r| numeric(&r[0])), "{rows:?}");
    assert_eq!((smith[2].as_str(), brown[3].as_str()), ("30", ""));
    assert_eq!((smith[4].as_str(), jones[4].as_str()), ("Acme", "Beta"));
    // A lookup is the related record's number, the same for the same account.
    assert!(
        numeric(&smith[3]) && smith[3] == black[3] && smith[3] != jones[3],
        "{rows:?}"
    );

    // Numbers go back in: a record by its number, records by their account's.
    let (_, by_id) = run(
        &app,
        &token,
        json!({"module": {"api_name": "Leads"}, "fields": ["Last_Name"],
        "criteria": {"field": {"api_name": "Id"}, "comparator": "equal", "value": smith[0]}}),
    )
    .await;
    assert_eq!(by_id[1..], [vec![smith[0].clone(), "Smith".to_owned()]]);
    let (_, by_account) = run(&app, &token, json!({"module": {"api_name": "Leads"}, "fields": ["Last_Name"],
        "criteria": {"field": {"api_name": "Account"}, "comparator": "in", "value": [smith[3], "1000000000000999999"]}})).await;
    let mut got: Vec<&str> = by_account[1..].iter().map(|r| r[1].as_str()).collect();
    got.sort_unstable();
    assert_eq!(got, ["Black", "Smith"]);

    // The callback carries the job's details.
    let calls = receiver.wait(1).await;
    let sent: Value = serde_json::from_slice(&calls[0].1).unwrap();
    assert_eq!(
        (
            sent["job_id"].as_str(),
            sent["id"].as_str(),
            sent["state"].as_str()
        ),
        (Some(id.as_str()), Some(id.as_str()), Some("COMPLETED"))
    );
    assert_eq!(sent["result"], job["result"]);
    assert_eq!(sent["query"], job["query"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn criteria_groups_and_comparators_select_what_zoho_would() {
    let app = spawn_app_with(|_| {}).await;
    let token = setup(&app).await;
    let c = |f: &str, cmp: &str, v: Value| json!({"field": {"api_name": f}, "comparator": cmp, "value": v});
    let and = |g: Vec<Value>| json!({"group_operator": "and", "group": g});
    let or = |g: Vec<Value>| json!({"group_operator": "OR", "group": g});
    let (_, all) = app
        .admin(
            "GET",
            "/v1/apps/org1/objects/Leads/records?sort=updated_at&limit=100",
            None,
        )
        .await;
    let first = all["records"][0]["updated_at"].as_str().unwrap().to_owned();
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            c("Age", "greater_than", json!("30")),
            vec!["Black", "Jones"],
        ),
        (
            and(vec![
                c("Age", "greater_equal", json!(25)),
                c("Email", "ends_with", json!("@a.com")),
            ]),
            vec!["Black", "Smith"],
        ),
        (
            or(vec![
                c("Last_Name", "starts_with", json!("B")),
                c("Email", "contains", json!("c.org")),
            ]),
            vec!["Black", "Brown", "Green"],
        ),
        (
            and(vec![
                or(vec![
                    c("Last_Name", "equal", json!("Smith")),
                    c("Last_Name", "equal", json!("Jones")),
                ]),
                c("Age", "less_than", json!(35)),
            ]),
            vec!["Smith"],
        ),
        (
            c("Last_Name", "in", json!(["Smith", "Green", "Nobody"])),
            vec!["Green", "Smith"],
        ),
        (
            c("Last_Name", "not_in", json!(["Smith", "Jones"])),
            vec!["Black", "Brown", "Green"],
        ),
        (
            c("Age", "between", json!(["25", "41"])),
            vec!["Brown", "Jones", "Smith"],
        ),
        (
            c("Age", "not_between", json!([26, 45])),
            vec!["Black", "Brown"],
        ),
        (c("Email", "equal", Value::Null), vec!["Brown"]),
        (
            c("Email", "not_contains", json!("a.com")),
            vec!["Green", "Jones"],
        ),
        (c("Age", "less_equal", json!(30)), vec!["Brown", "Smith"]),
        (
            c("Last_Name", "not_equal", json!("Smith")),
            vec!["Black", "Brown", "Green", "Jones"],
        ),
        (
            and(vec![
                c("Modified_Time", "greater_equal", json!(first)),
                c(
                    "Modified_Time",
                    "less_than",
                    json!("2999-01-01T00:00:00+05:30"),
                ),
            ]),
            vec!["Black", "Brown", "Green", "Jones", "Smith"],
        ),
        // A related record's field.
        (
            c("Account.Account_Name", "equal", json!("Acme")),
            vec!["Black", "Smith"],
        ),
        // The shape Bigin's v1 pages write: the field's name as `api_name`.
        (
            json!({"api_name": "Last_Name", "comparator": "equal", "value": "Jones"}),
            vec!["Jones"],
        ),
    ];
    for (criteria, want) in cases {
        let query =
            json!({"module": {"api_name": "Leads"}, "fields": ["Last_Name"], "criteria": criteria});
        let (job, rows) = run(&app, &token, query).await;
        assert_eq!(rows[0], ["Id", "Last_Name"]);
        let mut got: Vec<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
        got.sort_unstable();
        assert_eq!(got, want, "{criteria}");
        assert_eq!(job["result"]["count"], want.len(), "{job}");
    }
    // The details show the criteria as asked.
    let asked = and(vec![
        c("Age", "greater_equal", json!(25)),
        c(
            "Modified_Time",
            "less_than",
            json!("2999-01-01T00:00:00.000Z"),
        ),
    ]);
    let (job, _) = run(
        &app,
        &token,
        json!({"module": {"api_name": "Leads"}, "fields": [], "criteria": asked}),
    )
    .await;
    assert_eq!(job["query"]["criteria"], asked);
    assert_eq!(
        job["query"]["fields"],
        json!([
            "Id",
            "Last_Name",
            "Email",
            "Age",
            "Account",
            "Created_Time",
            "Modified_Time"
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_two_follows_page_one_and_more_records_says_so() {
    let app = spawn_app_with(|_| {}).await;
    app.create_app("org1").await;
    app.create_object("org1", "Bulk", json!([{"name": "N", "type": "text"}]))
        .await;
    let token = app.token("org1", "zoe", "reader").await;
    let total = 200_005usize;
    let mut csv = String::from("N\n");
    for i in 0..total {
        csv.push_str(&format!("n{i}\n"));
    }
    let (s, file) = app
        .upload("org1", "bulk.csv", "text/csv", csv.into_bytes())
        .await;
    assert_eq!(s, 201, "{file}");
    let (s, job) = app
        .admin(
            "POST",
            "/v1/apps/org1/jobs",
            Some(json!({"operation": "insert", "object": "Bulk", "file_id": file["file_id"]})),
        )
        .await;
    assert_eq!(s, 201, "{job}");
    let job = app.wait_job("org1", job["id"].as_str().unwrap()).await;
    assert_eq!(job["progress"]["added"], total, "{job}");
    let (_, last) = app
        .admin(
            "GET",
            "/v1/apps/org1/objects/Bulk/records?sort=-id&limit=5",
            None,
        )
        .await;
    let mut want: Vec<&str> = last["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["N"].as_str().unwrap())
        .collect();
    want.reverse();

    let query = |page: u64| json!({"query": {"module": {"api_name": "Bulk"}, "fields": ["N"], "page": page}});
    let base = "/crm/bulk/v8/read";
    let id = create(&app, base, &token, query(2)).await;
    let two = completed(&app, base, &token, &id).await;
    assert_eq!(
        (
            two["query"]["page"].as_u64(),
            two["result"]["page"].as_u64()
        ),
        (Some(2), Some(2))
    );
    assert_eq!(
        (
            two["result"]["count"].as_u64(),
            two["result"]["more_records"].as_bool()
        ),
        (Some(5), Some(false)),
        "{two}"
    );
    let (_, rows) = download(&app, &two, &token).await;
    let got: Vec<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(
        got, want,
        "page 2 is what follows the first 200,000 in id order"
    );

    let id = create(&app, base, &token, query(1)).await;
    let one = completed(&app, base, &token, &id).await;
    let r = &one["result"];
    assert_eq!(
        (
            r["count"].as_u64(),
            r["per_page"].as_u64(),
            r["more_records"].as_bool()
        ),
        (Some(200_000), Some(200_000), Some(true)),
        "{one}"
    );
    let (_, rows) = download(&app, &one, &token).await;
    assert_eq!(rows.len(), 200_001);
    assert_eq!(rows[0], ["Id", "N"]);
    // The page token reads the next page of the same query.
    let token_of = r["next_page_token"].as_str().unwrap().to_owned();
    let id = create(
        &app,
        base,
        &token,
        json!({"query": {"page_token": token_of}}),
    )
    .await;
    let next = completed(&app, base, &token, &id).await;
    assert_eq!(
        (
            next["result"]["page"].as_u64(),
            next["result"]["count"].as_u64()
        ),
        (Some(2), Some(5)),
        "{next}"
    );
    let (_, again) = download(&app, &next, &token).await;
    assert_eq!(
        again[1..].iter().map(|r| r[1].as_str()).collect::<Vec<_>>(),
        want
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bigin_reads_on_its_own_paths() {
    let app = spawn_app_with(|_| {}).await;
    let token = setup(&app).await;
    for (v, module) in [("v1", json!("Leads")), ("v2", json!({"api_name": "Leads"}))] {
        let base = format!("/bigin/bulk/{v}/read");
        let body = json!({"query": {"module": module, "fields": ["Last_Name"],
            "criteria": {"group_operator": "and", "group": [{"api_name": "Age", "comparator": "greater_than", "value": "40"}]}}});
        let id = create(&app, &base, &token, body).await;
        let job = completed(&app, &base, &token, &id).await;
        assert_eq!(
            job["query"]["module"],
            if v == "v1" {
                json!("Leads")
            } else {
                job["query"]["module"].clone()
            }
        );
        assert_eq!(job["result"]["download_url"], format!("{base}/{id}/result"));
        let (name, rows) = download(&app, &job, &token).await;
        assert_eq!(name, format!("{id}.csv"));
        let mut got: Vec<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
        got.sort_unstable();
        assert_eq!(got, ["Black", "Jones"], "{v}");
    }
}
