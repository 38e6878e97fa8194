//! The Backand dialect: objects API with `__metadata`, `search` and refused parameters, `/1/bulk`
//! with per-command credentials and apps, credentials in the query string, `/token` sign-in,
//! sign-up and sign-out, error shape and CORS.

use crate::common::{spawn_app, TestApp, ADMIN};
use serde_json::{json, Value};

/// App `news` with objects `articles` and `authors`, a user `ann` (writer) and `rob` (reader).
async fn setup(app: &TestApp) {
    app.create_app("news").await;
    let title = json!([{"name": "title", "type": "text", "required": true}, {"name": "views", "type": "integer"}]);
    app.create_object("news", "articles", title).await;
    let name = json!([{"name": "name", "type": "text", "required": true, "unique": true}, {"name": "age", "type": "integer"}]);
    app.create_object("news", "authors", name).await;
    app.create_user("news", "ann@news.io", "writer").await;
    app.create_user("news", "rob@news.io", "reader").await;
}

/// Signs in at `/token` the way Backand's SDK does (form-encoded).
async fn sign_in(app: &TestApp, user: &str) -> Value {
    let resp = app
        .client
        .post(app.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "username={}&password=password-1&appName=news&grant_type=password",
            user.replace('@', "%40")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    let (s, v) = app
        .send(method, path, &[("Authorization", &auth)], body)
        .await;
    (s.as_u16(), v)
}

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

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn the_seed_bulk_request_with_mixed_users_and_a_failure() {
    let app = spawn_app().await;
    setup(&app).await;
    let ann = sign_in(&app, "ann@news.io").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let rob = sign_in(&app, "rob@news.io").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, author) = send(
        &app,
        "POST",
        "/1/objects/authors?returnObject=true",
        &ann,
        Some(json!({"name": "Old", "age": 1})),
    )
    .await;
    let (_, news) = send(
        &app,
        "POST",
        "/1/objects/articles?returnObject=true",
        &ann,
        Some(json!({"title": "stale"})),
    )
    .await;
    let api = "https://api.backand.com";
    // The seed's example: create a news article and an author, update an author, delete a news item.
    let commands = json!([
        {"method": "POST", "url": format!("{api}/1/objects/articles"), "data": {"title": "Bulk news", "views": 0}},
        {"method": "POST", "url": format!("{api}/1/objects/authors"), "data": {"name": "New"}, "parameters": {"returnObject": true}},
        {"method": "PUT", "url": format!("{api}/1/objects/authors/{}", author["id"].as_str().unwrap()), "data": {"age": 2}},
        {"method": "POST", "url": format!("{api}/1/objects/authors"), "data": {"name": "New"}},
        {"method": "POST", "url": format!("{api}/1/objects/articles"), "data": {"title": "by rob"},
         "headers": {"Authorization": format!("Bearer {rob}"), "AppName": "news"}},
        {"method": "DELETE", "url": format!("{api}/1/objects/articles/{}", news["id"].as_str().unwrap())},
        {"method": "GET", "url": format!("{api}/1/objects/articles"), "headers": {"Authorization": format!("Bearer {rob}")}}
    ]);
    let (s, b) = send(&app, "POST", "/1/bulk", &ann, Some(commands)).await;
    assert_eq!(s, 200, "{b}");
    let statuses: Vec<u64> = b
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 200, 200, 409, 403, 200, 200]);
    assert!(b[0]["data"]["__metadata"]["id"].is_string());
    assert_eq!(b[1]["data"]["name"], "New");
    assert_eq!(b[3]["data"]["code"], "unique_violation");
    assert_eq!(
        b[6]["data"]["totalRows"], 1,
        "rob reads what the bulk wrote: {}",
        b[6]
    );
    let (_, got) = send(
        &app,
        "GET",
        &format!("/1/objects/authors/{}", author["id"].as_str().unwrap()),
        &ann,
        None,
    )
    .await;
    assert_eq!(got["age"], 2);
    assert_eq!(got["updated_by"], "ann@news.io");

    // With an Idempotency-Key the bulk runs once: the repeat replays the first answer.
    let once = json!([{"method": "POST", "url": format!("{api}/1/objects/authors"), "data": {"name": "Once"}}]);
    let auth = format!("Bearer {ann}");
    let send_keyed = || {
        app.keyed(
            "POST",
            "/1/bulk",
            ("Authorization", &auth),
            "backand-bulk-1",
            &once,
        )
    };
    let (_, _, first) = send_keyed().await;
    let (_, replayed, again) = send_keyed().await;
    assert!(replayed);
    assert_eq!(again, first);
    let (_, q) = app
        .admin(
            "POST",
            "/v1/apps/news/query",
            Some(json!({"sql": "SELECT count(*) FROM authors WHERE name = 'Once'"})),
        )
        .await;
    assert_eq!(q["rows"][0][0], 1);

    // Wrong shapes get Backand's error body.
    let (s, e) = send(
        &app,
        "POST",
        "/1/bulk",
        &ann,
        Some(json!({"method": "GET"})),
    )
    .await;
    assert_eq!((s, e["code"].as_str()), (400, Some("invalid_request")));
    assert!(e["Message"].as_str().unwrap().contains("array"));
    let (s, e) = send(
        &app,
        "POST",
        "/1/bulk",
        &ann,
        Some(json!([{"method": "GET", "url": "https://api.backand.com/2/other"}])),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        (e[0]["status"].as_u64(), e[0]["data"]["code"].as_str()),
        (Some(404), Some("not_found"))
    );
    let (s, e) = send(&app, "GET", "/1/objects/nope", &ann, None).await;
    assert_eq!((s, e["code"].as_str()), (404, Some("not_found")));
    let too_many: Vec<Value> = (0..1001)
        .map(|_| json!({"method": "GET", "url": "/1/objects/articles"}))
        .collect();
    let (s, e) = send(&app, "POST", "/1/bulk", &ann, Some(Value::Array(too_many))).await;
    assert_eq!((s, e["code"].as_str()), (413, Some("limit_exceeded")));
}

