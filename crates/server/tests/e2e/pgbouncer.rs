//! Behind PgBouncer in transaction mode (Debian's package): two instances reach one database
//! through a pooler with fewer server connections than they hold, `--database-pooled`, and a
//! direct `--notify-database` for the listener, and every path answers as it does directly.
//! PostgreSQL only; skipped with a message when `pgbouncer` is missing, unless
//! `SLUICE_REQUIRE_PGBOUNCER` is set (as CI does).

use crate::common::{poll, start_in_process, TestApp, ADMIN};
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const RECS: &str = "/v1/apps/crm/objects/contacts/records";
/// Server connections PgBouncer keeps per database and user: fewer than sluice opens.
const POOL_SIZE: i64 = 3;

/// A PgBouncer process on a free local port, in transaction mode; killed when dropped.
struct Bouncer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `pgbouncer` binary, or `None` (after saying the test is skipped) when it is missing.
fn pgbouncer_binary() -> Option<PathBuf> {
    let found = ["pgbouncer", "/usr/sbin/pgbouncer"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| {
            Command::new(p)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
    if found.is_none() {
        assert!(
            std::env::var_os("SLUICE_REQUIRE_PGBOUNCER").is_none(),
            "pgbouncer is not installed (apt-get install pgbouncer, as .ci/run does)"
        );
        eprintln!("SKIPPED: pgbouncer is not installed (apt-get install pgbouncer)");
    }
    found
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

impl Bouncer {
    /// Starts PgBouncer in front of database `db` on the server `direct` names, letting in
    /// `users` without a password (trust: the test server trusts local connections too).
    fn start(binary: &Path, direct: &str, db: &str, users: &[String]) -> Bouncer {
        let config: postgres::Config = direct.parse().unwrap();
        let host = match &config.get_hosts()[0] {
            postgres::config::Host::Tcp(h) => h.clone(),
            #[cfg(unix)]
            postgres::config::Host::Unix(p) => p.display().to_string(),
        };
        let server_port = config.get_ports().first().copied().unwrap_or(5432);
        let dir = tempfile::tempdir().unwrap();
        // Readable by the user PgBouncer switches to.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let port = free_port();
        let auth = dir.path().join("users.txt");
        let lines: String = users.iter().map(|u| format!("\"{u}\" \"\"\n")).collect();
        std::fs::write(&auth, lines).unwrap();
        // PgBouncer refuses to run as root: started as root, it switches to `postgres`.
        let user = if is_root() { "user = postgres" } else { "" };
        let ini = dir.path().join("pgbouncer.ini");
        std::fs::write(
            &ini,
            format!(
                "[databases]\n{db} = host={host} port={server_port} dbname={db}\n\
                 [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\n\
                 unix_socket_dir =\nauth_type = trust\nauth_file = {}\n\
                 pool_mode = transaction\ndefault_pool_size = {POOL_SIZE}\n\
                 max_client_conn = 500\n{user}\n",
                auth.display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("pgbouncer.log")).unwrap();
        let child = Command::new(binary)
            .arg(&ini)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("pgbouncer starts");
        Bouncer { child, port, dir }
    }

    /// Waits until a client gets through the pooler to the database.
    async fn ready(&mut self, url: &str) {
        let url = url.to_owned();
        poll("pgbouncer to accept connections", || {
            let url = url.clone();
            let exited = self.child.try_wait().unwrap();
            let log = self.dir.path().join("pgbouncer.log");
            assert!(
                exited.is_none(),
                "pgbouncer exited ({exited:?}): {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
            async move {
                tokio::task::spawn_blocking(move || {
                    let mut c = postgres::Client::connect(&url, postgres::NoTls).ok()?;
                    c.simple_query("SELECT 1").ok().map(|_| ())
                })
                .await
                .unwrap()
            }
        })
        .await;
    }
}

/// An instance on `pooled` (the pooler's URL), its listener on `direct`.
async fn instance(pooled: &str, direct: &str) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut config = sluice_server::Config::new(dir.path().to_owned());
    config.admin_token = Some(ADMIN.into());
    config.database_url = Some(pooled.to_owned());
    config.database_pooled = true;
    config.notify_database_url = Some(direct.to_owned());
    config.lease_ms = 3000;
    let mut app = start_in_process(config).await;
    app.dir = Some(dir);
    app
}

/// The sessions on `db` by application name: (listeners, others of `user`).
fn sessions(db: &str, user: &str) -> (i64, i64) {
    let (db, user) = (db.to_owned(), user.to_owned());
    crate::pgdb::admin(move |c| {
        let row = c
            .query_one(
                "SELECT count(*) FILTER (WHERE application_name = 'sluice-listener'),
                        count(*) FILTER (WHERE application_name <> 'sluice-listener')
                 FROM pg_stat_activity WHERE datname = $1 AND usename = $2",
                &[&db, &user],
            )
            .unwrap();
        (row.get(0), row.get(1))
    })
    .unwrap()
}

async fn created(app: &TestApp, body: Value) -> String {
    let (s, r) = app.admin("POST", RECS, Some(body)).await;
    assert_eq!(s, 201, "{r}");
    r["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_work_through_pgbouncer_in_transaction_mode() {
    let Some(base) = crate::pgdb::base() else {
        return;
    };
    let Some(binary) = pgbouncer_binary() else {
        return;
    };
    let db_dir = tempfile::tempdir().unwrap();
    let direct = crate::pgdb::database_for(db_dir.path()).unwrap();
    let db = direct
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    // The query role sluice will make for this database, which the pooler must let in too.
    let lookup = db.clone();
    let oid: u32 = crate::pgdb::admin(move |c| {
        c.query_one("SELECT oid FROM pg_database WHERE datname = $1", &[&lookup])
            .unwrap()
            .get(0)
    })
    .unwrap();
    let user: String = base
        .parse::<postgres::Config>()
        .unwrap()
        .get_user()
        .unwrap_or("postgres")
        .to_owned();
    let users = [user.clone(), format!("sluice_query_{oid}")];
    let mut bouncer = Bouncer::start(&binary, &direct, &db, &users);
    let pooled = format!("postgres://{user}@127.0.0.1:{}/{db}", bouncer.port);
    bouncer.ready(&pooled).await;

    let a = instance(&pooled, &direct).await;
    let b = instance(&pooled, &direct).await;

    // A makes the object; B uses it at once (its listener, on the direct URL, heard the change).
    a.setup_crm().await;
    poll("B to hear of the new object", || async {
        let catalog = b.engine().catalog();
        catalog
            .app("crm")
            .and_then(|app| app.object("contacts"))
            .map(|_| ())
    })
    .await;
    let first = created(&b, json!({"email": "first@x", "age": 1})).await;

    // Single CRUD from both instances at once: more sluice connections than server connections.
    let mut creates = Vec::new();
    for i in 0..40 {
        let app = if i % 2 == 0 { &a } else { &b };
        let (client, url) = (app.client.clone(), app.url(RECS));
        creates.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(ADMIN)
                .json(&json!({"email": format!("c{i}@x"), "age": i}))
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        }));
    }
    for c in creates {
        assert_eq!(c.await.unwrap(), 201);
    }
    let path = format!("{RECS}/{first}");
    let (s, r) = a.admin("GET", &path, None).await;
    assert_eq!((s.as_u16(), &r["email"]), (200, &json!("first@x")), "{r}");
    let (s, r) = a.admin("PATCH", &path, Some(json!({"age": 2}))).await;
    assert_eq!((s.as_u16(), &r["age"]), (200, &json!(2)), "{r}");
    let (s, r) = b.admin("GET", &path, None).await;
    assert_eq!((s.as_u16(), &r["age"]), (200, &json!(2)), "{r}");
    let (s, _) = b.admin("DELETE", &path, None).await;
    assert_eq!(s, 204);
    let (s, _) = a.admin("GET", &path, None).await;
    assert_eq!(s, 404);
    let (s, r) = a.admin("POST", RECS, Some(json!({"email": "c3@x"}))).await;
    assert_eq!(
        (s.as_u16(), &r["error"]["code"]),
        (409, &json!("unique_violation")),
        "{r}"
    );

    // A 1,000-operation /v1/bulk.
    let ops: Vec<Value> = (0..1000)
        .map(|i| json!({"method": "POST", "url": RECS, "body": {"email": format!("b{i}@x"), "age": i % 100}}))
        .collect();
    let (s, r) = b
        .admin("POST", "/v1/bulk", Some(json!({"operations": ops})))
        .await;
    assert_eq!(s, 200, "{r}");
    let results = r["results"].as_array().unwrap();
    assert!(results.iter().all(|x| x["status"] == 201) && results.len() == 1000);
    assert_eq!(a.count("crm", "contacts").await, 1040);

    // An upload and an insert job, run to done.
    let csv: String = std::iter::once("email,age\n".to_owned())
        .chain((0..5000).map(|i| format!("j{i}@x,{}\n", i % 90)))
        .collect();
    let (s, file) = a.upload("crm", "j.csv", "text/csv", csv.into_bytes()).await;
    assert_eq!(s, 201, "{file}");
    let (s, job) = b
        .admin(
            "POST",
            "/v1/apps/crm/jobs",
            Some(json!({"operation": "insert", "object": "contacts", "file_id": file["file_id"]})),
        )
        .await;
    assert_eq!(s, 201, "{job}");
    let job = a.wait_job("crm", job["id"].as_str().unwrap()).await;
    assert_eq!(
        (&job["status"], &job["progress"]["added"]),
        (&json!("completed"), &json!(5000)),
        "{job}"
    );
    let (s, result) = b.download(job["result_url"].as_str().unwrap()).await;
    assert_eq!(s, 200);
    assert!(!result.is_empty());

    // A batch: every record under 10 years old deleted.
    let (s, batch) = a
        .admin(
            "POST",
            "/v1/apps/crm/batches",
            Some(
                json!({"start": true, "operations": [{"action": "delete", "object": "contacts",
                "query": "SELECT id FROM contacts WHERE age < 10"}]}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{batch}");
    let bpath = format!("/v1/apps/crm/batches/{}", batch["id"].as_str().unwrap());
    let batch = poll("the batch to finish", || async {
        let (_, x) = b.admin("GET", &bpath, None).await;
        ["success", "failed", "canceled"]
            .contains(&x["status"].as_str().unwrap_or_default())
            .then_some(x)
    })
    .await;
    // Under 10: c0…c9 (10), b*: i % 100 < 10 (100), j*: i % 90 < 10 (560).
    assert_eq!(
        (&batch["status"], &batch["objects_success"]),
        (&json!("success"), &json!(670)),
        "{batch}"
    );
    let left = 1040 + 5000 - 670;
    assert_eq!(b.count("crm", "contacts").await, left);

    // An export, downloaded.
    let (s, e) = b
        .admin(
            "POST",
            "/v1/apps/crm/exports",
            Some(json!({"object": "contacts", "fields": ["email"], "format": "csv"})),
        )
        .await;
    assert_eq!(s, 201, "{e}");
    let epath = format!("/v1/apps/crm/exports/{}", e["id"].as_str().unwrap());
    let e = poll("the export to end", || async {
        let (_, x) = a.admin("GET", &epath, None).await;
        ["completed", "failed", "canceled"]
            .contains(&x["status"].as_str().unwrap_or_default())
            .then_some(x)
    })
    .await;
    assert_eq!(
        (&e["status"], &e["rows"]),
        (&json!("completed"), &json!(left)),
        "{e}"
    );
    let (s, bytes) = a.download(e["result_url"].as_str().unwrap()).await;
    assert_eq!(s, 200);
    assert_eq!(
        bytes.iter().filter(|c| **c == b'\n').count() as u64,
        left + 1
    );

    // The read-only query API, as the query role, through the pooler.
    for app in [&a, &b] {
        let (s, r) = app
            .admin(
                "POST",
                "/v1/apps/crm/query",
                Some(
                    json!({"sql": "SELECT count(*) AS n FROM contacts WHERE age >= $1",
                            "params": [10]}),
                ),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["rows"], json!([[left]]), "{r}");
    }

    // A table's row type is looked up with statements the client keeps: refused as a column,
    // and the connection it was looked up on is not reused, so later queries still answer.
    for _ in 0..3 {
        for app in [&a, &b] {
            let (s, r) = app
                .admin(
                    "POST",
                    "/v1/apps/crm/query",
                    Some(json!({"sql": "SELECT c FROM contacts c LIMIT 1"})),
                )
                .await;
            assert_eq!(s, 400, "{r}");
            let (s, r) = app
                .admin(
                    "POST",
                    "/v1/apps/crm/query",
                    Some(json!({"sql": "SELECT count(*) AS n FROM contacts"})),
                )
                .await;
            assert_eq!((s.as_u16(), &r["rows"]), (200, &json!([[left]])), "{r}");
        }
    }

    // Each listener holds a direct session of its own; everything else shares the pooler's
    // few server connections.
    let (listeners, others) = sessions(&db, &user);
    assert_eq!(listeners, 2);
    assert!(others <= POOL_SIZE, "{others} server sessions");
    a.stop().await;
    b.stop().await;
    drop(bouncer);
}
