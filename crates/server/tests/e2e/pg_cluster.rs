//! A PostgreSQL 15 cluster a test builds for itself: a primary made with `initdb` and streaming
//! standbys made with `pg_basebackup -R`, on free local ports in a temp dir, stopped and removed
//! when dropped. Tests that need one skip with a message when the server binaries are missing,
//! unless `SLUICE_REQUIRE_PG_CLUSTER` is set (CI sets it).
//!
//! Every method blocks (it runs the server's own tools): call it from a blocking thread
//! (`tokio::task::spawn_blocking` with a cloned [`PgNode`]) while servers run in the same process.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// Where Debian puts PostgreSQL 15's server binaries; `SLUICE_PG_BIN` overrides it.
const DEFAULT_BIN: &str = "/usr/lib/postgresql/15/bin";
/// The tools the cluster is built and driven with.
const TOOLS: [&str; 5] = [
    "initdb",
    "pg_ctl",
    "pg_basebackup",
    "pg_isready",
    "postgres",
];
/// How long starting, promoting or catching up may take before the test fails.
const READY_LIMIT: Duration = Duration::from_secs(60);
/// How often readiness and catch-up are asked again.
const POLL_EVERY: Duration = Duration::from_millis(20);

/// The shape of a cluster.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// How many streaming standbys (`standby1`, `standby2`, …).
    pub standbys: usize,
    /// Whether the primary waits for `standby1` to flush every commit
    /// (`synchronous_standby_names = 'standby1'`).
    pub synchronous: bool,
}

impl Default for ClusterOptions {
    fn default() -> ClusterOptions {
        ClusterOptions {
            standbys: 1,
            synchronous: false,
        }
    }
}

/// One server of the cluster: everything needed to drive it, so a clone can move to a thread.
#[derive(Clone, Debug)]
pub struct PgNode {
    /// `primary`, `standby1`, … (a standby's `application_name` on the primary).
    pub name: String,
    pub port: u16,
    pub data: PathBuf,
    log: PathBuf,
    bin: PathBuf,
    /// Whether the tools run as user postgres through `runuser` (they refuse to run as root).
    as_postgres: bool,
}

/// A primary and its standbys; dropping it stops every server and removes their data.
pub struct PgCluster {
    pub primary: PgNode,
    pub standbys: Vec<PgNode>,
    dir: TempDir,
}

/// The server binaries' directory, or `None` (after saying the test is skipped) when one is
/// missing; fails instead when `SLUICE_REQUIRE_PG_CLUSTER` is set.
pub fn binaries() -> Option<PathBuf> {
    let bin =
        std::env::var_os("SLUICE_PG_BIN").map_or_else(|| PathBuf::from(DEFAULT_BIN), PathBuf::from);
    let missing: Vec<&str> = TOOLS
        .into_iter()
        .filter(|t| !bin.join(t).is_file())
        .collect();
    if missing.is_empty() {
        return Some(bin);
    }
    assert!(
        std::env::var_os("SLUICE_REQUIRE_PG_CLUSTER").is_none(),
        "PostgreSQL server binaries missing from {}: {missing:?}",
        bin.display()
    );
    eprintln!(
        "SKIPPED: PostgreSQL server binaries missing from {} ({missing:?}; \
         apt-get install postgresql-15, or set SLUICE_PG_BIN)",
        bin.display()
    );
    None
}

