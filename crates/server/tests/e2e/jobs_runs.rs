//! Bulk-write job runs: insert/upsert/update/delete checked row by row in the result file,
//! collisions, cancel, and signed callbacks with retries.

use crate::common::{poll, spawn_app_with, unzip, zip_of, Receiver, TestApp};
use crate::jobs_common::create_job;
use serde_json::{json, Value};

async fn app_with_jobs() -> TestApp {
    let app = spawn_app_with(|c| {
        c.callback_allow = "127.0.0.0/8".into();
        c.callback_backoff_ms = 100;
        c.job_chunk_rows = 1000;
    })
    .await;
    app.setup_crm().await;
    app
}

fn csv_rows(rows: impl Iterator<Item = String>, header: &str) -> Vec<u8> {
    let mut s = format!("{header}\n");
    for r in rows {
        s.push_str(&r);
        s.push('\n');
    }
    s.into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_25000_row_upsert_from_a_zip_with_bad_rows_result_file_and_callback() {
    let app = app_with_jobs().await;
    // 5,000 existing contacts, made by an insert job.
    let existing = csv_rows(
        (0..5000).map(|i| format!("u{i}@x.io,{}", i % 50)),
        "email,age",
    );
    let (s, file) = app.upload("crm", "seed.csv", "text/csv", existing).await;
    assert_eq!(s, 201, "{file}");
    let (s, job) = create_job(
        &app,
        json!({"operation": "insert", "object": "contacts", "file_id": file["file_id"]}),
    )
    .await;
    assert_eq!(s, 201, "{job}");
    let job = app.wait_job("crm", job["id"].as_str().unwrap()).await;
    assert_eq!(job["progress"]["added"], 5000, "{job}");

    // 25,000 rows, `;`-delimited, in a ZIP; a few bad ages and one empty key.
    let bad = |i: usize| i % 5000 == 1234;
    let rows = (0..25_000).map(|i| {
        let email = if i == 7777 {
            String::new()
        } else {
            format!("u{i}@x.io")
        };
        let age = if bad(i) {
            "old".to_owned()
        } else {
            (i % 90).to_string()
        };
        format!("{email};Name {i};{age}")
    });
    let zip = zip_of(&[("contacts.csv", &csv_rows(rows, "E-mail;Name;Age"))]);
    let (s, file) = app
        .upload("crm", "contacts.zip", "application/zip", zip)
        .await;
    assert_eq!(s, 201, "{file}");
    assert_eq!(
        (file["rows"].as_u64(), file["name"].as_str()),
        (Some(25_000), Some("contacts.csv"))
    );
    let receiver = Receiver::start(1).await;
    let (s, job) = create_job(
        &app,
        json!({
            "operation": "upsert", "object": "contacts", "file_id": file["file_id"], "find_by": "email",
            "field_mappings": [{"field": "email", "column": "E-mail"}, {"field": "age", "index": 2}, {"field": "vip", "default": true}],
            "callback": {"url": receiver.url, "method": "post"}
        }),
    )
    .await;
    assert_eq!(s, 201, "{job}");
    assert_eq!(job["status"], "queued");
    let id = job["id"].as_str().unwrap().to_owned();
    let job = app.wait_job("crm", &id).await;
    assert_eq!(job["status"], "completed", "{job}");
    let p = &job["progress"];
    assert_eq!(
        (
            p["total"].as_u64(),
            p["processed"].as_u64(),
            p["updated"].as_u64(),
            p["added"].as_u64(),
            p["failed"].as_u64()
        ),
        (
            Some(25_000),
            Some(25_000),
            Some(4_999),
            Some(19_995),
            Some(6)
        ),
        "{job}"
    );
    assert_eq!(app.count("crm", "contacts").await, 5_000 + 19_995);
    let (_, rec) = app
        .admin(
            "GET",
            "/v1/apps/crm/objects/contacts/records?email=u10@x.io",
            None,
        )
        .await;
    assert_eq!(
        (
            rec["records"][0]["age"].as_i64(),
            rec["records"][0]["vip"].as_bool()
        ),
        (Some(10), Some(true))
    );

    // The result file, row by row, in input order.
    let (s, zip) = app.download(job["result_url"].as_str().unwrap()).await;
    assert_eq!(s, 200);
    let files = unzip(&zip);
    assert_eq!(files.len(), 1);
    let mut rdr = csv::ReaderBuilder::new().from_reader(files[0].1.as_bytes());
    assert_eq!(
        rdr.headers().unwrap().iter().collect::<Vec<_>>(),
        ["E-mail", "Age", "ID", "STATUS", "ERRORS", "ROW"]
    );
    let mut n = 0;
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.unwrap();
        let want = if i == 7777 || bad(i) {
            "failed"
        } else if i < 5000 {
            "updated"
        } else {
            "added"
        };
        assert_eq!(&rec[3], want, "row {i}: {rec:?}");
        assert_eq!(rec[2].is_empty(), want == "failed", "row {i}");
        assert_eq!(rec[5], (i + 1).to_string(), "the input row's number");
        if i == 7777 {
            assert!(rec[4].contains("email"), "{rec:?}");
        }
        if bad(i) {
            assert_eq!(&rec[1], "old");
            assert!(rec[4].contains("not a valid integer"), "{rec:?}");
        }
        n += 1;
    }
    assert_eq!(n, 25_000);

    // The callback: the first attempt fails, the retry is delivered and signed with the app's secret.
    let got = receiver.wait(2).await;
    let (_, app_doc) = app.admin("GET", "/v1/apps/crm", None).await;
    let secret = app_doc["secret"].as_str().unwrap();
    for (headers, body) in &got {
        let sig = headers["x-sluice-signature"].to_str().unwrap();
        assert_eq!(
            sig,
            sluice_engine::jobs::callback::sign(secret, body).unwrap()
        );
        let sent: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(
            (sent["id"].as_str(), sent["status"].as_str()),
            (Some(id.as_str()), Some("completed"))
        );
    }
    let job = poll("the callback to be recorded delivered", || async {
        let job = app.wait_job("crm", &id).await;
        (job["callback"]["status"] == "delivered").then_some(job)
    })
    .await;
    assert_eq!(
        (
            job["callback"]["status"].as_str(),
            job["callback"]["attempts"].as_u64()
        ),
        (Some("delivered"), Some(2)),
        "{job}"
    );
}

