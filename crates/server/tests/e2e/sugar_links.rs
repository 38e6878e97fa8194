//! SugarCRM's related-records routes (`RelateApi`): forward and reverse links, their filter,
//! paging and count forms, the `<object>_<field>` name of a second relation, Sugar's 404s, and a
//! link read inside `/bulk`.

use crate::common::{spawn_app, TestApp};
use crate::sugar_common::{login, setup, sugar};
use serde_json::{json, Value};

/// `Contacts` point at `Accounts` (`account`); `Calls` point at `Contacts` twice.
async fn relations(app: &TestApp) {
    let contacts = json!([
        {"name": "name", "type": "text", "required": true},
        {"name": "account", "type": "relation", "object": "Accounts", "on_delete": "restrict"}
    ]);
    app.create_object("crm", "Contacts", contacts).await;
    let calls = json!([
        {"name": "subject", "type": "text"},
        {"name": "caller", "type": "relation", "object": "Contacts", "on_delete": "cascade"},
        {"name": "callee", "type": "relation", "object": "Contacts", "on_delete": "set_null"}
    ]);
    app.create_object("crm", "Calls", calls).await;
}

async fn create(app: &TestApp, token: &str, module: &str, body: Value) -> String {
    let path = format!("/rest/v11_24/{module}");
    let (s, b) = sugar(app, "POST", &path, token, Some(body)).await;
    assert_eq!(s, 200, "{b}");
    b["id"].as_str().unwrap().to_owned()
}

