//! Backand's `/1/bulk`: the seed's request with mixed users and a failure, idempotent replays,
//! and commands acting in other apps, anonymously or as the admin.

use crate::backand_common::{b64, send, setup, sign_in};
use crate::common::{spawn_app, ADMIN};
use serde_json::{json, Value};

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
