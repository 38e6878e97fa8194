//! Numeric aliases: stable integers standing for ids, for clients that hold ids as 64-bit integers
//! (sluice's ids are UUIDs). Numbers are handed out in order from `ALIAS_BASE`, so each has 19
//! digits and fits a signed 64-bit integer; the store keeps each (kind, id) ↔ number pair.

/// The first number: 19 digits, far below `i64::MAX` (9.2 × 10^18).
pub const ALIAS_BASE: u64 = 1_000_000_000_000_000_000;

/// One stored alias as copying moves it: the store's key (the number less `ALIAS_BASE`), what
/// it stands for (`AliasKind::as_str`) and the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasRow {
    pub key: i64,
    pub kind: String,
    pub id: String,
}

/// What an alias stands for (numbers are unique across kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AliasKind {
    App,
    Object,
    File,
    Job,
    User,
    Record,
    Export,
}

impl AliasKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AliasKind::App => "app",
            AliasKind::Object => "object",
            AliasKind::File => "file",
            AliasKind::Job => "job",
            AliasKind::User => "user",
            AliasKind::Record => "record",
            AliasKind::Export => "export",
        }
    }
}
