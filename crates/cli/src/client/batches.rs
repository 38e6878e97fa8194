//! `sluice batches`: create a batch from a query or a file of ids (or only count what it would
//! change, `--dry-run`), follow it with a live bar, list, show and cancel batches.

use super::args::{BatchCreateArgs, BatchesCommand, ClientArgs};
use super::commands::{list_of, show};
use super::exit;
use super::objects::value_of;
use super::output::{batch_row, cell, table, BATCH_HEADER};
use super::watch::{follow, Kind};
use super::{seg, Api, Usage};
use anyhow::Context;
use serde_json::{json, Map, Value};
use std::io::Read;

/// The batch's body from the flags; checked before anything is sent.
fn create_body(a: &BatchCreateArgs) -> anyhow::Result<Value> {
    let mut op = json!({"action": a.action, "object": a.object});
    if let Some(q) = &a.query {
        op["query"] = json!(q);
    }
    if let Some(file) = &a.ids {
        let mut text = String::new();
        if file.as_os_str() == "-" {
            std::io::stdin().read_to_string(&mut text)?;
        } else {
            text = std::fs::read_to_string(file)
                .with_context(|| format!("could not read {}", file.display()))?;
        }
        let ids: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        op["ids"] = json!(ids);
    }
    match (a.action.as_str(), a.set.is_empty()) {
        ("update", true) => {
            return Err(Usage("--action update needs at least one --set FIELD=VALUE".into()).into())
        }
        ("delete", false) => return Err(Usage("--set goes with --action update".into()).into()),
        _ => {}
    }
    if !a.set.is_empty() {
        let mut set = Map::new();
        for s in &a.set {
            match s.split_once('=') {
                Some((field, value)) if !field.is_empty() => {
                    set.insert(field.to_owned(), value_of(value));
                }
                _ => return Err(Usage(format!("--set takes FIELD=VALUE, not {s:?}")).into()),
            }
        }
        op["set"] = Value::Object(set);
    }
    Ok(json!({"start": !a.dry_run, "dry_run": a.dry_run, "operations": [op]}))
}

/// How a finished batch ends the process: 0 success, 2 success with failed records, 1 otherwise.
fn exit_code(batch: &Value) -> i32 {
    let failed = batch["objects_failed"].as_u64().unwrap_or(0) > 0;
    match batch["status"].as_str() {
        Some("success") if failed => exit::ROWS_FAILED,
        Some("success") => 0,
        _ => exit::FAILED,
    }
}

async fn create(api: &Api, args: &ClientArgs, a: BatchCreateArgs) -> anyhow::Result<i32> {
    let body = create_body(&a)?;
    let base = format!("/v1/apps/{}/batches", seg(&a.app));
    let v = api.post(&base, &body).await?;
    if a.dry_run {
        show(args, &v, |v| {
            let sample: Vec<String> = list_of(v, "sample_ids").iter().map(cell).collect();
            format!(
                "would {} {} records of {}; for example {}",
                a.action,
                cell(&v["count"]),
                a.object,
                sample.join(", ")
            )
        });
        return Ok(0);
    }
    let id = v["id"].as_str().context("the batch has no id")?.to_owned();
    if !a.wait {
        show(args, &v, |v| table(BATCH_HEADER, [batch_row(v)]));
        if !args.json {
            eprintln!("follow it with `sluice batches watch {id} --app {}`", a.app);
        }
        return Ok(0);
    }
    let v = follow(api, &format!("{base}/{}", seg(&id)), Kind::Batch).await?;
    show(args, &v, |v| table(BATCH_HEADER, [batch_row(v)]));
    Ok(exit_code(&v))
}

pub async fn run(api: &Api, args: &ClientArgs, c: BatchesCommand) -> anyhow::Result<i32> {
    let base = |app: &str| format!("/v1/apps/{}/batches", seg(app));
    let one = |b: &Value| table(BATCH_HEADER, [batch_row(b)]);
    match c {
        BatchesCommand::Create(a) => create(api, args, a).await,
        BatchesCommand::List { app, limit } => {
            let v = api.get(&format!("{}?limit={limit}", base(&app))).await?;
            show(args, &v, |v| {
                table(BATCH_HEADER, list_of(v, "batches").iter().map(batch_row))
            });
            Ok(0)
        }
        BatchesCommand::Show { id, app } => {
            let v = api.get(&format!("{}/{}", base(&app), seg(&id))).await?;
            show(args, &v, one);
            Ok(0)
        }
        BatchesCommand::Watch { id, app } => {
            let v = follow(api, &format!("{}/{}", base(&app), seg(&id)), Kind::Batch).await?;
            show(args, &v, one);
            Ok(exit_code(&v))
        }
        BatchesCommand::Cancel { id, app } => {
            let v = api
                .post(&format!("{}/{}/cancel", base(&app), seg(&id)), &json!({}))
                .await?;
            show(args, &v, one);
            Ok(0)
        }
    }
}
