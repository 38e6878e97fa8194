//! The Fulcrum dialect: the seed's batch flow, the paginated batch list, forms by id, the Query
//! API (CSV without headers, pages, GeoJSON), Fulcrum's error shapes, and Fulcrum's own Python
//! client (`fulcrum` on PyPI) querying sluice.

use crate::common::{poll, spawn_app_with, TestApp};
use serde_json::{json, Value};
use std::process::Command;

/// App `field` with object `inspections` labelled "Testing App" (it has a `status` field) and 40
/// records, 15 marked `delete_this`; returns an owner token and the object's id (Fulcrum's form_id).
async fn setup(app: &TestApp) -> (String, String) {
    app.admin("POST", "/v1/apps", Some(json!({"name": "field"})))
        .await;
    let (_, obj) = app
        .admin(
            "POST",
            "/v1/apps/field/objects",
            Some(json!({"name": "inspections", "label": "Testing App", "fields": [
                {"name": "site", "type": "text"}, {"name": "status", "type": "text"}, {"name": "score", "type": "integer"}
            ]})),
        )
        .await;
    let ops: Vec<Value> = (0..40)
        .map(|i| json!({"method": "POST", "url": "/v1/apps/field/objects/inspections/records",
                        "body": {"site": format!("site {i:02}"), "status": if i % 8 < 3 { "delete_this" } else { "keep" }, "score": i}}))
        .collect();
    app.admin("POST", "/v1/bulk", Some(json!({"operations": ops})))
        .await;
    app.admin("POST", "/v1/apps/field/users", Some(json!({"name": "vince", "password": "password-1", "role": "writer", "first_name": "Vincent", "last_name": "Lauffer"})))
        .await;
    let token = app.token("field", "vince", "writer").await;
    (token, obj["id"].as_str().unwrap().to_owned())
}

async fn fulcrum(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let headers: Vec<(&str, &str)> = token.map(|t| ("X-ApiToken", t)).into_iter().collect();
    let (s, v) = app.send(method, path, &headers, body).await;
    (s.as_u16(), v)
}

