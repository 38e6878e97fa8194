//! Backand's relations: collections in `__metadata.fields` (`{"collection", "via"}`) beside the
//! many side's `{"object"}`, and `deep=true` on one record's read embedding each collection, the
//! many side keeping ids; `deep` stays refused on lists and in bulk.

use crate::backand_common::{send, setup, sign_in};
use crate::common::{spawn_app, TestApp};
use serde_json::{json, Value};

/// `books` point at `authors`; `reviews` point at `books` and at `authors`.
async fn relations(app: &TestApp) {
    let books = json!([
        {"name": "title", "type": "text", "required": true},
        {"name": "author", "type": "relation", "object": "authors", "on_delete": "cascade"}
    ]);
    app.create_object("news", "books", books).await;
    let reviews = json!([
        {"name": "text", "type": "text"},
        {"name": "book", "type": "relation", "object": "books", "on_delete": "cascade"},
        {"name": "reviewer", "type": "relation", "object": "authors", "on_delete": "set_null"}
    ]);
    app.create_object("news", "reviews", reviews).await;
}

async fn create(app: &TestApp, token: &str, object: &str, body: Value) -> String {
    let path = format!("/1/objects/{object}?returnObject=true");
    let (s, b) = send(app, "POST", &path, token, Some(body)).await;
    assert_eq!(s, 200, "{b}");
    b["id"].as_str().unwrap().to_owned()
}

fn titles(items: &Value) -> Vec<&str> {
    let mut v: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().or(r["text"].as_str()).unwrap())
        .collect();
    v.sort_unstable();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collections_in_metadata_and_deep_reads() {
    let app = spawn_app().await;
    setup(&app).await;
    relations(&app).await;
    let session = sign_in(&app, "ann@news.io").await;
    let token = session["access_token"].as_str().unwrap();
    let ann = create(&app, token, "authors", json!({"name": "Ann"})).await;
    let bob = create(&app, token, "authors", json!({"name": "Bob"})).await;
    let b1 = create(&app, token, "books", json!({"title": "One", "author": ann})).await;
    create(&app, token, "books", json!({"title": "Two", "author": ann})).await;
    create(
        &app,
        token,
        "reviews",
        json!({"text": "good", "book": b1, "reviewer": bob}),
    )
    .await;

    // Without deep: the record, its metadata naming both sides of its relations.
    let (s, a) = send(
        &app,
        "GET",
        &format!("/1/objects/authors/{ann}"),
        token,
        None,
    )
    .await;
    assert_eq!(s, 200, "{a}");
    let fields = &a["__metadata"]["fields"];
    assert_eq!(
        fields["books"],
        json!({"collection": "books", "via": "author"})
    );
    assert_eq!(
        fields["reviews"],
        json!({"collection": "reviews", "via": "reviewer"})
    );
    assert_eq!(fields["name"]["type"], "string");
    assert!(a.get("books").is_none(), "{a}");
    let (_, list) = send(&app, "GET", "/1/objects/books", token, None).await;
    let fields = &list["data"][0]["__metadata"]["fields"];
    assert_eq!(fields["author"], json!({"object": "authors"}));
    assert_eq!(
        fields["reviews"],
        json!({"collection": "reviews", "via": "book"})
    );

    // deep=true: each collection as an array of its records; the many side keeps the id.
    let (s, a) = send(
        &app,
        "GET",
        &format!("/1/objects/authors/{ann}?deep=true"),
        token,
        None,
    )
    .await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["name"], "Ann");
    assert_eq!(titles(&a["books"]), ["One", "Two"], "{a}");
    assert_eq!(a["books"][0]["author"], json!(ann));
    assert_eq!(
        a["books"][0]["__metadata"]["fields"]["author"],
        json!({"object": "authors"})
    );
    assert_eq!(a["reviews"], json!([]));
    assert!(a["__metadata"]["id"].is_string());
    let (_, b) = send(
        &app,
        "GET",
        &format!("/1/objects/authors/{bob}?deep=1&exclude=metadata"),
        token,
        None,
    )
    .await;
    assert_eq!(b["books"], json!([]), "{b}");
    assert_eq!(titles(&b["reviews"]), ["good"]);
    assert_eq!(b["reviews"][0]["book"], json!(b1));
    assert!(b.get("__metadata").is_none() && b["reviews"][0].get("__metadata").is_none());
    let (_, book) = send(
        &app,
        "GET",
        &format!("/1/objects/books/{b1}?deep=true"),
        token,
        None,
    )
    .await;
    assert_eq!(book["author"], json!(ann), "{book}");
    assert_eq!(titles(&book["reviews"]), ["good"]);
    // deep=false is a plain read.
    let (_, a) = send(
        &app,
        "GET",
        &format!("/1/objects/authors/{ann}?deep=false"),
        token,
        None,
    )
    .await;
    assert!(a.get("books").is_none(), "{a}");

    // Refusals and errors: an unknown record, deep on a list, deep in a bulk command.
    let (s, e) = send(
        &app,
        "GET",
        "/1/objects/authors/0190a0a0-0000-7000-8000-000000000000?deep=true",
        token,
        None,
    )
    .await;
    assert_eq!(s, 404, "{e}");
    assert!(e["Message"].is_string());
    let (s, e) = send(&app, "GET", "/1/objects/authors?deep=true", token, None).await;
    assert_eq!(s, 400, "{e}");
    assert!(e["Message"].as_str().unwrap().contains("deep"), "{e}");
    let commands = json!([{"method": "GET", "url": format!("/1/objects/authors/{ann}"),
                           "parameters": {"deep": true}}]);
    let (_, b) = send(&app, "POST", "/1/bulk", token, Some(commands)).await;
    assert_eq!(b[0]["status"], 400, "{b}");
    let (s, e) = send(
        &app,
        "GET",
        &format!("/1/objects/authors/{ann}?deep=true&level=2"),
        token,
        None,
    )
    .await;
    assert_eq!(s, 400, "{e}");
}
