//! Bulk-write job refusals: bad job requests and bad uploads are refused with clear errors before
//! anything runs; the good upload forms (NDJSON, `|` CSV with a BOM, multipart) are accepted.

use crate::common::{spawn_app_with, zip_of, ADMIN};
use crate::jobs_common::create_job;
use serde_json::{json, Value};

#[tokio::test]
async fn each_bad_job_request_is_refused_before_anything_runs() {
    let app = spawn_app_with(|c| c.max_job_records = 3).await;
    app.setup_crm().await;
    let (_, file) = app
        .upload(
            "crm",
            "x.csv",
            "text/csv",
            b"email,age,extra\na@x,1,z\n".to_vec(),
        )
        .await;
    let fid = file["file_id"].as_str().unwrap().to_owned();
    let (_, big) = app
        .upload(
            "crm",
            "big.csv",
            "text/csv",
            b"email\na\nb\nc\nd\n".to_vec(),
        )
        .await;
    let cases = vec![
        (
            json!({"operation": "insert", "object": "contacts", "file_id": fid}),
            422,
            "unknown_field",
            Some("extra"),
        ),
        (
            json!({"operation": "upsert", "object": "contacts", "file_id": fid, "field_mappings": [{"field": "email", "index": 0}]}),
            422,
            "required",
            Some("find_by"),
        ),
        (
            json!({"operation": "insert", "object": "contacts", "file_id": fid, "field_mappings": [{"field": "age", "index": 1}]}),
            422,
            "required",
            Some("email"),
        ),
        (
            json!({"operation": "insert", "object": "contacts", "file_id": fid, "field_mappings": [{"field": "email", "index": 9}]}),
            422,
            "validation_failed",
            Some("index"),
        ),
        (
            json!({"operation": "insert", "object": "contacts", "file_id": fid, "field_mappings": [{"field": "email", "column": "Nope"}]}),
            422,
            "validation_failed",
            Some("column"),
        ),
        (
            json!({"operation": "insert", "object": "contacts", "file_id": fid, "field_mappings": [{"field": "email", "index": 0}, {"field": "colour", "index": 2}]}),
            422,
            "unknown_field",
            Some("colour"),
        ),
        (
            json!({"operation": "update", "object": "contacts", "file_id": fid, "find_by": "age", "field_mappings": [{"field": "age", "index": 1}]}),
            422,
            "validation_failed",
            Some("find_by"),
        ),
        (
            json!({"operation": "insert", "object": "contacts", "file_id": "0192f0c4-0000-7000-8000-000000000000"}),
            404,
            "not_found",
            Some("file_id"),
        ),
        (
            json!({"operation": "insert", "object": "contacts", "file_id": "../../etc/passwd"}),
            404,
            "not_found",
            Some("file_id"),
        ),
        (
            json!({"operation": "insert", "object": "nope", "file_id": fid}),
            404,
            "not_found",
            Some("object"),
        ),
        (
            json!({"operation": "merge", "object": "contacts", "file_id": fid}),
            422,
            "validation_failed",
            None,
        ),
        (
            json!({"operation": "insert", "object": "contacts", "file_id": big["file_id"], "field_mappings": [{"field": "email", "index": 0}]}),
            413,
            "limit_exceeded",
            Some("file_id"),
        ),
        (
            json!({"operation": "insert", "object": "contacts", "file_id": fid, "field_mappings": [{"field": "email", "index": 0}], "callback": {"url": "ftp://example.com/x"}}),
            422,
            "validation_failed",
            Some("callback"),
        ),
        // Loopback is not public and not on this server's allow-list.
        (
            json!({"operation": "insert", "object": "contacts", "file_id": fid, "field_mappings": [{"field": "email", "index": 0}], "callback": {"url": "http://127.0.0.1:9/x"}}),
            422,
            "validation_failed",
            Some("callback"),
        ),
        (
            json!({"operation": "insert", "object": "contacts", "file_id": fid, "field_mappings": [{"field": "email", "index": 0}], "callback": {"url": "http://169.254.169.254/latest"}}),
            422,
            "validation_failed",
            Some("callback"),
        ),
    ];
    for (body, status, code, field) in cases {
        let (s, b) = create_job(&app, body.clone()).await;
        assert_eq!(s, status, "{body}: {b}");
        assert_eq!(b["error"]["code"], code, "{body}");
        assert_eq!(b["error"]["field"].as_str(), field, "{body}: {b}");
    }
    let (_, jobs) = app.admin("GET", "/v1/apps/crm/jobs", None).await;
    assert_eq!(jobs["jobs"], json!([]));
    let (_, limits) = app.call("GET", "/v1/limits", None, None).await;
    assert_eq!(limits["max_job_records"], 3);
    let reader = app.token("crm", "r", "reader").await;
    let (s, _) = app
        .call(
            "POST",
            "/v1/apps/crm/jobs",
            Some(&reader),
            Some(json!({"operation": "insert", "object": "contacts", "file_id": fid})),
        )
        .await;
    assert_eq!(s, 403);
}

