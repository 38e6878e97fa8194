//! Salesforce Bulk API 2.0 ingest jobs over raw HTTP: the token endpoint, a job taking its CSV in
//! several parts, Salesforce's states and counters, the three result CSVs, upsert by an external
//! id with a relationship column, delete, the job's delimiter and line ending, and the refusals
//! in Salesforce's shapes.

use crate::common::spawn_app;
use crate::salesforce_common::{get_text, ingest, put_csv, setup, sf, V};
use serde_json::json;

#[tokio::test]
async fn an_ingest_job_takes_parts_and_reports_like_salesforce() {
    let app = spawn_app().await;
    let token = setup(&app).await;
    let job = json!({"object": "contact", "operation": "insert", "contentType": "CSV", "lineEnding": "LF"});
    let first = "LastName,email,Score\nLovelace,ada@x.io,10\n,nobody@x.io,3\n";
    let second = "LastName,email,Score\n\"Hopper, G\",grace@x.io,7\n";
    let done = ingest(&app, &token, job, &[first, second]).await;
    assert_eq!(done["state"], "JobComplete", "{done}");
    assert_eq!(done["object"], "contact");
    assert_eq!(done["jobType"], "V2Ingest");
    assert_eq!(done["numberRecordsProcessed"], 3);
    assert_eq!(done["numberRecordsFailed"], 1);
    let id = done["id"].as_str().unwrap();
    assert_eq!(id.len(), 18);
    assert!(id.starts_with("750"));
    let (s, h, ok) = get_text(&app, &token, &format!("{V}/ingest/{id}/successfulResults/")).await;
    assert_eq!(s, 200);
    assert!(h["content-type"].to_str().unwrap().starts_with("text/csv"));
    let lines: Vec<&str> = ok.lines().collect();
    assert_eq!(
        lines[0],
        r#""sf__Id","sf__Created","LastName","email","Score""#
    );
    assert_eq!(lines.len(), 3, "{ok}");
    assert!(
        lines[1].ends_with(r#","true","Lovelace","ada@x.io","10""#),
        "{ok}"
    );
    assert!(
        lines[2].ends_with(r#","true","Hopper, G","grace@x.io","7""#),
        "{ok}"
    );
    let (_, _, failed) = get_text(&app, &token, &format!("{V}/ingest/{id}/failedResults/")).await;
    let lines: Vec<&str> = failed.lines().collect();
    assert_eq!(
        lines[0],
        r#""sf__Id","sf__Error","LastName","email","Score""#
    );
    assert!(
        lines[1].starts_with(r#""","REQUIRED_FIELD_MISSING:"#),
        "{failed}"
    );
    assert!(lines[1].ends_with(r#"","","nobody@x.io","3""#), "{failed}");
    let (_, _, none) = get_text(
        &app,
        &token,
        &format!("{V}/ingest/{id}/unprocessedrecords/"),
    )
    .await;
    assert_eq!(none.trim(), r#""LastName","email","Score""#);
    assert_eq!(app.count("sforg", "Contact").await, 2);
    let (s, listed) = sf(&app, "GET", &format!("{V}/ingest"), &token, None).await;
    assert_eq!(s, 200);
    assert_eq!(listed["done"], true);
    assert_eq!(listed["records"][0]["id"], id, "{listed}");
}

#[tokio::test]
async fn upsert_by_external_id_with_relationship_columns_then_delete() {
    let app = spawn_app().await;
    let token = setup(&app).await;
    let accounts = "Name|Email__c\nAcme|ops@acme.io\nGlobex|hi@globex.io\n";
    let job = json!({"object": "Account", "operation": "insert", "columnDelimiter": "PIPE"});
    assert_eq!(
        ingest(&app, &token, job, &[accounts]).await["numberRecordsFailed"],
        0
    );
    let contacts = "LastName\tEmail\tAccount.Email__c\r\nLovelace\tada@x.io\tops@acme.io\r\n";
    let job = json!({"object": "Contact", "operation": "upsert", "externalIdFieldName": "email",
                     "columnDelimiter": "TAB", "lineEnding": "CRLF"});
    let done = ingest(&app, &token, job.clone(), &[contacts]).await;
    assert_eq!(done["externalIdFieldName"], "email");
    assert_eq!(done["numberRecordsFailed"], 0, "{done}");
    let again = "LastName\tEmail\tAccount.Email__c\r\nKing\tada@x.io\thi@globex.io\r\nNew\tnew@x.io\tnobody@x.io\r\n";
    let done = ingest(&app, &token, job, &[again]).await;
    assert_eq!(done["numberRecordsProcessed"], 2);
    assert_eq!(done["numberRecordsFailed"], 1, "{done}");
    let id = done["id"].as_str().unwrap();
    let (_, _, ok) = get_text(&app, &token, &format!("{V}/ingest/{id}/successfulResults")).await;
    assert!(
        ok.contains(r#","false","King","ada@x.io","hi@globex.io""#),
        "{ok}"
    );
    let (_, _, failed) = get_text(&app, &token, &format!("{V}/ingest/{id}/failedResults")).await;
    assert!(failed.contains("INVALID_CROSS_REFERENCE_KEY:"), "{failed}");
    let (_, recs) = app
        .admin(
            "GET",
            "/v1/apps/sforg/objects/Contact/records?expand=AccountId",
            None,
        )
        .await;
    let ada = &recs["records"][0];
    assert_eq!(ada["LastName"], "King", "{recs}");
    assert_eq!(ada["AccountId"]["Name"], "Globex", "{recs}");
    let ada_id = ada["id"].as_str().unwrap().to_owned();
    let job = json!({"object": "Contact", "operation": "hardDelete"});
    let done = ingest(&app, &token, job, &[&format!("Id\n{ada_id}\n")]).await;
    assert_eq!(done["numberRecordsFailed"], 0, "{done}");
    assert_eq!(app.count("sforg", "Contact").await, 0);
}

#[tokio::test]
async fn refusals_come_in_salesforces_shapes() {
    let app = spawn_app().await;
    let token = setup(&app).await;
    let (s, v) = sf(&app, "GET", &format!("{V}/ingest"), "nope", None).await;
    assert_eq!(
        (s, &v[0]["errorCode"]),
        (401, &json!("INVALID_SESSION_ID")),
        "{v}"
    );
    let (s, v) = sf(
        &app,
        "GET",
        "/services/data/v40.0/jobs/ingest",
        &token,
        None,
    )
    .await;
    assert_eq!((s, &v[0]["errorCode"]), (404, &json!("NOT_FOUND")), "{v}");
    let bad = json!({"object": "Nope", "operation": "insert"});
    let (s, v) = sf(&app, "POST", &format!("{V}/ingest"), &token, Some(bad)).await;
    assert_eq!((s, &v[0]["errorCode"]), (400, &json!("INVALIDJOB")), "{v}");
    let bad = json!({"object": "Contact", "operation": "upsert"});
    let (s, v) = sf(&app, "POST", &format!("{V}/ingest"), &token, Some(bad)).await;
    assert_eq!((s, &v[0]["errorCode"]), (400, &json!("INVALIDJOB")), "{v}");
    let (s, v) = sf(
        &app,
        "GET",
        &format!("{V}/ingest/750000000000001AAA"),
        &token,
        None,
    )
    .await;
    assert_eq!((s, &v[0]["errorCode"]), (404, &json!("NOT_FOUND")), "{v}");
    let form = [
        ("grant_type", "password"),
        ("client_id", "sforg"),
        ("username", "sam"),
        ("password", "wrong"),
    ];
    let r = app
        .client
        .post(app.url("/services/oauth2/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_grant");
    // An unknown column fails the job, as Salesforce's InvalidBatch does.
    let job = json!({"object": "Contact", "operation": "insert"});
    let done = ingest(&app, &token, job.clone(), &["LastName,Foo\nx,y\n"]).await;
    assert_eq!(done["state"], "Failed", "{done}");
    assert_eq!(
        done["errorMessage"],
        "InvalidBatch : Field name not found : Foo"
    );
    let id = done["id"].as_str().unwrap();
    assert_eq!(put_csv(&app, &token, id, "LastName\nx\n").await, 400);
    // An open job aborts; parts are refused after; an ended job deletes and is gone.
    let (_, open) = sf(&app, "POST", &format!("{V}/ingest"), &token, Some(job)).await;
    let open = open["id"].as_str().unwrap();
    assert_eq!(put_csv(&app, &token, open, "LastName\nx\n").await, 201);
    assert_eq!(
        put_csv(&app, &token, open, "Email\nx\n").await,
        400,
        "another header"
    );
    let (s, v) = sf(
        &app,
        "PATCH",
        &format!("{V}/ingest/{open}"),
        &token,
        Some(json!({"state": "Aborted"})),
    )
    .await;
    assert_eq!((s, &v["state"]), (200, &json!("Aborted")), "{v}");
    assert_eq!(put_csv(&app, &token, open, "LastName\nx\n").await, 400);
    assert_eq!(app.count("sforg", "Contact").await, 0);
    let (s, _) = sf(&app, "DELETE", &format!("{V}/ingest/{open}"), &token, None).await;
    assert_eq!(s, 204);
    let (s, _) = sf(&app, "GET", &format!("{V}/ingest/{open}"), &token, None).await;
    assert_eq!(s, 404);
}