/// A port nobody listens on now (the kernel's pick; the server binds it right after).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("a free port");
    l.local_addr().expect("its address").port()
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs `cmd`, failing the test with its output when it does not succeed.
fn check(what: &str, mut cmd: Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn append(path: &Path, lines: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    f.write_all(lines.as_bytes()).expect("config written");
}

impl PgCluster {
    /// Builds and starts a cluster, each standby streaming and (if asked) the primary waiting on
    /// `standby1`; `None` when the binaries are missing (see [`binaries`]).
    pub fn start(options: ClusterOptions) -> Option<PgCluster> {
        let bin = binaries()?;
        let as_postgres = running_as_root();
        let dir = tempfile::tempdir().expect("temp dir");
        if as_postgres {
            let mut chown = Command::new("chown");
            chown.arg("postgres:postgres").arg(dir.path());
            check("chown the cluster dir", chown);
        }
        let node = |name: &str| PgNode {
            name: name.to_owned(),
            port: free_port(),
            data: dir.path().join(name),
            log: dir.path().join(format!("{name}.log")),
            bin: bin.clone(),
            as_postgres,
        };
        let primary = node("primary");
        let mut initdb = primary.tool("initdb");
        initdb
            .args([
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&primary.data);
        check("initdb", initdb);
        primary.write_config(dir.path());
        append(
            &primary.data.join("pg_hba.conf"),
            "host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n",
        );
        primary.start();
        let standbys: Vec<PgNode> = (1..=options.standbys)
            .map(|i| {
                let standby = node(&format!("standby{i}"));
                let mut backup = standby.tool("pg_basebackup");
                backup
                    .arg("-d")
                    .arg(format!(
                        "host=127.0.0.1 port={} user=postgres application_name={}",
                        primary.port, standby.name
                    ))
                    .args(["-R", "-X", "stream", "-c", "fast", "-D"])
                    .arg(&standby.data);
                check("pg_basebackup", backup);
                // The copied settings are the primary's: this server's own port, and it waits
                // on no standby once promoted.
                append(
                    &standby.data.join("postgresql.auto.conf"),
                    &format!("port = {}\nsynchronous_standby_names = ''\n", standby.port),
                );
                standby.start();
                standby
            })
            .collect();
        let cluster = PgCluster {
            primary,
            standbys,
            dir,
        };
        if options.synchronous {
            assert!(
                options.standbys > 0,
                "a synchronous cluster needs a standby"
            );
            append(
                &cluster.primary.data.join("postgresql.auto.conf"),
                "synchronous_standby_names = 'standby1'\n",
            );
            let mut reload = cluster.primary.tool("pg_ctl");
            reload.arg("reload").arg("-D").arg(&cluster.primary.data);
            check("pg_ctl reload", reload);
        }
        for s in &cluster.standbys {
            let want = if options.synchronous && s.name == "standby1" {
                "sync"
            } else {
                "async"
            };
            let sql = format!(
                "SELECT sync_state FROM pg_stat_replication \
                 WHERE application_name = '{}' AND state = 'streaming'",
                s.name
            );
            cluster
                .primary
                .wait_for(&format!("{} streaming {want}", s.name), || {
                    (cluster.primary.sql(&sql).as_deref() == Some(want)).then_some(())
                });
        }
        Some(cluster)
    }

    /// The first standby.
    pub fn standby(&self) -> &PgNode {
        self.standbys.first().expect("a cluster with a standby")
    }

    /// The multi-host URL of database `db` over every server, primary first, which connects to
    /// whichever one takes writes (`target_session_attrs=read-write`).
    pub fn url(&self, db: &str) -> String {
        let hosts: Vec<String> = std::iter::once(&self.primary)
            .chain(&self.standbys)
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        format!(
            "postgres://postgres@{}/{db}?target_session_attrs=read-write",
            hosts.join(",")
        )
    }

    /// The temp dir holding every server's data and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        for n in std::iter::once(&self.primary).chain(&self.standbys) {
            let _ = n.pg_ctl_stop().output();
        }
    }
}

impl PgNode {
    /// One of the server's tools, run as user postgres when this process is root.
    fn tool(&self, name: &str) -> Command {
        let path = self.bin.join(name);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    /// Small and durable: fsync on, few connections, little memory, local sockets in the
    /// cluster's dir (not the system server's), WAL kept for the standbys.
    fn write_config(&self, dir: &Path) {
        append(
            &self.data.join("postgresql.conf"),
            &format!(
                "listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
                 fsync = on\nsynchronous_commit = on\nwal_level = replica\nmax_wal_senders = 8\n\
                 wal_keep_size = '256MB'\nhot_standby = on\nmax_connections = 60\n\
                 shared_buffers = '32MB'\nmax_wal_size = '512MB'\n",
                self.port,
                dir.display()
            ),
        );
    }

    /// The URL of database `db` on this server alone.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&self) {
        let mut c = self.tool("pg_ctl");
        c.args(["start", "-w", "-t", "60", "-D"])
            .arg(&self.data)
            .arg("-l")
            .arg(&self.log);
        check(&format!("start {}", self.name), c);
        self.wait_ready();
    }

    fn pg_ctl_stop(&self) -> Command {
        let mut c = self.tool("pg_ctl");
        c.args(["stop", "-m", "immediate", "-w", "-D"])
            .arg(&self.data);
        c
    }

    /// Stops the server as a crash would (`-m immediate`: no checkpoint, sessions cut).
    pub fn stop_immediate(&self) {
        check(&format!("stop {}", self.name), self.pg_ctl_stop());
    }

