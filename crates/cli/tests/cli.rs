//! The `sluice` binary end to end: `sluice serve` as the server, the client commands against it
//! (login, import with failures, watch, `--json`), its progress bar in a pseudo-terminal, and its
//! JSON logs.

#![allow(clippy::unwrap_used)]

mod common;

use common::{contacts_csv, setup, Cli, Server, ADMIN, BIN};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::process::Command;

#[test]
fn login_import_watch_and_json_outputs() {
    let server = Server::start(&[], false);
    let cli = Cli::new();
    setup(&cli, &server);
    let profiles = cli.config.path().join("sluice/profiles.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&profiles).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the profile holds a token");
    }
    let dir = tempfile::tempdir().unwrap();
    let csv = contacts_csv(dir.path(), 5000);
    let csv_arg = csv.to_str().unwrap();
    // 10 rows fail: the exit code says so, the summary counts them, the result file lists them.
    let out = cli.run(&[
        "import",
        csv_arg,
        "--app",
        "crm",
        "--object",
        "contacts",
        "--map",
        "E-mail=email",
        "--map",
        "age=age",
        "--wait",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    let summary: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(summary.contains(&vec!["added", "4990"]), "{stdout}");
    assert!(summary.contains(&vec!["failed", "10"]), "{stdout}");
    assert!(summary.contains(&vec!["status", "completed"]), "{stdout}");
    assert!(
        stderr.contains("5000/5000 rows done, 10 failed"),
        "plain progress off a terminal: {stderr}"
    );
    let result = dir.path().join("contacts.csv.result.zip");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&result).unwrap()).unwrap();
    let mut text = String::new();
    zip.by_index(0).unwrap().read_to_string(&mut text).unwrap();
    assert_eq!(text.lines().count(), 5001, "a header and a line per row");
    assert_eq!(text.lines().filter(|l| l.contains(",failed,")).count(), 10);

    // --json on read commands parses, and says the same.
    let jobs = cli.json(&["jobs", "list", "--app", "crm"]);
    let job = &jobs["jobs"][0];
    assert_eq!(job["status"], "completed");
    assert_eq!(job["progress"]["failed"], 10);
    let id = job["id"].as_str().unwrap();
    let shown = cli.json(&["jobs", "show", id, "--app", "crm"]);
    assert_eq!(shown["progress"]["added"], 4990);
    let watched = cli.run(&["jobs", "watch", id, "--app", "crm"]);
    assert_eq!(
        watched.status.code(),
        Some(2),
        "a finished job with failures"
    );
    let apps = cli.json(&["apps", "list"]);
    assert_eq!(apps["apps"][0]["name"], "crm");
    let q = cli.json(&[
        "query",
        "SELECT count(*) AS n FROM contacts",
        "--app",
        "crm",
    ]);
    assert_eq!(q["rows"][0][0], 4990);
    let csv_out = cli.ok(
        &[
            "query",
            "SELECT count(*) AS n FROM contacts",
            "--app",
            "crm",
            "--csv",
        ],
        0,
    );
    assert_eq!(csv_out, "n\n4990\n");
    // A second import of the same rows as an upsert by email updates them all.
    let up = cli.run(&[
        "--json",
        "import",
        csv_arg,
        "--app",
        "crm",
        "--object",
        "contacts",
        "--map",
        "E-mail=email",
        "--map",
        "age=age",
        "--upsert-by",
        "email",
        "--wait",
        "--result",
        dir.path().join("up.zip").to_str().unwrap(),
    ]);
    let up_job: Value = serde_json::from_slice(&up.stdout).unwrap();
    assert_eq!(up_job["progress"]["updated"], 4990, "{up_job}");
    assert!(dir.path().join("up.zip").exists());

    // Exports: an object's filtered records to CSV, a query's rows to NDJSON (by extension).
    let out_csv = dir.path().join("old.csv");
    let said = cli.ok(
        &[
            "export",
            "--app",
            "crm",
            "--object",
            "contacts",
            "--filter",
            "age[gte]=50",
            "--fields",
            "email,age",
            "--sort",
            "-age",
            "-o",
            out_csv.to_str().unwrap(),
        ],
        0,
    );
    let text = std::fs::read_to_string(&out_csv).unwrap();
    let n = text.lines().count() - 1;
    assert!(text.starts_with("email,age\n") && n > 0, "{text:.200}");
    assert!(said.contains(&format!("exported {n} rows")), "{said}");
    let out_nd = dir.path().join("q.ndjson");
    cli.ok(
        &[
            "export",
            "--app",
            "crm",
            "--query",
            "SELECT email FROM contacts WHERE age < $1",
            "--param",
            "10",
            "-o",
            out_nd.to_str().unwrap(),
        ],
        0,
    );
    let lines: Vec<Value> = std::fs::read_to_string(&out_nd)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!lines.is_empty() && lines.iter().all(|l| l["email"].is_string()));
    let bad = cli.run(&["export", "--app", "crm", "-o", "x.csv"]);
    assert_eq!(
        bad.status.code(),
        Some(64),
        "an object or a query is required: a usage error"
    );
}

