//! What one request costs, counted rather than timed, so a noisy machine cannot hide a change: heap
//! allocations, thread hand-offs and SQL statements of a 1,000-row `/v1/bulk` request and of one
//! single create, against a server in this process on the embedded store. Each is measured several
//! times and the least of each count stands (background work can only add to a count). Used by the
//! budget test and `sluice bench bulk`; the process must count allocations (`CountingAlloc`).

use crate::{Config, Server};
use serde_json::{json, Value};
use sluice_engine::counters::{self, Counts};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOKEN: &str = "budget-admin";
const RECORDS: &str = "/v1/apps/budget/objects/people/records";
/// Runs of each request; the least count of each kind stands.
const RUNS: usize = 5;
/// Room for the largest answer (a 1,000-row bulk answer), so reading allocates nothing.
const ANSWER_ROOM: usize = 4 << 20;

/// The counts of each measured request.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    pub bulk: Counts,
    pub single: Counts,
}

/// A record of the bench's shape (8 fields), number `i`.
fn record(i: usize) -> Value {
    json!({
        "email": format!("user{i}@example.com"), "first_name": format!("First{}", i % 1000),
        "last_name": format!("Last{}", i % 777), "age": (i % 90) as i64,
        "score": (i % 1000) as f64 / 7.0, "active": i % 2 == 0,
        "joined": format!("20{:02}-{:02}-{:02}", i % 25, i % 12 + 1, i % 28 + 1),
        "notes": "imported by the bench",
    })
}

fn request(path: &str, body: &Value) -> Vec<u8> {
    let body = body.to_string();
    format!(
        "POST {path} HTTP/1.1\r\nhost: budget\r\nauthorization: Bearer {TOKEN}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// One keep-alive connection that sends prepared requests and reads answers into a buffer made
/// once, so the client itself allocates nothing while a request is counted.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    /// Sends `req` and reads the whole answer; returns its status.
    async fn call(&mut self, req: &[u8]) -> anyhow::Result<u16> {
        self.stream.write_all(req).await?;
        let mut len = 0;
        loop {
            let n = self.stream.read(&mut self.buf[len..]).await?;
            anyhow::ensure!(n > 0, "the server closed the connection");
            len += n;
            if let Some(status) = complete(&self.buf[..len])? {
                return Ok(status);
            }
            anyhow::ensure!(
                len < self.buf.len(),
                "the answer is larger than {ANSWER_ROOM} bytes"
            );
        }
    }
}

/// The answer's status once `got` holds all of it (by its length, or its last chunk).
fn complete(got: &[u8]) -> anyhow::Result<Option<u16>> {
    let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&got[..end])?;
    let status: u16 = head.get(9..12).unwrap_or_default().parse()?;
    let body = &got[end + 4..];
    let length = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())
            .flatten()
    });
    let done = match length {
        Some(n) => body.len() >= n,
        None => body.ends_with(b"0\r\n\r\n"),
    };
    Ok(done.then_some(status))
}

/// Starts a server in this process, makes the bench object, and counts each request `RUNS` times.
pub async fn measure() -> anyhow::Result<Measured> {
    counters::enable();
    let dir = tempfile::tempdir()?;
    let mut config = Config::new(dir.path().to_owned());
    config.admin_token = Some(TOKEN.into());
    let server = Server::bind(config).await?;
    let addr: SocketAddr = server.addr;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async move {
        let _ = stopped.await;
    }));
    let mut conn = Conn {
        stream: TcpStream::connect(addr).await?,
        buf: vec![0; ANSWER_ROOM],
    };
    conn.stream.set_nodelay(true)?;
    let fields = json!([
        {"name": "email", "type": "text", "required": true, "unique": true},
        {"name": "first_name", "type": "text"}, {"name": "last_name", "type": "text"},
        {"name": "age", "type": "integer"}, {"name": "score", "type": "number"},
        {"name": "active", "type": "boolean"}, {"name": "joined", "type": "date"},
        {"name": "notes", "type": "text"}
    ]);
    for (path, body) in [
        ("/v1/apps", json!({"name": "budget"})),
        (
            "/v1/apps/budget/objects",
            json!({"name": "people", "fields": fields}),
        ),
    ] {
        anyhow::ensure!(
            conn.call(&request(path, &body)).await? == 201,
            "{path} failed"
        );
    }
    let bulk = |run: usize| {
        let ops: Vec<Value> = (0..1000)
            .map(|i| json!({"method": "POST", "url": RECORDS, "body": record(run * 1000 + i)}))
            .collect();
        request("/v1/bulk", &json!({"operations": ops}))
    };
    let single = |run: usize| request(RECORDS, &record(1_000_000 + run));
    // Warm: the first of each fills caches (prepared statements, connections) once for good.
    let (mut bulk_counts, mut single_counts) = (None::<Counts>, None::<Counts>);
    for run in 0..=RUNS {
        let (b, s) = (bulk(run), single(run));
        let before = Counts::now();
        anyhow::ensure!(conn.call(&b).await? == 200, "the bulk request failed");
        let b_counts = Counts::since(before);
        let before = Counts::now();
        anyhow::ensure!(conn.call(&s).await? == 201, "the single create failed");
        let s_counts = Counts::since(before);
        if run > 0 {
            bulk_counts = Some(bulk_counts.map_or(b_counts, |c| c.min(b_counts)));
            single_counts = Some(single_counts.map_or(s_counts, |c| c.min(s_counts)));
        }
    }
    let _ = stop.send(());
    serving.await??;
    Ok(Measured {
        bulk: bulk_counts.unwrap_or_default(),
        single: single_counts.unwrap_or_default(),
    })
}