#[tokio::test]
async fn commands_act_in_other_apps_and_anonymously() {
    let app = spawn_app().await;
    setup(&app).await;
    app.admin(
        "POST",
        "/v1/apps",
        Some(json!({"name": "blog", "anonymous_role": "writer"})),
    )
    .await;
    app.admin(
        "POST",
        "/v1/apps/blog/objects",
        Some(json!({"name": "posts", "fields": [{"name": "t", "type": "text"}]})),
    )
    .await;
    let (_, blog) = app.admin("GET", "/v1/apps/blog", None).await;
    let anon = blog["anonymous_token"].as_str().unwrap().to_owned();
    let blog_key = app.token("blog", "bot", "writer").await;
    let ann = sign_in(&app, "ann@news.io").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let commands = json!([
        {"method": "POST", "url": "/1/objects/articles", "data": {"title": "in news"}},
        {"method": "POST", "url": "/1/objects/posts", "data": {"t": "as bot"}, "headers": {"Authorization": format!("Bearer {blog_key}")}},
        {"method": "POST", "url": "/1/objects/posts", "data": {"t": "anonymous"}, "headers": {"AnonymousToken": anon}},
        {"method": "POST", "url": "/1/objects/posts", "data": {"t": "admin"}, "headers": json!({"Authorization": format!("Basic {}", b64(&format!(":{ADMIN}"))), "AppName": "blog"}).to_string()},
        {"method": "POST", "url": "/1/objects/posts", "data": {"t": "wrong app"}}
    ]);
    let (s, b) = send(&app, "POST", "/1/bulk", &ann, Some(commands)).await;
    assert_eq!(s, 200);
    let statuses: Vec<u64> = b
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 200, 200, 200, 404], "{b}");
    let (_, posts) = app
        .admin(
            "GET",
            "/v1/apps/blog/objects/posts/records?sort=created_at",
            None,
        )
        .await;
    let by: Vec<&str> = posts["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["created_by"].as_str().unwrap())
        .collect();
    assert_eq!(by, ["bot", "anonymous", "admin"]);
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
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
async fn credentials_in_the_query_string() {
    let app = spawn_app().await;
    setup(&app).await;
    app.admin(
        "POST",
        "/v1/apps",
        Some(json!({"name": "blog", "anonymous_role": "reader"})),
    )
    .await;
    app.create_object("blog", "posts", json!([{"name": "t", "type": "text"}]))
        .await;
    let (_, blog) = app.admin("GET", "/v1/apps/blog", None).await;
    let anon = blog["anonymous_token"].as_str().unwrap().to_owned();
    let key = app.token("news", "bot", "writer").await;

    let (s, b) = app
        .send(
            "GET",
            &format!("/1/objects/posts?AnonymousToken={anon}"),
            &[],
            None,
        )
        .await;
    assert_eq!((s.as_u16(), b["totalRows"].as_u64()), (200, Some(0)), "{b}");
    // Backand's docs: `?authorization=basic <master key>:<user key>` (the `+` is a space).
    let (s, b) = app
        .send(
            "POST",
            &format!("/1/objects/articles?authorization=basic+master:{key}"),
            &[],
            Some(json!({"title": "raw"})),
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{b}");
    let encoded = urlencode(&b64(&format!("master:{key}")));
    let (s, b) = app
        .send(
            "GET",
            &format!("/1/objects/articles?authorization=Basic%20{encoded}"),
            &[],
            None,
        )
        .await;
    assert_eq!(
        (s.as_u16(), b["data"][0]["created_by"].as_str()),
        (200, Some("bot")),
        "{b}"
    );
    let (s, e) = app
        .send(
            "GET",
            "/1/objects/articles?authorization=basic+master:wrong",
            &[],
            None,
        )
        .await;
    assert_eq!(
        (s.as_u16(), e["Message"].as_str()),
        (401, Some("invalid or expired token"))
    );

    // Inside a bulk request, a command's URL may carry them too.
    let ann = sign_in(&app, "ann@news.io").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let commands = json!([
        {"method": "POST", "url": format!("https://api.backand.com/1/objects/articles?authorization=basic%20:{key}"), "data": {"title": "by bot"}},
        {"method": "GET", "url": format!("/1/objects/posts?AnonymousToken={anon}")},
        {"method": "POST", "url": "/1/objects/articles", "data": {"title": "by ann"}}
    ]);
    let (s, b) = send(&app, "POST", "/1/bulk", &ann, Some(commands)).await;
    assert_eq!(s, 200);
    let statuses: Vec<u64> = b
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 200, 200], "{b}");
    assert!(b[0]["data"]["__metadata"]["id"].is_string());
    let (_, list) = send(
        &app,
        "GET",
        "/1/objects/articles?sort=%5B%7B%22fieldName%22%3A%22title%22%7D%5D",
        &ann,
        None,
    )
    .await;
    let by: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["created_by"].as_str().unwrap())
        .collect();
    assert_eq!(by, ["ann@news.io", "bot", "bot"], "{list}");
}

