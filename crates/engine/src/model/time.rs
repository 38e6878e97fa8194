//! Timestamps: the instants every model file stamps things with, below the rest of the model (and
//! the clock) so each can import them.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// An RFC 3339 UTC instant with milliseconds; fixed width, so text order is time order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(String);

impl Timestamp {
    pub fn now() -> Timestamp {
        Timestamp::at(std::time::SystemTime::now())
    }

    pub fn at(t: std::time::SystemTime) -> Timestamp {
        Timestamp(DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    pub fn from_stored(s: String) -> Timestamp {
        Timestamp(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
