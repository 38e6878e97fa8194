//! Records over REST: create, get, list with filters, sort, cursor paging and counts, merge, replace, delete.

use crate::common::spawn_app;
use serde_json::{json, Value};

const RECS: &str = "/v1/apps/crm/objects/contacts/records";

#[tokio::test]
async fn record_lifecycle_with_system_fields() {
    let app = spawn_app().await;
    app.setup_crm().await;
    let alice = app.token("crm", "alice", "writer").await;

    let (s, rec) = app
        .call(
            "POST",
            RECS,
            Some(&alice),
            Some(json!({"email": "a@b.c", "age": 30})),
        )
        .await;
    assert_eq!(s, 201, "{rec}");
    let id = rec["id"].as_str().unwrap().to_owned();
    assert_eq!(uuid_version(&id), 7);
    assert_eq!(rec["vip"], false, "default applied");
    assert_eq!(rec["created_by"], "alice");
    assert_eq!(rec["updated_by"], "alice");
    assert_eq!(rec["created_at"], rec["updated_at"]);

    let (s, got) = app
        .call("GET", &format!("{RECS}/{id}"), Some(&alice), None)
        .await;
    assert_eq!((s.as_u16(), &got), (200, &rec));

    // PATCH merges; the writer is stamped.
    let bob = app.token("crm", "bob", "writer").await;
    let (s, patched) = app
        .call(
            "PATCH",
            &format!("{RECS}/{id}"),
            Some(&bob),
            Some(json!({"age": 31})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(patched["age"], 31);
    assert_eq!(patched["email"], "a@b.c");
    assert_eq!(patched["updated_by"], "bob");
    assert_eq!(patched["created_by"], "alice");

    // PUT replaces: absent fields fall back to their default or null.
    let (s, put) = app
        .call(
            "PUT",
            &format!("{RECS}/{id}"),
            Some(&bob),
            Some(json!({"email": "a@b.c", "vip": true})),
        )
        .await;
    assert_eq!(s, 200, "{put}");
    assert_eq!(put["age"], Value::Null);
    assert_eq!(put["vip"], true);
    // PUT without a required field is refused.
    let (s, err) = app
        .call(
            "PUT",
            &format!("{RECS}/{id}"),
            Some(&bob),
            Some(json!({"age": 1})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(err["error"]["code"], "required");
    assert_eq!(err["error"]["field"], "email");

    let (s, _) = app
        .call("DELETE", &format!("{RECS}/{id}"), Some(&bob), None)
        .await;
    assert_eq!(s, 204);
    let (s, err) = app
        .call("GET", &format!("{RECS}/{id}"), Some(&bob), None)
        .await;
    assert_eq!(s, 404);
    assert_eq!(err["error"]["code"], "not_found");
    let (s, _) = app
        .call("DELETE", &format!("{RECS}/{id}"), Some(&bob), None)
        .await;
    assert_eq!(s, 404);
}

fn uuid_version(id: &str) -> u32 {
    u32::from_str_radix(&id[14..15], 16).unwrap()
}

async fn seed(app: &crate::common::TestApp, n: usize) {
    for i in 0..n {
        let (s, b) = app
            .admin("POST", RECS, Some(json!({"email": format!("u{i:02}@x.io"), "age": 20 + (i % 10) as i64, "vip": i % 3 == 0})))
            .await;
        assert_eq!(s, 201, "{b}");
    }
}

#[tokio::test]
async fn list_filters_sort_and_count() {
    let app = spawn_app().await;
    app.setup_crm().await;
    seed(&app, 30).await;

    let (s, b) = app
        .admin("GET", &format!("{RECS}?email=u07@x.io"), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["records"].as_array().unwrap().len(), 1);
    assert_eq!(b["records"][0]["age"], 27);

    let (_, b) = app
        .admin(
            "GET",
            &format!("{RECS}?age[gte]=28&count=true&limit=2"),
            None,
        )
        .await;
    assert_eq!(b["total"], 6);
    assert_eq!(b["records"].as_array().unwrap().len(), 2);

    let (_, b) = app
        .admin(
            "GET",
            &format!("{RECS}?age[gt]=21&age[lt]=24&count=true"),
            None,
        )
        .await;
    assert_eq!(b["total"], 6);
    let (_, b) = app
        .admin("GET", &format!("{RECS}?age[ne]=20&count=true"), None)
        .await;
    assert_eq!(b["total"], 27);
    let (_, b) = app
        .admin(
            "GET",
            &format!("{RECS}?age[lte]=20&vip=true&count=true"),
            None,
        )
        .await;
    assert_eq!(b["total"], 1);
    let (_, b) = app
        .admin("GET", &format!("{RECS}?age[in]=20,21&count=true"), None)
        .await;
    assert_eq!(b["total"], 6);
    let (_, b) = app
        .admin("GET", &format!("{RECS}?email[like]=u1%25&count=true"), None)
        .await;
    assert_eq!(b["total"], 10);

    let (_, b) = app
        .admin("GET", &format!("{RECS}?sort=-age,email&limit=3"), None)
        .await;
    let emails: Vec<&str> = b["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["u09@x.io", "u19@x.io", "u29@x.io"]);

    let (s, b) = app.admin("GET", &format!("{RECS}?nope=1"), None).await;
    assert_eq!(s, 422);
    assert_eq!(b["error"]["field"], "nope");
    let (s, _) = app
        .admin("GET", &format!("{RECS}?age[gte]=old"), None)
        .await;
    assert_eq!(s, 422);
    let (s, _) = app
        .admin("GET", &format!("{RECS}?limit=100000"), None)
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn cursor_paging_visits_every_record_once() {
    let app = spawn_app().await;
    app.setup_crm().await;
    seed(&app, 25).await;
    for sort in ["", "&sort=-age", "&sort=email", "&sort=vip,-created_at"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let q = match &cursor {
                Some(c) => format!("{RECS}?limit=4{sort}&cursor={c}"),
                None => format!("{RECS}?limit=4{sort}"),
            };
            let (s, b) = app.admin("GET", &q, None).await;
            assert_eq!(s, 200, "{b}");
            for r in b["records"].as_array().unwrap() {
                seen.push(r["email"].as_str().unwrap().to_owned());
            }
            match b["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!((seen.len(), unique.len()), (25, 25), "sort {sort:?}");
    }
    let (s, b) = app
        .admin("GET", &format!("{RECS}?cursor=garbage"), None)
        .await;
    assert_eq!(s, 400, "{b}");
}

#[tokio::test]
async fn every_field_type_round_trips() {
    let app = spawn_app().await;
    app.admin("POST", "/v1/apps", Some(json!({"name": "t"})))
        .await;
    let (s, b) = app
        .admin(
            "POST",
            "/v1/apps/t/objects",
            Some(json!({"name": "all", "fields": [
                {"name": "s", "type": "text"}, {"name": "i", "type": "integer"}, {"name": "n", "type": "number"},
                {"name": "b", "type": "boolean"}, {"name": "d", "type": "date"}, {"name": "dt", "type": "datetime"},
                {"name": "j", "type": "json"}
            ]})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let body = json!({"s": "x", "i": -5, "n": 1.5, "b": true, "d": "2024-02-29", "dt": "2024-02-29T10:00:00+02:00", "j": {"a": [1, 2]}});
    let (s, rec) = app
        .admin("POST", "/v1/apps/t/objects/all/records", Some(body))
        .await;
    assert_eq!(s, 201, "{rec}");
    assert_eq!(rec["dt"], "2024-02-29T08:00:00.000Z");
    assert_eq!(rec["j"], json!({"a": [1, 2]}));
    let (_, got) = app
        .admin(
            "GET",
            &format!(
                "/v1/apps/t/objects/all/records/{}",
                rec["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(got, rec);
    let (_, b) = app
        .admin(
            "GET",
            "/v1/apps/t/objects/all/records?dt[gte]=2024-02-29T07:00:00Z&count=true",
            None,
        )
        .await;
    assert_eq!(b["total"], 1);
    for (field, bad) in [
        ("i", json!(1.5)),
        ("n", json!("1")),
        ("b", json!(1)),
        ("d", json!("2024-02-30")),
        ("dt", json!("soon")),
        ("s", json!(5)),
    ] {
        let (s, b) = app
            .admin(
                "POST",
                "/v1/apps/t/objects/all/records",
                Some(json!({ field: bad })),
            )
            .await;
        assert_eq!(s, 422, "{field}: {b}");
        assert_eq!(b["error"]["field"], field);
    }
}
