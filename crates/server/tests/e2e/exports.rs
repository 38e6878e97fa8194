//! Exports: an object's records through the list API's filters, or a query past the query cap, to
//! CSV, NDJSON or a ZIP; downloads whole, by range and in pages; refusals, limits, cancel, keys,
//! callbacks, the retention sweep, and resuming after a crash.

use crate::common::{poll, spawn_app_with, spawn_process, unzip, Receiver, TestApp, ADMIN};
use serde_json::{json, Value};
use std::time::Duration;

const RECS: &str = "/v1/apps/crm/objects/contacts/records";
const EXPORTS: &str = "/v1/apps/crm/exports";

async fn seed(app: &TestApp, n: usize) {
    let ops: Vec<Value> = (0..n)
        .map(|i| json!({"method": "POST", "url": RECS, "body": {"email": format!("p{i}@x"), "age": i % 100, "vip": i % 7 == 0}}))
        .collect();
    for chunk in ops.chunks(1000) {
        let (s, b) = app
            .admin("POST", "/v1/bulk", Some(json!({"operations": chunk})))
            .await;
        assert_eq!(s, 200, "{b}");
    }
}

async fn wait_export(app: &TestApp, id: &str) -> Value {
    let path = format!("{EXPORTS}/{id}");
    poll(&format!("export {id} to end"), || async {
        let (_, e) = app.admin("GET", &path, None).await;
        ["completed", "failed", "canceled"]
            .contains(&e["status"].as_str().unwrap_or_default())
            .then_some(e)
    })
    .await
}

/// Creates an export as `token` and waits for it to end.
async fn export(app: &TestApp, token: &str, body: Value) -> Value {
    let (s, e) = app.call("POST", EXPORTS, Some(token), Some(body)).await;
    assert_eq!(s, 201, "{e}");
    assert_eq!(e["status"], "queued");
    wait_export(app, e["id"].as_str().unwrap()).await
}

async fn file(app: &TestApp, e: &Value) -> Vec<u8> {
    let (s, bytes) = app.download(e["result_url"].as_str().unwrap()).await;
    assert_eq!(s, 200);
    assert_eq!(bytes.len() as u64, e["bytes"].as_u64().unwrap());
    bytes
}

fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::Reader::from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn objects_export_to_csv_ndjson_and_zip_with_filters_fields_and_order() {
    let app = spawn_app_with(|c| c.export_chunk_rows = 70).await;
    app.setup_crm().await;
    seed(&app, 300).await;
    let reader = app.token("crm", "rita", "reader").await;
    let body = |format: &str| {
        json!({"object": "contacts", "filter": {"age[gte]": 50, "vip": "false"},
        "fields": ["email", "age", "id"], "sort": "-age", "format": format})
    };
    let e = export(&app, &reader, body("csv")).await;
    assert_eq!(
        (e["status"].as_str(), e["created_by"].as_str()),
        (Some("completed"), Some("rita")),
        "{e}"
    );
    let csv = file(&app, &e).await;
    let header = csv.split(|b| *b == b'\n').next().unwrap();
    assert_eq!(header, b"email,age,id");
    let rows = csv_rows(&csv);
    let want = (0..300).filter(|i| i % 100 >= 50 && i % 7 != 0).count();
    assert_eq!((rows.len(), e["rows"].as_u64()), (want, Some(want as u64)));
    let ages: Vec<i64> = rows.iter().map(|r| r[1].parse().unwrap()).collect();
    assert!(ages.windows(2).all(|w| w[0] >= w[1]) && ages.iter().all(|a| *a >= 50));

    let e = export(&app, &reader, body("ndjson")).await;
    let nd = file(&app, &e).await;
    let lines: Vec<Value> = nd
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len(), want);
    assert_eq!(lines[0]["age"], 99);
    assert!(
        nd.starts_with(b"{\"email\":\"p"),
        "columns in the order asked for"
    );

    let e = export(&app, &reader, body("zip")).await;
    let entries = unzip(&file(&app, &e).await);
    assert_eq!(entries.len(), 1);
    assert!(
        entries[0].0.starts_with("contacts-") && entries[0].0.ends_with(".csv"),
        "{}",
        entries[0].0
    );
    assert_eq!(entries[0].1.as_bytes(), &csv[..]);

    // Every field by default: id, the fields, then the other system fields; as a query string filter.
    let e = export(
        &app,
        &reader,
        json!({"object": "contacts", "filter": "age=3"}),
    )
    .await;
    let all = file(&app, &e).await;
    assert!(all.starts_with(b"id,email,age,vip,created_at,updated_at,created_by,updated_by\n"));
    assert_eq!(csv_rows(&all).len(), 3);
    let (s, list) = app.call("GET", EXPORTS, Some(&reader), None).await;
    assert_eq!((s.as_u16(), list["total"].as_u64()), (200, Some(4)));
}

