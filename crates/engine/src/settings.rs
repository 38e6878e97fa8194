//! Engine settings: every limit is a named value here, with its default.

use crate::auth::ThrottleSettings;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Operations in one synchronous bulk request.
    pub max_bulk_ops: usize,
    /// Records per list page when the caller names no limit.
    pub default_page_size: usize,
    /// Largest page a caller may ask for.
    pub max_page_size: usize,
    /// Fields per object.
    pub max_fields: usize,
    /// Lifetime of access tokens issued at login.
    pub access_token_ttl: Duration,
    /// Lifetime of refresh tokens issued at login.
    pub refresh_token_ttl: Duration,
    pub throttle: ThrottleSettings,
    /// A fixed admin token (`SLUICE_ADMIN_TOKEN`); never stored.
    pub admin_token: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_bulk_ops: 1000,
            default_page_size: 100,
            max_page_size: 1000,
            max_fields: 500,
            access_token_ttl: Duration::from_secs(3600),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            throttle: ThrottleSettings::default(),
            admin_token: None,
        }
    }
}
