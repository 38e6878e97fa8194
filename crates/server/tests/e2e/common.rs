//! Test helpers: a real server on an ephemeral port with a fresh data dir, in-process or as a
//! child process (for kill -9); one JSON client for every front door; and polling that ends as
//! soon as its condition holds.

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use sluice_engine::clock::Clock;
use sluice_engine::Engine;
use sluice_server::{Config, Server};
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;

pub const ADMIN: &str = "test-admin-token";

/// How often `poll` asks again.
const POLL_EVERY: Duration = Duration::from_millis(20);
/// How long `poll` waits before it gives up.
const POLL_LIMIT: Duration = Duration::from_secs(60);

/// Calls `f` until it returns `Some`, and returns that; fails the test, naming `what`, if that
/// takes longer than a minute.
pub async fn poll<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + POLL_LIMIT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(POLL_EVERY).await;
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    /// `http`, or `https` from `spawn_tls_app_with` (its `client` trusts the certificate).
    pub scheme: &'static str,
    pub client: Client,
    pub dir: Option<TempDir>,
    pub data_dir: PathBuf,
    /// The server's clock (in-process servers only): tests move it instead of sleeping.
    pub clock: Clock,
    /// The server's engine (in-process servers only): tests arm its breakpoints.
    pub engine: Option<Arc<Engine>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

pub fn test_config(data_dir: &Path) -> Config {
    let mut c = Config::new(data_dir.to_owned());
    c.admin_token = Some(ADMIN.into());
    c.database_url = crate::pgdb::database_for(data_dir);
    // A restarted server on a shared database takes its jobs back once their leases expire.
    if c.database_url.is_some() {
        c.lease_ms = 3000;
    }
    c
}

/// Starts a server in this process on port 0 with a fresh temp data dir.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like `spawn_app`, with a chance to change the configuration first.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(dir.path());
    tweak(&mut config);
    let mut app = start_in_process(config).await;
    app.dir = Some(dir);
    app
}

/// A server speaking only HTTPS with a self-signed certificate made now for `localhost` and
/// `127.0.0.1`: the app (its `client` and helpers go over HTTPS), its base `https://127.0.0.1:PORT`
/// and the certificate's PEM file (in the app's temp dir), by which other clients trust the server:
/// Python's `requests` and the SDKs on it with `REQUESTS_CA_BUNDLE=<path>`, curl with `--cacert`.
pub async fn spawn_tls_app_with(tweak: impl FnOnce(&mut Config)) -> (TestApp, String, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = rcgen::generate_simple_self_signed(["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("a self-signed certificate");
    std::fs::write(&cert, made.cert.pem()).expect("certificate written");
    std::fs::write(&key, made.signing_key.serialize_pem()).expect("key written");
    let mut config = test_config(dir.path());
    (config.tls_cert, config.tls_key) = (Some(cert.clone()), Some(key));
    tweak(&mut config);
    let mut app = start_in_process(config).await;
    let ca = reqwest::Certificate::from_pem(made.cert.pem().as_bytes()).expect("a PEM certificate");
    app.client = Client::builder()
        .add_root_certificate(ca)
        .build()
        .expect("client");
    (app.scheme, app.dir) = ("https", Some(dir));
    let base = format!("https://127.0.0.1:{}", app.addr.port());
    (app, base, cert)
}

/// Server logs on the test's output, filtered by `SLUICE_TEST_LOG` (e.g. `warn`), when it is set.
fn init_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(filter) = std::env::var("SLUICE_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
    });
}