/// A batch of new rows that collides with an existing record, and with itself, still adds every
/// other row and names the taken values row by row.
#[tokio::test]
async fn colliding_rows_in_a_large_insert_fail_alone() {
    let app = app_with_jobs().await;
    app.admin(
        "POST",
        "/v1/apps/crm/objects/contacts/records",
        Some(json!({"email": "taken@x"})),
    )
    .await;
    let rows = (0..200).map(|i| match i {
        40 => "taken@x,1".to_owned(),
        170 => "n7@x,2".to_owned(),
        i => format!("n{i}@x,{}", i % 90),
    });
    let (_, file) = app
        .upload("crm", "n.csv", "text/csv", csv_rows(rows, "email,age"))
        .await;
    let (s, job) = create_job(
        &app,
        json!({"operation": "insert", "object": "contacts", "file_id": file["file_id"]}),
    )
    .await;
    assert_eq!(s, 201, "{job}");
    let job = app.wait_job("crm", job["id"].as_str().unwrap()).await;
    let p = &job["progress"];
    assert_eq!(
        (p["added"].as_u64(), p["failed"].as_u64()),
        (Some(198), Some(2)),
        "{job}"
    );
    let (_, zip) = app.download(job["result_url"].as_str().unwrap()).await;
    let text = unzip(&zip).remove(0).1;
    let failed: Vec<&str> = text.lines().filter(|l| l.contains("failed")).collect();
    assert_eq!(failed.len(), 2, "{text}");
    assert!(
        failed[0].starts_with("taken@x") && failed[0].contains("already exists"),
        "{failed:?}"
    );
    assert!(
        failed[1].starts_with("n7@x") && failed[1].contains("already exists"),
        "{failed:?}"
    );
    assert_eq!(app.count("crm", "contacts").await, 199);
}

