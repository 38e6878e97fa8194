//! Idempotent write work: a keyed request's work and its answer commit in one transaction with
//! the key; a repeat of the request gets the kept answer (`replayed`), a different request under
//! the same key `idempotency_mismatch`, and a repeat while the first runs here
//! `idempotency_in_flight`. Only answers of work that succeeded are kept: after an error, a retry
//! runs again. The steps here work on any transaction; `Core::transact_keyed` runs them around
//! the work.

use crate::error::{Error, ErrorCode, Result};
use crate::model::{Answer, IdemKey, Keyed};
use crate::store::IdemTx;
use std::collections::HashSet;
use std::sync::Mutex;

/// Keys whose first request runs on this instance now.
#[derive(Default)]
pub struct InFlight(Mutex<HashSet<(String, String)>>);

/// Holds a key in flight until dropped.
pub struct Hold<'a> {
    set: &'a InFlight,
    key: (String, String),
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        self.set
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
    }
}

impl InFlight {
    /// Marks `k` as running here until the hold is dropped; `idempotency_in_flight` if it already is.
    pub fn hold(&self, k: &IdemKey) -> Result<Hold<'_>> {
        let key = (k.scope.clone(), k.key.clone());
        if !self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone())
        {
            return Err(Error::new(
                ErrorCode::IdempotencyInFlight,
                "a request with this idempotency key is still running; retry once it ends",
            )
            .with_field("Idempotency-Key"));
        }
        Ok(Hold { set: self, key })
    }
}

/// Kept answers longer than this are stored LZ4-compressed: a bulk answer of 1,000 records is
/// about 270 KB of JSON, written on the work's hot path twice (to the WAL, then by the
/// checkpoint), and LZ4 shrinks it about fivefold for far less time than the writes it saves.
const PACK_OVER: usize = 4096;

/// Leads a packed body; a kept JSON answer never begins with this byte.
const PACKED: u8 = 0x04;

fn pack(answer: &Answer) -> Answer {
    if answer.body.len() <= PACK_OVER {
        return answer.clone();
    }
    let mut body = vec![PACKED];
    body.extend(lz4_flex::compress_prepend_size(&answer.body));
    Answer {
        status: answer.status,
        body,
    }
}

fn unpack(answer: Answer) -> Result<Answer> {
    match answer.body.split_first() {
        Some((&PACKED, packed)) => Ok(Answer {
            status: answer.status,
            body: lz4_flex::decompress_size_prepended(packed).map_err(Error::internal)?,
        }),
        _ => Ok(answer),
    }
}

fn mismatch() -> Error {
    Error::new(
        ErrorCode::IdempotencyMismatch,
        "this idempotency key was used for another request (method, path or body differ)",
    )
    .with_field("Idempotency-Key")
}

/// The kept answer for `k`, as the request it came with sees it.
fn replay(k: &IdemKey, kept: (String, Answer)) -> Result<Keyed> {
    let (fingerprint, answer) = kept;
    if fingerprint != k.fingerprint {
        return Err(mismatch());
    }
    Ok(Keyed {
        answer: unpack(answer)?,
        replayed: true,
    })
}

/// Claims `key` in `tx` (it is then this transaction's until it ends): `None` when the work is to
/// run, or the kept answer as a replay.
pub fn claim<T: IdemTx + ?Sized>(
    tx: &mut T,
    key: &IdemKey,
    expires_ms: i64,
    now_ms: i64,
) -> Result<Option<Keyed>> {
    if tx.claim_key(key, expires_ms, now_ms)? {
        return Ok(None);
    }
    let kept = tx
        .kept_answer(&key.scope, &key.key, now_ms)?
        .ok_or_else(|| Error::internal("a claimed idempotency key has no answer"))?;
    replay(key, kept).map(Some)
}

/// Keeps the answer of the work that ran under the claimed `key`.
pub fn keep<T: IdemTx + ?Sized>(tx: &mut T, key: &IdemKey, answer: Answer) -> Result<Keyed> {
    tx.keep_answer(key, &pack(&answer))?;
    Ok(Keyed {
        answer,
        replayed: false,
    })
}

/// The answer kept for `key`, as a replay, if there is one.
pub fn kept<T: IdemTx + ?Sized>(tx: &mut T, key: &IdemKey, now_ms: i64) -> Result<Option<Keyed>> {
    match tx.kept_answer(&key.scope, &key.key, now_ms)? {
        Some(kept) => replay(key, kept).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_answers_are_packed_and_unpack_to_the_same_bytes() {
        let long = Answer {
            status: 200,
            body: br#"{"status":201,"body":{"name":"x"}},"#.repeat(500),
        };
        let packed = pack(&long);
        assert_eq!(packed.body[0], PACKED);
        assert!(packed.body.len() * 4 < long.body.len());
        assert_eq!(unpack(packed).unwrap(), long);
        let short = Answer {
            status: 201,
            body: br#"{"id":"a"}"#.to_vec(),
        };
        assert_eq!(pack(&short), short);
        assert_eq!(unpack(short.clone()).unwrap(), short);
    }
}
