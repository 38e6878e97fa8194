//! The `sluice` binary: `serve` runs the server, `copy` moves an instance to PostgreSQL, `bench`
//! measures it against the raw engines, and the client commands (`login`, `import`, `jobs`…) speak
//! to a running server over HTTP.

mod bench;
mod client;
mod copy;

/// mimalloc: per-thread heaps, so the decoding threads and the writer do not contend on frees;
/// counted only when `sluice bench bulk` measures a request's cost (otherwise one load each).
#[global_allocator]
static GLOBAL: sluice_engine::counters::CountingAlloc<mimalloc::MiMalloc> =
    sluice_engine::counters::CountingAlloc(mimalloc::MiMalloc);

use clap::{Parser, Subcommand};
use sluice_server::logs::{self, LogFormat};
use sluice_server::{shutdown_signal, Config, Server};

#[derive(Parser)]
#[command(
    name = "sluice",
    version,
    about = "A self-hostable records API server built for bulk work"
)]
struct Cli {
    #[command(flatten)]
    before: client::EarlyArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (embedded SQLite in the data dir by default).
    Serve(Box<Config>),
    /// Measure throughput against raw SQLite in the same run (build with --release).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Copy a whole instance into another database (from the embedded SQLite to PostgreSQL):
    /// apps, objects, records, users, app tokens, finished jobs' results; then check the counts.
    Copy {
        /// The data dir of the instance to copy (stop its server first).
        #[arg(long)]
        from: std::path::PathBuf,
        /// The database to copy into, `postgres://…`; it must hold no apps yet.
        #[arg(long)]
        to: String,
    },
    #[command(flatten)]
    Client(Box<client::ClientCommand>),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Key layout (raw) and single-record creates over HTTP, one client and many.
    Records {
        #[arg(long, default_value_t = 1_000_000)]
        layout_rows: usize,
        #[arg(long, default_value_t = 5_000)]
        single: usize,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
    /// Insert and upsert jobs from a CSV.zip against raw parse + rusqlite; the server's peak RSS.
    /// With --relations instead: contacts imported naming their account by `account.email`
    /// against the same with account ids, and a delete batch of accounts cascading to contacts.
    Jobs {
        /// Rows of the insert and upsert jobs (without --relations).
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        /// Run the relation scenarios (issue 22) instead.
        #[arg(long)]
        relations: bool,
        #[command(flatten)]
        sizes: bench::relations::Sizes,
    },
    /// Exports of an object's records (CSV, NDJSON, ZIP) and of a query against raw rusqlite
    /// SELECT writing the same file; the server's peak RSS while exporting.
    Export {
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        /// Also export this many rows (from an object filled with the same file again), for RSS.
        #[arg(long, default_value_t = 5_000_000)]
        big: usize,
    },
    /// Deleting records as a batch (by ids, by query) against raw `DELETE … WHERE id IN (…)`.
    Batches {
        #[arg(long, default_value_t = 10_000)]
        records: usize,
    },
    /// `sluice serve` as shipped, in its own process: 1,000-insert `/v1/bulk` requests against raw
    /// rusqlite in one transaction, single creates against one transaction per row.
    Bulk {
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
        /// Single creates with one client (four times as many with sixteen).
        #[arg(long, default_value_t = 1_000)]
        singles: usize,
        /// Another `sluice` binary to run as the server (e.g. an older build, to compare).
        #[arg(long)]
        server: Option<std::path::PathBuf>,
    },
    /// sluice on PostgreSQL against raw PostgreSQL (COPY, INSERT … ON CONFLICT, multi-row
    /// INSERT), and one to three instances sharing one database. Makes and drops its own databases.
    Pg {
        /// A PostgreSQL server (the database named is used only to make the bench databases).
        #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
        database: String,
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        #[arg(long, default_value_t = 100_000)]
        bulk_rows: usize,
        #[arg(long, default_value_t = 3)]
        instances: usize,
    },
    /// Salesforce Bulk API 2.0 against the native API on one server: an ingest job against an
    /// insert job of the same CSV, a query job's results pages against a CSV export.
    Salesforce {
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        /// Rounds, alternating which side goes first, each into fresh objects.
        #[arg(long, default_value_t = 1)]
        rounds: usize,
        /// Records per query results page (`maxRecords`).
        #[arg(long, default_value_t = 100_000)]
        page: usize,
    },
    /// Many clients mixing writes, lists, gets and queries: latency, errors, memory, WAL size.
    Load {
        #[arg(long, default_value_t = 64)]
        clients: usize,
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        #[arg(long, default_value_t = 200_000)]
        rows: usize,
        /// Another `sluice` binary to run as the server (e.g. an older build, to compare).
        #[arg(long)]
        server: Option<std::path::PathBuf>,
    },
}

/// How long mimalloc keeps freed memory before giving it back to the system.
const PURGE_DELAY_MS: std::ffi::c_long = 100;
/// How often a thread of its own hands back what has waited that long.
const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// mimalloc gives freed memory back `purge_delay` ms later, but only when some thread next
/// allocates: the heaps of threads that go idle after a burst of requests keep it. Purging at once
/// (a delay of 0) returns it but makes a busy server fault fresh pages in again and again (10% of
/// an insert job's time); a short delay plus a thread that asks for the expired purges every second
/// keeps both (measured with `sluice bench load` and `sluice bench pg`).
fn purge_freed_memory() {
    /// `mi_option_purge_delay` in mimalloc.h (the 16th option).
    const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // An operator's own setting wins (mimalloc reads it from the environment at start).
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets a plain integer option of the allocator; mimalloc reads options atomically
        // and documents changing them at run time.
        #[allow(unsafe_code)]
        unsafe {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS)
        };
    }
    let purger = std::thread::Builder::new().name("mi-purge".into());
    let _ = purger.spawn(|| loop {
        std::thread::sleep(PURGE_EVERY);
        // SAFETY: collects this thread's (empty) heap and purges the arenas' expired ranges,
        // which mimalloc shares between threads.
        #[allow(unsafe_code)]
        unsafe {
            libmimalloc_sys::mi_collect(false)
        };
    });
}