#[tokio::test]
async fn downloads_resume_by_range_and_read_in_pages() {
    let app = spawn_app_with(|_| {}).await;
    app.setup_crm().await;
    seed(&app, 250).await;
    let e = export(
        &app,
        ADMIN,
        json!({"object": "contacts", "fields": ["email"]}),
    )
    .await;
    let whole = file(&app, &e).await;
    let url = app.url(e["result_url"].as_str().unwrap());
    let get = |range: Option<String>, query: &str| {
        let mut r = app.client.get(format!("{url}{query}")).bearer_auth(ADMIN);
        if let Some(range) = range {
            r = r.header("range", range);
        }
        r.send()
    };
    let mut joined = Vec::new();
    while joined.len() < whole.len() {
        let from = joined.len();
        let resp = get(Some(format!("bytes={from}-{}", from + 999)), "")
            .await
            .unwrap();
        assert_eq!(resp.status(), 206);
        let cr = resp.headers()["content-range"].to_str().unwrap().to_owned();
        assert!(
            cr.starts_with(&format!("bytes {from}-")) && cr.ends_with(&format!("/{}", whole.len())),
            "{cr}"
        );
        joined.extend(resp.bytes().await.unwrap());
    }
    assert_eq!(joined, whole);
    let past = get(Some(format!("bytes={}-", whole.len())), "")
        .await
        .unwrap();
    assert_eq!(past.status(), 416);
    assert_eq!(
        past.headers()["content-range"],
        format!("bytes */{}", whole.len()).as_str()
    );

    // A misspelt parameter is refused, not read as "the whole file".
    assert_eq!(get(None, "?max_record=10").await.unwrap().status(), 400);

    // Pages of 100 records: each starts with the header; the last has no locator.
    let (mut rows, mut locator, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let q = match &locator {
            Some(l) => format!("?max_records=100&locator={l}"),
            None => "?max_records=100".into(),
        };
        let resp = get(None, &q).await.unwrap();
        assert_eq!(resp.status(), 200);
        let next = resp
            .headers()
            .get("sluice-locator")
            .map(|v| v.to_str().unwrap().to_owned());
        let n: usize = resp.headers()["sluice-number-of-records"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let body = resp.bytes().await.unwrap();
        assert!(body.starts_with(b"email\n"));
        let page = csv_rows(&body);
        assert_eq!(page.len(), n);
        rows.extend(page);
        pages += 1;
        match next {
            Some(l) => locator = Some(l),
            None => break,
        }
    }
    assert_eq!((pages, rows.len()), (3, 250));
    assert_eq!(rows, csv_rows(&whole));
    // A locator that is not this export's, or one made by hand that points inside a record.
    use base64::Engine as _;
    let mid_record = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("7");
    for bad in ["bm90LWEtbG9jYXRvcg", mid_record.as_str()] {
        let (s, b) = app
            .admin(
                "GET",
                &format!("{}?locator={bad}", e["result_url"].as_str().unwrap()),
                None,
            )
            .await;
        assert_eq!(
            (s.as_u16(), b["error"]["field"].as_str()),
            (400, Some("locator")),
            "{bad}: {b}"
        );
    }
}

#[tokio::test]
async fn queries_export_past_the_query_cap_and_bad_requests_are_refused() {
    let app = spawn_app_with(|c| {
        c.query_max_rows = 100;
        c.max_export_rows = 250;
    })
    .await;
    app.setup_crm().await;
    seed(&app, 260).await;
    let q = "SELECT email, age FROM contacts WHERE age >= $1 ORDER BY email";
    let e = export(
        &app,
        ADMIN,
        json!({"query": q, "params": [10], "format": "ndjson"}),
    )
    .await;
    assert_eq!(
        (e["status"].as_str(), e["rows"].as_u64()),
        (Some("completed"), Some(230)),
        "{e}"
    );
    let nd = file(&app, &e).await;
    let first: Value = serde_json::from_slice(nd.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert!(
        first["email"].is_string() && first["age"].is_number(),
        "{first}"
    );

    // Past --max-export-rows the export fails, saying which limit.
    let e = export(&app, ADMIN, json!({"query": "SELECT id FROM contacts"})).await;
    assert_eq!(e["status"], "failed");
    assert!(
        e["error"].as_str().unwrap().contains("max_export_rows"),
        "{e}"
    );
    let e = export(&app, ADMIN, json!({"object": "contacts"})).await;
    assert_eq!(e["status"], "failed", "{e}");
    let (s, b) = app
        .download(
            e["result_url"]
                .as_str()
                .unwrap_or(&format!("{EXPORTS}/{}/result", e["id"].as_str().unwrap())),
        )
        .await;
    assert_eq!(s, 409, "{}", String::from_utf8_lossy(&b));

    for (body, status, field) in [
        (
            json!({"object": "contacts", "filter": {"nope": 1}}),
            422,
            "nope",
        ),
        (
            json!({"object": "contacts", "fields": ["email", "email"]}),
            422,
            "email",
        ),
        (json!({"object": "ghosts"}), 404, "object"),
        (
            json!({"object": "contacts", "format": "xml"}),
            422,
            "format",
        ),
        (
            json!({"object": "contacts", "query": "SELECT 1"}),
            400,
            "object",
        ),
        (json!({"query": "DELETE FROM contacts"}), 400, "query"),
        (json!({"object": "contacts", "sort": "-nope"}), 422, "nope"),
        (json!({"object": "contacts", "params": [1]}), 400, "params"),
    ] {
        let (s, b) = app.admin("POST", EXPORTS, Some(body.clone())).await;
        assert_eq!(
            (s.as_u16(), b["error"]["field"].as_str()),
            (status, Some(field)),
            "{body} → {b}"
        );
    }
    assert_eq!(app.count("crm", "contacts").await, 260);
}

#[tokio::test]
async fn an_export_is_canceled_between_chunks_and_keys_and_callbacks_work() {
    let hook = Receiver::start(0).await;
    let app = spawn_app_with(|c| {
        c.export_chunk_rows = 50;
        c.callback_allow = "127.0.0.0/8".into();
    })
    .await;
    app.setup_crm().await;
    seed(&app, 300).await;
    let pause = app.engine().breakpoints().arm("export.chunk.after_commit");
    let (_, e) = app
        .admin("POST", EXPORTS, Some(json!({"object": "contacts"})))
        .await;
    let id = e["id"].as_str().unwrap().to_owned();
    pause.reached().await;
    // Readers and writers go on while it runs.
    let (s, _) = app
        .admin("POST", RECS, Some(json!({"email": "late@x"})))
        .await;
    assert_eq!(s, 201);
    let (s, b) = app
        .admin("GET", &format!("{EXPORTS}/{id}/result"), None)
        .await;
    assert_eq!(
        (s.as_u16(), b["error"]["code"].as_str()),
        (409, Some("not_ready"))
    );
    let (s, _) = app
        .admin("POST", &format!("{EXPORTS}/{id}/cancel"), None)
        .await;
    assert_eq!(s, 200);
    pause.release();
    let e = wait_export(&app, &id).await;
    assert_eq!(
        (e["status"].as_str(), e["rows"].as_u64()),
        (Some("canceled"), Some(50)),
        "{e}"
    );

    // One export per idempotency key; its callback carries the completed document, signed.
    let body = json!({"object": "contacts", "format": "ndjson", "callback": {"url": hook.url}});
    let auth = format!("Bearer {ADMIN}");
    let send = || app.keyed("POST", EXPORTS, ("Authorization", &auth), "exp-1", &body);
    let (status, _, first) = send().await;
    assert_eq!(status, 201);
    let (status, replayed, again) = send().await;
    assert_eq!((status, replayed), (201, true));
    assert_eq!(again["id"], first["id"]);
    let got = hook.wait(1).await;
    let sent: Value = serde_json::from_slice(&got[0].1).unwrap();
    assert_eq!(
        (
            sent["id"].clone(),
            sent["status"].as_str(),
            sent["rows"].as_u64()
        ),
        (first["id"].clone(), Some("completed"), Some(301))
    );
    assert!(got[0].0["x-sluice-signature"]
        .to_str()
        .unwrap()
        .starts_with("sha256="));
    let (_, list) = app.admin("GET", EXPORTS, None).await;
    assert_eq!(list["total"], 2);
}

#[tokio::test]
async fn results_and_uploads_are_deleted_after_the_retention_period() {
    let app = spawn_app_with(|c| c.result_ttl = 3600).await;
    app.setup_crm().await;
    seed(&app, 20).await;
    let e = export(&app, ADMIN, json!({"object": "contacts"})).await;
    let (s, up) = app
        .upload("crm", "c.csv", "text/csv", b"email\nnew@x\n".to_vec())
        .await;
    assert_eq!(s, 201, "{up}");
    let (_, job) = app
        .admin(
            "POST",
            "/v1/apps/crm/jobs",
            Some(json!({"operation": "insert", "object": "contacts", "file_id": up["file_id"]})),
        )
        .await;
    let job = app.wait_job("crm", job["id"].as_str().unwrap()).await;
    let job_result = format!("/v1/apps/crm/jobs/{}/result", job["id"].as_str().unwrap());
    assert_eq!(app.download(&job_result).await.0, 200);
    assert_eq!(
        app.engine().sweep_results().await.unwrap(),
        Default::default()
    );
    app.clock.advance(Duration::from_secs(3601));
    let swept = app.engine().sweep_results().await.unwrap();
    assert_eq!((swept.exports, swept.jobs, swept.uploads), (1, 1, 1));
    let (s, b) = app
        .admin("GET", e["result_url"].as_str().unwrap(), None)
        .await;
    assert_eq!(
        (s.as_u16(), b["error"]["code"].as_str()),
        (410, Some("expired"))
    );
    assert_eq!(app.download(&job_result).await.0, 410);
    let (_, e) = app
        .admin(
            "GET",
            &format!("{EXPORTS}/{}", e["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        (e["expired"].as_bool(), e["result_url"].is_null()),
        (Some(true), true)
    );
    let (s, _) = app
        .admin(
            "POST",
            "/v1/apps/crm/jobs",
            Some(json!({"operation": "insert", "object": "contacts", "file_id": up["file_id"]})),
        )
        .await;
    assert_eq!(s, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_export_crashing_after_a_chunk_resumes_without_gaps_or_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("SLUICE_FAILPOINTS", "export.chunk.after_commit:3"),
        ("SLUICE_EXPORT_CHUNK_ROWS", "100"),
    ];
    let mut server = spawn_process(dir.path(), &env);
    let app = server.app();
    app.setup_crm().await;
    seed(&app, 1000).await;
    let (s, e) = app
        .admin(
            "POST",
            EXPORTS,
            Some(json!({"object": "contacts", "fields": ["id", "email"]})),
        )
        .await;
    assert_eq!(s, 201);
    poll("the server to die at its fail-point", || {
        let exited = server.child.try_wait().unwrap().is_some();
        async move { exited.then_some(()) }
    })
    .await;
    let server = spawn_process(dir.path(), &[("SLUICE_EXPORT_CHUNK_ROWS", "100")]);
    let app = server.app();
    let e = wait_export(&app, e["id"].as_str().unwrap()).await;
    assert_eq!(
        (e["status"].as_str(), e["rows"].as_u64()),
        (Some("completed"), Some(1000)),
        "{e}"
    );
    let csv = file(&app, &e).await;
    assert_eq!(csv.windows(9).filter(|w| w == b"id,email\n").count(), 1);
    let ids: Vec<String> = csv_rows(&csv).into_iter().map(|r| r[0].clone()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!((ids.len(), sorted), (1000, ids));
    server.kill9();
}