#[tokio::test]
async fn insert_with_find_by_skips_existing_and_delete_removes() {
    let app = app_with_jobs().await;
    app.admin(
        "POST",
        "/v1/apps/crm/objects/contacts/records",
        Some(json!({"email": "b@x", "age": 1})),
    )
    .await;
    let csv = csv_rows(
        ["a@x,10", "b@x,20", "c@x,30"].map(String::from).into_iter(),
        "email,age",
    );
    let (_, file) = app.upload("crm", "x.csv", "text/csv", csv).await;
    let (s, job) = create_job(&app, json!({"operation": "insert", "object": "contacts", "file_id": file["file_id"], "find_by": "email"})).await;
    assert_eq!(s, 201, "{job}");
    let job = app.wait_job("crm", job["id"].as_str().unwrap()).await;
    let p = &job["progress"];
    assert_eq!(
        (p["added"].as_u64(), p["skipped"].as_u64()),
        (Some(2), Some(1)),
        "{job}"
    );
    let (_, b) = app
        .admin(
            "GET",
            "/v1/apps/crm/objects/contacts/records?email=b@x",
            None,
        )
        .await;
    assert_eq!(
        b["records"][0]["age"], 1,
        "the existing record is untouched"
    );

    let del = csv_rows(
        ["a@x", "nobody@x", "c@x"].map(String::from).into_iter(),
        "email",
    );
    let (_, file) = app.upload("crm", "del.csv", "text/csv", del).await;
    let (_, job) = create_job(&app, json!({"operation": "delete", "object": "contacts", "file_id": file["file_id"], "find_by": "email"})).await;
    let job = app.wait_job("crm", job["id"].as_str().unwrap()).await;
    let p = &job["progress"];
    assert_eq!(
        (p["deleted"].as_u64(), p["failed"].as_u64()),
        (Some(2), Some(1)),
        "{job}"
    );
    assert_eq!(app.count("crm", "contacts").await, 1);
    let (_, zip) = app.download(job["result_url"].as_str().unwrap()).await;
    let text = &unzip(&zip)[0].1;
    assert!(
        text.contains("nobody@x,,failed,no record matches this email"),
        "{text}"
    );

    // Update by id: a row whose id does not exist fails, the others update.
    let (_, b) = app
        .admin("GET", "/v1/apps/crm/objects/contacts/records", None)
        .await;
    let id = b["records"][0]["id"].as_str().unwrap().to_owned();
    let upd = csv_rows(
        [
            format!("{id},99"),
            "0192f0c4-0000-7000-8000-000000000000,1".to_owned(),
        ]
        .into_iter(),
        "id,age",
    );
    let (_, file) = app.upload("crm", "upd.csv", "text/csv", upd).await;
    let (s, job) = create_job(&app, json!({"operation": "update", "object": "contacts", "file_id": file["file_id"], "find_by": "id"})).await;
    assert_eq!(s, 201, "{job}");
    let job = app.wait_job("crm", job["id"].as_str().unwrap()).await;
    assert_eq!(
        (
            job["progress"]["updated"].as_u64(),
            job["progress"]["failed"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let (_, rec) = app
        .admin(
            "GET",
            &format!("/v1/apps/crm/objects/contacts/records/{id}"),
            None,
        )
        .await;
    assert_eq!(rec["age"], 99);
}

#[tokio::test]
async fn a_queued_job_can_be_canceled() {
    let app = spawn_app_with(|c| c.job_workers = 1).await;
    app.setup_crm().await;
    let rows = csv_rows((0..20_000).map(|i| format!("c{i}@x")), "email");
    let (_, file) = app.upload("crm", "many.csv", "text/csv", rows).await;
    let body = json!({"operation": "insert", "object": "contacts", "file_id": file["file_id"]});
    let (_, first) = create_job(&app, body.clone()).await;
    let (_, second) = create_job(&app, body).await;
    let (s, c) = app
        .admin(
            "POST",
            &format!(
                "/v1/apps/crm/jobs/{}/cancel",
                second["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(s, 200, "{c}");
    let second = app.wait_job("crm", second["id"].as_str().unwrap()).await;
    assert_eq!(second["status"], "canceled");
    let first = app.wait_job("crm", first["id"].as_str().unwrap()).await;
    assert_eq!(first["status"], "completed");
    let (s, _) = app
        .admin(
            "POST",
            &format!("/v1/apps/crm/jobs/{}/cancel", first["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(app.count("crm", "contacts").await, 20_000);
    // A canceled job's result lists every row as unprocessed.
    let (_, zip) = app.download(second["result_url"].as_str().unwrap()).await;
    let text = &unzip(&zip)[0].1;
    assert_eq!(text.lines().count(), 20_001);
    // Each row's number in the input is its last cell.
    assert!(
        text.lines()
            .skip(1)
            .enumerate()
            .all(|(i, l)| l.ends_with(&format!(",,unprocessed,,{}", i + 1))),
        "{}",
        &text[..200]
    );
}
