//! Durability: acknowledged writes survive a kill -9 and a restart on the same data dir.

use crate::common::{spawn_process, ADMIN};
use serde_json::json;

const RECS: &str = "/v1/apps/crm/objects/contacts/records";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_process(dir.path(), &[]);
    let app = server.app();
    app.setup_crm().await;

    // Writers keep going while the process is killed; every write that was answered 201 must survive.
    let mut writers = Vec::new();
    for w in 0..4 {
        let app = server.app();
        writers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0.. {
                let body = json!({"email": format!("w{w}-{i}@x")});
                let resp = app
                    .client
                    .post(app.url(RECS))
                    .bearer_auth(ADMIN)
                    .json(&body)
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status() == 201 => {
                        acked.push(body["email"].as_str().unwrap().to_owned())
                    }
                    _ => break,
                }
            }
            acked
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    server.kill9();
    let mut acked = Vec::new();
    for w in writers {
        acked.extend(w.await.unwrap());
    }
    assert!(
        acked.len() > 20,
        "writers made progress before the kill ({})",
        acked.len()
    );

    let server = spawn_process(dir.path(), &[]);
    let app = server.app();
    let total = app.count("crm", "contacts").await as usize;
    // At most one write per writer can be committed yet unanswered when the process dies.
    assert!(
        total >= acked.len() && total <= acked.len() + 4,
        "total {total}, acknowledged {}",
        acked.len()
    );
    for email in acked.iter().step_by(7) {
        let (s, b) = app
            .admin("GET", &format!("{RECS}?email={email}"), None)
            .await;
        assert_eq!(s, 200);
        assert_eq!(
            b["records"].as_array().unwrap().len(),
            1,
            "{email} survived"
        );
    }
    server.kill9();
}