#[test]
fn a_token_from_the_environment_overrides_the_profile_and_bad_input_is_refused() {
    let server = Server::start(&[], false);
    let cli = Cli::new();
    // No profile and no URL: a clear error.
    let out = cli.run(&["apps", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sluice login"));
    let out = cli
        .command(&["apps", "list"])
        .env("SLUICE_URL", &server.url)
        .env("SLUICE_TOKEN", "wrong")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unauthorized"));
    let out = cli
        .command(&["--json", "apps", "list"])
        .env("SLUICE_URL", &server.url)
        .env("SLUICE_TOKEN", ADMIN)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let bad = cli.run(&["login", &server.url, "--token", "wrong"]);
    assert_eq!(bad.status.code(), Some(1), "a login is checked first");
    assert!(!cli.config.path().join("sluice/profiles.json").exists());
}

/// In a pseudo-terminal (`script`, from util-linux) the import draws its bars.
#[test]
fn the_import_draws_a_progress_bar_on_a_terminal() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIPPED the_import_draws_a_progress_bar_on_a_terminal: no `script` command");
        return;
    }
    let server = Server::start(&[], false);
    let cli = Cli::new();
    setup(&cli, &server);
    let dir = tempfile::tempdir().unwrap();
    let csv = contacts_csv(dir.path(), 20_000);
    let line = format!(
        "{BIN} import {} --app crm --object contacts --map E-mail=email --map age=age --wait",
        csv.display()
    );
    let out = Command::new("script")
        .args(["-qfec", &line, "/dev/null"])
        .env("XDG_CONFIG_HOME", cli.config.path())
        .env("TERM", "xterm")
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(screen.contains("uploading"), "the upload bar: {screen}");
    assert!(screen.contains("/20000 rows"), "the rows bar: {screen}");
    assert!(screen.contains("ETA"), "{screen}");
    assert!(screen.contains('\u{1b}'), "drawn with terminal codes");
    // Until the first counts arrive there is no total: never a full bar reading 0/0.
    assert!(
        !screen.contains("0/0 rows"),
        "an honest first frame: {screen}"
    );
    assert!(
        !screen.contains("rows done"),
        "no plain lines on a terminal"
    );
}

/// `--log-format json`: one JSON object a line, each request's with its `X-Request-Id`.
#[test]
fn json_logs_carry_the_request_id() {
    let mut server = Server::start(&["--log-format", "json"], true);
    let addr = server.url.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    std::io::Write::write_all(
        &mut conn,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: trace-me-42\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("x-request-id: trace-me-42"),
        "echoed: {answer}"
    );
    let stderr = server.stderr.take().unwrap();
    let line = BufReader::new(stderr)
        .lines()
        .map(|l| l.unwrap())
        .find(|l| l.contains("trace-me-42"))
        .unwrap();
    let v: Value = serde_json::from_str(&line).expect("a JSON line");
    assert_eq!(v["span"]["request_id"], "trace-me-42", "{v}");
    assert_eq!(v["fields"]["status"], 200, "{v}");
    assert!(!line.contains('\u{1b}'), "no colour codes off a terminal");
}

/// `sluice serve --tls-cert --tls-key`: it prints an `https://` address and answers a client that
/// trusts its certificate; certificate and key files it cannot use (here from the environment)
/// stop it before it listens, with a message naming the file; one flag without the other is a
/// usage error.
#[test]
fn serve_over_tls_and_refuse_unusable_files() {
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let server = Server::start(&["--tls-cert", cert, "--tls-key", key], false);
    let port = server
        .url
        .strip_prefix("https://127.0.0.1:")
        .expect("an https:// address");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        let ca = reqwest::Certificate::from_pem(made.cert.pem().as_bytes()).unwrap();
        let client = reqwest::Client::builder()
            .add_root_certificate(ca)
            .build()
            .unwrap();
        let url = format!("https://localhost:{port}/healthz");
        client.get(url).send().await.unwrap().status()
    });
    assert_eq!(status, 200);

    let missing = dir.path().join("missing.pem");
    let serve = |env: &[(&str, &std::path::Path)]| {
        let mut c = Command::new(BIN);
        c.args(["serve", "--listen", "127.0.0.1:0", "--admin-token", ADMIN]);
        c.arg("--data-dir").arg(dir.path().join("data"));
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let out = serve(&[
        ("SLUICE_TLS_CERT", &missing),
        ("SLUICE_TLS_KEY", key.as_ref()),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("--tls-cert {}", missing.display())),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("listening"));
    let out = serve(&[("SLUICE_TLS_KEY", key.as_ref())]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(stderr.contains("--tls-cert"), "{stderr}");
}
