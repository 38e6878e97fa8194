//! SOQL as the Salesforce dialect translates it, run by a real server's query API
//! (`POST /v1/apps/{app}/query` with the translation's `sql` and `params`), on the suite's backend:
//! each operator and literal finds the same records on SQLite and on PostgreSQL, and a query's
//! columns read as Salesforce's result CSV writes them.

// The translator is not public outside the server crate: the test compiles its module as it is
// (it names nothing of the crate but itself).
#[allow(dead_code, unused_imports)]
#[path = "../../src/dialects/salesforce/soql/mod.rs"]
mod translator;

use crate::common::{spawn_app, TestApp};
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

async fn create(app: &TestApp, object: &str, record: Value) -> String {
    let (s, b) = app
        .admin(
            "POST",
            &format!("/v1/apps/crm/objects/{object}/records"),
            Some(record),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    b["id"].as_str().unwrap().to_owned()
}

/// App `crm`: accounts acme and globex; contacts ann and dee at acme, bob at globex, cid with no
/// account and no values but his name; returns their ids by name.
async fn setup(app: &TestApp) -> std::collections::HashMap<&'static str, String> {
    app.create_app("crm").await;
    app.create_object(
        "crm",
        "Account",
        json!([{"name": "Name", "type": "text"}, {"name": "Rating", "type": "integer"},
               {"name": "Active", "type": "boolean"}, {"name": "Founded", "type": "date"}]),
    )
    .await;
    app.create_object(
        "crm",
        "Contact",
        json!([{"name": "LastName", "type": "text"}, {"name": "Email", "type": "text"},
               {"name": "Age", "type": "integer"}, {"name": "Score", "type": "number"},
               {"name": "Vip", "type": "boolean"}, {"name": "Birthdate", "type": "date"},
               {"name": "LastSeen", "type": "datetime"}, {"name": "Data", "type": "json"},
               {"name": "AccountId", "type": "relation", "object": "Account"}]),
    )
    .await;
    let acme = create(
        app,
        "Account",
        json!({"Name": "Acme", "Rating": 5, "Active": true, "Founded": "2001-02-03"}),
    )
    .await;
    let globex = create(
        app,
        "Account",
        json!({"Name": "Globex", "Rating": 2, "Active": false}),
    )
    .await;
    let ann = create(
        app,
        "Contact",
        json!({"LastName": "McDonald", "Email": "ann@x.io", "Age": 30,
        "Score": 1.5, "Vip": true, "Birthdate": "1990-01-31", "LastSeen": "2024-05-15T09:00:00Z",
        "Data": {"a": 1}, "AccountId": acme}),
    )
    .await;
    let bob = create(
        app,
        "Contact",
        json!({"LastName": "O'Brien", "Age": 41, "Score": 2.0,
        "Vip": false, "Birthdate": "1983-07-04", "LastSeen": "2024-05-01T12:00:00Z",
        "AccountId": globex}),
    )
    .await;
    let cid = create(app, "Contact", json!({"LastName": "Smith_Jones"})).await;
    let dee = create(
        app,
        "Contact",
        json!({"LastName": "mcdonald", "Email": "DEE@X.IO", "Age": 25,
        "Vip": true, "LastSeen": "2024-05-14T23:59:59.999Z", "AccountId": acme}),
    )
    .await;
    [
        ("acme", acme),
        ("ann", ann),
        ("bob", bob),
        ("cid", cid),
        ("dee", dee),
    ]
    .into_iter()
    .collect()
}

