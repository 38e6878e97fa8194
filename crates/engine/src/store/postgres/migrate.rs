//! PostgreSQL schema migrations, run at start. Instances starting together take turns: the
//! migrations table is created idempotently (retried, as concurrent creation can collide), then
//! each instance migrates under an exclusive lock on it, so exactly one applies each version.
//! Migration 1 also makes the query role: a login role that can read record tables and nothing
//! else (each record table is granted to it as it is made).

use super::pool::{Conn, SCHEMA};
use crate::error::{Error, ErrorCode, Result};
use postgres::error::SqlState;

/// Each entry migrates from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE _meta (
        id int PRIMARY KEY CHECK (id = 1), catalog_version bigint NOT NULL,
        query_role text NOT NULL, query_password text NOT NULL);
    CREATE TABLE _apps (id uuid PRIMARY KEY, name text NOT NULL UNIQUE, doc text NOT NULL);
    CREATE TABLE _objects (
        id uuid PRIMARY KEY, app_id uuid NOT NULL, name text NOT NULL, doc text NOT NULL,
        UNIQUE (app_id, name));
    CREATE TABLE _tokens (
        id text PRIMARY KEY, hash text NOT NULL UNIQUE, app_id uuid, \"user\" text NOT NULL,
        user_id text NOT NULL, role text, kind text NOT NULL, expires_at bigint,
        created_at text NOT NULL);
    CREATE INDEX _tokens_app ON _tokens (app_id, kind);
    CREATE INDEX _tokens_user ON _tokens (user_id);
    CREATE TABLE _users (
        id text PRIMARY KEY, app_id uuid NOT NULL, name text NOT NULL, password_hash text NOT NULL,
        role text NOT NULL, first_name text NOT NULL, last_name text NOT NULL,
        created_at text NOT NULL, updated_at text NOT NULL, UNIQUE (app_id, name));
    CREATE TABLE _files (id text PRIMARY KEY, app_id uuid NOT NULL, doc text NOT NULL);
    CREATE TABLE _jobs (
        id text PRIMARY KEY, app_id uuid NOT NULL, status text NOT NULL, callback text,
        created_at text NOT NULL, doc text NOT NULL);
    CREATE INDEX _jobs_status ON _jobs (status, created_at, id);
    CREATE INDEX _jobs_callback ON _jobs (callback) WHERE callback IS NOT NULL;
    CREATE INDEX _jobs_app ON _jobs (app_id, created_at);
    CREATE TABLE _batches (
        id text PRIMARY KEY, app_id uuid NOT NULL, status text NOT NULL, created_at text NOT NULL,
        doc text NOT NULL);
    CREATE INDEX _batches_app ON _batches (app_id, created_at);
    CREATE INDEX _batches_status ON _batches (status);
    CREATE TABLE _batch_ids (
        batch_id text NOT NULL, seq bigint NOT NULL, op int NOT NULL, record_id text NOT NULL,
        PRIMARY KEY (batch_id, seq));
    CREATE TABLE _uploads (
        id text NOT NULL, seq int NOT NULL, data bytea NOT NULL, PRIMARY KEY (id, seq));
    CREATE TABLE _results (
        job_id text NOT NULL, start bigint NOT NULL, data bytea NOT NULL,
        PRIMARY KEY (job_id, start));
",
    "
    -- Pieces of uploads and results are stored as they are: compressing each as it is written
    -- cost more of a job's time (pglz) than it saved on the next read.
    ALTER TABLE _uploads ALTER COLUMN data SET STORAGE EXTERNAL;
    ALTER TABLE _results ALTER COLUMN data SET STORAGE EXTERNAL;
",
    "
    CREATE TABLE _aliases (
        num bigserial PRIMARY KEY, kind text NOT NULL, id text NOT NULL, UNIQUE (kind, id));
    CREATE TABLE _idempotency (
        scope text NOT NULL, key text NOT NULL, fingerprint text NOT NULL, status int NOT NULL,
        body bytea NOT NULL, expires_at bigint NOT NULL, PRIMARY KEY (scope, key));
    ALTER TABLE _idempotency ALTER COLUMN body SET STORAGE EXTERNAL;
    CREATE INDEX _idempotency_expiry ON _idempotency (expires_at);
",
    "
    CREATE TABLE _exports (
        id text PRIMARY KEY, app_id uuid NOT NULL, status text NOT NULL, callback text,
        created_at text NOT NULL, expired boolean NOT NULL DEFAULT false, doc text NOT NULL);
    CREATE INDEX _exports_app ON _exports (app_id, created_at);
    CREATE INDEX _exports_status ON _exports (status, created_at, id);
    CREATE INDEX _exports_callback ON _exports (callback) WHERE callback IS NOT NULL;
    ALTER TABLE _jobs ADD COLUMN file_id text NOT NULL DEFAULT '';
    ALTER TABLE _jobs ADD COLUMN expired boolean NOT NULL DEFAULT false;
    UPDATE _jobs SET file_id = coalesce(doc::jsonb->>'file_id', '');
    CREATE INDEX _jobs_file ON _jobs (file_id, expired);
    CREATE INDEX _jobs_expiry ON _jobs (expired, created_at);
    ALTER TABLE _files ADD COLUMN created_at text NOT NULL DEFAULT '';
    UPDATE _files SET created_at = coalesce(doc::jsonb->>'created_at', '');
    CREATE INDEX _files_created ON _files (created_at);
