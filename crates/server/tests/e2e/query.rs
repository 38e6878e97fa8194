//! Read-only SQL: queries by name and label with WHERE, ORDER BY, aggregates and joins; and hostile
//! queries refused with 4xx, changing and leaking nothing.

use crate::common::{spawn_app_with, TestApp};
use serde_json::{json, Value};

/// App `crm` (contacts, deals labelled "Testing App") and another app `hr` holding a secret.
async fn setup(app: &TestApp) -> String {
    app.setup_crm().await;
    let (s, _) = app
        .admin(
            "POST",
            "/v1/apps/crm/objects",
            Some(json!({"name": "deals", "label": "Testing App", "fields": [
                {"name": "title", "type": "text"}, {"name": "amount", "type": "number"},
                {"name": "contact", "type": "text"}, {"name": "status", "type": "text"}
            ]})),
        )
        .await;
    assert_eq!(s, 201);
    for (i, email) in ["ann@x", "bob@x", "cid@x"].iter().enumerate() {
        let (_, c) = app
            .admin(
                "POST",
                "/v1/apps/crm/objects/contacts/records",
                Some(json!({"email": email, "age": 30 + i})),
            )
            .await;
        for j in 0..=i {
            app.admin(
                "POST",
                "/v1/apps/crm/objects/deals/records",
                Some(json!({"title": format!("deal {i}-{j}"), "amount": 100.0 * (j + 1) as f64, "contact": c["id"], "status": if j == 0 { "open" } else { "won" }})),
            )
            .await;
        }
    }
    app.admin("POST", "/v1/apps", Some(json!({"name": "hr"})))
        .await;
    let (_, people) = app
        .admin(
            "POST",
            "/v1/apps/hr/objects",
            Some(json!({"name": "people", "fields": [{"name": "salary", "type": "integer"}]})),
        )
        .await;
    app.admin(
        "POST",
        "/v1/apps/hr/objects/people/records",
        Some(json!({"salary": 987654321})),
    )
    .await;
    format!("o_{}", people["id"].as_str().unwrap().replace('-', ""))
}

async fn q(app: &TestApp, token: &str, sql: &str) -> (u16, Value) {
    let (s, b) = app
        .call(
            "POST",
            "/v1/apps/crm/query",
            Some(token),
            Some(json!({"sql": sql})),
        )
        .await;
    (s.as_u16(), b)
}

