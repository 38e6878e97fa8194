//! Idempotency keys: a caller's name for one creating request. Its first answer is kept in the
//! same transaction as the work, so a repeat (a retry after a timeout, a crash) gets that answer
//! back and the work is never applied twice.

use crate::error::{Error, ErrorCode, Result};

/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// A key as the caller sent it, within its scope (the app and the caller), with the fingerprint
/// of the request it first came with (method, path, body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdemKey {
    pub scope: String,
    pub key: String,
    pub fingerprint: String,
}

impl IdemKey {
    /// Parses a key: 1 to 255 visible ASCII characters.
    pub fn new(scope: String, key: &str, fingerprint: String) -> Result<IdemKey> {
        let ok = !key.is_empty()
            && key.len() <= MAX_KEY_LEN
            && key.bytes().all(|b| (0x21..0x7f).contains(&b));
        if !ok {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                format!("an idempotency key is 1 to {MAX_KEY_LEN} visible ASCII characters"),
            )
            .with_field("Idempotency-Key"));
        }
        Ok(IdemKey {
            scope,
            key: key.to_owned(),
            fingerprint,
        })
    }
}

/// What a front door answered, kept as it was sent: the front door's own status number and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// An answer to a keyed request, and whether it is the kept one of an earlier request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyed {
    pub answer: Answer,
    pub replayed: bool,
}