pub async fn start_in_process(config: Config) -> TestApp {
    init_logs();
    let (data_dir, clock) = (config.data_dir.clone(), config.clock.clone());
    let server = Server::bind(config).await.expect("server binds");
    let (addr, engine) = (server.addr, server.engine());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server
            .serve(async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
    });
    TestApp {
        addr,
        scheme: "http",
        client: Client::new(),
        dir: None,
        data_dir,
        clock,
        engine: Some(engine),
        shutdown: Some(tx),
        task: Some(task),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{}", self.scheme, self.addr, path)
    }

    /// Sends a request with these headers and an optional JSON body; returns the status and the
    /// body as JSON (a non-JSON body as a string, an empty one as null). Every front door's tests
    /// go through here.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, self.url(path));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let text = resp.text().await.expect("body read");
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, json)
    }

    /// A native call with a bearer token (or none).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        self.send(method, path, &headers, body).await
    }

    /// A call with an `Idempotency-Key` and one credential header: (status, replayed?, body).
    pub async fn keyed(
        &self,
        method: &str,
        path: &str,
        (header, credential): (&str, &str),
        key: &str,
        body: &Value,
    ) -> (u16, bool, Value) {
        let resp = self
            .client
            .request(method.parse().unwrap(), self.url(path))
            .header(header, credential)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let replayed = resp
            .headers()
            .get("idempotent-replayed")
            .is_some_and(|v| v == "true");
        (status, replayed, resp.json().await.unwrap_or(Value::Null))
    }

    /// The in-process server's engine.
    pub fn engine(&self) -> &Engine {
        self.engine.as_deref().expect("an in-process server")
    }

    pub async fn admin(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call(method, path, Some(ADMIN), body).await
    }

    /// Creates app `crm` with object `contacts` (email: required unique text, age: integer, vip: boolean).
    pub async fn setup_crm(&self) {
        let (s, _) = self
            .admin(
                "POST",
                "/v1/apps",
                Some(json!({"name": "crm", "label": "CRM"})),
            )
            .await;
        assert_eq!(s, 201);
        let (s, b) = self
            .admin(
                "POST",
                "/v1/apps/crm/objects",
                Some(json!({"name": "contacts", "label": "Contacts", "fields": [
                    {"name": "email", "type": "text", "required": true, "unique": true},
                    {"name": "age", "type": "integer"},
                    {"name": "vip", "type": "boolean", "default": false}
                ]})),
            )
            .await;
        assert_eq!(s, 201, "{b}");
    }

    /// Creates app `name`.
    pub async fn create_app(&self, name: &str) {
        let (s, b) = self
            .admin("POST", "/v1/apps", Some(json!({ "name": name })))
            .await;
        assert_eq!(s, 201, "{b}");
    }

    /// Creates object `name` with `fields` (a JSON array) in `app`.
    pub async fn create_object(&self, app: &str, name: &str, fields: Value) {
        let (s, b) = self
            .admin(
                "POST",
                &format!("/v1/apps/{app}/objects"),
                Some(json!({"name": name, "fields": fields})),
            )
            .await;
        assert_eq!(s, 201, "{b}");
    }

    /// Creates app user `name` (password `password-1`) with `role`.
    pub async fn create_user(&self, app: &str, name: &str, role: &str) {
        let body = json!({"name": name, "password": "password-1", "role": role, "first_name": "A", "last_name": "B"});
        let (s, b) = self
            .admin("POST", &format!("/v1/apps/{app}/users"), Some(body))
            .await;
        assert_eq!(s, 201, "{b}");
    }

    /// Makes an app token for `user` with `role` and returns its secret.
    pub async fn token(&self, app: &str, user: &str, role: &str) -> String {
        let (s, b) = self
            .admin(
                "POST",
                &format!("/v1/apps/{app}/tokens"),
                Some(json!({"user": user, "role": role})),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        b["token"].as_str().expect("token").to_owned()
    }

    pub async fn count(&self, app: &str, object: &str) -> u64 {
        let (s, b) = self
            .admin(
                "GET",
                &format!("/v1/apps/{app}/objects/{object}/records?count=true&limit=1"),
                None,
            )
            .await;
        assert_eq!(s, 200, "{b}");
        b["total"].as_u64().expect("total")
    }

    pub async fn stop(mut self) -> Option<TempDir> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        self.dir.take()
    }
}

/// A server in a child process, which a test may kill with SIGKILL.
pub struct ChildServer {
    pub addr: SocketAddr,
    pub child: Child,
}