#[tokio::test]
async fn the_seed_batch_flow() {
    let app = spawn_app_with(|_| {}).await;
    let (token, form_id) = setup(&app).await;
    let body = json!({"batch": {"start": true, "operations": [{
        "action": "delete", "resource": "record", "form_id": form_id,
        "query": "SELECT _record_id AS id FROM \"Testing App\" WHERE _status='delete_this'"
    }]}});
    let (s, b) = fulcrum(&app, "POST", "/api/v2/batch.json", Some(&token), Some(body)).await;
    assert_eq!(s, 200, "{b}");
    let batch = &b["batch"];
    for key in [
        "id",
        "status",
        "objects_total",
        "objects_success",
        "created_at",
        "updated_at",
        "created_by",
        "created_by_id",
        "updated_by",
        "updated_by_id",
        "started_at",
        "completed_at",
    ] {
        assert!(batch.get(key).is_some(), "{key} in {batch}");
    }
    assert_eq!(
        (
            batch["created_by"].as_str(),
            batch["objects_total"].as_u64()
        ),
        (Some("Vincent Lauffer"), Some(15))
    );
    let id = batch["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v2/batch/{id}.json");
    let done = poll("the batch to succeed", || async {
        let (s, b) = fulcrum(&app, "GET", &path, Some(&token), None).await;
        assert_eq!(s, 200);
        (b["batch"]["status"] != "running").then(|| b["batch"].clone())
    })
    .await;
    assert_eq!(
        (done["status"].as_str(), done["objects_success"].as_u64()),
        (Some("success"), Some(15)),
        "{done}"
    );
    assert_eq!(app.count("field", "inspections").await, 25);

    // The ids method, created pending and started later; without `.json` too.
    let (_, rows) = app
        .admin(
            "POST",
            "/v1/apps/field/query",
            Some(json!({"sql": "SELECT id FROM inspections ORDER BY site LIMIT 2"})),
        )
        .await;
    let ids: Vec<&str> = rows["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap())
        .collect();
    let body = json!({"batch": {"start": false, "operations": [
        {"action": "delete", "resource": "record", "form_id": form_id, "ids": ids},
        {"action": "delete", "resource": "record", "form_id": form_id, "query": "SELECT _record_id AS id FROM \"Testing App\""}
    ]}});
    let (s, b) = fulcrum(&app, "POST", "/api/v2/batch", Some(&token), Some(body)).await;
    assert_eq!(
        (s, b["batch"]["status"].as_str()),
        (200, Some("pending")),
        "{b}"
    );
    let id = b["batch"]["id"].as_str().unwrap().to_owned();
    let (s, b) = fulcrum(
        &app,
        "POST",
        &format!("/api/v2/batch/{id}/start.json"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        (s, b["batch"]["objects_total"].as_u64()),
        (200, Some(2)),
        "only the first operation runs: {b}"
    );
    let path = format!("/api/v2/batch/{id}");
    poll("the batch to succeed", || async {
        let (_, b) = fulcrum(&app, "GET", &path, Some(&token), None).await;
        (b["batch"]["status"] == "success").then_some(())
    })
    .await;
    assert_eq!(app.count("field", "inspections").await, 23);
    let (s, b) = fulcrum(&app, "GET", "/api/v2/batch.json", Some(&token), None).await;
    assert_eq!((s, b["batches"].as_array().map(Vec::len)), (200, Some(2)));
    assert_eq!(
        (
            &b["current_page"],
            &b["total_pages"],
            &b["total_count"],
            &b["per_page"]
        ),
        (&json!(1), &json!(1), &json!(2), &json!(20000))
    );

    // Fulcrum's rules and error shape.
    let both = json!({"batch": {"start": true, "operations": [{"action": "delete", "resource": "record", "form_id": form_id, "ids": [ids[0]], "query": "SELECT _record_id AS id FROM \"Testing App\""}]}});
    let (s, e) = fulcrum(&app, "POST", "/api/v2/batch.json", Some(&token), Some(both)).await;
    assert_eq!((s, e["status"].as_u64()), (400, Some(400)), "{e}");
    assert!(e["error"].is_string());
    let no_id = json!({"batch": {"start": true, "operations": [{"action": "delete", "resource": "record", "form_id": form_id, "query": "SELECT site FROM \"Testing App\""}]}});
    let (s, e) = fulcrum(
        &app,
        "POST",
        "/api/v2/batch.json",
        Some(&token),
        Some(no_id),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    let (s, e) = fulcrum(
        &app,
        "POST",
        "/api/v2/batch.json",
        None,
        Some(json!({"batch": {"operations": []}})),
    )
    .await;
    assert_eq!((s, e), (401, json!({"error": "Unauthorized"})));
    let (s, e) = fulcrum(
        &app,
        "GET",
        "/api/v2/batch/01a21100-0000-7000-8000-000000000000.json",
        Some(&token),
        None,
    )
    .await;
    assert_eq!((s, e["status"].as_u64()), (404, Some(404)));
    assert!(e["error"].is_string());
    let (s, _) = fulcrum(
        &app,
        "POST",
        &format!("/api/v2/batch/{id}/stop.json"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, 404, "a started batch cannot be stopped");
}

#[tokio::test]
async fn the_query_api() {
    let app = spawn_app_with(|_| {}).await;
    let (token, _) = setup(&app).await;
    let sql = "SELECT _record_id, site, _status, score FROM \"Testing App\" WHERE score < 3 ORDER BY score";
    let resp = app
        .client
        .get(app.url("/api/v2/query"))
        .query(&[("q", sql), ("format", "json")])
        .header("X-ApiToken", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let b: Value = resp.json().await.unwrap();
    assert_eq!(
        b["fields"][0],
        json!({"name": "_record_id", "type": "string"})
    );
    assert_eq!(b["fields"][3], json!({"name": "score", "type": "integer"}));
    assert_eq!(b["rows"].as_array().unwrap().len(), 3);
    assert_eq!(
        (
            b["rows"][1]["site"].as_str(),
            b["rows"][1]["_status"].as_str()
        ),
        (Some("site 01"), Some("delete_this"))
    );
    // CSV is the default format.
    let resp = app
        .client
        .post(app.url("/api/v2/query.json"))
        .header("X-ApiToken", &token)
        .json(&json!({"q": "SELECT site FROM inspections WHERE score = 7"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), "site\nsite 07\n");
    let (s, e) = fulcrum(
        &app,
        "POST",
        "/api/v2/query",
        Some(&token),
        Some(json!({"q": "DELETE FROM inspections", "format": "json"})),
    )
    .await;
    assert_eq!(s, 400);
    assert!(e["error"].as_str().unwrap().contains("SELECT"), "{e}");
    assert!(
        e.get("status").is_none(),
        "query errors are {{\"error\"}}: {e}"
    );
    // On PostgreSQL the Query API speaks PostgreSQL, as Fulcrum's own does: casts, ILIKE.
    if crate::pgdb::base().is_some() {
        let pg_sql = "SELECT site || '!' AS s, score::text AS t FROM \"Testing App\" \
                      WHERE site ILIKE 'SITE 0%' ORDER BY score LIMIT 1";
        let resp = app
            .client
            .get(app.url("/api/v2/query"))
            .query(&[("q", pg_sql), ("format", "csv")])
            .header("X-ApiToken", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.text().await.unwrap(), "s,t\nsite 00!,0\n");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fulcrums_python_client_queries_sluice() {
    let Some(pydeps) = crate::common::python_deps("fulcrum", "fulcrum==1.12.0") else {
        return;
    };
    let app = spawn_app_with(|_| {}).await;
    let (token, _) = setup(&app).await;
    let script = r#"
import json, sys
from fulcrum import Fulcrum
f = Fulcrum(sys.argv[1], sys.argv[2])
rows = f.query('SELECT _record_id, site, score FROM "Testing App" WHERE _status = \'keep\' ORDER BY score LIMIT 3', 'json')
csv = f.query('SELECT count(*) AS n FROM inspections', 'csv')
# A base URL ending in "/" makes the client ask for "//api/v2/query".
one = Fulcrum(sys.argv[1], sys.argv[2] + '/').query('SELECT 1 AS one', 'json')
print(json.dumps({"json": rows, "csv": csv.decode(), "one": one["rows"]}))
"#;
    let (base, token2) = (format!("http://{}", app.addr), token.clone());
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args(["-c", script, &token2, &base])
            .env("PYTHONPATH", &pydeps)
            .output()
            .expect("python3 runs")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sites: Vec<&str> = got["json"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["site"].as_str().unwrap())
        .collect();
    assert_eq!(sites, ["site 03", "site 04", "site 05"]);
    assert_eq!(got["json"]["fields"][1]["name"], "site");
    assert_eq!(got["csv"], "n\n40\n");
    assert_eq!(got["one"], json!([{"one": 1}]));
}

#[tokio::test]
async fn forms_by_id_the_batch_list_in_pages_and_query_parameters() {
    let app = spawn_app_with(|_| {}).await;
    let (token, form_id) = setup(&app).await;
    // "You can query a form by its name … or its ID" (Fulcrum's Query API docs).
    let resp = app
        .client
        .get(app.url("/api/v2/query"))
        .query(&[(
            "q",
            format!("SELECT count(*) AS n FROM \"{form_id}\" WHERE _status = 'keep'").as_str(),
        )])
        .header("X-ApiToken", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), "n\n25\n");
    // Batches address forms by id in their queries too.
    for start in [false, false, false] {
        let body = json!({"batch": {"start": start, "operations": [{
            "action": "delete", "resource": "record", "form_id": form_id,
            "query": format!("SELECT _record_id AS id FROM \"{form_id}\" WHERE score > 100")
        }]}});
        let (s, b) = fulcrum(&app, "POST", "/api/v2/batch.json", Some(&token), Some(body)).await;
        assert_eq!(s, 200, "{b}");
    }
    let (s, b) = fulcrum(
        &app,
        "GET",
        "/api/v2/batch.json?page=2&per_page=2",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["batches"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        (
            &b["current_page"],
            &b["total_pages"],
            &b["total_count"],
            &b["per_page"]
        ),
        (&json!(2), &json!(2), &json!(3), &json!(2))
    );
    let (_, first) = fulcrum(&app, "GET", "/api/v2/batch?per_page=2", Some(&token), None).await;
    let ids: Vec<&str> = first["batches"]
        .as_array()
        .unwrap()
        .iter()
        .chain(b["batches"].as_array().unwrap())
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.iter().collect::<std::collections::HashSet<_>>().len(),
        3,
        "pages do not overlap"
    );
    let (s, e) = fulcrum(&app, "GET", "/api/v2/batch.json?page=0", Some(&token), None).await;
    assert_eq!((s, e["status"].as_u64()), (400, Some(400)), "{e}");

    // CSV without its header line; pages of a query's rows.
    let q = |extra: &[(&str, &str)]| {
        let mut params = vec![("q", "SELECT site FROM inspections ORDER BY score")];
        params.extend_from_slice(extra);
        app.client
            .get(app.url("/api/v2/query"))
            .query(&params)
            .header("X-ApiToken", &token)
            .send()
    };
    let text = q(&[("headers", "false"), ("per_page", "2")])
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, "site 00\nsite 01\n");
    let text = q(&[("page", "3"), ("per_page", "2")])
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, "site\nsite 04\nsite 05\n");
    let text = q(&[
        ("sort_column", "site"),
        ("sort_direction", "desc"),
        ("per_page", "1"),
    ])
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert_eq!(text, "site\nsite 39\n");
    let resp = q(&[("sort_column", "nope")]).await.unwrap();
    assert_eq!(resp.status(), 400, "a column the result lacks");
    let b: Value = q(&[("format", "json"), ("page", "21"), ("per_page", "2")])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(b["rows"].as_array().map(Vec::len), Some(0), "{b}");
    let resp = q(&[("per_page", "x")]).await.unwrap();
    assert_eq!(resp.status(), 400);
    let e: Value = resp.json().await.unwrap();
    assert!(e["error"].is_string() && e.get("status").is_none(), "{e}");
}

#[tokio::test]
async fn geojson_features_with_and_without_a_location() {
    let app = spawn_app_with(|_| {}).await;
    let (token, _) = setup(&app).await;
    app.create_object(
        "field",
        "parks",
        json!([{"name": "name", "type": "text"}, {"name": "latitude", "type": "number"}, {"name": "longitude", "type": "number"}]),
    )
    .await;
    let ops: Vec<Value> = [("Elm", Some((40.5, -74.25))), ("Nowhere", None)]
        .iter()
        .map(|(name, at)| {
            let (lat, lon) = at.map_or((Value::Null, Value::Null), |(a, o)| (json!(a), json!(o)));
            json!({"method": "POST", "url": "/v1/apps/field/objects/parks/records",
                   "body": {"name": name, "latitude": lat, "longitude": lon}})
        })
        .collect();
    app.admin("POST", "/v1/bulk", Some(json!({"operations": ops})))
        .await;
    let get = |sql: &'static str| {
        app.client
            .get(app.url("/api/v2/query"))
            .query(&[("q", sql), ("format", "geojson")])
            .header("X-ApiToken", &token)
            .send()
    };
    let b: Value = get("SELECT name, _latitude, _longitude FROM parks ORDER BY name")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(b["type"], "FeatureCollection", "{b}");
    let f = &b["features"];
    assert_eq!(
        f[0],
        json!({"type": "Feature", "properties": {"name": "Elm", "_latitude": 40.5, "_longitude": -74.25},
               "geometry": {"type": "Point", "coordinates": [-74.25, 40.5]}})
    );
    assert_eq!(
        (f[1]["properties"]["name"].as_str(), &f[1]["geometry"]),
        (Some("Nowhere"), &Value::Null)
    );
    // A `_geometry` column is the geometry, and leaves the properties.
    let b: Value = get("SELECT name, 'POINT(1.5 2)' AS _geometry FROM parks WHERE name = 'Elm'")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        b["features"][0]["geometry"],
        json!({"type": "Point", "coordinates": [1.5, 2.0]})
    );
    assert_eq!(b["features"][0]["properties"], json!({"name": "Elm"}));
    // A form without a location: every feature's geometry is null.
    let b: Value = get("SELECT site FROM inspections WHERE score < 2")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(b["features"].as_array().map(Vec::len), Some(2));
    assert!(b["features"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["geometry"].is_null()));
}
