//! Following a job, batch or export to its end through its event stream (`…/events`): a live bar on a
//! terminal (rows done, rows/s, ETA, failures), a plain line a second otherwise.

use super::Api;
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use serde_json::Value;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// What is followed: how its counters read.
#[derive(Clone, Copy)]
pub enum Kind {
    Job,
    Batch,
    /// Rows written; the total is known only at the end.
    Export,
}

impl Kind {
    /// (done, total, failed)
    fn counts(self, doc: &Value) -> (u64, u64, u64) {
        let n = |v: &Value| v.as_u64().unwrap_or(0);
        match self {
            Kind::Job => {
                let p = &doc["progress"];
                (n(&p["processed"]), n(&p["total"]), n(&p["failed"]))
            }
            Kind::Batch => (
                n(&doc["objects_success"]) + n(&doc["objects_failed"]),
                n(&doc["objects_total"]),
                n(&doc["objects_failed"]),
            ),
            Kind::Export => (n(&doc["rows"]), 0, 0),
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Kind::Job | Kind::Export => "rows",
            Kind::Batch => "records",
        }
    }
}

/// Where progress goes: a bar on a terminal, plain lines (at most one a second) otherwise.
pub struct Progress {
    bar: Option<ProgressBar>,
    kind: Kind,
    last_line: Option<Instant>,
    /// Whether the bar shows a total yet: until the first counts arrive it is a spinner, not a full
    /// bar reading `0/0`.
    sized: bool,
    /// The most done so far: counts shown never go backwards, across reconnections too.
    done: u64,
}

impl Progress {
    pub fn new(kind: Kind) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.set_message("waiting for the first counts…");
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            bar,
            kind,
            last_line: None,
            sized: false,
            done: 0,
        }
    }

    /// The bar's style once its total is known (exports have none: a counter, not a bar).
    fn bar_style(kind: Kind) -> ProgressStyle {
        let unit = kind.unit();
        let template = match kind {
            Kind::Export => {
                format!("{{spinner}} [{{elapsed_precise}}] {{pos}} {unit} {{rate}} {{msg}}")
            }
            _ => format!(
                "{{spinner}} [{{elapsed_precise}}] {{bar:32.cyan/blue}} {{pos}}/{{len}} {unit} \
                 {{rate}} ETA {{eta}} {{msg}}"
            ),
        };
        ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .with_key(
                "rate",
                move |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0} {unit}/s", s.per_sec());
                },
            )
            .progress_chars("█▉▊▋▌▍▎▏ ")
    }

    pub fn show(&mut self, doc: &Value) {
        let (done, total, failed) = self.kind.counts(doc);
        self.done = self.done.max(done);
        let done = self.done;
        let status = doc["status"].as_str().unwrap_or_default();
        match &self.bar {
            Some(bar) => {
                let known = total > 0 || done > 0 || matches!(self.kind, Kind::Export);
                if known && !self.sized {
                    bar.set_style(Self::bar_style(self.kind));
                    self.sized = true;
                }
                if self.sized {
                    if !matches!(self.kind, Kind::Export) {
                        bar.set_length(total.max(done));
                    }
                    bar.set_position(done);
                }
                bar.set_message(match self.kind {
                    Kind::Export => format!("{} bytes · {status}", doc["bytes"]),
                    _ if !self.sized => format!("{status}: waiting for the first counts…"),
                    _ => format!("failed {failed} · {status}"),
                });
            }
            None => {
                let due = self
                    .last_line
                    .is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
                if due {
                    match self.kind {
                        Kind::Export => eprintln!("{status}: {done} rows, {} bytes", doc["bytes"]),
                        _ => eprintln!(
                            "{status}: {done}/{total} {} done, {failed} failed",
                            self.kind.unit()
                        ),
                    }
                    self.last_line = Some(Instant::now());
                }
            }
        }
    }

    /// Says why the counts stopped (the server went away) and when they will be asked for again.
    fn note(&mut self, why: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(why.to_owned()),
            None => eprintln!("{why}"),
        }
    }

    pub fn finish(&mut self, doc: &Value) {
        self.last_line = None;
        self.show(doc);
        if let Some(bar) = self.bar.take() {
            bar.finish();
            // The bar stays on screen; what is printed next starts below it.
            eprintln!();
        }
        if let Some(w) = doc["warning"].as_str() {
            eprintln!("warning: {w}");
        }
    }
}

