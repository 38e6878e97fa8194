//! `sluice bench`: throughput measured against the raw engine in the same run, since the machine
//! is shared and noisy. Each scenario prints rows/s (or requests/s) and the ratio to raw SQLite.

pub mod batches;
pub mod bulk;
pub mod export;
pub mod jobs;
pub mod load;
pub mod pg;
pub mod pg_raw;
pub mod raw;
pub mod records;
pub mod relations;
pub mod salesforce;
pub mod served;

use reqwest::Client;
use serde_json::{json, Value};
use sluice_server::{Config, Server};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const ADMIN: &str = "bench-admin";

/// The bench object: 8 fields, `email` unique — the same shape the raw baseline writes.
pub fn bench_fields() -> Value {
    json!([
        {"name": "email", "type": "text", "required": true, "unique": true},
        {"name": "first_name", "type": "text"},
        {"name": "last_name", "type": "text"},
        {"name": "age", "type": "integer"},
        {"name": "score", "type": "number"},
        {"name": "active", "type": "boolean"},
        {"name": "joined", "type": "date"},
        {"name": "notes", "type": "text"}
    ])
}

/// Row `i` of the bench data set, as a JSON record.
pub fn bench_record(i: usize) -> Value {
    json!({
        "email": format!("user{i}@example.com"),
        "first_name": format!("First{}", i % 1000),
        "last_name": format!("Last{}", i % 777),
        "age": (i % 90) as i64,
        "score": (i % 1000) as f64 / 7.0,
        "active": i % 2 == 0,
        "joined": format!("20{:02}-{:02}-{:02}", i % 25, i % 12 + 1, i % 28 + 1),
        "notes": "imported by the bench",
    })
}

/// A server on a fresh temp dir, in this process, with the bench app and object made.
pub struct BenchServer {
    pub addr: SocketAddr,
    pub client: Client,
    /// Stops the server when the bench is done with it (see `Drop`).
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl BenchServer {
    pub async fn start(tweak: impl FnOnce(&mut Config)) -> anyhow::Result<BenchServer> {
        let dir = tempfile::tempdir()?;
        let mut config = Config::new(dir.path().to_owned());
        config.admin_token = Some(ADMIN.into());
        tweak(&mut config);
        let server = Server::bind(config).await?;
        let addr = server.addr;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = server
                .serve(async move {
                    let _ = stopped.await;
                })
                .await;
            // Its data goes once it has shut down, not while its background work still runs.
            drop(dir);
        });
        let b = BenchServer {
            addr,
            client: Client::new(),
            stop: Some(stop),
        };
        b.post("/v1/apps", json!({"name": "bench"})).await?;
        b.post(
            "/v1/apps/bench/objects",
            json!({"name": "people", "fields": bench_fields()}),
        )
        .await?;
        Ok(b)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let resp = self
            .client
            .post(self.url(path))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
            .await?;
        let status = resp.status();
        let v: Value = resp.json().await?;
        anyhow::ensure!(status.is_success(), "{path}: {status} {v}");
        Ok(v)
    }
}

impl BenchServer {
    /// Creates records `from..to` one `POST` at a time; returns records per second.
    pub async fn single_posts(&self, from: usize, to: usize) -> anyhow::Result<f64> {
        let url = self.url("/v1/apps/bench/objects/people/records");
        let start = std::time::Instant::now();
        for i in from..to {
            let resp = self
                .client
                .post(&url)
                .bearer_auth(ADMIN)
                .json(&bench_record(i))
                .send()
                .await?;
            anyhow::ensure!(resp.status() == 201, "create failed: {}", resp.status());
        }
        Ok(rate(to - from, start.elapsed()))
    }
}

pub fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

/// What a child server logs.
#[derive(Clone, Copy)]
enum Logs {
    /// Errors only, to the bench's standard error (the benches of one engine path).
    ErrorsOnly,
    /// Its defaults, to a file.
    AsShipped,
}

/// `sluice serve` as a child process, so its memory can be read from `/proc`; killed on drop.
pub struct ChildServer {
    pub child: Child,
    pub base: String,
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ChildServer {
    /// Stops the server as an operator does (SIGTERM), so it closes its store cleanly.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }

    /// The server's peak resident set so far (`VmHWM`), in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        self.status_mib("VmHWM:")
    }

    /// Resets the server's peak RSS (`VmHWM`) to its current size, so the next peak read is that
    /// of what runs from now on (`/proc/<pid>/clear_refs`, Linux 4.0 and later).
    /// Whether it could.
    pub fn reset_peak(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5").is_ok()
    }

    /// The server's resident set now (`VmRSS`), in MiB.
    pub fn rss_mib(&self) -> f64 {
        self.status_mib("VmRSS:")
    }

    fn status_mib(&self, key: &str) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

impl ChildServer {
    /// Starts `sluice serve` on a free port over `dir`, with `args`, and waits until it answers.
    pub async fn start(dir: &Path, args: &[&str]) -> anyhow::Result<ChildServer> {
        ChildServer::start_bin(None, dir, args).await
    }

    /// Like `start`, with another `sluice` binary (`None`: this one).
    pub async fn start_bin(
        bin: Option<std::path::PathBuf>,
        dir: &Path,
        args: &[&str],
    ) -> anyhow::Result<ChildServer> {
        ChildServer::spawn(bin, dir, args, Logs::ErrorsOnly).await
    }

    /// `sluice serve` as started by default: logging as shipped (one line per answer), written to
    /// `serve.log` beside the data dir as a service manager would collect it.
    pub async fn start_as_shipped(
        bin: Option<std::path::PathBuf>,
        dir: &Path,
    ) -> anyhow::Result<ChildServer> {
        ChildServer::spawn(bin, dir, &[], Logs::AsShipped).await
    }

    async fn spawn(
        bin: Option<std::path::PathBuf>,
        dir: &Path,
        args: &[&str],
        logs: Logs,
    ) -> anyhow::Result<ChildServer> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let bin = match bin {
            Some(b) => b,
            None => std::env::current_exe()?,
        };
        let mut command = Command::new(bin);
        command
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(dir)
            .args(args)
            .env("SLUICE_ADMIN_TOKEN", ADMIN)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null());
        match logs {
            Logs::ErrorsOnly => {
                command.env("RUST_LOG", "error");
            }
            Logs::AsShipped => {
                let mut log = dir.as_os_str().to_owned();
                log.push(".serve.log");
                command.stderr(std::fs::File::create(log)?);
            }
        }
        let child = command.spawn()?;
        let server = ChildServer {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = Client::new();
        for _ in 0..200 {
            if client
                .get(format!("{}/healthz", server.base))
                .send()
                .await
                .is_ok()
            {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("the server did not start")
    }
}