/// Translates `soql` (on Wednesday 2024-05-15, 13:30 UTC) and runs it through the query API;
/// the answer's columns and rows.
async fn run(app: &TestApp, soql: &str) -> (Vec<String>, Vec<Vec<Value>>) {
    let catalog = app.engine().catalog();
    let crm = catalog.app("crm").unwrap();
    let now = Utc.with_ymd_and_hms(2024, 5, 15, 13, 30, 0).unwrap();
    let t = translator::translate(soql, crm, app.engine().syntax(), now)
        .unwrap_or_else(|e| panic!("{soql}: {e}"));
    let (s, b) = app
        .admin(
            "POST",
            "/v1/apps/crm/query",
            Some(json!({"sql": t.sql, "params": t.params})),
        )
        .await;
    assert_eq!(s, 200, "{soql}\n{}\n{b}", t.sql);
    let columns: Vec<String> = serde_json::from_value(b["columns"].clone()).unwrap();
    assert_eq!(columns, t.headers, "{soql}");
    (columns, serde_json::from_value(b["rows"].clone()).unwrap())
}

/// The last names `WHERE <cond>` finds, in their (binary) order.
async fn names(app: &TestApp, cond: &str) -> Vec<String> {
    let soql = format!("SELECT LastName FROM Contact WHERE {cond} ORDER BY LastName");
    let (_, rows) = run(app, &soql).await;
    rows.iter()
        .map(|r| r[0].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn each_operator_finds_the_same_records_on_either_store() {
    let app = spawn_app().await;
    let ids = setup(&app).await;
    let (ann, bob, cid, dee) = ("McDonald", "O'Brien", "Smith_Jones", "mcdonald");
    let acme_upper = ids["acme"].to_ascii_uppercase();
    let cases: Vec<(String, Vec<&str>)> = vec![
        // Strings without regard to case; LIKE with wildcards and escaped ones.
        ("LastName = 'MCDONALD'".into(), vec![ann, dee]),
        ("LastName LIKE 'mc%'".into(), vec![ann, dee]),
        (r"LastName LIKE 'smith\_%'".into(), vec![cid]),
        ("LastName LIKE 'o''%'".replace("''", "\\'"), vec![bob]),
        ("NOT LastName LIKE '%d'".into(), vec![bob, cid]),
        ("Email IN ('ANN@x.io', 'dee@x.io')".into(), vec![ann, dee]),
        ("Email > 'b'".into(), vec![dee]),
        // Null fields match != and NOT IN, as Salesforce's do.
        ("Email != 'ann@x.io'".into(), vec![bob, cid, dee]),
        ("Email = null".into(), vec![bob, cid]),
        ("Email != null".into(), vec![ann, dee]),
        // Numbers, an integer field against a fraction, a number field against an integer.
        ("Age > 29.5".into(), vec![ann, bob]),
        ("Age >= 30 AND Age < 41".into(), vec![ann]),
        ("Age <= 30.5".into(), vec![ann, dee]),
        ("Age NOT IN (30, 41)".into(), vec![cid, dee]),
        ("Age IN (25, null)".into(), vec![cid, dee]),
        ("Age IN (25, 30.5)".into(), vec![dee]),
        ("Score = 2".into(), vec![bob]),
        ("Score < 1.75".into(), vec![ann]),
        // A boolean's null is false.
        ("Vip = true".into(), vec![ann, dee]),
        ("Vip = false".into(), vec![bob, cid]),
        ("Vip != true".into(), vec![bob, cid]),
        // Dates and dateTimes, offsets included.
        ("Birthdate < 1990-01-31".into(), vec![bob]),
        ("Birthdate = 1990-01-31".into(), vec![ann]),
        (
            "Birthdate IN (1983-07-04, 1990-01-31)".into(),
            vec![ann, bob],
        ),
        ("LastSeen >= 2024-05-15T10:00:00+01:00".into(), vec![ann]),
        ("LastSeen > 2024-05-15T10:00:00+01:00".into(), vec![]),
        (
            "LastSeen < 2024-05-14T20:00:00-04:00".into(),
            vec![bob, dee],
        ),
        // Date literals, from Wednesday 2024-05-15.
        ("LastSeen = TODAY".into(), vec![ann]),
        ("LastSeen = YESTERDAY".into(), vec![dee]),
        ("LastSeen < TODAY".into(), vec![bob, dee]),
        ("LastSeen > YESTERDAY".into(), vec![ann]),
        ("LastSeen = LAST_N_DAYS:14".into(), vec![ann, bob, dee]),
        ("LastSeen != THIS_WEEK".into(), vec![bob, cid]),
        ("LastSeen = THIS_MONTH".into(), vec![ann, bob, dee]),
        ("Birthdate = N_YEARS_AGO:34".into(), vec![ann]),
        ("Birthdate < LAST_N_YEARS:40".into(), vec![bob]),
        ("Birthdate = LAST_N_YEARS:41".into(), vec![ann, bob]),
        (
            "CreatedDate > 2024-05-15T13:30:00Z".into(),
            vec![ann, bob, cid, dee],
        ),
        // Ids and parents.
        (format!("AccountId = '{acme_upper}'"), vec![ann, dee]),
        (
            format!("Id IN ('{}', '{}')", ids["ann"], ids["bob"]),
            vec![ann, bob],
        ),
        ("Account.Name = 'ACME'".into(), vec![ann, dee]),
        ("Account.Name = null".into(), vec![cid]),
        ("Account.Rating > 3".into(), vec![ann, dee]),
        ("Account.Active = false".into(), vec![bob, cid]),
        ("Account.Founded = 2001-02-03".into(), vec![ann, dee]),
        // NOT goes down to the comparisons, each admitting nulls.
        ("NOT (Age > 26 OR Vip = true)".into(), vec![cid]),
        ("(Age < 26 OR Age > 40) AND Vip = true".into(), vec![dee]),
        ("NOT (Age = 30 AND Vip = true)".into(), vec![bob, cid, dee]),
    ];
    for (cond, expect) in &cases {
        assert_eq!(&names(&app, cond).await, expect, "WHERE {cond}");
    }
}

#[tokio::test]
async fn columns_read_as_salesforces_result_csv_writes_them() {
    let app = spawn_app().await;
    let ids = setup(&app).await;
    let (columns, rows) = run(
        &app,
        "SELECT Id, LastName, Account.Name, Vip, Account.Active, Data, Birthdate, LastSeen, AccountId \
         FROM Contact ORDER BY Age DESC NULLS LAST LIMIT 3",
    )
    .await;
    assert_eq!(
        columns,
        [
            "Id",
            "LastName",
            "Account.Name",
            "Vip",
            "Account.Active",
            "Data",
            "Birthdate",
            "LastSeen",
            "AccountId"
        ]
    );
    let data = |r: &Vec<Value>| -> Value { serde_json::from_str(r[5].as_str().unwrap()).unwrap() };
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0][0], json!(ids["bob"]));
    assert_eq!(
        rows[0][1..5],
        [
            json!("O'Brien"),
            json!("Globex"),
            json!("false"),
            json!("false")
        ]
    );
    assert_eq!(
        rows[1][..5],
        [
            json!(ids["ann"]),
            json!("McDonald"),
            json!("Acme"),
            json!("true"),
            json!("true")
        ]
    );
    assert_eq!(data(&rows[1]), json!({"a": 1}));
    assert_eq!(
        rows[1][6..],
        [
            json!("1990-01-31"),
            json!("2024-05-15T09:00:00.000Z"),
            json!(ids["acme"])
        ]
    );
    assert_eq!(rows[2][1], json!("mcdonald"));
    // Nulls sort first ascending; a contact without an account reads its parent's fields empty.
    let soql = "SELECT LastName, Account.Name, Account.Active, Vip, Data FROM Contact \
                ORDER BY Age LIMIT 1";
    let (_, rows) = run(&app, soql).await;
    assert_eq!(
        rows,
        [vec![
            json!("Smith_Jones"),
            Value::Null,
            Value::Null,
            json!("false"),
            Value::Null
        ]]
    );
}
