//! What operators and tools read: readiness, who a token is, request ids, Prometheus metrics that
//! move, the OpenAPI document (every operation it lists is served), and the pages at `/` and
//! `/docs` (the reference's Markdown rendered by the server), which load nothing from elsewhere.

use crate::common::spawn_app;
use serde_json::{json, Value};

#[tokio::test]
async fn ready_me_and_request_ids() {
    let app = spawn_app().await;
    let (s, b) = app.send("GET", "/readyz", &[], None).await;
    assert_eq!((s.as_u16(), &b["status"]), (200, &json!("ready")));
    let (s, b) = app.admin("GET", "/v1/me", None).await;
    assert_eq!((s.as_u16(), &b["kind"]), (200, &json!("admin")), "{b}");
    app.setup_crm().await;
    let token = app.token("crm", "alice", "reader").await;
    let (_, b) = app.call("GET", "/v1/me", Some(&token), None).await;
    assert_eq!(
        b,
        json!({"kind": "app", "user": "alice", "app": "crm", "role": "reader"})
    );
    let (s, _) = app.call("GET", "/v1/me", Some("nope"), None).await;
    assert_eq!(s, 401);
    let resp = app
        .client
        .get(app.url("/healthz"))
        .header("X-Request-Id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "abc-123", "echoed");
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    let made = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(
        made.len(),
        36,
        "a new UUID when the caller sends none: {made}"
    );
}

/// The value of a sample in Prometheus text, found by its name and labels.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("the metrics parse as Prometheus text");
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) => v,
            prometheus_parse::Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum()
}

#[tokio::test]
async fn metrics_parse_and_move_after_a_bulk_request() {
    let app = spawn_app().await;
    app.setup_crm().await;
    let read = || async {
        let resp = app.client.get(app.url("/metrics")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        resp.text().await.unwrap()
    };
    let before = read().await;
    let ops: Vec<Value> = (0..25)
        .map(|i| json!({"method": "POST", "url": "/v1/apps/crm/objects/contacts/records", "body": {"email": format!("m{i}@x")}}))
        .collect();
    let (s, _) = app
        .admin("POST", "/v1/bulk", Some(json!({ "operations": ops })))
        .await;
    assert_eq!(s, 200);
    let after = read().await;
    let ok = |t: &str| sample(t, "sluice_bulk_operations_total", &[("outcome", "ok")]);
    assert!(ok(&after) >= ok(&before) + 25.0, "bulk operations counted");
    let bulk = [("route", "/v1/bulk"), ("status", "200")];
    let requests = |t: &str| sample(t, "sluice_http_requests_total", &bulk);
    assert!(requests(&after) >= requests(&before) + 1.0);
    assert!(
        after.contains("sluice_http_request_duration_seconds_bucket"),
        "a histogram"
    );
    assert!(
        after.contains("sluice_writer_queue_wait_seconds"),
        "{after}"
    );
    assert!(
        after.contains("sluice_queue_depth{kind=\"jobs\"}"),
        "{after}"
    );
}

/// Each operation of the document, called with made-up ids: the router knows it (the answer is
/// never "no endpoint" nor 405).
#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = spawn_app().await;
    let (s, doc) = app.send("GET", "/openapi.json", &[], None).await;
    assert_eq!(s, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 30, "{}", paths.len());
    for (path, item) in paths {
        let concrete = path
            .replace("{app}", "nope")
            .replace("{object}", "nope")
            .replace("{id}", "00000000-0000-7000-8000-000000000000")
            .replace("{name}", "nope");
        for method in item.as_object().unwrap().keys() {
            let m = method.to_uppercase();
            if m == "GET" && concrete.ends_with("/events") {
                continue; // an event stream of a missing job is a 404 like the rest, but slow to read
            }
            let body = matches!(m.as_str(), "POST" | "PATCH" | "PUT").then(|| json!({}));
            let (s, b) = app.admin(&m, &concrete, body).await;
            let unknown = b["error"]["message"]
                .as_str()
                .is_some_and(|msg| msg.starts_with("no endpoint"));
            assert!(!unknown && s != 405, "{m} {path}: {s} {b}");
        }
    }
}

#[tokio::test]
async fn the_index_and_docs_pages_need_nothing_from_elsewhere() {
    let app = spawn_app().await;
    for path in ["/", "/docs"] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let html = resp.text().await.unwrap();
        assert!(
            !html.contains("://"),
            "{path} links only to this server: {html}"
        );
    }
    let js = app
        .client
        .get(app.url("/assets/docs.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    let js = js.text().await.unwrap();
    assert!(
        js.contains("/assets/docs.json") && !js.contains("http"),
        "no remote assets"
    );
}

/// What `/docs` shows is the OpenAPI document with its Markdown rendered by the server: code as
/// `<code>`, no backtick left, and a `<token>` placeholder kept as text rather than taken for a tag.
#[tokio::test]
async fn the_docs_page_gets_its_markdown_as_html() {
    fn texts<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(map) => {
                for (k, x) in map {
                    match x.as_str() {
                        Some(s) if k == "summary" || k == "description" => out.push(s),
                        _ => texts(x, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|x| texts(x, out)),
            _ => {}
        }
    }
    let app = spawn_app().await;
    let (s, doc) = app.send("GET", "/assets/docs.json", &[], None).await;
    assert_eq!(s, 200);
    let intro = doc["info"]["description"].as_str().unwrap();
    assert!(
        intro.contains("<code>Authorization: Bearer &lt;token&gt;</code>"),
        "{intro}"
    );
    let mut all = Vec::new();
    texts(&doc, &mut all);
    assert!(all.len() > 100, "{}", all.len());
    let raw: Vec<_> = all.iter().filter(|t| t.contains('`')).collect();
    assert!(raw.is_empty(), "backticks left: {raw:?}");
    let code = all.iter().filter(|t| t.contains("<code>")).count();
    assert!(code > 20, "{code} descriptions with code");
}