",
    // Jobs, exports and batches become tasks of one queue (see `store::tasks`).
    "
    CREATE TABLE _tasks (
        kind text NOT NULL, id text NOT NULL, app_id uuid NOT NULL, status text NOT NULL,
        queue text NOT NULL, callback text, created_at text NOT NULL,
        file_id text NOT NULL DEFAULT '', expired boolean NOT NULL DEFAULT false,
        doc text NOT NULL, PRIMARY KEY (kind, id));
    INSERT INTO _tasks
        SELECT 'job', id, app_id, status,
            CASE status WHEN 'queued' THEN 'waiting' WHEN 'running' THEN 'held' ELSE 'out' END,
            callback, created_at, file_id, expired, doc FROM _jobs;
    INSERT INTO _tasks
        SELECT 'export', id, app_id, status,
            CASE status WHEN 'queued' THEN 'waiting' WHEN 'running' THEN 'held' ELSE 'out' END,
            callback, created_at, '', expired, doc FROM _exports;
    INSERT INTO _tasks
        SELECT 'batch', id, app_id, status,
            CASE WHEN status <> 'running' THEN 'out'
                 WHEN (doc::jsonb->'lease') IS NULL OR doc::jsonb->'lease' = 'null'::jsonb
                 THEN 'waiting' ELSE 'held' END,
            NULL, created_at, '', false, doc FROM _batches;
    DROP TABLE _jobs;
    DROP TABLE _exports;
    DROP TABLE _batches;
    CREATE INDEX _tasks_queue ON _tasks (kind, queue, created_at, id);
    CREATE INDEX _tasks_status ON _tasks (kind, status, created_at, id);
    CREATE INDEX _tasks_app ON _tasks (kind, app_id, created_at);
    CREATE INDEX _tasks_callback ON _tasks (kind, callback) WHERE callback IS NOT NULL;
    CREATE INDEX _tasks_file ON _tasks (file_id, expired);
    CREATE INDEX _tasks_expiry ON _tasks (kind, expired, created_at);
",
];

/// The role queries run as, and how to log in as it.
pub struct QueryRole {
    pub name: String,
    pub password: String,
}

fn failed(what: &str, e: &postgres::Error) -> Error {
    if e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) {
        return Error::new(
            ErrorCode::Unavailable,
            format!(
                "the database user may not {what}: sluice needs to own its schema and to create \
                 a read-only role for queries (CREATEROLE)"
            ),
        );
    }
    tracing::error!(error = %e, "migration step failed: {what}");
    Error::internal(format!("the database could not be prepared ({what})"))
}

/// Brings the schema to the latest version; returns the query role.
pub fn migrate(conn: &mut Conn) -> Result<QueryRole> {
    let setup = format!(
        "CREATE SCHEMA IF NOT EXISTS {SCHEMA};
         CREATE TABLE IF NOT EXISTS {SCHEMA}._migrations (
             version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());"
    );
    let mut tries = 0;
    while let Err(e) = conn
        .begin("BEGIN")
        .and_then(|()| conn.client.batch_execute(&setup))
        .and_then(|()| conn.end("COMMIT"))
    {
        let _ = conn.end("ROLLBACK");
        // Two instances creating the schema at once: one wins, the other tries again.
        tries += 1;
        if tries == 5 {
            return Err(failed("create its schema", &e));
        }
        std::thread::sleep(std::time::Duration::from_millis(50 * tries));
    }
    let mut tx = conn.client.transaction().map_err(|e| failed("begin", &e))?;
    tx.batch_execute(&format!(
        "SET LOCAL search_path = {SCHEMA}; LOCK TABLE _migrations IN ACCESS EXCLUSIVE MODE;"
    ))
    .map_err(|e| failed("lock the migrations", &e))?;
    let done: i32 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM _migrations", &[])
        .and_then(|r| r.try_get(0))
        .map_err(|e| failed("read the migrations", &e))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done.max(0) as usize) {
        tx.batch_execute(sql)
            .map_err(|e| failed("create its tables", &e))?;
        if i == 0 {
            make_query_role(&mut tx)?;
        }
        tx.execute(
            "INSERT INTO _migrations (version) VALUES ($1)",
            &[&(i as i32 + 1)],
        )
        .map_err(|e| failed("record a migration", &e))?;
    }
    let row = tx
        .query_one("SELECT query_role, query_password FROM _meta", &[])
        .map_err(|e| failed("read its settings", &e))?;
    let role = QueryRole {
        name: row.get(0),
        password: row.get(1),
    };
    tx.commit()
        .map_err(|e| failed("commit the migrations", &e))?;
    Ok(role)
}

