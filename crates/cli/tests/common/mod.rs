//! What the binary's tests share: a `sluice serve` child, the client with its own configuration
//! directory, and test files.

#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_sluice");
pub const ADMIN: &str = "cli-test-admin-token";

/// A `sluice serve` child on an ephemeral port, killed with its test.
pub struct Server {
    pub url: String,
    pub child: Child,
    /// The data dir, when the server made its own.
    _data: Option<tempfile::TempDir>,
    /// Standard error, when the test asked to read it.
    pub stderr: Option<std::process::ChildStderr>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn start(extra: &[&str], keep_stderr: bool) -> Server {
        let data = tempfile::tempdir().unwrap();
        let mut s = Server::start_in(data.path(), extra, keep_stderr);
        s._data = Some(data);
        s
    }

    /// A server on the data dir `data` (a restart finds what the last one left).
    pub fn start_in(data: &Path, extra: &[&str], keep_stderr: bool) -> Server {
        Server::start_at(data, "127.0.0.1:0", extra, keep_stderr)
    }

    /// A server on the data dir `data` listening on `listen` (a restart comes back on the same
    /// address, as a service does).
    pub fn start_at(data: &Path, listen: &str, extra: &[&str], keep_stderr: bool) -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", listen, "--admin-token", ADMIN])
            .arg("--data-dir")
            .arg(data)
            .args(extra)
            .env_remove("SLUICE_DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(if keep_stderr {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("the server printed its address")
                .unwrap();
            if let Some(u) = line.strip_prefix("sluice listening on ") {
                break u.trim().to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        let stderr = child.stderr.take();
        Server {
            url,
            child,
            _data: None,
            stderr,
        }
    }
}

/// The client with its own configuration directory.
pub struct Cli {
    pub config: tempfile::TempDir,
}

impl Cli {
    pub fn new() -> Cli {
        Cli {
            config: tempfile::tempdir().unwrap(),
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env("XDG_CONFIG_HOME", self.config.path())
            .env_remove("SLUICE_URL")
            .env_remove("SLUICE_TOKEN")
            .env_remove("SLUICE_APP");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs and expects exit code `code`; its standard output.
    pub fn ok(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(&all, 0)).unwrap()
    }
}

/// A CSV of `n` contacts, rows whose index is a multiple of 500 carrying a bad age.
pub fn contacts_csv(dir: &Path, n: usize) -> PathBuf {
    let mut s = String::from("E-mail,age\n");
    for i in 0..n {
        let age = if i % 500 == 0 {
            "not-a-number".to_owned()
        } else {
            (i % 90).to_string()
        };
        s.push_str(&format!("user{i}@example.com,{age}\n"));
    }
    let path = dir.join("contacts.csv");
    std::fs::write(&path, s).unwrap();
    path
}

pub fn setup(cli: &Cli, server: &Server) {
    cli.ok(&["login", &server.url, "--token", ADMIN], 0);
    cli.ok(&["apps", "create", "crm", "--label", "CRM"], 0);
    cli.ok(
        &[
            "objects",
            "create",
            "contacts",
            "--app",
            "crm",
            "--field",
            "email:text:required:unique",
            "--field",
            "age:integer:indexed",
        ],
        0,
    );
}
