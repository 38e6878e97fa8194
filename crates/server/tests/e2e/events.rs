//! Live progress as Server-Sent Events: a job's and a batch's streams, read to their final event,
//! with counters that never go backwards.

use crate::common::{spawn_app_with, TestApp};
use futures_util::StreamExt;
use serde_json::{json, Value};

/// Reads `path`'s event stream to its end: (event name, document) in order.
async fn read_events(
    app: &TestApp,
    path: &str,
    mut on_event: impl FnMut(&str, &Value),
) -> Vec<(String, Value)> {
    let resp = app
        .client
        .get(app.url(path))
        .bearer_auth(crate::common::ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut body = resp.bytes_stream();
    let (mut buf, mut events) = (String::new(), Vec::new());
    while let Some(chunk) = body.next().await {
        buf.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let name = frame.lines().find_map(|l| l.strip_prefix("event: "));
            let data = frame.lines().find_map(|l| l.strip_prefix("data: "));
            if let (Some(name), Some(data)) = (name, data) {
                let doc: Value = serde_json::from_str(data).unwrap();
                on_event(name, &doc);
                events.push((name.to_owned(), doc));
            }
        }
    }
    events
}

fn never_backwards(events: &[(String, Value)], counter: impl Fn(&Value) -> u64) {
    for w in events.windows(2) {
        assert!(
            counter(&w[1].1) >= counter(&w[0].1),
            "{:?} then {:?}",
            w[0],
            w[1]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jobs_stream_follows_it_to_its_final_event() {
    let app = spawn_app_with(|c| c.job_chunk_rows = 500).await;
    app.setup_crm().await;
    let mut csv = String::from("email,age\n");
    for i in 0..6000 {
        csv.push_str(&format!("e{i}@x,{}\n", i % 90));
    }
    let (_, file) = app
        .upload("crm", "e.csv", "text/csv", csv.into_bytes())
        .await;
    let pause = app.engine().breakpoints().arm("job.claimed");
    let (s, job) = app
        .admin(
            "POST",
            "/v1/apps/crm/jobs",
            Some(json!({"operation": "insert", "object": "contacts", "file_id": file["file_id"]})),
        )
        .await;
    assert_eq!(s, 201, "{job}");
    pause.reached().await;
    let path = format!("/v1/apps/crm/jobs/{}/events", job["id"].as_str().unwrap());
    let mut released = false;
    let events = read_events(&app, &path, |_, _| {
        if !released {
            released = true;
            pause.release();
        }
    })
    .await;
    let (first, last) = (&events[0], events.last().unwrap());
    assert_eq!(first.0, "progress");
    assert_eq!(
        first.1["progress"]["processed"], 0,
        "held before its first chunk"
    );
    assert_eq!(last.0, "done", "{events:?}");
    assert_eq!(last.1["status"], "completed");
    assert_eq!(last.1["progress"]["added"], 6000);
    assert_eq!(events.iter().filter(|e| e.0 == "done").count(), 1);
    never_backwards(&events, |d| d["progress"]["processed"].as_u64().unwrap());
    // A finished job's stream is its final event alone.
    let again = read_events(&app, &path, |_, _| {}).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].0, "done");
    let (s, _) = app
        .admin("GET", "/v1/apps/crm/jobs/nope/events", None)
        .await;
    assert_eq!(s, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batchs_stream_shows_progress_between_chunks() {
    let app = spawn_app_with(|c| c.batch_chunk_rows = 100).await;
    app.setup_crm().await;
    let ops: Vec<Value> = (0..300)
        .map(|i| json!({"method": "POST", "url": "/v1/apps/crm/objects/contacts/records", "body": {"email": format!("b{i}@x")}}))
        .collect();
    app.admin("POST", "/v1/bulk", Some(json!({ "operations": ops })))
        .await;
    let pause = app.engine().breakpoints().arm("batch.chunk.after_commit");
    let (s, batch) = app
        .admin(
            "POST",
            "/v1/apps/crm/batches",
            Some(json!({"start": true, "operations": [
                {"action": "delete", "object": "contacts", "query": "SELECT id FROM contacts"}]})),
        )
        .await;
    assert_eq!(s, 201, "{batch}");
    pause.reached().await;
    let path = format!(
        "/v1/apps/crm/batches/{}/events",
        batch["id"].as_str().unwrap()
    );
    let mut released = false;
    let events = read_events(&app, &path, |_, doc| {
        if !released {
            assert_eq!(
                doc["objects_success"], 100,
                "held after its first chunk: {doc}"
            );
            released = true;
            pause.release();
        }
    })
    .await;
    let last = events.last().unwrap();
    assert_eq!(last.0, "done");
    assert_eq!(last.1["status"], "success");
    assert_eq!(last.1["objects_success"], 300);
    never_backwards(&events, |d| d["objects_success"].as_u64().unwrap());
}
