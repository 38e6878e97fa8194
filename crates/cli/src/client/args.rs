//! The client commands' arguments.

use clap::{Args, Subcommand};
use std::path::PathBuf;

/// Where the server is and how to sign in; flags override the environment, which overrides the
/// saved profile.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The saved profile to use (see `sluice login`).
    #[arg(long, global = true, env = "SLUICE_PROFILE", default_value = DEFAULT_PROFILE)]
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

/// The client commands, each with the flags that say where the server is (so `sluice serve --help`
/// lists none of them).
#[derive(Debug, Clone, Subcommand)]
pub enum ClientCommand {
    /// Save a server and token as a profile (checked with the server first).
    Login {
        /// The profile to save (see `--profile`).
        #[arg(long, env = "SLUICE_PROFILE", default_value = "default")]
        profile: String,
        url: String,
        /// The token; read from standard input when not given.
        #[arg(long)]
        token: Option<String>,
    },
    /// Upload a CSV, ZIP or NDJSON file and run a bulk-write job with it.
    Import {
        #[command(flatten)]
        conn: ClientArgs,
        #[command(flatten)]
        args: ImportArgs,
    },
    /// Export an object's records or a query's rows to a file, following the export live.
    Export {
        #[command(flatten)]
        conn: ClientArgs,
        #[command(flatten)]
        args: ExportArgs,
    },
    /// Bulk-write jobs.
    Jobs {
        #[command(flatten)]
        conn: ClientArgs,
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Batches: create (by query or ids), list, show, watch, cancel.
    Batches {
        #[command(flatten)]
        conn: ClientArgs,
        #[command(subcommand)]
        command: BatchesCommand,
    },
    /// Send a `/v1/bulk` request from a JSON file and print each operation's status.
    Bulk {
        #[command(flatten)]
        conn: ClientArgs,
        file: PathBuf,
    },
    /// Run a read-only SQL query.
    Query {
        #[command(flatten)]
        conn: ClientArgs,
        sql: String,
        #[arg(long, env = "SLUICE_APP")]
        app: String,
        /// Print CSV.
        #[arg(long)]
        csv: bool,
    },
    /// Apps.
    Apps {
        #[command(flatten)]
        conn: ClientArgs,
        #[command(subcommand)]
        command: AppsCommand,
    },
    /// Objects of an app: list, show, create, update (fields and indexes).
    Objects {
        #[command(flatten)]
        conn: ClientArgs,
        #[command(subcommand)]
        command: ObjectsCommand,
    },
    /// App tokens.
    Tokens {
        #[command(flatten)]
        conn: ClientArgs,
        #[command(subcommand)]
        command: TokensCommand,
    },
}

impl ClientCommand {
    /// The connection flags of any command, with those given before the command (`sluice --json
    /// apps list`) where the command's own are not.
    pub fn conn(&self, before: &EarlyArgs) -> ClientArgs {
        let own = match self {
            ClientCommand::Login { profile, .. } => {
                return ClientArgs {
                    profile: profile.clone(),
                    url: None,
                    token: None,
                    json: before.json,
                }
            }
            ClientCommand::Import { conn, .. }
            | ClientCommand::Export { conn, .. }
            | ClientCommand::Jobs { conn, .. }
            | ClientCommand::Batches { conn, .. }
            | ClientCommand::Bulk { conn, .. }
            | ClientCommand::Query { conn, .. }
            | ClientCommand::Apps { conn, .. }
            | ClientCommand::Objects { conn, .. }
            | ClientCommand::Tokens { conn, .. } => conn,
        };
        ClientArgs {
            profile: before
                .profile
                .clone()
                .filter(|_| own.profile == DEFAULT_PROFILE)
                .unwrap_or_else(|| own.profile.clone()),
            url: own.url.clone().or_else(|| before.url.clone()),
            token: own.token.clone().or_else(|| before.token.clone()),
            json: own.json || before.json,
        }
    }
}

/// The client flags given before the command name (`sluice --json apps list`), as earlier
/// versions took them; hidden, so `sluice serve --help` lists none of them.
#[derive(Debug, Clone, Default, Args)]
pub struct EarlyArgs {
    #[arg(long, hide = true)]
    pub profile: Option<String>,
    #[arg(long, hide = true)]
    pub url: Option<String>,
    #[arg(long, hide = true)]
    pub token: Option<String>,
    #[arg(long, hide = true)]
    pub json: bool,
}

const DEFAULT_PROFILE: &str = "default";

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
    /// Create a batch that deletes or updates the records a query selects (or the ids in a file),
    /// and start it.
    Create(BatchCreateArgs),
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

#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("selection").required(true).args(["query", "ids"])))]
pub struct BatchCreateArgs {
    #[arg(long, env = "SLUICE_APP")]
    pub app: String,
    #[arg(long)]
    pub object: String,
    /// `delete` or `update` (with `--set`).
    #[arg(long, value_parser = ["delete", "update"])]
    pub action: String,
    /// A read-only query whose `id` column selects the records…
    #[arg(long)]
    pub query: Option<String>,
    /// …or a file of ids, one a line (`-` for standard input).
    #[arg(long)]
    pub ids: Option<PathBuf>,
    /// A field's new value for `update`: `--set status=archived` (repeatable; the value is JSON
    /// when it parses as JSON, else text).
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
    /// Count what the batch would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Follow the batch to its end with a live bar.
    #[arg(long)]
    pub wait: bool,
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
    /// Change an object: add, change, rename and drop fields, add and drop indexes.
    Update(ObjectUpdateArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ObjectUpdateArgs {
    pub name: String,
    #[arg(long, env = "SLUICE_APP")]
    pub app: String,
    #[arg(long)]
    pub label: Option<String>,
    /// A new field (repeatable).
    #[arg(long = "add", value_name = "NAME:TYPE[:required][:unique][:indexed]")]
    pub add: Vec<String>,
    /// A change to a field: `--change age:required`, `--change email:not-unique`,
    /// `--change city:default=Paris`, `--change city:no-default`, `--change age:label=Years`
    /// (repeatable).
    #[arg(long = "change", value_name = "NAME:CHANGE")]
    pub change: Vec<String>,
    /// `--rename old=new` (repeatable).
    #[arg(long = "rename", value_name = "OLD=NEW")]
    pub rename: Vec<String>,
    /// A field to drop, with its values (repeatable).
    #[arg(long = "drop", value_name = "NAME")]
    pub drop: Vec<String>,
    /// A field to index (repeatable).
    #[arg(long = "index", value_name = "NAME")]
    pub index: Vec<String>,
    /// A field whose index goes (repeatable).
    #[arg(long = "unindex", value_name = "NAME")]
    pub unindex: Vec<String>,
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
