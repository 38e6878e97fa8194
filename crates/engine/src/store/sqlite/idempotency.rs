//! Idempotency keys on SQLite: one row per (scope, key); a claim inserts the row (or takes over an
//! expired one) in the work's own transaction, the answer is written beside it.

use super::tx::{map_err, SqliteTx};
use crate::error::Result;
use crate::model::{Answer, IdemKey};
use crate::store::IdemTx;
use rusqlite::{params, OptionalExtension};

impl IdemTx for SqliteTx<'_> {
    fn claim_key(&mut self, k: &IdemKey, expires_ms: i64, now_ms: i64) -> Result<bool> {
        let claimed: Option<i64> = self
            .conn
            .prepare_cached(
                "INSERT INTO _idempotency (scope, key, fingerprint, status, body, expires_at)
                 VALUES (?1, ?2, ?3, 0, x'', ?4)
                 ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint,
                   status = 0, body = x'', expires_at = excluded.expires_at
                 WHERE _idempotency.expires_at < ?5
                 RETURNING 1",
            )
            .and_then(|mut s| {
                s.query_row(
                    params![k.scope, k.key, k.fingerprint, expires_ms, now_ms],
                    |r| r.get(0),
                )
                .optional()
            })
            .map_err(map_err)?;
        Ok(claimed.is_some())
    }

    fn kept_answer(
        &mut self,
        scope: &str,
        key: &str,
        now_ms: i64,
    ) -> Result<Option<(String, Answer)>> {
        self.conn
            .prepare_cached(
                "SELECT fingerprint, status, body FROM _idempotency
                 WHERE scope = ?1 AND key = ?2 AND expires_at >= ?3 AND status > 0",
            )
            .and_then(|mut s| {
                s.query_row(params![scope, key, now_ms], |r| {
                    let status: i64 = r.get(1)?;
                    Ok((
                        r.get(0)?,
                        Answer {
                            status: u16::try_from(status).unwrap_or(500),
                            body: r.get(2)?,
                        },
                    ))
                })
                .optional()
            })
            .map_err(map_err)
    }

    fn keep_answer(&mut self, k: &IdemKey, answer: &Answer) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE _idempotency SET status = ?3, body = ?4 WHERE scope = ?1 AND key = ?2",
            )
            .and_then(|mut s| s.execute(params![k.scope, k.key, answer.status as i64, answer.body]))
            .map_err(map_err)?;
        Ok(())
    }

    fn purge_keys(&mut self, now_ms: i64) -> Result<u64> {
        self.conn
            .execute("DELETE FROM _idempotency WHERE expires_at < ?1", [now_ms])
            .map(|n| n as u64)
            .map_err(map_err)
    }
}
