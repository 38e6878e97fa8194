//! Relations over the native API: the field type and its schema rules, checked and looked-up
//! values on single and bulk writes, deletes that follow `on_delete`, `expand` and related
//! filters.

use crate::common::spawn_app;
use crate::relations_common::{create, recs, setup, APP};
use serde_json::json;

#[tokio::test]
async fn relation_fields_follow_the_schema_rules() {
    let app = spawn_app().await;
    setup(&app, "restrict").await;
    let objects = format!("/v1/apps/{APP}/objects");
    // A relation names an object of the app, and only a relation names one.
    for (field, code) in [
        (
            json!({"name": "x", "type": "relation", "object": "nowhere"}),
            "validation_failed",
        ),
        (
            json!({"name": "x", "type": "relation"}),
            "validation_failed",
        ),
        (
            json!({"name": "x", "type": "text", "object": "people"}),
            "validation_failed",
        ),
        (
            json!({"name": "x", "type": "relation", "object": "people", "on_delete": "explode"}),
            "",
        ),
    ] {
        let (s, b) = app
            .admin(
                "POST",
                &objects,
                Some(json!({"name": "bad", "fields": [field]})),
            )
            .await;
        assert!(s.is_client_error(), "{b}");
        assert!(code.is_empty() || b["error"]["code"] == code, "{b}");
    }
    let (s, b) = app.admin("GET", &format!("{objects}/contacts"), None).await;
    assert_eq!(s, 200);
    let account = &b["fields"][1];
    assert_eq!(
        (
            account["type"].as_str(),
            account["object"].as_str(),
            account["on_delete"].as_str(),
            account["indexed"].as_bool()
        ),
        (
            Some("relation"),
            Some("accounts"),
            Some("restrict"),
            Some(true)
        ),
        "{b}"
    );
    // An object others point at is not dropped while they do.
    let (s, b) = app
        .admin("DELETE", &format!("{objects}/accounts"), None)
        .await;
    assert_eq!(
        (s.as_u16(), b["error"]["code"].as_str()),
        (409, Some("still_referenced")),
        "{b}"
    );
    assert_eq!(b["error"]["field"], "contacts.account");

    // A relation added to an object that holds records: empty for them, or a default that exists.
    let person = create(&app, "people", json!({"login": "ann"})).await;
    create(&app, "tasks", json!({"title": "t"})).await;
    let add = |field| json!({"add": [field]});
    let (s, b) = app
        .admin(
            "PATCH",
            &format!("{objects}/tasks"),
            Some(add(
                json!({"name": "who", "type": "relation", "object": "people", "required": true}),
            )),
        )
        .await;
    assert_eq!(
        (s.as_u16(), b["error"]["field"].as_str()),
        (422, Some("who")),
        "{b}"
    );
    let ghost = "0190a000-0000-7000-8000-000000000000";
    let (s, b) = app
        .admin("PATCH", &format!("{objects}/tasks"), Some(add(json!({"name": "who", "type": "relation", "object": "people", "required": true, "default": ghost}))))
        .await;
    assert_eq!(
        (s.as_u16(), b["error"]["code"].as_str()),
        (422, Some("reference_not_found")),
        "{b}"
    );
    let (s, b) = app
        .admin("PATCH", &format!("{objects}/tasks"), Some(add(json!({"name": "who", "type": "relation", "object": "people", "required": true, "default": person}))))
        .await;
    assert_eq!(s, 200, "{b}");
    let (_, page) = app.admin("GET", &recs("tasks"), None).await;
    assert_eq!(page["records"][0]["who"], person.as_str(), "{page}");
    // Dropping the only relation to an object frees it.
    let (s, b) = app
        .admin(
            "PATCH",
            &format!("{objects}/accounts"),
            Some(json!({"drop": ["owner"]})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, _) = app
        .admin(
            "PATCH",
            &format!("{objects}/tasks"),
            Some(json!({"drop": ["who"]})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, b) = app
        .admin("DELETE", &format!("{objects}/people"), None)
        .await;
    assert_eq!(s, 204, "{b}");
}

#[tokio::test]
async fn writes_check_ids_and_resolve_lookups_alone_and_in_bulk() {
    let app = spawn_app().await;
    setup(&app, "restrict").await;
    let acme = create(
        &app,
        "accounts",
        json!({"email": "ops@acme.io", "name": "Acme"}),
    )
    .await;
    let ghost = "0190a000-0000-7000-8000-000000000000";
    let (s, b) = app
        .admin(
            "POST",
            &recs("contacts"),
            Some(json!({"email": "a@x", "account": ghost})),
        )
        .await;
    assert_eq!(
        (
            s.as_u16(),
            b["error"]["code"].as_str(),
            b["error"]["field"].as_str()
        ),
        (422, Some("reference_not_found"), Some("account")),
        "{b}"
    );
    let (s, b) = app
        .admin(
            "POST",
            &recs("contacts"),
            Some(json!({"email": "a@x", "account": "acme"})),
        )
        .await;
    assert_eq!(
        (s.as_u16(), b["error"]["field"].as_str()),
        (422, Some("account")),
        "{b}"
    );
    // A lookup by a unique field stores the id it finds; one that finds nothing names its value.
    let (s, b) = app
        .admin(
            "POST",
            &recs("contacts"),
            Some(json!({"email": "a@x", "account": {"email": "ops@acme.io"}})),
        )
        .await;
    assert_eq!(
        (s.as_u16(), b["account"].as_str()),
        (201, Some(acme.as_str())),
        "{b}"
    );
    let (s, b) = app
        .admin(
            "POST",
            &recs("contacts"),
            Some(json!({"email": "b@x", "account": {"email": "nobody@x"}})),
        )
        .await;
    assert_eq!(
        (s.as_u16(), b["error"]["code"].as_str()),
        (422, Some("reference_not_found")),
        "{b}"
    );
    assert!(
        b["error"]["message"].as_str().unwrap().contains("nobody@x"),
        "{b}"
    );
    let (s, b) = app
        .admin(
            "POST",
            &recs("contacts"),
            Some(json!({"email": "b@x", "account": {"name": "Acme"}})),
        )
        .await;
    assert_eq!(
        (s.as_u16(), b["error"]["code"].as_str()),
        (422, Some("validation_failed")),
        "{b}"
    );
    // An update checks the same way.
    let c = create(&app, "contacts", json!({"email": "c@x"})).await;
    let (s, b) = app
        .admin(
            "PATCH",
            &format!("{}/{c}", recs("contacts")),
            Some(json!({"account": ghost})),
        )
        .await;
    assert_eq!(
        (s.as_u16(), b["error"]["code"].as_str()),
        (422, Some("reference_not_found")),
        "{b}"
    );
    let (s, b) = app
        .admin(
            "PATCH",
            &format!("{}/{c}", recs("contacts")),
            Some(json!({"account": {"id": acme}})),
        )
        .await;
    assert_eq!(
        (s.as_u16(), b["account"].as_str()),
        (200, Some(acme.as_str())),
        "{b}"
    );

    // In bulk, per entry: good ids and lookups go in, the others fail alone.
    let ops = json!({"operations": [
        {"method": "POST", "url": recs("contacts"), "body": {"email": "d@x", "account": {"email": "ops@acme.io"}}},
        {"method": "POST", "url": recs("contacts"), "body": {"email": "e@x", "account": ghost}},
        {"method": "POST", "url": recs("contacts"), "body": {"email": "f@x", "account": acme}},
        {"method": "POST", "url": recs("contacts"), "body": {"email": "g@x", "account": {"email": "gone@x"}}},
        {"method": "PATCH", "url": format!("{}/{c}", recs("contacts")), "body": {"account": ghost}}
    ]});
    let (s, b) = app.admin("POST", "/v1/bulk", Some(ops)).await;
    assert_eq!(s, 200, "{b}");
    let got: Vec<(u64, Option<&str>)> = b["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"].as_u64().unwrap(),
                r["body"]["error"]["code"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (201, None),
            (422, Some("reference_not_found")),
            (201, None),
            (422, Some("reference_not_found")),
            (422, Some("reference_not_found"))
        ],
        "{b}"
    );
    assert_eq!(app.count(APP, "contacts").await, 4);

    // An entry may point at a record an earlier entry of the same request made, in its own object.
    let objects = format!("/v1/apps/{APP}/objects");
    let manager = json!({"add": [{"name": "manager", "type": "relation", "object": "people", "on_delete": "set_null"}]});
    let (s, b) = app
        .admin("PATCH", &format!("{objects}/people"), Some(manager))
        .await;
    assert_eq!(s, 200, "{b}");
    let ops = json!({"operations": [
        {"id": "boss", "method": "POST", "url": recs("people"), "body": {"login": "boss"}},
        {"method": "POST", "url": recs("people"), "body": {"login": "dev", "manager": "${boss.body.id}"}},
        {"method": "POST", "url": recs("people"), "body": {"login": "ops", "manager": {"login": "dev"}}}
    ]});
    let (s, b) = app.admin("POST", "/v1/bulk", Some(ops)).await;
    let statuses: Vec<u64> = b["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!((s.as_u16(), statuses), (200, vec![201, 201, 201]), "{b}");
    assert_eq!(
        b["results"][1]["body"]["manager"], b["results"][0]["body"]["id"],
        "{b}"
    );
    assert_eq!(
        b["results"][2]["body"]["manager"], b["results"][1]["body"]["id"],
        "{b}"
    );
}

#[tokio::test]
async fn deletes_follow_restrict_cascade_and_set_null() {
    let app = spawn_app().await;
    setup(&app, "restrict").await;
    let acme = create(&app, "accounts", json!({"email": "ops@acme.io"})).await;
    let c = create(&app, "contacts", json!({"email": "a@x", "account": acme})).await;
    let n = create(&app, "notes", json!({"text": "hi", "contact": c})).await;
    let t = create(&app, "tasks", json!({"title": "call", "contact": c})).await;
    // Restrict: the account stays while a contact points at it.
    let (s, b) = app
        .admin("DELETE", &format!("{}/{acme}", recs("accounts")), None)
        .await;
    assert_eq!(
        (
            s.as_u16(),
            b["error"]["code"].as_str(),
            b["error"]["field"].as_str()
        ),
        (409, Some("still_referenced"), Some("contacts.account")),
        "{b}"
    );
    // Cascade takes the note; set_null clears the task's contact, which stays.
    let (s, _) = app
        .admin("DELETE", &format!("{}/{c}", recs("contacts")), None)
        .await;
    assert_eq!(s, 204);
    let (s, _) = app
        .admin("GET", &format!("{}/{n}", recs("notes")), None)
        .await;
    assert_eq!(s, 404);
    let (s, b) = app
        .admin("GET", &format!("{}/{t}", recs("tasks")), None)
        .await;
    assert_eq!((s.as_u16(), &b["contact"]), (200, &json!(null)), "{b}");
    let (s, _) = app
        .admin("DELETE", &format!("{}/{acme}", recs("accounts")), None)
        .await;
    assert_eq!(s, 204);
    // In bulk, a refused delete fails alone.
    let a1 = create(&app, "accounts", json!({"email": "1@x"})).await;
    let a2 = create(&app, "accounts", json!({"email": "2@x"})).await;
    create(&app, "contacts", json!({"email": "b@x", "account": a1})).await;
    let ops = json!({"operations": [
        {"method": "DELETE", "url": format!("{}/{a1}", recs("accounts"))},
        {"method": "DELETE", "url": format!("{}/{a2}", recs("accounts"))}
    ]});
    let (_, b) = app.admin("POST", "/v1/bulk", Some(ops)).await;
    assert_eq!(
        (
            b["results"][0]["status"].as_u64(),
            b["results"][1]["status"].as_u64()
        ),
        (Some(409), Some(204)),
        "{b}"
    );
}

#[tokio::test]
async fn reads_expand_relations_and_filter_on_related_fields() {
    let app = spawn_app().await;
    setup(&app, "restrict").await;
    let ann = create(&app, "people", json!({"login": "ann"})).await;
    let acme = create(
        &app,
        "accounts",
        json!({"email": "ops@acme.io", "name": "Acme", "owner": ann}),
    )
    .await;
    let init = create(
        &app,
        "accounts",
        json!({"email": "hi@initech.com", "name": "Initech"}),
    )
    .await;
    let c1 = create(&app, "contacts", json!({"email": "a@x", "account": acme})).await;
    create(&app, "contacts", json!({"email": "b@x", "account": init})).await;
    create(&app, "contacts", json!({"email": "c@x"})).await;

    let (s, b) = app
        .admin(
            "GET",
            &format!("{}/{c1}?expand=account.owner", recs("contacts")),
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (
            b["account"]["name"].as_str(),
            b["account"]["owner"]["login"].as_str()
        ),
        (Some("Acme"), Some("ann")),
        "{b}"
    );
    let (_, b) = app
        .admin(
            "GET",
            &format!("{}?expand=account&sort=email", recs("contacts")),
            None,
        )
        .await;
    let shown: Vec<&serde_json::Value> = b["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["account"])
        .collect();
    assert_eq!(
        (shown[0]["id"].as_str(), shown[1]["name"].as_str(), shown[2]),
        (Some(acme.as_str()), Some("Initech"), &json!(null)),
        "{b}"
    );
    // The id by itself, a related field, and an operator on one.
    for (query, want) in [
        (format!("account={acme}"), vec!["a@x"]),
        ("account.email=hi%40initech.com".to_owned(), vec!["b@x"]),
        ("account.name[like]=A%25".to_owned(), vec!["a@x"]),
        (
            "account.name[in]=Acme,Initech".to_owned(),
            vec!["a@x", "b@x"],
        ),
    ] {
        let (s, b) = app
            .admin(
                "GET",
                &format!("{}?{query}&sort=email", recs("contacts")),
                None,
            )
            .await;
        assert_eq!(s, 200, "{query}: {b}");
        let emails: Vec<&str> = b["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["email"].as_str().unwrap())
            .collect();
        assert_eq!(emails, want, "{query}");
    }
    // The query API joins a relation to its records as they are stored, on either backend.
    let sql = "SELECT c.email, a.name FROM contacts c JOIN accounts a ON a.id = c.account ORDER BY c.email";
    let (s, b) = app
        .admin(
            "POST",
            &format!("/v1/apps/{APP}/query"),
            Some(json!({ "sql": sql })),
        )
        .await;
    assert_eq!(
        (s.as_u16(), &b["rows"]),
        (200, &json!([["a@x", "Acme"], ["b@x", "Initech"]])),
        "{b}"
    );
    for bad in [
        "expand=email",
        "expand=account.owner.login",
        "email.x=1",
        "account.nope=1",
    ] {
        let (s, b) = app
            .admin("GET", &format!("{}?{bad}", recs("contacts")), None)
            .await;
        assert!(s.is_client_error(), "{bad}: {b}");
    }
}