fn names(b: &Value) -> Vec<&str> {
    let mut v: Vec<&str> = b["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().or(r["subject"].as_str()).unwrap())
        .collect();
    v.sort_unstable();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_forward_and_reverse_with_filters_counts_and_404s() {
    let app = spawn_app().await;
    setup(&app).await;
    relations(&app).await;
    let token = login(&app).await;
    let acme = create(&app, &token, "Accounts", json!({"name": "Acme"})).await;
    let al = create(
        &app,
        &token,
        "Contacts",
        json!({"name": "Al", "account": acme}),
    )
    .await;
    create(
        &app,
        &token,
        "Contacts",
        json!({"name": "Bo", "account": acme}),
    )
    .await;
    let cy = create(&app, &token, "Contacts", json!({"name": "Cy"})).await;
    create(
        &app,
        &token,
        "Calls",
        json!({"subject": "s1", "caller": al, "callee": cy}),
    )
    .await;

    // Reverse: the contacts pointing at the account, as `FilterApi` lists them.
    let base = format!("/rest/v11_24/Accounts/{acme}/link/Contacts");
    let (s, b) = sugar(&app, "GET", &base, &token, None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(names(&b), ["Al", "Bo"]);
    assert_eq!(b["next_offset"], -1);
    assert_eq!(b["records"][0]["_module"], "Contacts");
    assert_eq!(b["records"][0]["account"], json!(acme));
    // Paging and fields.
    let (_, b) = sugar(
        &app,
        "GET",
        &format!("{base}?max_num=1&order_by=name:asc&fields=name"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        (names(&b), &b["next_offset"]),
        (vec!["Al"], &json!(1)),
        "{b}"
    );
    assert!(b["records"][0].get("account").is_none(), "{b}");
    let (_, b) = sugar(
        &app,
        "GET",
        &format!("{base}?max_num=1&offset=1&order_by=name:asc"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        (names(&b), &b["next_offset"]),
        (vec!["Bo"], &json!(-1)),
        "{b}"
    );
    // The filter forms, GET (bracketed) and POST (JSON body).
    let (_, b) = sugar(
        &app,
        "GET",
        &format!("{base}/filter?filter[0][name][$starts]=B"),
        &token,
        None,
    )
    .await;
    assert_eq!(names(&b), ["Bo"], "{b}");
    let filter = json!({"filter": [{"name": {"$in": ["Al", "Cy"]}}], "max_num": 5});
    let (s, b) = sugar(
        &app,
        "POST",
        &format!("{base}/filter"),
        &token,
        Some(filter),
    )
    .await;
    assert_eq!((s, names(&b)), (200, vec!["Al"]), "{b}");
    // Counts.
    let (_, b) = sugar(&app, "GET", &format!("{base}/count"), &token, None).await;
    assert_eq!(b, json!({"record_count": 2}));
    let filter = json!({"filter": [{"name": "Bo"}]});
    let (_, b) = sugar(
        &app,
        "POST",
        &format!("{base}/filter/count"),
        &token,
        Some(filter),
    )
    .await;
    assert_eq!(b, json!({"record_count": 1}));

    // Forward: the one account a contact points at, or none.
    let (s, b) = sugar(
        &app,
        "GET",
        &format!("/rest/v11_24/Contacts/{al}/link/account"),
        &token,
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["records"].as_array().unwrap().len(), 1, "{b}");
    assert_eq!(b["records"][0]["id"], json!(acme));
    assert_eq!(b["records"][0]["_module"], "Accounts");
    assert_eq!(b["next_offset"], -1);
    let (_, b) = sugar(
        &app,
        "GET",
        &format!("/rest/v11_24/Contacts/{cy}/link/account"),
        &token,
        None,
    )
    .await;
    assert_eq!(b, json!({"next_offset": -1, "records": []}));
    let (_, b) = sugar(
        &app,
        "GET",
        &format!("/rest/v11_24/Contacts/{al}/link/account/count"),
        &token,
        None,
    )
    .await;
    assert_eq!(b, json!({"record_count": 1}));

    // Two relations from one object: each named `<object>_<field>`.
    for (contact, link) in [(&al, "Calls_caller"), (&cy, "Calls_callee")] {
        let path = format!("/rest/v11_24/Contacts/{contact}/link/{link}");
        let (s, b) = sugar(&app, "GET", &path, &token, None).await;
        assert_eq!((s, names(&b)), (200, vec!["s1"]), "{link}: {b}");
    }
    let (_, b) = sugar(
        &app,
        "GET",
        &format!("/rest/v11_24/Contacts/{al}/link/Calls_callee"),
        &token,
        None,
    )
    .await;
    assert_eq!(b["records"], json!([]));

    // Sugar's 404s: no such link, no such parent record (a UUID or not), no such module.
    for link in ["Calls", "nope", "name"] {
        let path = format!("/rest/v11_24/Contacts/{al}/link/{link}");
        let (s, b) = sugar(&app, "GET", &path, &token, None).await;
        assert_eq!(s, 404, "{link}: {b}");
        assert_eq!(b["error"], "not_found");
        assert_eq!(
            b["error_message"],
            format!("Could not find a relationship named: {link}")
        );
    }
    for id in ["0190a0a0-0000-7000-8000-000000000000", "not-an-id"] {
        for suffix in ["", "/count", "/filter"] {
            let path = format!("/rest/v11_24/Accounts/{id}/link/Contacts{suffix}");
            let (s, b) = sugar(&app, "GET", &path, &token, None).await;
            assert_eq!(s, 404, "{path}: {b}");
            assert_eq!(b["error"], "not_found");
            assert_eq!(
                b["error_message"],
                format!("Could not find parent record {id} in module: Accounts")
            );
        }
    }
    let (s, b) = sugar(
        &app,
        "GET",
        &format!("/rest/v11_24/Nope/{acme}/link/Contacts"),
        &token,
        None,
    )
    .await;
    assert_eq!((s, &b["error"]), (404, &json!("no_method")), "{b}");
    let (s, b) = sugar(&app, "DELETE", &base, &token, None).await;
    assert_eq!((s, &b["error"]), (404, &json!("no_method")), "{b}");
    let (s, b) = sugar(&app, "GET", &format!("{base}?view=list"), &token, None).await;
    assert_eq!((s, &b["error"]), (422, &json!("invalid_parameter")), "{b}");

    // A link inside `/bulk`: decoded as a single call is.
    let body = json!({"requests": [
        {"url": format!("/v11_24/Accounts/{acme}/link/Contacts/count"), "method": "GET"},
        {"url": format!("/v11_24/Contacts/{al}/link/account"), "method": "GET"},
        {"url": format!("/v11_24/Accounts/{cy}/link/Contacts"), "method": "GET"}
    ]});
    let (s, b) = sugar(&app, "POST", "/rest/v11_24/bulk", &token, Some(body)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b[0]["status"], 200);
    assert_eq!(b[0]["contents"], json!({"record_count": 2}));
    assert_eq!(b[1]["contents"]["records"][0]["id"], json!(acme));
    assert_eq!(b[2]["status"], 404, "{b}");
    assert_eq!(
        b[2]["contents"]["error_message"],
        format!("Could not find parent record {cy} in module: Accounts")
    );
}
