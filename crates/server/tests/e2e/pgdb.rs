//! The backend switch: with `SLUICE_TEST_DATABASE` set to a PostgreSQL URL, every test server
//! runs on a database of its own on that server — one per data dir, so a server restarted on the
//! same dir finds its data. Databases of earlier runs are dropped when a run starts.

use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::Once;

/// The PostgreSQL server the suite runs against, or `None` for embedded SQLite.
pub fn base() -> Option<String> {
    std::env::var("SLUICE_TEST_DATABASE")
        .ok()
        .filter(|s| !s.trim().is_empty())
}

/// Whether the suite runs on PostgreSQL.
pub fn on_postgres() -> bool {
    base().is_some()
}

pub use sluice_engine::store::postgres::with_database;

/// Runs `f` with a client on the base database, on a thread of its own (the synchronous client
/// may not run on an async worker).
pub fn admin<T: Send + 'static>(
    f: impl FnOnce(&mut postgres::Client) -> T + Send + 'static,
) -> Option<T> {
    let url = base()?;
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("test database");
        f(&mut c)
    })
    .join()
    .ok()
}

static CLEANUP: Once = Once::new();

/// Drops the databases (and their query roles) earlier runs left behind. Child servers skip it:
/// their parent's databases are in use.
fn cleanup() {
    if std::env::var("SLUICE_TEST_CHILD_DIR").is_ok() {
        return;
    }
    admin(|c| {
        let old = c
            .query(
                "SELECT datname FROM pg_database WHERE datname LIKE 'sluice\\_t\\_%'",
                &[],
            )
            .expect("list test databases");
        for r in old {
            let name: String = r.get(0);
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
        }
        let roles = c
            .query(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE 'sluice\\_query\\_%'
                 AND substring(rolname from 14) NOT IN (SELECT oid::text FROM pg_database)",
                &[],
            )
            .expect("list query roles");
        for r in roles {
            let name: String = r.get(0);
            let _ = c.batch_execute(&format!("DROP ROLE IF EXISTS \"{name}\""));
        }
    });
}

/// The database URL for a server on `data_dir`, creating the database on first use.
pub fn database_for(data_dir: &Path) -> Option<String> {
    let url = base()?;
    CLEANUP.call_once(cleanup);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data_dir.hash(&mut h);
    let name = format!("sluice_t_{:016x}", h.finish());
    let create = name.clone();
    admin(move |c| {
        let exists = c
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&create])
            .expect("look up the test database")
            .is_some();
        if !exists {
            c.batch_execute(&format!("CREATE DATABASE \"{create}\""))
                .expect("create the test database");
        }
    });
    Some(with_database(&url, &name))
}
