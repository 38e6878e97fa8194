//! Request bodies into typed specs: serde's complaint becomes an error that names the field.

use crate::error::{Error, ErrorCode, Result};

/// Parses a JSON body into a typed spec, naming the offending field on failure.
pub fn parse_body<T: serde::de::DeserializeOwned>(
    body: serde_json::Value,
    what: &str,
) -> Result<T> {
    serde_json::from_value(body).map_err(|e| {
        let msg = e.to_string();
        let field = msg
            .split('`')
            .nth(1)
            .filter(|_| msg.starts_with("unknown field") || msg.starts_with("missing field"))
            .map(str::to_owned);
        let code = if msg.starts_with("unknown field") {
            ErrorCode::UnknownField
        } else if msg.starts_with("missing field") {
            ErrorCode::Required
        } else {
            ErrorCode::ValidationFailed
        };
        let mut err = Error::new(code, format!("invalid {what}: {msg}"));
        if let Some(f) = field {
            err = err.with_field(f);
        }
        err
    })
}
