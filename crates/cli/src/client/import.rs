//! `sluice import FILE`: upload with a byte bar, create the job, follow it with a live bar, print
//! a summary and save the result file beside the input. The exit code says whether rows failed.

use super::args::ImportArgs;
use super::output::{job_summary, json};
use super::watch::{follow, Kind};
use super::{exit, seg, Api, Usage};
use anyhow::Context;
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// The upload's content type, from the file's extension.
fn content_type(file: &Path) -> anyhow::Result<&'static str> {
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    Ok(match ext.as_deref() {
        Some("zip") => "application/zip",
        Some("csv" | "tsv" | "txt") => "text/csv",
        Some("ndjson" | "jsonl") => "application/x-ndjson",
        _ => {
            return Err(Usage(format!(
                "{} is not a .csv, .tsv, .zip or .ndjson file",
                file.display()
            ))
            .into())
        }
    })
}

/// The job's body from the flags.
fn job_body(a: &ImportArgs, file_id: &str) -> anyhow::Result<Value> {
    let (operation, find_by) = match (&a.upsert_by, &a.update_by, &a.delete_by) {
        (Some(f), _, _) => ("upsert", Some(f)),
        (_, Some(f), _) => ("update", Some(f)),
        (_, _, Some(f)) => ("delete", Some(f)),
        _ => ("insert", None),
    };
    let mut body = json!({"operation": operation, "object": a.object, "file_id": file_id,
                          "ignore_empty": a.ignore_empty});
    if let Some(f) = find_by {
        body["find_by"] = json!(f);
    }
    if !a.maps.is_empty() {
        let maps = a
            .maps
            .iter()
            .map(|m| match m.split_once('=') {
                Some((col, field)) if !col.is_empty() && !field.is_empty() => {
                    Ok(json!({"column": col, "field": field}))
                }
                _ => Err(Usage(format!("--map takes COLUMN=FIELD, not {m:?}")).into()),
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        body["field_mappings"] = json!(maps);
    }
    Ok(body)
}

/// Streams `file` to the server with a byte bar (on a terminal).
async fn upload(api: &Api, app: &str, file: &Path) -> anyhow::Result<Value> {
    let ctype = content_type(file)?;
    let f = tokio::fs::File::open(file)
        .await
        .with_context(|| format!("could not open {}", file.display()))?;
    let size = f.metadata().await?.len();
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "uploading {bar:32.green/blue} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar
    });
    let counted = bar.clone();
    let stream = tokio_util::io::ReaderStream::with_capacity(f, 256 << 10).inspect(move |chunk| {
        if let (Some(b), Ok(c)) = (&counted, chunk) {
            b.inc(c.len() as u64);
        }
    });
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("upload");
    let req = api
        .request(
            reqwest::Method::POST,
            &format!("/v1/apps/{}/files?name={}", seg(app), seg(name)),
        )
        .header("content-type", ctype)
        .header("content-length", size)
        .body(reqwest::Body::wrap_stream(stream));
    let resp = api.send(req).await?;
    if let Some(b) = bar {
        b.finish();
        eprintln!();
    }
    Ok(resp.json().await?)
}

/// Where the result goes: `--result`, else beside the input (`FILE.result.zip`).
fn result_path(a: &ImportArgs) -> PathBuf {
    a.result.clone().unwrap_or_else(|| {
        let mut name = a.file.as_os_str().to_owned();
        name.push(".result.zip");
        PathBuf::from(name)
    })
}

/// Saves the result file of job `id` at `to`.
pub async fn save_result(api: &Api, app: &str, id: &str, to: &Path) -> anyhow::Result<u64> {
    let path = format!("/v1/apps/{}/jobs/{}/result", seg(app), seg(id));
    let resp = api.send(api.request(reqwest::Method::GET, &path)).await?;
    let mut out = tokio::fs::File::create(to)
        .await
        .with_context(|| format!("could not write {}", to.display()))?;
    let mut body = resp.bytes_stream();
    let mut n = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        n += chunk.len() as u64;
        tokio::io::AsyncWriteExt::write_all(&mut out, &chunk).await?;
    }
    // tokio writes in the background: the file is whole only once flushed.
    tokio::io::AsyncWriteExt::flush(&mut out).await?;
    Ok(n)
}

/// What can be checked before the upload, so a mistake costs no transfer: the flags, the file's
/// kind, and that the object and every field the flags name exist.
async fn check(api: &Api, a: &ImportArgs) -> anyhow::Result<()> {
    content_type(&a.file)?;
    let body = job_body(a, "")?;
    let path = format!("/v1/apps/{}/objects/{}", seg(&a.app), seg(&a.object));
    let object = api.get(&path).await?;
    let known = |name: &str| {
        name == "id"
            || object["fields"]
                .as_array()
                .is_some_and(|fs| fs.iter().any(|f| f["name"] == name))
    };
    let mut named: Vec<&str> = body["field_mappings"]
        .as_array()
        .map(|ms| ms.iter().filter_map(|m| m["field"].as_str()).collect())
        .unwrap_or_default();
    named.extend(body["find_by"].as_str());
    // A lookup (`account.email`) names the relation field before the dot.
    if let Some(unknown) = named
        .into_iter()
        .find(|f| !known(f.split('.').next().unwrap_or(f)))
    {
        return Err(Usage(format!("{} has no field {unknown:?}", a.object)).into());
    }
    Ok(())
}

pub async fn run(api: &Api, a: &ImportArgs, as_json: bool) -> anyhow::Result<i32> {
    check(api, a).await?;
    let file = upload(api, &a.app, &a.file).await?;
    let file_id = file["file_id"]
        .as_str()
        .context("the upload has no file_id")?;
    eprintln!(
        "uploaded {} ({} rows, columns: {})",
        a.file.display(),
        file["rows"],
        file["columns"]
            .as_array()
            .map(|c| c
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "))
            .unwrap_or_default()
    );
    let body = job_body(a, file_id)?;
    let job = api
        .post(&format!("/v1/apps/{}/jobs", seg(&a.app)), &body)
        .await?;
    let id = job["id"].as_str().context("the job has no id")?.to_owned();
    if !a.wait {
        if as_json {
            println!("{}", json(&job));
        } else {
            println!(
                "job {id} queued; follow it with `sluice jobs watch {id} --app {}`",
                a.app
            );
        }
        return Ok(0);
    }
    let path = format!("/v1/apps/{}/jobs/{}", seg(&a.app), seg(&id));
    let job = follow(api, &path, Kind::Job).await?;
    let to = result_path(a);
    let saved = save_result(api, &a.app, &id, &to).await;
    if as_json {
        println!("{}", json(&job));
    } else {
        println!("{}", job_summary(&job));
    }
    match saved {
        Ok(_) => eprintln!("result file: {}", to.display()),
        Err(e) => eprintln!("could not save the result file: {e:#}"),
    }
    Ok(exit_code(&job))
}

/// 0 when every row went through, 2 when some failed, 1 when the job did not complete.
pub fn exit_code(job: &Value) -> i32 {
    match job["status"].as_str() {
        Some("completed") if job["progress"]["failed"].as_u64().unwrap_or(0) > 0 => {
            exit::ROWS_FAILED
        }
        Some("completed") => 0,
        _ => exit::FAILED,
    }
}
