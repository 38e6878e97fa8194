//! The bulk executor against a real store: items fail alone, an atomic request keeps nothing after
//! a failure, an oversized or invalid request fails whole.

use super::*;
use crate::core::Core;
use crate::ops::{ListSpec, Target};
use crate::settings::Settings;
use serde_json::json;

fn admin() -> Principal {
    Principal::Admin {
        user: "admin".into(),
    }
}

/// A real store in a temp dir with app `a` holding object `o` (`email` unique).
async fn store() -> (tempfile::TempDir, Core) {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::store::open(
        None,
        dir.path(),
        &Settings::default().store,
        Settings::default().lease,
    )
    .unwrap();
    let core = Core::new(store, Settings::default());
    core.transact(|ctx| {
        run(ctx, &admin(), Op::CreateApp(json!({"name": "a"})))?;
        let o = json!({"name": "o", "fields": [{"name": "email", "type": "text", "unique": true}]});
        run(ctx, &admin(), Op::CreateObject("a".into(), o))
    })
    .await
    .unwrap();
    (dir, core)
}

fn create(email: &str) -> BulkItem {
    let op = Op::CreateRecord(Target::new("a", "o"), json!({ "email": email }).into());
    BulkItem::fixed(Ok(admin()), Ok(op))
}

async fn bulk(
    core: &Core,
    items: Vec<BulkItem>,
    atomic: bool,
    end: Result<bool>,
    max: usize,
) -> Result<Vec<Result<Output>>> {
    let (tx, rx) = std::sync::mpsc::channel();
    if atomic {
        tx.send(BulkMsg::Atomic).unwrap();
    }
    tx.send(BulkMsg::Items(items)).unwrap();
    tx.send(BulkMsg::End(end)).unwrap();
    let mut feed = BulkFeed::new(rx);
    core.transact(move |ctx| run_bulk(ctx, &mut feed, max))
        .await
}

async fn count(core: &Core) -> u64 {
    let spec = ListSpec {
        count: true,
        ..ListSpec::default()
    };
    let out = core
        .read(move |ctx| run(ctx, &admin(), Op::ListRecords(Target::new("a", "o"), spec)))
        .await
        .unwrap();
    match out.body() {
        Some(crate::ops::Body::List(l)) => l.total.unwrap(),
        other => panic!("{other:?}"),
    }
}

fn codes(results: &[Result<Output>]) -> Vec<Option<ErrorCode>> {
    results
        .iter()
        .map(|r| r.as_ref().err().map(|e| e.code))
        .collect()
}

#[tokio::test]
async fn per_item_failures_stand_alone() {
    let (_dir, core) = store().await;
    let items = vec![create("x"), create("x"), create("y")];
    let results = bulk(&core, items, false, Ok(false), 10).await.unwrap();
    assert_eq!(
        codes(&results),
        vec![None, Some(ErrorCode::UniqueViolation), None]
    );
    assert_eq!(count(&core).await, 2);
}

#[tokio::test]
async fn atomic_requests_keep_nothing_after_a_failure() {
    let (_dir, core) = store().await;
    let items = vec![create("x"), create("x"), create("y")];
    let results = bulk(&core, items, true, Ok(true), 10).await.unwrap();
    assert_eq!(
        codes(&results),
        vec![
            Some(ErrorCode::NotApplied),
            Some(ErrorCode::UniqueViolation),
            Some(ErrorCode::NotApplied)
        ]
    );
    assert_eq!(count(&core).await, 0);
    let results = bulk(&core, vec![create("x"), create("y")], true, Ok(true), 10)
        .await
        .unwrap();
    assert_eq!(codes(&results), vec![None, None]);
    assert_eq!(
        count(&core).await,
        2,
        "an atomic request without failure is kept"
    );
}

#[tokio::test]
async fn oversized_or_invalid_requests_fail_whole() {
    let (_dir, core) = store().await;
    let items = vec![create("x"), create("y"), create("z")];
    let e = bulk(&core, items, false, Ok(false), 2).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::LimitExceeded);
    let bad_end = Err(Error::new(ErrorCode::InvalidJson, "late bad JSON"));
    let e = bulk(&core, vec![create("x")], false, bad_end, 10)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidJson);
    assert_eq!(count(&core).await, 0);
    let refused = BulkItem::failed(Error::unauthorized());
    let results = bulk(&core, vec![refused, create("x")], false, Ok(false), 10)
        .await
        .unwrap();
    assert_eq!(codes(&results), vec![Some(ErrorCode::Unauthorized), None]);
}
