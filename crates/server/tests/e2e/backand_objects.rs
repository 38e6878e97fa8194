//! The Backand objects API: CRUD with `__metadata`, paging, sorting and filters, `search` and
//! refused relation parameters, and CORS for browsers.

use crate::backand_common::{send, setup, sign_in, urlencode};
use crate::common::spawn_app;
use serde_json::{json, Value};

#[tokio::test]
async fn sign_in_then_objects_api() {
    let app = spawn_app().await;
    setup(&app).await;
    let session = sign_in(&app, "ann@news.io").await;
    for key in [
        "access_token",
        "token_type",
        "expires_in",
        "appName",
        "username",
        "role",
        "firstName",
        "lastName",
        "fullName",
        "regId",
        "userId",
        "refresh_token",
    ] {
        assert!(session.get(key).is_some(), "{key} in {session}");
    }
    assert_eq!(session["token_type"], "bearer");
    assert_eq!(session["appName"], "news");
    let token = session["access_token"].as_str().unwrap();

    let (s, created) = send(
        &app,
        "POST",
        "/1/objects/authors",
        token,
        Some(json!({"name": "Poe", "age": 40})),
    )
    .await;
    assert_eq!(s, 200);
    let id = created["__metadata"]["id"].as_str().unwrap().to_owned();
    let (s, full) = send(
        &app,
        "POST",
        "/1/objects/authors?returnObject=true",
        token,
        Some(json!({"name": "Woolf", "age": 59})),
    )
    .await;
    assert_eq!(
        (s, full["name"].as_str(), full["created_by"].as_str()),
        (200, Some("Woolf"), Some("ann@news.io"))
    );
    for (i, name) in ["Austen", "Borges", "Calvino"].iter().enumerate() {
        send(
            &app,
            "POST",
            "/1/objects/authors",
            token,
            Some(json!({"name": name, "age": 30 + i})),
        )
        .await;
    }

    let (s, one) = send(
        &app,
        "GET",
        &format!("/1/objects/authors/{id}"),
        token,
        None,
    )
    .await;
    assert_eq!((s, one["name"].as_str()), (200, Some("Poe")));
    assert_eq!(one["__metadata"]["id"].as_str(), Some(id.as_str()));
    let (s, upd) = send(
        &app,
        "PUT",
        &format!("/1/objects/authors/{id}"),
        token,
        Some(json!({"age": 41})),
    )
    .await;
    assert_eq!((s, upd), (200, json!({})));
    let (_, upd) = send(
        &app,
        "PUT",
        &format!("/1/objects/authors/{id}?returnObject=true"),
        token,
        Some(json!({"age": 42})),
    )
    .await;
    assert_eq!(
        (upd["age"].as_i64(), upd["name"].as_str()),
        (Some(42), Some("Poe")),
        "PUT merges"
    );

    let sort = urlencode(r#"[{"fieldName":"age","order":"desc"}]"#);
    let filter = urlencode(r#"[{"fieldName":"age","operator":"greaterThan","value":30}]"#);
    let (s, page) = send(
        &app,
        "GET",
        &format!("/1/objects/authors?pageSize=2&pageNumber=1&sort={sort}&filter={filter}"),
        token,
        None,
    )
    .await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["totalRows"], 4);
    let names: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Woolf", "Poe"]);
    let (_, page2) = send(
        &app,
        "GET",
        &format!("/1/objects/authors?pageSize=2&pageNumber=2&sort={sort}&filter={filter}"),
        token,
        None,
    )
    .await;
    let names: Vec<&str> = page2["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Calvino", "Borges"]);
    let starts = urlencode(r#"[{"fieldName":"name","operator":"startsWith","value":"C"}]"#);
    let (_, b) = send(
        &app,
        "GET",
        &format!("/1/objects/authors?filter={starts}"),
        token,
        None,
    )
    .await;
    assert_eq!(b["totalRows"], 1);

    let (s, gone) = send(
        &app,
        "DELETE",
        &format!("/1/objects/authors/{id}"),
        token,
        None,
    )
    .await;
    assert_eq!((s, gone), (200, json!({"__metadata": {"id": id}})));
    let (s, err) = send(
        &app,
        "GET",
        &format!("/1/objects/authors/{id}"),
        token,
        None,
    )
    .await;
    assert_eq!((s, err["code"].as_str()), (404, Some("not_found")));
    assert!(err["Message"].is_string());

    // A bad token gets the text the SDK refreshes on; a refresh works at /token.
    let (s, err) = send(&app, "GET", "/1/objects/authors", "expired", None).await;
    assert_eq!(
        (s, err["Message"].as_str()),
        (401, Some("invalid or expired token"))
    );
    let resp = app
        .client
        .post(app.url("/token"))
        .form(&[
            ("username", "ann@news.io"),
            ("refreshToken", session["refresh_token"].as_str().unwrap()),
            ("appname", "news"),
            ("grant_type", "password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = app
        .client
        .post(app.url("/token"))
        .form(&[
            ("username", "ann@news.io"),
            ("password", "wrong"),
            ("appName", "news"),
            ("grant_type", "password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let b: Value = resp.json().await.unwrap();
    assert_eq!(b["error"], "invalid_grant");
}

#[tokio::test]
async fn records_carry_metadata_unless_excluded() {
    let app = spawn_app().await;
    setup(&app).await;
    let fields = json!([
        {"name": "title", "type": "text", "unique": true},
        {"name": "score", "type": "number"},
        {"name": "published", "type": "datetime"},
        {"name": "day", "type": "date"}
    ]);
    app.create_object("news", "items", fields).await;
    let token = sign_in(&app, "ann@news.io").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, item) = send(
        &app,
        "POST",
        "/1/objects/items?returnObject=true",
        &token,
        Some(json!({"title": "Test 1", "score": 1.5, "published": "2017-03-08T23:13:10Z", "day": "2017-03-09"})),
    )
    .await;
    assert_eq!(s, 200, "{item}");
    let id = item["id"].as_str().unwrap().to_owned();
    let meta = &item["__metadata"];
    assert_eq!(meta["id"].as_str(), Some(id.as_str()));
    assert_eq!(
        meta["fields"]["title"],
        json!({"type": "string", "unique": true})
    );
    assert_eq!(meta["fields"]["score"], json!({"type": "float"}));
    assert_eq!(meta["fields"]["published"], json!({"type": "datetime"}));
    assert_eq!(meta["descriptives"], json!({}));
    assert_eq!(meta["dates"]["published"], "2017-03-08 23:13:10Z");
    assert_eq!(meta["dates"]["day"], "2017-03-09 00:00:00Z");

    let (_, one) = send(&app, "GET", &format!("/1/objects/items/{id}"), &token, None).await;
    assert_eq!(one["__metadata"]["fields"]["title"]["unique"], true);
    let (_, bare) = send(
        &app,
        "GET",
        &format!("/1/objects/items/{id}?exclude=metadata"),
        &token,
        None,
    )
    .await;
    assert!(
        bare.get("__metadata").is_none() && bare["title"] == "Test 1",
        "{bare}"
    );
    let (_, page) = send(&app, "GET", "/1/objects/items", &token, None).await;
    assert_eq!(page["totalRows"], 1);
    assert_eq!(
        page["data"][0]["__metadata"]["id"].as_str(),
        Some(id.as_str())
    );
    let (_, page) = send(
        &app,
        "GET",
        "/1/objects/items?exclude=metadata,totalRows",
        &token,
        None,
    )
    .await;
    assert_eq!(page.get("totalRows"), None, "{page}");
    assert!(page["data"][0].get("__metadata").is_none());
    let (_, page) = send(
        &app,
        "GET",
        "/1/objects/items?exclude=totalRows",
        &token,
        None,
    )
    .await;
    assert!(page.get("totalRows").is_none() && page["data"][0]["__metadata"].is_object());

    // A bulk delete answers as the single call does.
    let commands = json!([{"method": "DELETE", "url": format!("/1/objects/items/{id}")}]);
    let (_, b) = send(&app, "POST", "/1/bulk", &token, Some(commands)).await;
    assert_eq!(b[0]["data"], json!({"__metadata": {"id": id}}), "{b}");
}

#[tokio::test]
async fn search_finds_text_and_relation_parameters_are_refused() {
    let app = spawn_app().await;
    setup(&app).await;
    let token = sign_in(&app, "ann@news.io").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for (title, views) in [("Poetry today", 5), ("The POET", 50), ("Prose", 7)] {
        send(
            &app,
            "POST",
            "/1/objects/articles",
            &token,
            Some(json!({"title": title, "views": views})),
        )
        .await;
    }
    let (s, b) = send(&app, "GET", "/1/objects/articles?search=poet", &token, None).await;
    assert_eq!((s, b["totalRows"].as_u64()), (200, Some(2)), "{b}");
    let filter = urlencode(r#"[{"fieldName":"views","operator":"lessThan","value":10}]"#);
    let (_, b) = send(
        &app,
        "GET",
        &format!("/1/objects/articles?search=POET&filter={filter}"),
        &token,
        None,
    )
    .await;
    assert_eq!(b["totalRows"], 1);
    assert_eq!(b["data"][0]["title"], "Poetry today");
    let (_, b) = send(
        &app,
        "GET",
        "/1/objects/articles?search=nothing",
        &token,
        None,
    )
    .await;
    assert_eq!(b["totalRows"], 0);

    for param in ["deep=true", "relatedObjects=true", "level=2"] {
        let (s, e) = send(
            &app,
            "GET",
            &format!("/1/objects/articles?{param}"),
            &token,
            None,
        )
        .await;
        let name = param.split('=').next().unwrap();
        assert_eq!(s, 400, "{param}: {e}");
        assert!(e["Message"].as_str().unwrap().contains(name), "{e}");
    }
    let (_, b) = send(&app, "GET", "/1/objects/articles?deep=false", &token, None).await;
    assert_eq!(b["totalRows"], 3);
    let commands =
        json!([{"method": "GET", "url": "/1/objects/articles", "parameters": {"deep": true}}]);
    let (_, b) = send(&app, "POST", "/1/bulk", &token, Some(commands)).await;
    assert_eq!(b[0]["status"], 400, "{b}");
}

#[tokio::test]
async fn browser_preflight_gets_cors_headers() {
    let app = spawn_app().await;
    let resp = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/1/objects/articles"))
        .header("Origin", "http://localhost:3000")
        .header("Access-Control-Request-Method", "PUT")
        .header(
            "Access-Control-Request-Headers",
            "authorization, anonymoustoken, content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("PUT"));
    assert!(h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("anonymoustoken"));
    let resp = app
        .client
        .get(app.url("/healthz"))
        .header("Origin", "http://localhost:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
}
