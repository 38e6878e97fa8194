//! The client commands' arguments.

use clap::{Args, Subcommand};
use std::path::PathBuf;

/// Where the server is and how to sign in; flags override the environment, which overrides the
/// saved profile.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The saved profile to use (see `sluice login`).
    #[arg(long, global = true, env = "SLUICE_PROFILE", default_value = "default")]
    pub profile: String,
    /// The server, e.g. http://127.0.0.1:8080 (overrides the profile's).
    #[arg(long, global = true, env = "SLUICE_URL")]
    pub url: Option<String>,
    /// The token to call it with (overrides the profile's).
    #[arg(long, global = true, env = "SLUICE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ClientCommand {
    /// Save a server and token as a profile (checked with the server first).
    Login {
        url: String,
        /// The token; read from standard input when not given.
        #[arg(long)]
        token: Option<String>,
    },
    /// Upload a CSV, ZIP or NDJSON file and run a bulk-write job with it.
    Import(ImportArgs),
    /// Export an object's records or a query's rows to a file, following the export live.
    Export(ExportArgs),
    /// Bulk-write jobs.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Batches.
    #[command(subcommand)]
    Batches(BatchesCommand),
    /// Send a `/v1/bulk` request from a JSON file and print each operation's status.
    Bulk { file: PathBuf },
    /// Run a read-only SQL query.
    Query {
        sql: String,
        #[arg(long, env = "SLUICE_APP")]
        app: String,
        /// Print CSV.
        #[arg(long)]
        csv: bool,
    },
    /// Apps.
    #[command(subcommand)]
    Apps(AppsCommand),
    /// Objects of an app.
    #[command(subcommand)]
    Objects(ObjectsCommand),
    /// App tokens.
    #[command(subcommand)]
    Tokens(TokensCommand),
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    pub file: PathBuf,
    #[arg(long, env = "SLUICE_APP")]
    pub app: String,
    #[arg(long)]
    pub object: String,
    /// Upsert, matching records by this field (`id` or a unique field).
    #[arg(long, group = "op")]
    pub upsert_by: Option<String>,
    /// Update records matched by this field.
    #[arg(long, group = "op")]
    pub update_by: Option<String>,
    /// Delete records matched by this field.
    #[arg(long, group = "op")]
    pub delete_by: Option<String>,
    /// Feed a field from a column: `--map "E-mail=email"` (repeatable; without any, the header
    /// names the fields).
    #[arg(long = "map", value_name = "COLUMN=FIELD")]
    pub maps: Vec<String>,
    /// Leave fields whose cell is empty as they are.
    #[arg(long)]
    pub ignore_empty: bool,
    /// Follow the job to its end, then save its result file.
    #[arg(long)]
    pub wait: bool,
    /// Where to save the result file (default: beside the input, `FILE.result.zip`).
    #[arg(long)]
    pub result: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["object", "query"])))]
pub struct ExportArgs {
    #[arg(long, env = "SLUICE_APP")]
    pub app: String,
    /// The object whose records to export…
    #[arg(long)]
    pub object: Option<String>,
    /// …or a read-only query whose rows to export.
    #[arg(long)]
    pub query: Option<String>,
    /// The list API's filters, as a query string: `--filter 'age[gte]=30&status=new'`.
    #[arg(long, requires = "object")]
    pub filter: Option<String>,
    /// The columns, in order: `--fields id,email,age`.
    #[arg(long, requires = "object", value_delimiter = ',')]
    pub fields: Vec<String>,
    /// The order: `--sort -created_at,name`.
    #[arg(long, requires = "object", allow_hyphen_values = true)]
    pub sort: Option<String>,
    /// A value for the query's next placeholder (repeatable; JSON, else text).
    #[arg(long = "param", requires = "query")]
    pub params: Vec<String>,
    /// `csv`, `ndjson` or `zip` (default: from the output's extension, else csv).
    #[arg(long)]
    pub format: Option<String>,
    /// Where to save the file.
    #[arg(long, short)]
    pub output: PathBuf,
}

#[derive(Debug, Clone, Subcommand)]
pub enum JobsCommand {
    List {
        #[arg(long, env = "SLUICE_APP")]
        app: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    Show {
        id: String,
        #[arg(long, env = "SLUICE_APP")]
        app: String,
    },
    /// Follow a job to its end with a live progress bar.
    Watch {
        id: String,
        #[arg(long, env = "SLUICE_APP")]
        app: String,
    },
    Cancel {
        id: String,
        #[arg(long, env = "SLUICE_APP")]
        app: String,
    },
    /// Save a finished job's result file.
    Result {
        id: String,
        #[arg(long, env = "SLUICE_APP")]
        app: String,
        /// Where to save it (default: `<id>.result.zip`).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum BatchesCommand {
    List {
        #[arg(long, env = "SLUICE_APP")]
        app: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    Show {
        id: String,
        #[arg(long, env = "SLUICE_APP")]
        app: String,
    },
    Watch {
        id: String,
        #[arg(long, env = "SLUICE_APP")]
        app: String,
    },
    Cancel {
        id: String,
        #[arg(long, env = "SLUICE_APP")]
        app: String,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum AppsCommand {
    List,
    Show {
        name: String,
    },
    Create {
        name: String,
        #[arg(long)]
        label: Option<String>,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum ObjectsCommand {
    List {
        #[arg(long, env = "SLUICE_APP")]
        app: String,
    },
    Show {
        name: String,
        #[arg(long, env = "SLUICE_APP")]
        app: String,
    },
    /// Create an object: `--field email:text:required:unique --field age:integer:indexed`.
    Create {
        name: String,
        #[arg(long, env = "SLUICE_APP")]
        app: String,
        #[arg(long)]
        label: Option<String>,
        #[arg(long = "field", value_name = "NAME:TYPE[:required][:unique][:indexed]")]
        fields: Vec<String>,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum TokensCommand {
    /// Create a token (its secret is printed once).
    Create {
        #[arg(long, env = "SLUICE_APP")]
        app: String,
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "writer")]
        role: String,
    },
}
