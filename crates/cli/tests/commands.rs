//! The commands a new user reaches for after an import: batches created from a query or a file of
//! ids (a dry run first), objects changed field by field; and what is refused before anything is
//! sent or uploaded, with the usage exit code (64) apart from failed rows (2).

#![allow(clippy::unwrap_used)]

mod common;

use common::{contacts_csv, setup, Cli, Server};
use serde_json::Value;

#[test]
fn batches_from_a_query_or_ids_with_a_dry_run_and_a_bar() {
    let server = Server::start(&[], false);
    let cli = Cli::new();
    setup(&cli, &server);
    let dir = tempfile::tempdir().unwrap();
    let csv = contacts_csv(dir.path(), 3000);
    let csv = csv.to_str().unwrap();
    let import = [
        "import",
        csv,
        "--app",
        "crm",
        "--object",
        "contacts",
        "--map",
        "E-mail=email",
        "--map",
        "age=age",
        "--wait",
    ];
    // Six rows carry a bad age: the import finishes with failed rows, exit 2.
    cli.ok(&import, 2);
    let q = "SELECT id FROM contacts WHERE age >= 80";
    let dry = cli.json(&[
        "batches",
        "create",
        "--app",
        "crm",
        "--object",
        "contacts",
        "--action",
        "delete",
        "--query",
        q,
        "--dry-run",
    ]);
    let n = dry["count"].as_u64().unwrap();
    assert!(n > 200, "{dry}");
    assert_eq!(dry["sample_ids"].as_array().unwrap().len(), 20);
    let before = count(&cli);
    let done = cli.json(&[
        "batches", "create", "--app", "crm", "--object", "contacts", "--action", "update",
        "--query", q, "--set", "age=79", "--wait",
    ]);
    assert_eq!(
        (done["status"].as_str(), done["objects_success"].as_u64()),
        (Some("success"), Some(n)),
        "{done}"
    );
    assert_eq!(count(&cli), before, "an update deletes nothing");
    // Ids from a file: three records deleted.
    let rows = cli.json(&[
        "query",
        "SELECT id FROM contacts ORDER BY id LIMIT 3",
        "--app",
        "crm",
    ]);
    let ids: Vec<String> = rows["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap().to_owned())
        .collect();
    let file = dir.path().join("ids.txt");
    std::fs::write(&file, ids.join("\n") + "\n").unwrap();
    let del = cli.json(&[
        "batches",
        "create",
        "--app",
        "crm",
        "--object",
        "contacts",
        "--action",
        "delete",
        "--ids",
        file.to_str().unwrap(),
        "--wait",
    ]);
    assert_eq!(del["objects_success"], 3, "{del}");
    assert_eq!(count(&cli), before - 3);
}

fn count(cli: &Cli) -> u64 {
    let v = cli.json(&[
        "query",
        "SELECT count(*) AS n FROM contacts",
        "--app",
        "crm",
    ]);
    v["rows"][0][0].as_u64().unwrap()
}

#[test]
fn objects_change_field_by_field() {
    let server = Server::start(&[], false);
    let cli = Cli::new();
    setup(&cli, &server);
    let o = cli.json(&[
        "objects",
        "update",
        "contacts",
        "--app",
        "crm",
        "--add",
        "city:text",
        "--add",
        "code:text:unique",
        "--change",
        "age:label=Years",
        "--rename",
        "city=town",
        "--index",
        "town",
    ]);
    let field = |o: &Value, name: &str| {
        o["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(field(&o, "town")["indexed"], true, "{o}");
    assert_eq!(field(&o, "code")["unique"], true, "{o}");
    assert_eq!(field(&o, "age")["label"], "Years", "{o}");
    let o = cli.json(&[
        "objects",
        "update",
        "contacts",
        "--app",
        "crm",
        "--drop",
        "code",
        "--unindex",
        "town",
        "--change",
        "town:default=Paris",
    ]);
    assert!(field(&o, "code").is_null(), "{o}");
    assert_eq!(field(&o, "town")["default"], "Paris", "{o}");
    let out = cli.run(&["objects", "update", "contacts", "--app", "crm"]);
    assert_eq!(
        out.status.code(),
        Some(64),
        "nothing to change is a usage error"
    );
}

#[test]
fn mistakes_are_refused_before_anything_is_sent() {
    let server = Server::start(&[], false);
    let cli = Cli::new();
    setup(&cli, &server);
    let dir = tempfile::tempdir().unwrap();
    let csv = contacts_csv(dir.path(), 10);
    let csv = csv.to_str().unwrap();
    let stderr = |args: &[&str], code: i32| {
        let out = cli.run(args);
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {text}");
        assert!(
            !text.contains("uploaded"),
            "refused before the upload: {text}"
        );
        text
    };
    let e = stderr(
        &[
            "import", csv, "--app", "crm", "--object", "contacts", "--map", "email",
        ],
        64,
    );
    assert!(e.contains("COLUMN=FIELD"), "{e}");
    let e = stderr(
        &[
            "import",
            csv,
            "--app",
            "crm",
            "--object",
            "contacts",
            "--map",
            "E-mail=mail",
        ],
        64,
    );
    assert!(e.contains("no field \"mail\""), "{e}");
    let e = stderr(&["import", csv, "--app", "crm", "--object", "people"], 1);
    assert!(e.contains("people"), "{e}");
    let e = stderr(
        &[
            "export",
            "--app",
            "crm",
            "--object",
            "contacts",
            "-o",
            dir.path().join("out.xlsx").to_str().unwrap(),
        ],
        64,
    );
    assert!(e.contains("--format"), "{e}");
    assert!(!dir.path().join("out.xlsx").exists());
    stderr(&["jobs", "list", "--app", "crm", "--no-such-flag"], 64);
    let listed = cli.json(&["jobs", "list", "--app", "crm"]);
    assert_eq!(
        listed["jobs"].as_array().unwrap().len(),
        0,
        "no job was made: {listed}"
    );
}

#[test]
fn an_import_whose_every_row_failed_warns() {
    let server = Server::start(&[], false);
    let cli = Cli::new();
    setup(&cli, &server);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.csv");
    std::fs::write(&file, "E-mail,age\na@x,old\nb@x,older\n").unwrap();
    let out = cli.run(&[
        "import",
        file.to_str().unwrap(),
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
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("warning: every one of the job's 2 rows failed"),
        "{err}"
    );
}
