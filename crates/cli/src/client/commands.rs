//! The client commands besides `login` and `import`: jobs, batches, bulk, query, apps, objects and
//! tokens. Read commands print a table, or the server's JSON with `--json`.

use super::args::TokensCommand;
use super::args::{AppsCommand, ClientArgs, ClientCommand, JobsCommand};
use super::import::{self, exit_code, save_result};
use super::output::{self, cell, job_row, job_summary, table, JOB_HEADER};
use super::watch::{follow, Kind};
use super::{seg, Api};
use anyhow::{bail, Context};
use serde_json::{json, Value};
use std::path::PathBuf;

/// Prints `v` as JSON with `--json`, otherwise as `human` renders it.
pub fn show(args: &ClientArgs, v: &Value, human: impl FnOnce(&Value) -> String) {
    if args.json {
        println!("{}", output::json(v));
    } else {
        println!("{}", human(v));
    }
}

pub fn list_of<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v[key].as_array().map(Vec::as_slice).unwrap_or_default()
}

pub async fn run(api: &Api, args: &ClientArgs, command: ClientCommand) -> anyhow::Result<i32> {
    match command {
        ClientCommand::Login { .. } => bail!("login is handled before connecting"),
        ClientCommand::Import { args: a, .. } => import::run(api, &a, args.json).await,
        ClientCommand::Export { args: a, .. } => super::export::run(api, &a, args.json).await,
        ClientCommand::Jobs { command, .. } => jobs(api, args, command).await,
        ClientCommand::Batches { command, .. } => super::batches::run(api, args, command).await,
        ClientCommand::Bulk { file, .. } => bulk(api, args, file).await,
        ClientCommand::Query { sql, app, csv, .. } => query(api, args, &app, &sql, csv).await,
        ClientCommand::Apps { command, .. } => apps(api, args, command).await,
        ClientCommand::Objects { command, .. } => super::objects::run(api, args, command).await,
        ClientCommand::Tokens {
            command: TokensCommand::Create { app, user, role },
            ..
        } => {
            let t = api
                .post(
                    &format!("/v1/apps/{}/tokens", seg(&app)),
                    &json!({"user": user, "role": role}),
                )
                .await?;
            show(args, &t, |t| {
                format!(
                    "token {} for {} ({}), shown once:\n{}",
                    cell(&t["id"]),
                    cell(&t["user"]),
                    cell(&t["role"]),
                    cell(&t["token"])
                )
            });
            Ok(0)
        }
    }
}

async fn jobs(api: &Api, args: &ClientArgs, c: JobsCommand) -> anyhow::Result<i32> {
    let base = |app: &str| format!("/v1/apps/{}/jobs", seg(app));
    match c {
        JobsCommand::List { app, limit } => {
            let v = api.get(&format!("{}?limit={limit}", base(&app))).await?;
            show(args, &v, |v| {
                table(JOB_HEADER, list_of(v, "jobs").iter().map(job_row))
            });
            Ok(0)
        }
        JobsCommand::Show { id, app } => {
            let v = api.get(&format!("{}/{}", base(&app), seg(&id))).await?;
            show(args, &v, job_summary);
            Ok(0)
        }
        JobsCommand::Watch { id, app } => {
            let v = follow(api, &format!("{}/{}", base(&app), seg(&id)), Kind::Job).await?;
            show(args, &v, job_summary);
            Ok(exit_code(&v))
        }
        JobsCommand::Cancel { id, app } => {
            let v = api
                .post(&format!("{}/{}/cancel", base(&app), seg(&id)), &json!({}))
                .await?;
            show(args, &v, job_summary);
            Ok(0)
        }
        JobsCommand::Result { id, app, output } => {
            let to = output.unwrap_or_else(|| PathBuf::from(format!("{id}.result.zip")));
            let n = save_result(api, &app, &id, &to).await?;
            eprintln!("saved {} ({n} bytes)", to.display());
            Ok(0)
        }
    }
}

/// `sluice bulk FILE.json`: one line per operation; exit 2 when any failed.
async fn bulk(api: &Api, args: &ClientArgs, file: PathBuf) -> anyhow::Result<i32> {
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("could not read {}", file.display()))?;
    let body: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    let v = api.post("/v1/bulk", &body).await?;
    let results = list_of(&v, "results");
    let ops = body["operations"].as_array().cloned().unwrap_or_default();
    let failed = results
        .iter()
        .filter(|r| r["status"].as_u64().is_none_or(|s| s >= 400))
        .count();
    show(args, &v, |_| {
        let rows = results.iter().enumerate().map(|(i, r)| {
            let op = ops.get(i).cloned().unwrap_or_default();
            let error = &r["body"]["error"];
            vec![
                i.to_string(),
                cell(&r["id"]),
                cell(&op["method"]).to_uppercase(),
                cell(&op["url"]),
                cell(&r["status"]),
                if error.is_null() {
                    cell(&r["body"]["id"])
                } else {
                    format!("{}: {}", cell(&error["code"]), cell(&error["message"]))
                },
            ]
        });
        let t = table(&["#", "id", "method", "url", "status", "result"], rows);
        format!("{t}\n{} operations, {failed} failed", results.len())
    });
    Ok(if failed > 0 {
        super::exit::ROWS_FAILED
    } else {
        0
    })
}

async fn query(
    api: &Api,
    args: &ClientArgs,
    app: &str,
    sql: &str,
    csv: bool,
) -> anyhow::Result<i32> {
    let path = format!("/v1/apps/{}/query", seg(app));
    if csv {
        let req = api
            .request(reqwest::Method::POST, &format!("{path}?format=csv"))
            .json(&json!({"sql": sql}));
        print!("{}", api.send(req).await?.text().await?);
        return Ok(0);
    }
    let v = api.post(&path, &json!({"sql": sql})).await?;
    show(args, &v, |v| {
        let header: Vec<String> = list_of(v, "columns").iter().map(cell).collect();
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let rows = list_of(v, "rows").iter().map(|r| {
            r.as_array()
                .map(|c| c.iter().map(cell).collect())
                .unwrap_or_default()
        });
        format!(
            "{}\n({} rows)",
            table(&header, rows),
            list_of(v, "rows").len()
        )
    });
    Ok(0)
}

async fn apps(api: &Api, args: &ClientArgs, c: AppsCommand) -> anyhow::Result<i32> {
    let row = |a: &Value| {
        vec![
            cell(&a["name"]),
            cell(&a["label"]),
            cell(&a["id"]),
            cell(&a["anonymous_role"]),
            cell(&a["created_at"]),
        ]
    };
    let header = &["name", "label", "id", "anonymous role", "created"];
    let v = match c {
        AppsCommand::List => api.get("/v1/apps").await?,
        AppsCommand::Show { name } => api.get(&format!("/v1/apps/{}", seg(&name))).await?,
        AppsCommand::Create { name, label } => {
            let mut body = json!({"name": name});
            if let Some(l) = label {
                body["label"] = json!(l);
            }
            api.post("/v1/apps", &body).await?
        }
    };
    show(args, &v, |v| match v.get("apps") {
        Some(_) => table(header, list_of(v, "apps").iter().map(row)),
        None => table(header, [row(v)]),
    });
    Ok(0)
}