    /// Promotes this standby and waits until it takes writes.
    pub fn promote(&self) {
        let mut c = self.tool("pg_ctl");
        c.args(["promote", "-w", "-t", "60", "-D"]).arg(&self.data);
        check(&format!("promote {}", self.name), c);
        self.wait_for(&format!("{} to take writes", self.name), || {
            (self.sql("SELECT pg_is_in_recovery()::text").as_deref() == Some("false")).then_some(())
        });
    }

    /// Waits until the server answers `pg_isready`.
    pub fn wait_ready(&self) {
        self.wait_for(&format!("{} to accept connections", self.name), || {
            let mut c = Command::new(self.bin.join("pg_isready"));
            c.args([
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-t",
                "5",
            ]);
            c.status().is_ok_and(|s| s.success()).then_some(())
        });
    }

    /// Calls `f` until it returns `Some`; fails the test, with the server's log, after a minute.
    pub fn wait_for<T>(&self, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + READY_LIMIT;
        loop {
            if let Some(v) = f() {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; log of {}:\n{}",
                self.name,
                self.log_text()
            );
            std::thread::sleep(POLL_EVERY);
        }
    }

    /// The first column of the first row of `sql` on database `postgres`, as text (`None` when
    /// the server cannot be reached, the query fails or returns no row or NULL). Runs on a
    /// thread of its own, so it is safe from async code too.
    pub fn sql(&self, sql: &str) -> Option<String> {
        let (url, sql) = (self.url("postgres"), sql.to_owned());
        std::thread::spawn(move || {
            let mut c: postgres::Config = url.parse().ok()?;
            let mut client = c
                .connect_timeout(Duration::from_secs(5))
                .connect(postgres::NoTls)
                .ok()?;
            let rows = client.simple_query(&sql).ok()?;
            rows.into_iter().find_map(|m| match m {
                postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
                _ => None,
            })
        })
        .join()
        .ok()
        .flatten()
    }

    /// How far this standby has replayed the primary's WAL (`pg_last_wal_replay_lsn`), as a
    /// byte position; `None` on a primary or when the server cannot be reached.
    pub fn replay_lsn(&self) -> Option<u64> {
        parse_lsn(&self.sql("SELECT pg_last_wal_replay_lsn()::text")?)
    }

    /// The primary's current WAL position (`pg_current_wal_lsn`), as a byte position.
    pub fn current_lsn(&self) -> Option<u64> {
        parse_lsn(&self.sql("SELECT pg_current_wal_lsn()::text")?)
    }

    /// Waits until this standby has replayed everything `primary` had written when called.
    pub fn wait_caught_up(&self, primary: &PgNode) {
        let target = primary.current_lsn().expect("the primary's WAL position");
        self.wait_for(&format!("{} to replay {target}", self.name), || {
            self.replay_lsn().filter(|l| *l >= target).map(|_| ())
        });
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// `X/Y` (two hex halves) as one byte position.
pub fn parse_lsn(lsn: &str) -> Option<u64> {
    let (hi, lo) = lsn.trim().split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

/// The cluster on its own: built, streaming synchronously, the primary stopped as a crash and the
/// standby promoted, with what was committed before the crash present after it.
#[test]
fn a_cluster_fails_over() {
    let Some(cluster) = PgCluster::start(ClusterOptions {
        standbys: 1,
        synchronous: true,
    }) else {
        return;
    };
    let (p, s) = (&cluster.primary, cluster.standby());
    assert!(s.data.starts_with(cluster.dir()) && s.data.join("standby.signal").exists());
    assert_eq!(
        p.sql("SHOW synchronous_standby_names").as_deref(),
        Some("standby1")
    );
    p.sql("CREATE TABLE t AS SELECT 1 AS x");
    assert_eq!(
        s.sql("SELECT pg_is_in_recovery()::text").as_deref(),
        Some("true")
    );
    s.wait_caught_up(p);
    assert!(s.replay_lsn().is_some());
    p.stop_immediate();
    s.promote();
    assert_eq!(s.sql("SELECT count(*)::text FROM t").as_deref(), Some("1"));
    assert_eq!(
        s.sql("INSERT INTO t VALUES (2) RETURNING x::text")
            .as_deref(),
        Some("2")
    );
    assert!(cluster
        .url("db")
        .contains(&format!(",127.0.0.1:{}/db?", s.port)));
}
