//! Looking into an upload before a job (its first rows) and into a job's failures after it.

use crate::common::spawn_app;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploads_first_rows_and_a_jobs_failed_rows() {
    let app = spawn_app().await;
    app.setup_crm().await;
    let mut csv = String::from("email,age\n");
    for i in 0..300 {
        let age = if i % 100 == 7 {
            "old".to_owned()
        } else {
            i.to_string()
        };
        csv.push_str(&format!("p{i}@x,{age}\n"));
    }
    let (s, file) = app
        .upload("crm", "p.csv", "text/csv", csv.into_bytes())
        .await;
    assert_eq!(s, 201, "{file}");
    let fid = file["file_id"].as_str().unwrap();
    let (s, p) = app
        .admin(
            "GET",
            &format!("/v1/apps/crm/files/{fid}/preview?rows=2"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(
        p,
        json!({"columns": ["email", "age"], "rows": [["p0@x", "0"], ["p1@x", "1"]]})
    );
    let (s, _) = app
        .admin(
            "GET",
            "/v1/apps/crm/files/01a00000-0000-7000-8000-000000000000/preview",
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (s, e) = app
        .admin(
            "GET",
            &format!("/v1/apps/crm/files/{fid}/preview?rows=x"),
            None,
        )
        .await;
    assert_eq!(
        (s.as_u16(), &e["error"]["code"]),
        (400, &json!("invalid_request")),
        "{e}"
    );

    let (_, job) = app
        .admin(
            "POST",
            "/v1/apps/crm/jobs",
            Some(json!({"operation": "insert", "object": "contacts", "file_id": fid})),
        )
        .await;
    let id = job["id"].as_str().unwrap();
    app.wait_job("crm", id).await;
    let (s, f) = app
        .admin(
            "GET",
            &format!("/v1/apps/crm/jobs/{id}/failures?limit=2"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{f}");
    assert_eq!(f["failed"], 3);
    let rows = f["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "the limit holds");
    assert_eq!(rows[0]["row"], 8, "input positions from 1");
    assert_eq!(rows[0]["cells"][0], "p7@x");
    assert_eq!(rows[0]["errors"][0]["field"], "age");
    assert!(rows[0]["message"].as_str().unwrap().contains("age"), "{f}");
    assert_eq!(rows[1]["row"], 108);
}