#[tokio::test]
async fn queries_by_name_and_label_with_joins_and_aggregates() {
    let app = spawn_app_with(|_| {}).await;
    setup(&app).await;
    let reader = app.token("crm", "rita", "reader").await;

    let (s, b) = q(
        &app,
        &reader,
        "SELECT email, age FROM contacts WHERE age >= 31 ORDER BY email DESC",
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b,
        json!({"columns": ["email", "age"], "rows": [["cid@x", 32], ["bob@x", 31]]})
    );

    let (s, b) = q(&app, &reader, "SELECT status, count(*) AS n, sum(amount) AS total FROM \"Testing App\" GROUP BY status ORDER BY status").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["rows"], json!([["open", 3, 300.0], ["won", 3, 700.0]]));

    let (s, b) = q(
        &app,
        &reader,
        "SELECT c.email, count(d.id) AS deals FROM contacts c JOIN deals d ON d.contact = c.id \
         GROUP BY c.email HAVING count(d.id) > 1 ORDER BY deals DESC",
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["rows"], json!([["cid@x", 3], ["bob@x", 2]]));

    let (s, b) = q(&app, &reader, "WITH big AS (SELECT contact FROM deals WHERE amount > 150) SELECT count(DISTINCT contact) FROM big").await;
    assert_eq!((s, b["rows"].clone()), (200, json!([[2]])), "{b}");
    // Timestamps read as the API writes them, on either backend.
    let (_, b) = q(
        &app,
        &reader,
        "SELECT created_by, created_at FROM contacts WHERE email = 'ann@x'",
    )
    .await;
    let (_, rec) = app
        .call(
            "GET",
            "/v1/apps/crm/objects/contacts/records?email=ann@x",
            Some(&reader),
            None,
        )
        .await;
    assert_eq!(
        b["rows"],
        json!([["admin", rec["records"][0]["created_at"].clone()]])
    );

    // Parameters (in the store's own placeholder syntax), and CSV on request.
    let sql = if crate::pgdb::on_postgres() {
        "SELECT email FROM contacts WHERE age = $1"
    } else {
        "SELECT email FROM contacts WHERE age = ?"
    };
    let (s, b) = app
        .call(
            "POST",
            "/v1/apps/crm/query",
            Some(&reader),
            Some(json!({"sql": sql, "params": [31]})),
        )
        .await;
    assert_eq!((s.as_u16(), b["rows"].clone()), (200, json!([["bob@x"]])));
    let resp = app
        .client
        .post(app.url("/v1/apps/crm/query?format=csv"))
        .bearer_auth(&reader)
        .json(&json!({"sql": "SELECT email, age FROM contacts ORDER BY email"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.text().await.unwrap(),
        "email,age\nann@x,30\nbob@x,31\ncid@x,32\n"
    );
}

#[tokio::test]
async fn hostile_queries_are_refused_and_change_nothing() {
    let app = spawn_app_with(|c| {
        c.query_timeout_ms = 300;
        c.query_max_rows = 5;
    })
    .await;
    let other_table = setup(&app).await;
    let owner = app.token("crm", "olga", "owner").await;
    let deep = format!("SELECT {}1{}", "(".repeat(300), ")".repeat(300));
    let long = format!("SELECT {}1", "1+".repeat(60_000));
    let hostile: Vec<String> = vec![
        "DELETE FROM contacts".into(),
        "UPDATE contacts SET age = 1".into(),
        "INSERT INTO contacts (email) VALUES ('x@x')".into(),
        "REPLACE INTO contacts (email) VALUES ('x@x')".into(),
        "DROP TABLE contacts".into(),
        "CREATE TABLE t (x)".into(),
        "ALTER TABLE contacts ADD COLUMN x".into(),
        "SELECT 1; DELETE FROM contacts".into(),
        "SELECT 1; SELECT 2".into(),
        "PRAGMA table_info(contacts)".into(),
        "PRAGMA writable_schema = 1".into(),
        "ATTACH DATABASE '/tmp/evil.db' AS evil".into(),
        "DETACH DATABASE main".into(),
        "VACUUM INTO '/tmp/copy.db'".into(),
        "SELECT * FROM sqlite_master".into(),
        "SELECT * FROM sqlite_schema".into(),
        "SELECT * FROM sqlite_temp_master".into(),
        "SELECT name FROM \"sqlite_master\"".into(),
        "SELECT * FROM _apps".into(),
        "SELECT * FROM _tokens".into(),
        "SELECT * FROM _users".into(),
        format!("SELECT * FROM {other_table}"),
        "SELECT * FROM people".into(),
        "SELECT email FROM contacts UNION SELECT salary FROM people".into(),
        format!("SELECT email FROM contacts UNION ALL SELECT salary FROM \"{other_table}\""),
        "SELECT * FROM main.contacts".into(),
        "SELECT * FROM temp.contacts".into(),
        "SELECT load_extension('/tmp/evil.so')".into(),
        "SELECT readfile('/etc/passwd')".into(),
        "SELECT writefile('/tmp/x', 'y')".into(),
        "SELECT edit('x')".into(),
        "SELECT * FROM pragma_table_info('contacts')".into(),
        "SELECT * FROM pragma_database_list".into(),
        "WITH d AS (DELETE FROM contacts RETURNING id) SELECT * FROM d".into(),
        "WITH x AS (INSERT INTO contacts (email) VALUES ('a') RETURNING id) SELECT * FROM x".into(),
        "SELECT randomblob(1000000000)".into(),
        "SELECT zeroblob(1000000000)".into(),
        "SELECT printf('%.*c', 1000000000, 'x')".into(),
        "SELECT sqlite_version()".into(),
        "SELECT fts3_tokenizer('simple')".into(),
        "SELECT * FROM contacts WHERE id IN (SELECT id FROM _tokens)".into(),
        "SELECT * FROM json_each((SELECT group_concat(doc) FROM _apps))".into(),
        "SELECT * INTO copy FROM contacts".into(),
        "SELECT * FROM \"Testing App\" AS t, sqlite_master".into(),
        "SELECT name, doc FROM _apps, (WITH _apps AS (SELECT 1) SELECT 1)".into(),
        "SELECT * FROM sqlite_master, (WITH sqlite_master AS (SELECT 1) SELECT 1)".into(),
        format!("SELECT * FROM {other_table}, (WITH {other_table} AS (SELECT 1) SELECT 1)"),
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"
            .into(),
        "SELECT * FROM deals".into(),
        "SELEC oops".into(),
        String::new(),
        deep,
        long,
    ];
    assert!(hostile.len() >= 40);
    for sql in &hostile {
        let (s, b) = q(&app, &owner, sql).await;
        assert!((400..500).contains(&s), "{s} for {sql:.80}: {b}");
        assert!(b["error"]["code"].is_string(), "{b}");
        let text = b.to_string();
        assert!(
            !text.contains("987654321") && !text.contains("argon2"),
            "leak: {text}"
        );
    }
    let (_, b) = q(
        &app,
        &owner,
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
    )
    .await;
    assert_eq!(b["error"]["code"], "timeout", "{b}");
    let (s, b) = q(&app, &owner, "SELECT * FROM deals").await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (413, Some("limit_exceeded")),
        "the row cap: {b}"
    );
    // Nothing changed.
    assert_eq!(app.count("crm", "contacts").await, 3);
    assert_eq!(app.count("crm", "deals").await, 6);
    assert_eq!(app.count("hr", "people").await, 1);
    let (s, _) = app.admin("GET", "/v1/apps/crm", None).await;
    assert_eq!(s, 200);
}
