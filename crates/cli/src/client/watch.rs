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
}

impl Progress {
    pub fn new(kind: Kind) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
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
            let style = ProgressStyle::with_template(&template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .with_key(
                    "rate",
                    move |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.0} {unit}/s", s.per_sec());
                    },
                )
                .progress_chars("█▉▊▋▌▍▎▏ ");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            bar,
            kind,
            last_line: None,
        }
    }

    pub fn show(&mut self, doc: &Value) {
        let (done, total, failed) = self.kind.counts(doc);
        let status = doc["status"].as_str().unwrap_or_default();
        match &self.bar {
            Some(bar) => {
                bar.set_length(total.max(done));
                bar.set_position(done);
                bar.set_message(match self.kind {
                    Kind::Export => format!("{} bytes · {status}", doc["bytes"]),
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

    pub fn finish(&mut self, doc: &Value) {
        self.last_line = None;
        self.show(doc);
        if let Some(bar) = self.bar.take() {
            bar.finish();
            // The bar stays on screen; what is printed next starts below it.
            eprintln!();
        }
    }
}

/// Follows `path` (the document's URL) to its final state, showing progress; returns it. A stream
/// cut short (a restart, a proxy) is opened again: it starts with the current state.
pub async fn follow(api: &Api, path: &str, kind: Kind) -> anyhow::Result<Value> {
    let mut progress = Progress::new(kind);
    loop {
        let resp = api
            .send(api.request(reqwest::Method::GET, &format!("{path}/events")))
            .await?;
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
        tokio::time::sleep(Duration::from_secs(1)).await;
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