/// Makes (or takes back) this database's query role with a fresh password.
fn make_query_role(tx: &mut postgres::Transaction<'_>) -> Result<()> {
    let row = tx
        .query_one(
            "SELECT 'sluice_query_' || oid::text, current_database()
             FROM pg_database WHERE datname = current_database()",
            &[],
        )
        .map_err(|e| failed("name the query role", &e))?;
    let (name, db): (String, String) = (row.get(0), row.get(1));
    let mut bytes = [0u8; 24];
    getrandom::getrandom(&mut bytes).map_err(Error::internal)?;
    let password = hex::encode(bytes);
    let exists = tx
        .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&name])
        .map_err(|e| failed("look up the query role", &e))?
        .is_some();
    let verb = if exists { "ALTER" } else { "CREATE" };
    let role = crate::store::sql::quote(&name);
    tx.batch_execute(&format!(
        "{verb} ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD '{password}';
         GRANT CONNECT ON DATABASE {} TO {role};
         GRANT USAGE ON SCHEMA {SCHEMA} TO {role};",
        crate::store::sql::quote(&db)
    ))
    .map_err(|e| failed("create the query role", &e))?;
    tx.execute(
        "INSERT INTO _meta (id, catalog_version, query_role, query_password) VALUES (1, 0, $1, $2)",
        &[&name, &password],
    )
    .map_err(|e| failed("record the query role", &e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::postgres::pool::Pool;
    use crate::store::postgres::with_database;

    const BEFORE_TASKS: &str = r#"
        INSERT INTO _jobs (id, app_id, status, callback, created_at, file_id, expired, doc) VALUES
            ('j1', '00000000-0000-0000-0000-000000000001', 'queued', NULL, '1', 'f1', false, '{}'),
            ('j2', '00000000-0000-0000-0000-000000000001', 'completed', 'pending', '2', 'f2',
             true, '{}');
        INSERT INTO _exports (id, app_id, status, callback, created_at, expired, doc) VALUES
            ('e1', '00000000-0000-0000-0000-000000000001', 'running', NULL, '3', false, '{}');
        INSERT INTO _batches (id, app_id, status, created_at, doc) VALUES
            ('b1', '00000000-0000-0000-0000-000000000001', 'running', '4', '{"lease":null}'),
            ('b2', '00000000-0000-0000-0000-000000000001', 'running', '5',
             '{"lease":{"owner":"x","until":"9"}}'),
            ('b3', '00000000-0000-0000-0000-000000000001', 'pending', '6', '{}');"#;

    /// Jobs, exports and batches stored before the task queue move into it, each in its place
    /// (on the PostgreSQL server `SLUICE_TEST_DATABASE` names; without one there is nothing to
    /// run against).
    #[test]
    fn jobs_exports_and_batches_move_into_the_task_table() {
        let Ok(url) = std::env::var("SLUICE_TEST_DATABASE") else {
            return;
        };
        let db = format!("sluice_migrate_{}", std::process::id());
        let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        for sql in [
            format!("DROP DATABASE IF EXISTS {db}"),
            format!("CREATE DATABASE {db}"),
        ] {
            admin.batch_execute(&sql).unwrap();
        }
        let mut config: postgres::Config = with_database(&url, &db).parse().unwrap();
        config.options(&format!("-c search_path={SCHEMA}"));
        let mut conn = Pool::new(config, false, 1, "migration test")
            .connect()
            .unwrap();
        // The schema as it stood before the task table, and rows in it.
        let mut tx = conn.client.transaction().unwrap();
        tx.batch_execute(&format!(
            "CREATE SCHEMA {SCHEMA}; CREATE TABLE _migrations (
                 version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());"
        ))
        .unwrap();
        for (i, sql) in MIGRATIONS[..MIGRATIONS.len() - 1].iter().enumerate() {
            tx.batch_execute(sql).unwrap();
            if i == 0 {
                make_query_role(&mut tx).unwrap();
            }
            tx.execute(
                "INSERT INTO _migrations (version) VALUES ($1)",
                &[&(i as i32 + 1)],
            )
            .unwrap();
        }
        tx.batch_execute(BEFORE_TASKS).unwrap();
        tx.commit().unwrap();

        let role = migrate(&mut conn).unwrap();
        let rows: Vec<String> = conn
            .client
            .query(
                "SELECT kind, id, status, queue, coalesce(callback, ''), file_id, expired::text
                 FROM _tasks ORDER BY created_at",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| {
                (0..7)
                    .map(|i| r.get::<_, String>(i))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let old: i64 = conn
            .client
            .query_one(
                "SELECT count(*) FROM pg_tables WHERE tablename IN ('_jobs', '_exports', '_batches')",
                &[],
            )
            .unwrap()
            .get(0);
        drop(conn);
        for sql in [
            format!("DROP DATABASE {db}"),
            format!("DROP ROLE IF EXISTS \"{}\"", role.name),
        ] {
            admin.batch_execute(&sql).unwrap();
        }
        assert_eq!(
            rows,
            [
                "job j1 queued waiting  f1 false",
                "job j2 completed out pending f2 true",
                "export e1 running held   false",
                "batch b1 running waiting   false",
                "batch b2 running held   false",
                "batch b3 pending out   false",
            ]
        );
        assert_eq!(old, 0);
    }
}
