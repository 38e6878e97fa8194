//! Wire details that vendors' clients send as their documentation shows them: Zoho Accounts' token
//! parameters in the query string and in a multipart form, a job made at the native door seen with
//! real numeric ids through Zoho's, and Sugar's refusal of a list size that is not a number.

use crate::common::{poll, spawn_app, TestApp, ADMIN};
use serde_json::{json, Value};

async fn token_answer(resp: reqwest::Response) -> Value {
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn zoho_token_parameters_in_the_query_string_or_a_multipart_form() {
    let app = spawn_app().await;
    app.create_app("org1").await;
    let token = app.token("org1", "zoe", "writer").await;
    // As Zoho's documentation shows every refresh: the parameters in the URL, no body.
    let resp = app
        .client
        .post(app.url(&format!(
            "/oauth/v2/token?refresh_token={token}&client_id=1000.X&client_secret=s&grant_type=refresh_token"
        )))
        .send()
        .await
        .unwrap();
    let t = token_answer(resp).await;
    assert_eq!(t["access_token"].as_str(), Some(token.as_str()), "{t}");
    // As Zoho's Node SDK sends them: a multipart form.
    let form = reqwest::multipart::Form::new()
        .text("grant_type", "refresh_token")
        .text("client_id", "1000.X")
        .text("client_secret", "s")
        .text("refresh_token", token.clone());
    let resp = app
        .client
        .post(app.url("/oauth/v2/token"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let t = token_answer(resp).await;
    assert_eq!(t["access_token"].as_str(), Some(token.as_str()), "{t}");
    // A wrong one still answers as Zoho Accounts does.
    let resp = app
        .client
        .post(app.url("/oauth/v2/token?refresh_token=nope&grant_type=refresh_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(token_answer(resp).await, json!({"error": "invalid_code"}));
}

/// A native job on `org1`.`Leads`, run to completion; its id.
async fn native_job(app: &TestApp) -> String {
    let (s, _) = app
        .admin(
            "POST",
            "/v1/apps/org1/objects",
            Some(json!({"name": "Leads", "fields": [{"name": "Last_Name", "type": "text"}]})),
        )
        .await;
    assert_eq!(s, 201);
    let resp = app
        .client
        .post(app.url("/v1/apps/org1/files"))
        .bearer_auth(ADMIN)
        .header("content-type", "text/csv")
        .body("Last_Name\nLovelace\n")
        .send()
        .await
        .unwrap();
    let file: Value = resp.json().await.unwrap();
    let (s, job) = app
        .admin(
            "POST",
            "/v1/apps/org1/jobs",
            Some(json!({"operation": "insert", "object": "Leads", "file_id": file["file_id"]})),
        )
        .await;
    assert_eq!(s, 201, "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    poll("the native job to complete", || async {
        let (_, j) = app
            .admin("GET", &format!("/v1/apps/org1/jobs/{id}"), None)
            .await;
        (j["status"] == "completed").then_some(())
    })
    .await;
    id
}

#[tokio::test]
async fn a_native_job_has_real_numeric_ids_in_zoho_answers() {
    let app = spawn_app().await;
    app.create_app("org1").await;
    let id = native_job(&app).await;
    let token = app.token("org1", "zoe", "writer").await;
    let auth = format!("Zoho-oauthtoken {token}");
    let (s, by_uuid) = app
        .send(
            "GET",
            &format!("/crm/bulk/v8/write/{id}"),
            &[("Authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(s, 200, "{by_uuid}");
    let number = by_uuid["id"].as_str().unwrap().to_owned();
    let digits = |v: &Value| {
        v.as_str()
            .is_some_and(|s| s != "0" && s.bytes().all(|b| b.is_ascii_digit()))
    };
    assert!(digits(&by_uuid["id"]), "{by_uuid}");
    assert!(digits(&by_uuid["created_by"]["id"]), "{by_uuid}");
    let (s, by_number) = app
        .send(
            "GET",
            &format!("/crm/bulk/v8/write/{number}"),
            &[("Authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(s, 200, "{by_number}");
    assert_eq!(by_number["id"], by_uuid["id"]);
    assert_eq!(by_number["status"], "COMPLETED");
}

#[tokio::test]
async fn sugar_refuses_a_list_size_that_is_not_a_number() {
    let app = spawn_app().await;
    app.setup_crm().await;
    let token = app.token("crm", "sam", "reader").await;
    let (s, b) = app
        .send(
            "GET",
            "/rest/v10/contacts?max_num=abc",
            &[("OAuth-Token", &token)],
            None,
        )
        .await;
    assert_eq!(
        (s.as_u16(), b["error"].as_str()),
        (422, Some("invalid_parameter")),
        "{b}"
    );
    let (s, b) = app
        .send(
            "GET",
            "/rest/v10/contacts?max_num=5",
            &[("OAuth-Token", &token)],
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
}
