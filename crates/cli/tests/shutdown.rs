//! SIGTERM on `sluice serve` with a job running: the process ends within the shutdown deadline,
//! the job stops at a chunk boundary, and the next start finishes it with exact counts — while a
//! `jobs watch` started before the restart waits for the server and follows the job to its end.

#![allow(clippy::unwrap_used)]

mod common;

use common::{contacts_csv, setup, Cli, Server};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[test]
fn sigterm_stops_a_job_at_a_chunk_boundary_and_the_next_start_finishes_it() {
    let data = tempfile::tempdir().unwrap();
    let args = ["--job-chunk-rows", "500"];
    let listen = free_address();
    let mut server = Server::start_at(data.path(), &listen, &args, false);
    let cli = Cli::new();
    setup(&cli, &server);
    let files = tempfile::tempdir().unwrap();
    let csv = contacts_csv(files.path(), 200_000);
    let job = cli.json(&[
        "import",
        csv.to_str().unwrap(),
        "--app",
        "crm",
        "--object",
        "contacts",
        "--map",
        "E-mail=email",
        "--map",
        "age=age",
    ]);
    let id = job["id"].as_str().unwrap().to_owned();
    // Someone follows the job from before the restart to its end.
    let watch = cli
        .command(&["--json", "jobs", "watch", &id, "--app", "crm"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The job's own event stream says when it is under way; then the server is asked to stop.
    let first = first_progress(&server.url, &id);
    assert!(first < 200_000, "under way, not done: {first}");
    let pid = server.child.id().to_string();
    let asked = Instant::now();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = server.child.wait().unwrap();
    let took = asked.elapsed();
    assert!(status.success(), "a clean exit: {status}");
    assert!(
        took < Duration::from_secs(10),
        "stopped within the deadline: {took:?}"
    );
    drop(server);
    // The stopped job is part-done (a whole number of chunks) and finishes after a restart; the
    // watch that began before it reconnects and ends with the job (rows failed: exit 2).
    let _server = Server::start_at(data.path(), &listen, &args, false);
    let done = watch.wait_with_output().unwrap();
    assert_eq!(
        done.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&done.stdout)
    );
    let job: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(job["status"], "completed", "{job}");
    let p = &job["progress"];
    assert_eq!(
        (p["processed"].as_u64(), p["failed"].as_u64()),
        (Some(200_000), Some(400))
    );
    assert_eq!(p["added"], 199_600);
    let n = cli.json(&[
        "query",
        "SELECT count(*) AS n FROM contacts",
        "--app",
        "crm",
    ]);
    assert_eq!(n["rows"][0][0], 199_600, "no row lost or written twice");
}

/// A loopback address no one listens on now.
fn free_address() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

/// Follows job `id`'s event stream (`GET …/jobs/{id}/events`) until an event counts processed
/// rows; that count.
fn first_progress(url: &str, id: &str) -> u64 {
    let addr = url.trim_start_matches("http://");
    let mut conn = TcpStream::connect(addr).unwrap();
    write!(
        conn,
        "GET /v1/apps/crm/jobs/{id}/events HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {}\r\nConnection: close\r\n\r\n",
        common::ADMIN
    )
    .unwrap();
    for line in BufReader::new(conn).lines() {
        let line = line.unwrap();
        let Some(data) = line.strip_prefix("data:") else {
            continue;
        };
        let doc: serde_json::Value = serde_json::from_str(data.trim()).unwrap();
        if let Some(n) = doc["progress"]["processed"].as_u64().filter(|n| *n > 0) {
            return n;
        }
    }
    panic!("the event stream ended before the job made progress");
}