/// The first wait before asking again after the server went away; it doubles up to `RETRY_MAX`.
const RETRY_FIRST: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// How long the server may stay away before following gives up.
const GIVE_UP_AFTER: Duration = Duration::from_secs(600);

/// Whether `e` is the server being away (not answering, or answering that it is unavailable for
/// now), which a restart causes, rather than a refusal.
fn server_away(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<reqwest::Error>()
            .is_some_and(|r| r.is_connect() || r.is_timeout() || r.is_request() || r.is_body())
    }) || ["502", "503", "504"]
        .iter()
        .any(|s| e.to_string().starts_with(s))
}

/// Follows `path` (the document's URL) to its final state, showing progress; returns it. A stream
/// cut short, or a server gone away (a restart: the work resumes on its own), is asked again with a
/// backoff; the counts go on from where they were.
pub async fn follow(api: &Api, path: &str, kind: Kind) -> anyhow::Result<Value> {
    let mut progress = Progress::new(kind);
    let mut wait = RETRY_FIRST;
    let mut away_since: Option<Instant> = None;
    loop {
        let resp = match api
            .send(api.request(reqwest::Method::GET, &format!("{path}/events")))
            .await
        {
            Ok(resp) => resp,
            Err(e) if server_away(&e) => {
                let since = *away_since.get_or_insert_with(Instant::now);
                if since.elapsed() > GIVE_UP_AFTER {
                    return Err(e.context(format!(
                        "the server stayed away for {} s",
                        GIVE_UP_AFTER.as_secs()
                    )));
                }
                progress.note(&format!(
                    "the server is away ({e:#}); asking again in {:.1} s",
                    wait.as_secs_f64()
                ));
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_MAX);
                continue;
            }
            Err(e) => return Err(e),
        };
        (wait, away_since) = (RETRY_FIRST, None);
        let mut body = resp.bytes_stream();
        // Bytes, not text, until a whole event is in: a character may be split between chunks.
        let mut buf: Vec<u8> = Vec::new();
        while let Some(chunk) = body.next().await {
            let Ok(chunk) = chunk else { break };
            buf.extend_from_slice(&chunk);
            while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
                let frame: Vec<u8> = buf.drain(..end + 2).collect();
                let (event, data) = parse(&String::from_utf8_lossy(&frame));
                match event.as_str() {
                    "progress" | "done" => {
                        let doc: Value = serde_json::from_str(&data)?;
                        if event == "done" {
                            progress.finish(&doc);
                            return Ok(doc);
                        }
                        progress.show(&doc);
                    }
                    "error" => anyhow::bail!("the event stream failed: {data}"),
                    _ => {}
                }
            }
        }
        tokio::time::sleep(wait).await;
    }
}

/// An event's name and data (`data:` lines joined); comments and unknown fields are skipped.
fn parse(frame: &str) -> (String, String) {
    let mut event = String::from("message");
    let mut data: Vec<&str> = Vec::new();
    for line in frame.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            event = v.trim().to_owned();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    (event, data.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_parse_with_multi_line_data_and_comments() {
        assert_eq!(
            parse(": keep-alive\nevent: progress\ndata: {\"a\":\ndata: 1}\n\n"),
            ("progress".into(), "{\"a\":\n1}".into())
        );
        assert_eq!(parse("data: x\n\n"), ("message".into(), "x".into()));
    }
}
