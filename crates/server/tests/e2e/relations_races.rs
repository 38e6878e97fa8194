//! Relations against another writer of the same PostgreSQL database, in both orders: a write that
//! points at a record another transaction is deleting, and a delete of a record another
//! transaction is pointing at. Each waits for the other's commit and then answers from what it
//! committed, so no reference is left pointing at nothing. (On SQLite one writer does all writes:
//! there is no other transaction to race.)

use crate::common::{poll, spawn_app, TestApp};
use crate::relations_common::{create, recs, setup, APP};
use serde_json::json;
use std::sync::mpsc;

/// The table of `object`, as the store names it (in the store's schema).
async fn table(app: &TestApp, object: &str) -> String {
    let (_, o) = app
        .admin("GET", &format!("/v1/apps/{APP}/objects/{object}"), None)
        .await;
    format!("sluice.o_{}", o["id"].as_str().unwrap().replace('-', ""))
}

/// Runs `sql` in a transaction of its own on the app's database and keeps it open until `commit`
/// says so.
fn other_writer(url: String, sql: String) -> (mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let (commit, wait) = mpsc::channel::<()>();
    let (ready, started) = mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let mut tx = c.transaction().unwrap();
        tx.batch_execute(&sql).unwrap();
        ready.send(()).unwrap();
        wait.recv().unwrap();
        tx.commit().unwrap();
    });
    started.recv().unwrap();
    (commit, thread)
}

/// Whether a session of the app's database waits for a lock.
fn someone_waits(url: &str) -> bool {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    c.query_one(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        &[],
    )
    .unwrap()
    .get::<_, i64>(0)
        > 0
}

async fn waits(url: &str) {
    let url = url.to_owned();
    poll("a request to wait for the other writer's lock", || {
        let url = url.clone();
        async move {
            tokio::task::spawn_blocking(move || someone_waits(&url))
                .await
                .unwrap()
                .then_some(())
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_and_deletes_racing_on_postgres_leave_no_reference_dangling() {
    let app = spawn_app().await;
    let Some(url) = crate::pgdb::database_for(&app.data_dir) else {
        return;
    };
    setup(&app, "restrict").await;
    let (accounts, contacts) = (table(&app, "accounts").await, table(&app, "contacts").await);

    // Another transaction deletes the account; a contact pointing at it waits, then finds it gone.
    let acme = create(&app, "accounts", json!({"email": "ops@acme.io"})).await;
    let (commit, other) = other_writer(
        url.clone(),
        format!("DELETE FROM {accounts} WHERE id = '{acme}'"),
    );
    let path = recs("contacts");
    let write = app.admin(
        "POST",
        &path,
        Some(json!({"email": "a@x", "account": acme})),
    );
    // The write must wait on the other transaction's lock (a write that did not would answer
    // and leave `waits` looking for a waiter until it gives up).
    let ((s, b), ()) = tokio::join!(write, async {
        waits(&url).await;
        commit.send(()).unwrap();
    });
    other.join().unwrap();
    assert_eq!(
        (s.as_u16(), b["error"]["code"].as_str()),
        (422, Some("reference_not_found")),
        "{b}"
    );

    // Another transaction points a contact at the account; its delete waits, then is refused.
    let init = create(&app, "accounts", json!({"email": "hi@initech.com"})).await;
    let insert = format!(
        "SELECT 1 FROM {accounts} WHERE id = '{init}' FOR KEY SHARE; \
         INSERT INTO {contacts} (id, created_at, updated_at, created_by, updated_by, email, account) \
         VALUES (gen_random_uuid(), now(), now(), 'raw', 'raw', 'raw@x', '{init}')"
    );
    let (commit, other) = other_writer(url.clone(), insert);
    let path = format!("{}/{init}", recs("accounts"));
    let ((s, b), ()) = tokio::join!(app.admin("DELETE", &path, None), async {
        waits(&url).await;
        commit.send(()).unwrap();
    });
    other.join().unwrap();
    assert_eq!(
        (s.as_u16(), b["error"]["code"].as_str()),
        (409, Some("still_referenced")),
        "{b}"
    );
}