impl Drop for ChildServer {
    /// Killed with SIGKILL, also when a test fails: no child outlives its test.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the server in a child process: this test binary runs itself, selecting only `child_server`.
pub fn spawn_process(data_dir: &Path, extra_env: &[(&str, &str)]) -> ChildServer {
    let exe = std::env::current_exe().expect("test exe");
    let mut cmd = Command::new(exe);
    cmd.args([
        "common::child_server",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("SLUICE_TEST_CHILD_DIR", data_dir)
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("child starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("child printed its address")
            .expect("line");
        // The test harness may print its own words before ours on the same line.
        if let Some((_, a)) = line.split_once("CHILD LISTENING ") {
            break a.trim().parse().expect("address");
        }
    };
    // Keep draining so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    ChildServer { addr, child }
}

impl ChildServer {
    /// SIGKILL: no shutdown, no cleanup (dropping the handle kills the process).
    pub fn kill9(self) {
        drop(self);
    }

    pub fn app(&self) -> TestApp {
        TestApp {
            addr: self.addr,
            scheme: "http",
            client: Client::new(),
            dir: None,
            data_dir: PathBuf::new(),
            clock: Clock::default(),
            engine: None,
            shutdown: None,
            task: None,
        }
    }
}

/// Not a test: the entry point of `spawn_process` children (run with `--ignored`).
#[test]
#[ignore = "the server of spawn_process children, not a test"]
fn child_server() {
    let Ok(dir) = std::env::var("SLUICE_TEST_CHILD_DIR") else {
        return;
    };
    // The runtime `sluice serve` runs on (its threads' stacks bound what input may reach).
    let rt = sluice_server::runtime::runtime().expect("runtime");
    // The test configuration, then any `SLUICE_*` settings the parent passed (a shared database,
    // limits), as `sluice serve` reads them.
    #[derive(clap::Parser)]
    struct FromEnv {
        #[command(flatten)]
        config: Config,
    }
    let mut config = test_config(Path::new(&dir));
    let from_env = <FromEnv as clap::Parser>::parse_from(["child"]).config;
    for (var, apply) in [
        (
            "SLUICE_DATABASE_URL",
            (|c: &mut Config, e: &Config| c.database_url = e.database_url.clone())
                as fn(&mut Config, &Config),
        ),
        ("SLUICE_CALLBACK_ALLOW", |c, e| {
            c.callback_allow = e.callback_allow.clone()
        }),
        ("SLUICE_MAX_BATCH_RECORDS", |c, e| {
            c.max_batch_records = e.max_batch_records
        }),
        ("SLUICE_MAX_JOB_RECORDS", |c, e| {
            c.max_job_records = e.max_job_records
        }),
        ("SLUICE_EXPORT_CHUNK_ROWS", |c, e| {
            c.export_chunk_rows = e.export_chunk_rows
        }),
        ("SLUICE_BATCH_CHUNK_ROWS", |c, e| {
            c.batch_chunk_rows = e.batch_chunk_rows
        }),
        ("SLUICE_JOB_CHUNK_ROWS", |c, e| {
            c.job_chunk_rows = e.job_chunk_rows
        }),
        ("SLUICE_LEASE_MS", |c, e| c.lease_ms = e.lease_ms),
    ] {
        if std::env::var_os(var).is_some() {
            apply(&mut config, &from_env);
        }
    }
    rt.block_on(async {
        let server = Server::bind(config).await.expect("binds");
        println!("CHILD LISTENING {}", server.addr);
        server.serve(std::future::pending()).await.expect("serves");
    });
}

/// A ZIP archive holding the given files.
pub fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        w.start_file(*name, opts).expect("zip entry");
        std::io::Write::write_all(&mut w, data).expect("zip write");
    }
    w.finish().expect("zip").into_inner()
}

/// The files inside a ZIP archive.
pub fn unzip(bytes: &[u8]) -> Vec<(String, String)> {
    let mut a = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    (0..a.len())
        .map(|i| {
            let mut f = a.by_index(i).expect("entry");
            let mut s = String::new();
            std::io::Read::read_to_string(&mut f, &mut s).expect("utf-8");
            (f.name().to_owned(), s)
        })
        .collect()
}

impl TestApp {
    /// Uploads raw bytes as a file of app `app`.
    pub async fn upload(
        &self,
        app: &str,
        name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> (StatusCode, Value) {
        let resp = self
            .client
            .post(self.url(&format!("/v1/apps/{app}/files?name={name}")))
            .bearer_auth(ADMIN)
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .expect("upload sent");
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Polls a job until it reaches a final status.
    pub async fn wait_job(&self, app: &str, id: &str) -> Value {
        let path = format!("/v1/apps/{app}/jobs/{id}");
        poll(&format!("job {id} to finish"), || async {
            let (s, job) = self.admin("GET", &path, None).await;
            assert_eq!(s, 200, "{job}");
            ["completed", "failed", "canceled"]
                .contains(&job["status"].as_str().unwrap_or_default())
                .then_some(job)
        })
        .await
    }

    pub async fn download(&self, path: &str) -> (StatusCode, Vec<u8>) {
        let resp = self
            .client
            .get(self.url(path))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("download");
        let status = resp.status();
        (status, resp.bytes().await.expect("bytes").to_vec())
    }
}

/// A real HTTP receiver for callbacks: answers 500 to the first `fail_first` requests, then 200,
/// and keeps every request's headers and body.
pub struct Receiver {
    pub url: String,
    pub got: Received,
}

/// Requests a receiver got: headers and body each.
pub type Received = Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, Vec<u8>)>>>;

impl Receiver {
    pub async fn start(fail_first: usize) -> Receiver {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let got: Received = Default::default();
        let seen = Arc::new(AtomicUsize::new(0));
        let (g, n) = (got.clone(), seen.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let (g, n) = (g.clone(), n.clone());
                    async move {
                        g.lock().unwrap().push((headers, body.to_vec()));
                        if n.fetch_add(1, Ordering::SeqCst) < fail_first {
                            StatusCode::INTERNAL_SERVER_ERROR
                        } else {
                            StatusCode::OK
                        }
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("receiver") });
        Receiver {
            url: format!("http://{addr}/hook"),
            got,
        }
    }

    /// Waits until `n` requests have arrived.
    pub async fn wait(&self, n: usize) -> Vec<(axum::http::HeaderMap, Vec<u8>)> {
        poll(&format!("{n} callback requests"), || async {
            let got = self.got.lock().unwrap().clone();
            (got.len() >= n).then_some(got)
        })
        .await
    }
}

/// The vendors' Python clients under `target/pydeps`, where `.ci/run` installs them: the directory
/// when `module` imports from it. Otherwise `None`, and the calling test says it is skipped —
/// unless `SLUICE_REQUIRE_PY_CLIENTS` is set, as CI does, when it fails.
pub fn python_deps(module: &str, package: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/pydeps");
    let found = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .env("PYTHONPATH", &dir)
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Some(dir);
    }
    assert!(
        std::env::var_os("SLUICE_REQUIRE_PY_CLIENTS").is_none(),
        "the Python client {package} is not installed under target/pydeps"
    );
    eprintln!(
        "SKIPPED: the Python client {package} is not installed \
         (python3 -m pip install --target target/pydeps {package}, as .ci/run does)"
    );
    None
}
