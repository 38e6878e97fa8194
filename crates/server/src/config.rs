//! Server settings: flags with `SLUICE_*` environment equivalents; every limit is named here.

use clap::Args;
use sluice_engine::Settings;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "SLUICE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory for the embedded database, uploads and the bootstrap admin token.
    #[arg(long, env = "SLUICE_DATA_DIR", default_value = "./sluice-data")]
    pub data_dir: PathBuf,
    /// Database URL; without it, an embedded SQLite file in the data dir.
    #[arg(long = "database", env = "SLUICE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// A fixed admin token (otherwise one is generated on first start).
    #[arg(long, env = "SLUICE_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Operations allowed in one synchronous bulk request.
    #[arg(long, env = "SLUICE_MAX_BULK_OPS", default_value_t = 1000)]
    pub max_bulk_ops: usize,
    /// Largest request body accepted, in bytes (uploads have their own limit).
    #[arg(long, env = "SLUICE_MAX_BODY_BYTES", default_value_t = 32 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Largest page of records a list may return.
    #[arg(long, env = "SLUICE_MAX_PAGE_SIZE", default_value_t = 1000)]
    pub max_page_size: usize,
    /// Lifetime of access tokens issued at login, in seconds.
    #[arg(long, env = "SLUICE_ACCESS_TOKEN_TTL", default_value_t = 3600)]
    pub access_token_ttl: u64,
    /// Origins allowed by CORS: `*` (any, for development) or a comma-separated list.
    #[arg(long, env = "SLUICE_CORS_ORIGINS", default_value = "*")]
    pub cors_origins: String,
}

impl Config {
    /// A configuration with defaults, for tests and embedding.
    pub fn new(data_dir: PathBuf) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            database_url: None,
            admin_token: None,
            max_bulk_ops: 1000,
            max_body_bytes: 32 * 1024 * 1024,
            max_page_size: 1000,
            access_token_ttl: 3600,
            cors_origins: "*".into(),
        }
    }

    pub fn engine_settings(&self) -> Settings {
        Settings {
            max_bulk_ops: self.max_bulk_ops,
            max_page_size: self.max_page_size,
            default_page_size: 100.min(self.max_page_size),
            access_token_ttl: Duration::from_secs(self.access_token_ttl),
            admin_token: self.admin_token.clone(),
            ..Settings::default()
        }
    }
}
