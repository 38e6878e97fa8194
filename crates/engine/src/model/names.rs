//! Identifier newtypes: app, object and field names are parsed once at the boundary.

use crate::error::{Error, ErrorCode, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// System fields every record carries; user fields may not take these names.
pub const SYSTEM_FIELDS: [&str; 5] = ["id", "created_at", "updated_at", "created_by", "updated_by"];

/// Names that would shadow a store's implicit row id.
const RESERVED: [&str; 3] = ["rowid", "oid", "_rowid_"];

const MAX_LEN: usize = 63;

/// An identifier: ASCII letters, digits and `_`, starting with a letter, at most 63 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    /// Parses `s` as a name; `what` says what it names, for the error message.
    pub fn parse(s: &str, what: &str) -> Result<Name> {
        let bad = |why: &str| {
            Error::new(
                ErrorCode::ValidationFailed,
                format!("{what} name {s:?} {why}"),
            )
            .with_field("name")
        };
        let first = s.chars().next().ok_or_else(|| bad("is empty"))?;
        if !first.is_ascii_alphabetic() {
            return Err(bad(
                "must start with a letter (names starting with _ are reserved)",
            ));
        }
        if s.len() > MAX_LEN {
            return Err(bad("is longer than 63 characters"));
        }
        if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(bad("may hold only letters, digits and _"));
        }
        Ok(Name(s.to_owned()))
    }

    /// Parses a field name, refusing the system fields' names as well.
    pub fn parse_field(s: &str) -> Result<Name> {
        // A bad field name is the error of that field, as its other errors are.
        let name = Self::parse(s, "field").map_err(|e| e.with_field(s))?;
        let lower = s.to_ascii_lowercase();
        if SYSTEM_FIELDS.contains(&lower.as_str()) || RESERVED.contains(&lower.as_str()) {
            return Err(Error::validation(
                s,
                format!("field name {s:?} is reserved"),
            ));
        }
        Ok(name)
    }

    /// A related field's column (`account.email`): two names already parsed, joined by a dot, as
    /// an export's widened records name it.
    pub fn path(relation: &Name, field: &str) -> Name {
        Name(format!("{relation}.{field}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_identifiers() {
        assert!(Name::parse("contacts", "object").is_ok());
        assert!(Name::parse("Accounts_2", "object").is_ok());
    }

    #[test]
    fn refuses_bad_names() {
        for bad in ["", "_x", "1a", "a-b", "a b", "é", "\"x\"", &"a".repeat(64)] {
            assert!(Name::parse(bad, "object").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn refuses_system_field_names() {
        for bad in ["id", "ID", "created_at", "updated_by", "rowid", "oid"] {
            let err = Name::parse_field(bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::ValidationFailed);
        }
        assert!(Name::parse_field("email").is_ok());
    }
}
