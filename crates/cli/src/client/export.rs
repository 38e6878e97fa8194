//! `sluice export`: creates an export, follows it live, then downloads its file with a byte bar;
//! a download cut short is resumed with `Range` from what was saved (checked with `If-Range`, so a
//! changed file starts over).

use super::args::ExportArgs;
use super::output::json;
use super::watch::{follow, Kind};
use super::{seg, Api, Usage};
use anyhow::{bail, Context};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use reqwest::header::{CONTENT_LENGTH, ETAG, IF_RANGE, RANGE};
use serde_json::{json as j, Value};
use std::io::IsTerminal;
use std::path::Path;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

/// Times a cut download is resumed before giving up.
const RESUMES: u32 = 5;

/// The export's format: `--format`, else the output's extension; anything else is a usage error,
/// found before the export is made (a `.xlsx` file would otherwise silently hold CSV).
fn format(a: &ExportArgs) -> anyhow::Result<&'static str> {
    let given = a.format.as_deref().map(str::to_ascii_lowercase);
    let ext = a
        .output
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match (given.as_deref(), ext.as_deref()) {
        (Some("csv"), _) | (None, Some("csv")) => Ok("csv"),
        (Some("ndjson"), _) | (None, Some("ndjson" | "jsonl")) => Ok("ndjson"),
        (Some("zip"), _) | (None, Some("zip")) => Ok("zip"),
        (Some(other), _) => Err(Usage(format!(
            "--format is csv, ndjson or zip, not {other:?}"
        ))
        .into()),
        (None, other) => Err(Usage(format!(
            "cannot tell the format from {} (.{}): name the file .csv, .ndjson or .zip, or give --format",
            a.output.display(),
            other.unwrap_or("")
        ))
        .into()),
    }
}

fn body(a: &ExportArgs) -> anyhow::Result<Value> {
    let mut b = j!({"format": format(a)?});
    if let Some(o) = &a.object {
        b["object"] = j!(o);
        if let Some(f) = &a.filter {
            b["filter"] = j!(f);
        }
        if !a.fields.is_empty() {
            b["fields"] = j!(a.fields);
        }
        if let Some(s) = &a.sort {
            b["sort"] = j!(s);
        }
    }
    if let Some(q) = &a.query {
        b["query"] = j!(q);
        let params: Vec<Value> = a
            .params
            .iter()
            .map(|p| serde_json::from_str(p).unwrap_or_else(|_| j!(p)))
            .collect();
        b["params"] = j!(params);
    }
    Ok(b)
}

pub async fn run(api: &Api, a: &ExportArgs, as_json: bool) -> anyhow::Result<i32> {
    let app = seg(&a.app);
    let e = api
        .post(&format!("/v1/apps/{app}/exports"), &body(a)?)
        .await?;
    let id = e["id"].as_str().context("the export has no id")?.to_owned();
    let e = follow(
        api,
        &format!("/v1/apps/{app}/exports/{}", seg(&id)),
        Kind::Export,
    )
    .await?;
    if e["status"] != "completed" {
        if as_json {
            println!("{}", json(&e));
        }
        eprintln!(
            "the export {} is {}: {}",
            id,
            e["status"].as_str().unwrap_or("?"),
            e["error"].as_str().unwrap_or("no file")
        );
        return Ok(1);
    }
    let url = e["result_url"].as_str().context("no result_url")?;
    let saved = download(api, url, &a.output, e["bytes"].as_u64().unwrap_or(0)).await?;
    if as_json {
        println!("{}", json(&e));
    } else {
        println!(
            "exported {} rows to {} ({saved} bytes)",
            e["rows"],
            a.output.display()
        );
    }
    Ok(0)
}

/// Saves `url` at `to`, resuming a cut transfer from where it stopped; the bytes saved.
async fn download(api: &Api, url: &str, to: &Path, size: u64) -> anyhow::Result<u64> {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {bar:32.cyan/blue} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    let mut out = tokio::io::BufWriter::with_capacity(
        1 << 20,
        tokio::fs::File::create(to)
            .await
            .with_context(|| format!("could not write {}", to.display()))?,
    );
    let (mut have, mut etag, mut tries) = (0u64, None::<String>, 0);
    loop {
        let mut req = api.request(reqwest::Method::GET, url);
        if let Some(tag) = etag.as_deref().filter(|_| have > 0) {
            req = req
                .header(RANGE, format!("bytes={have}-"))
                .header(IF_RANGE, tag);
        }
        let resp = api.send(req).await?;
        if resp.status() != reqwest::StatusCode::PARTIAL_CONTENT && have > 0 {
            // The whole file again (it changed, or ranges are not served): start over.
            out.flush().await?;
            out.get_mut().set_len(0).await?;
            out.rewind().await?;
            have = 0;
        }
        etag = resp
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let expect = resp
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        let (mut stream, start) = (resp.bytes_stream(), have);
        let mut cut = false;
        while let Some(piece) = stream.next().await {
            let Ok(piece) = piece else {
                cut = true;
                break;
            };
            out.write_all(&piece).await?;
            have += piece.len() as u64;
            if let Some(b) = &bar {
                b.set_position(have);
            }
        }
        out.flush().await?;
        let short = expect.is_some_and(|n| have - start < n) || have < size;
        if !(cut || short) {
            break;
        }
        tries += 1;
        if tries > RESUMES {
            bail!("the download was cut {RESUMES} times; {have} of {size} bytes saved");
        }
    }
    if let Some(b) = bar {
        b.finish();
        eprintln!();
    }
    Ok(have)
}
