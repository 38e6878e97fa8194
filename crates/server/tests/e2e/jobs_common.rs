//! A helper the bulk-write job tests share: creating a job in the `crm` app.

use crate::common::TestApp;
use serde_json::Value;

pub async fn create_job(app: &TestApp, body: Value) -> (u16, Value) {
    let (s, b) = app.admin("POST", "/v1/apps/crm/jobs", Some(body)).await;
    (s.as_u16(), b)
}