#[tokio::test]
async fn bad_uploads_are_refused_with_clear_errors() {
    let app = spawn_app_with(|c| {
        c.max_unzipped_bytes = 1 << 20;
        c.max_upload_bytes = 4 << 20;
    })
    .await;
    app.setup_crm().await;
    let two = zip_of(&[("a.csv", b"email\na\n"), ("b.csv", b"email\nb\n")]);
    let bomb = zip_of(&[(
        "bomb.csv",
        &[b"email\n".as_slice(), &vec![b'a'; 8 << 20]].concat(),
    )]);
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        (
            "corrupt.zip",
            "application/zip",
            b"PK\x03\x04 this is not a zip".to_vec(),
            422,
            "invalid_file",
        ),
        ("two.zip", "application/zip", two, 422, "invalid_file"),
        (
            "none.zip",
            "application/zip",
            zip_of(&[("readme.txt", b"hi")]),
            422,
            "invalid_file",
        ),
        ("bomb.zip", "application/zip", bomb, 413, "too_large"),
        (
            "latin1.csv",
            "text/csv",
            b"email,name\na@x,Jos\xe9\n".to_vec(),
            422,
            "invalid_file",
        ),
        (
            "ragged.csv",
            "text/csv",
            b"email,age\na@x,1\nb@x,2,3\n".to_vec(),
            422,
            "invalid_file",
        ),
        ("empty.csv", "text/csv", Vec::new(), 422, "invalid_file"),
        (
            "huge.csv",
            "text/csv",
            vec![b'x'; 5 << 20],
            413,
            "too_large",
        ),
        (
            "bad.ndjson",
            "application/x-ndjson",
            b"{\"email\":\"a\"}\n[1,2]\n".to_vec(),
            422,
            "invalid_file",
        ),
    ];
    for (name, ct, bytes, status, code) in cases {
        let (s, b) = app.upload("crm", name, ct, bytes).await;
        assert_eq!(
            (s.as_u16(), b["error"]["code"].as_str()),
            (status, Some(code)),
            "{name}: {b}"
        );
    }
    // Refused before its body was read whole: the answer closes the connection, so the client
    // sends its next request on a fresh one.
    let resp = app
        .client
        .post(app.url("/v1/apps/crm/files?name=huge.csv"))
        .bearer_auth(ADMIN)
        .header("Content-Type", "text/csv")
        .body(vec![b'x'; 5 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(resp.headers()["connection"], "close");
    let (s, _) = app
        .upload(
            "crm",
            "ok.csv",
            "text/csv",
            b"email
a@x
"
            .to_vec(),
        )
        .await;
    assert_eq!(s, 201);
    let (s, b) = app
        .upload(
            "crm",
            "ragged.csv",
            "text/csv",
            b"email,age\na@x,1\nb@x,2,3\n".to_vec(),
        )
        .await;
    assert_eq!(
        (s.as_u16(), b["error"]["row"].as_u64()),
        (422, Some(2)),
        "{b}"
    );
    assert!(b["error"]["message"].as_str().unwrap().contains("row 2"));

    // No credentials, no upload: refused before the body is stored.
    let resp = app
        .client
        .post(app.url("/v1/apps/crm/files"))
        .body(vec![b'x'; 1 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        std::fs::read_dir(app.data_dir.join("uploads"))
            .unwrap()
            .count(),
        0
    );

    // Good forms: NDJSON, a `|` CSV with a BOM, and multipart.
    let (s, b) = app
        .upload(
            "crm",
            "x.ndjson",
            "application/x-ndjson",
            b"{\"email\":\"a@x\",\"age\":3}\n\n{\"email\":\"b@x\",\"vip\":true}\n".to_vec(),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        (b["rows"].as_u64(), b["columns"].clone()),
        (Some(2), json!(["email", "age", "vip"]))
    );
    let (_, job) = create_job(
        &app,
        json!({"operation": "insert", "object": "contacts", "file_id": b["file_id"]}),
    )
    .await;
    let job = app.wait_job("crm", job["id"].as_str().unwrap()).await;
    assert_eq!(job["progress"]["added"], 2, "{job}");
    let (_, rec) = app
        .admin(
            "GET",
            "/v1/apps/crm/objects/contacts/records?email=b@x",
            None,
        )
        .await;
    assert_eq!(rec["records"][0]["vip"], true);
    let (s, b) = app
        .upload(
            "crm",
            "p.csv",
            "text/csv",
            b"\xEF\xBB\xBFemail|age\nc@x|5\n".to_vec(),
        )
        .await;
    assert_eq!(
        (s.as_u16(), b["columns"].clone()),
        (201, json!(["email", "age"])),
        "{b}"
    );
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(zip_of(&[("m.csv", b"email\nm@x\n")])).file_name("m.zip"),
    );
    let resp = app
        .client
        .post(app.url("/v1/apps/crm/files"))
        .bearer_auth(ADMIN)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let b: Value = resp.json().await.unwrap();
    assert_eq!(
        (b["name"].as_str(), b["rows"].as_u64()),
        (Some("m.csv"), Some(1))
    );
}