#[tokio::test]
async fn sign_up_then_sign_in_and_sign_out() {
    let app = spawn_app().await;
    setup(&app).await;
    let (_, news) = app.admin("GET", "/v1/apps/news", None).await;
    let signup_token = news["signup_token"].as_str().unwrap().to_owned();
    // What the SDK's `signup(firstName, lastName, email, password, confirmPassword, parameters)` sends.
    let body = json!({"firstName": "Matt", "lastName": "Test", "email": "matt@news.io", "password": "secret-pass", "confirmPassword": "secret-pass", "parameters": {}});
    let (s, b) = app
        .send(
            "POST",
            "/1/user/signup",
            &[("SignUpToken", &signup_token)],
            Some(body.clone()),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (b["username"].as_str(), b["currentStatus"].as_u64()),
        (Some("matt@news.io"), Some(1))
    );
    assert_eq!(b["message"], "The user is ready to sign in");
    assert_eq!(b["listOfPossibleStatus"].as_array().map(Vec::len), Some(3));
    assert!(b["token"].is_string());
    // The SDK then signs in with the answer's username (runSigninAfterSignup).
    let resp = app
        .client
        .post(app.url("/token"))
        .form(&[
            ("username", "matt@news.io"),
            ("password", "secret-pass"),
            ("appName", "news"),
            ("grant_type", "password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let session: Value = resp.json().await.unwrap();
    assert_eq!(
        (session["role"].as_str(), session["firstName"].as_str()),
        (Some("reader"), Some("Matt"))
    );
    let token = session["access_token"].as_str().unwrap().to_owned();

    let (s, e) = app
        .send(
            "POST",
            "/1/user/signup",
            &[("SignUpToken", &signup_token)],
            Some(body.clone()),
        )
        .await;
    assert_eq!(
        (s.as_u16(), e["code"].as_str()),
        (409, Some("conflict")),
        "{e}"
    );
    let mut mismatch = body.clone();
    mismatch["email"] = json!("other@news.io");
    mismatch["confirmPassword"] = json!("something-else");
    let (s, e) = app
        .send(
            "POST",
            "/1/user/signup",
            &[("SignUpToken", &signup_token)],
            Some(mismatch),
        )
        .await;
    assert_eq!(s.as_u16(), 400, "{e}");
    let (s, e) = app
        .send(
            "POST",
            "/1/user/signup",
            &[("SignUpToken", "wrong")],
            Some(body),
        )
        .await;
    assert_eq!(
        (s.as_u16(), e["code"].as_str()),
        (401, Some("unauthorized"))
    );

    // Sign-out revokes the token.
    let (s, b) = send(&app, "GET", "/1/user/signout", &token, None).await;
    assert_eq!((s, b), (200, json!({})));
    let (s, _) = send(&app, "GET", "/1/objects/articles", &token, None).await;
    assert_eq!(s, 401);
}
