//! Idempotency keys on PostgreSQL: the claim's insert holds the key's row until the work's
//! transaction ends, so a second instance claiming the same key waits for the first and then
//! finds its kept answer.

use super::tx::PgTx;
use crate::error::Result;
use crate::model::{Answer, IdemKey};
use crate::store::IdemTx;

impl IdemTx for PgTx<'_> {
    fn claim_key(&mut self, k: &IdemKey, expires_ms: i64, now_ms: i64) -> Result<bool> {
        let row = self.query_opt(
            "INSERT INTO _idempotency (scope, key, fingerprint, status, body, expires_at)
             VALUES ($1, $2, $3, 0, ''::bytea, $4)
             ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint,
               status = 0, body = ''::bytea, expires_at = excluded.expires_at
             WHERE _idempotency.expires_at < $5
             RETURNING 1",
            &[&k.scope, &k.key, &k.fingerprint, &expires_ms, &now_ms],
        )?;
        Ok(row.is_some())
    }

    fn kept_answer(
        &mut self,
        scope: &str,
        key: &str,
        now_ms: i64,
    ) -> Result<Option<(String, Answer)>> {
        let row = self.query_opt(
            "SELECT fingerprint, status, body FROM _idempotency
             WHERE scope = $1 AND key = $2 AND expires_at >= $3 AND status > 0",
            &[&scope, &key, &now_ms],
        )?;
        Ok(row.map(|r| {
            let status: i32 = r.get(1);
            (
                r.get(0),
                Answer {
                    status: u16::try_from(status).unwrap_or(500),
                    body: r.get(2),
                },
            )
        }))
    }

    fn keep_answer(&mut self, k: &IdemKey, answer: &Answer) -> Result<()> {
        self.execute(
            "UPDATE _idempotency SET status = $3, body = $4 WHERE scope = $1 AND key = $2",
            &[&k.scope, &k.key, &(answer.status as i32), &answer.body],
        )?;
        Ok(())
    }

    fn purge_keys(&mut self, now_ms: i64) -> Result<u64> {
        self.execute("DELETE FROM _idempotency WHERE expires_at < $1", &[&now_ms])
    }
}