fn main() {
    let code = match sluice_server::runtime::runtime() {
        Ok(rt) => rt.block_on(run()),
        Err(e) => Err(e.into()),
    };
    // Errors end the process with a plain message (no backtrace, whatever RUST_BACKTRACE says);
    // a usage error exits 64 (`EX_USAGE`), apart from the code for failed rows (2).
    match code {
        Ok(0) => {}
        Ok(code) => std::process::exit(code),
        Err(e) if e.downcast_ref::<client::Usage>().is_some() => {
            eprintln!("error: {e:#}");
            std::process::exit(client::exit::USAGE);
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(client::exit::FAILED);
        }
    }
}

async fn run() -> anyhow::Result<i32> {
    purge_freed_memory();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and the version print and exit 0; a refused command line exits 64.
        Err(e) => {
            let _ = e.print();
            return Ok(if e.use_stderr() {
                client::exit::USAGE
            } else {
                0
            });
        }
    };
    // Kept to the end of `run`, so the last lines are written before the process exits.
    let _logs = match &cli.command {
        Command::Serve(c) => logs::init(c.log_format, "sluice=info,tower_http=info,warn"),
        Command::Bench(_) | Command::Copy { .. } | Command::Client(_) => {
            logs::init(LogFormat::Text, "error")
        }
    };
    match cli.command {
        Command::Serve(config) => {
            let server = Server::bind(*config).await?;
            tracing::info!(addr = %server.addr, "sluice listening");
            println!("sluice listening on {}", server.url());
            server.serve(shutdown_signal()).await.map(|()| 0)
        }
        Command::Client(c) => client::run(&cli.before, *c).await,
        Command::Copy { from, to } => copy::run(&from, &to).await.map(|()| 0),
        Command::Bench(BenchCommand::Records {
            layout_rows,
            single,
            concurrency,
        }) => bench::records::run(layout_rows, single, concurrency)
            .await
            .map(|()| 0),
        Command::Bench(BenchCommand::Bulk {
            rows,
            singles,
            server,
        }) => bench::bulk::run(rows, singles, server).await.map(|()| 0),
        Command::Bench(BenchCommand::Jobs {
            relations: true,
            sizes,
            ..
        }) => bench::relations::run(sizes).await.map(|()| 0),
        Command::Bench(BenchCommand::Jobs { rows, .. }) => bench::jobs::run(rows).await.map(|()| 0),
        Command::Bench(BenchCommand::Export { rows, big }) => {
            bench::export::run(rows, big).await.map(|()| 0)
        }
        Command::Bench(BenchCommand::Batches { records }) => {
            bench::batches::run(records).await.map(|()| 0)
        }
        Command::Bench(BenchCommand::Pg {
            database,
            rows,
            bulk_rows,
            instances,
        }) => bench::pg::run(&database, rows, bulk_rows, instances)
            .await
            .map(|()| 0),
        Command::Bench(BenchCommand::Salesforce { rows, rounds, page }) => {
            bench::salesforce::run(rows, rounds, page).await.map(|()| 0)
        }
        Command::Bench(BenchCommand::Load {
            clients,
            seconds,
            rows,
            server,
        }) => bench::load::run(clients, seconds, rows, server)
            .await
            .map(|()| 0),
    }
}
