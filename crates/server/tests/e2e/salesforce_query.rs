//! Salesforce Bulk API 2.0 query jobs over raw HTTP: SOQL through the read-only guard, states,
//! results read a page at a time with `Sforce-Locator` (the literal `null` on the last page) and
//! `Sforce-NumberOfRecords`, every field quoted in the job's delimiter and line ending, abort,
//! delete, and SOQL's refusals in Salesforce's shapes.

use crate::common::spawn_app;
use crate::salesforce_common::{get_text, ingest, setup, sf, wait, V};
use serde_json::json;

async fn seed(app: &crate::common::TestApp, token: &str) {
    let accounts = "Name,Email__c\nAcme,ops@acme.io\n";
    let job = json!({"object": "Account", "operation": "insert"});
    ingest(app, token, job, &[accounts]).await;
    let contacts = "LastName,Email,Score,Account.Email__c\n\
                    Ada,ada@x.io,10,ops@acme.io\nBob,bob@x.io,5,\n\"Cid, Jr\",cid@x.io,7,ops@acme.io\n";
    let job = json!({"object": "Contact", "operation": "insert"});
    let done = ingest(app, token, job, &[contacts]).await;
    assert_eq!(done["numberRecordsFailed"], 0, "{done}");
}

#[tokio::test]
async fn a_query_job_pages_its_results_like_salesforce() {
    let app = spawn_app().await;
    let token = setup(&app).await;
    seed(&app, &token).await;
    let q = "SELECT LastName, Score, Account.Name FROM contact WHERE Score >= 5 ORDER BY LastName";
    let (s, made) = sf(&app, "POST", &format!("{V}/query"), &token,
        Some(json!({"operation": "query", "query": q, "columnDelimiter": "TAB", "lineEnding": "CRLF"}))).await;
    assert_eq!(s, 200, "{made}");
    assert_eq!(made["state"], "UploadComplete");
    let id = made["id"].as_str().unwrap().to_owned();
    let done = wait(&app, &token, &format!("{V}/query/{id}")).await;
    assert_eq!(done["state"], "JobComplete", "{done}");
    assert_eq!(done["jobType"], "V2Query");
    assert_eq!(done["numberRecordsProcessed"], 3);
    let results = format!("{V}/query/{id}/results");
    let (s, h, first) = get_text(&app, &token, &format!("{results}?maxRecords=2")).await;
    assert_eq!(s, 200);
    assert_eq!(h["sforce-numberofrecords"], "2");
    let locator = h["sforce-locator"].to_str().unwrap().to_owned();
    assert_ne!(locator, "null");
    assert_eq!(
        first,
        "\"LastName\"\t\"Score\"\t\"Account.Name\"\r\n\"Ada\"\t\"10\"\t\"Acme\"\r\n\"Bob\"\t\"5\"\t\"\"\r\n"
    );
    let (_, h, last) = get_text(
        &app,
        &token,
        &format!("{results}?locator={locator}&maxRecords=2"),
    )
    .await;
    assert_eq!(h["sforce-numberofrecords"], "1");
    assert_eq!(h["sforce-locator"], "null");
    assert_eq!(
        last,
        "\"LastName\"\t\"Score\"\t\"Account.Name\"\r\n\"Cid, Jr\"\t\"7\"\t\"Acme\"\r\n"
    );
    let (s, listed) = sf(&app, "GET", &format!("{V}/query"), &token, None).await;
    assert_eq!(s, 200);
    assert_eq!(listed["records"][0]["id"], id.as_str(), "{listed}");
    let (s, _) = sf(&app, "DELETE", &format!("{V}/query/{id}"), &token, None).await;
    assert_eq!(s, 204);
    let (s, v) = sf(&app, "GET", &format!("{V}/query/{id}"), &token, None).await;
    assert_eq!((s, &v[0]["errorCode"]), (404, &json!("NOT_FOUND")), "{v}");
}

#[tokio::test]
async fn soql_refusals_come_in_salesforces_shapes() {
    let app = spawn_app().await;
    let token = setup(&app).await;
    for (q, code) in [
        ("SELECT Nope FROM Contact", "INVALID_FIELD"),
        ("SELECT Id FROM Nope", "INVALID_TYPE"),
        ("SELECT Id FROM Contact WHERE", "MALFORMED_QUERY"),
        ("SELECT COUNT() FROM Contact", "MALFORMED_QUERY"),
        (
            "SELECT Id, (SELECT Id FROM Contacts) FROM Account",
            "MALFORMED_QUERY",
        ),
    ] {
        let (s, v) = sf(
            &app,
            "POST",
            &format!("{V}/query"),
            &token,
            Some(json!({"operation": "query", "query": q})),
        )
        .await;
        assert_eq!(
            (s, v[0]["errorCode"].as_str()),
            (400, Some(code)),
            "{q}: {v}"
        );
        assert!(!v[0]["message"].as_str().unwrap().is_empty());
    }
    let deep = format!(
        "SELECT Id FROM Contact WHERE {}Score = 1{}",
        "(".repeat(50_000),
        ")".repeat(50_000)
    );
    let (s, v) = sf(
        &app,
        "POST",
        &format!("{V}/query"),
        &token,
        Some(json!({"operation": "query", "query": deep})),
    )
    .await;
    assert_eq!(
        (s, &v[0]["errorCode"]),
        (400, &json!("MALFORMED_QUERY")),
        "{v}"
    );
    let (s, v) = sf(
        &app,
        "POST",
        &format!("{V}/query"),
        &token,
        Some(json!({"operation": "insert", "query": "SELECT Id FROM Contact"})),
    )
    .await;
    assert_eq!((s, &v[0]["errorCode"]), (400, &json!("INVALIDJOB")), "{v}");
    // queryAll answers as query does; an aborted job is Aborted.
    let (s, made) = sf(
        &app,
        "POST",
        &format!("{V}/query"),
        &token,
        Some(json!({"operation": "queryAll", "query": "SELECT Id FROM Contact"})),
    )
    .await;
    assert_eq!(s, 200, "{made}");
    let id = made["id"].as_str().unwrap();
    let done = wait(&app, &token, &format!("{V}/query/{id}")).await;
    assert_eq!(done["operation"], "queryAll");
    let (s, v) = sf(
        &app,
        "PATCH",
        &format!("{V}/query/{id}"),
        &token,
        Some(json!({"state": "Aborted"})),
    )
    .await;
    assert_eq!(
        (s, &v[0]["errorCode"]),
        (400, &json!("INVALIDJOBSTATE")),
        "an ended job: {v}"
    );
}
