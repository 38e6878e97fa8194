//! Uploads and job results kept in PostgreSQL, so every instance reaches them without a shared
//! disk: an upload is stored in numbered pieces, a job's result lines in one row per chunk (keyed
//! by its offset, written in the chunk's transaction). Both are read back piece by piece, each
//! piece in a transaction of its own on a connection borrowed only for that read.

use super::pool::Pool;
use crate::error::{Error, Result};
use crate::store::FileStore;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Bytes per stored upload piece.
const PIECE: usize = 1 << 20;
/// How long file work waits for a connection.
const WAIT: Duration = Duration::from_secs(30);

pub struct PgFiles {
    pub pool: Arc<Pool>,
}

fn db(e: postgres::Error) -> Error {
    super::tx::map_err(&e)
}

impl FileStore for PgFiles {
    fn put_input(&self, id: &str, local: &Path) -> Result<()> {
        let mut file = std::fs::File::open(local).map_err(Error::io)?;
        let mut conn = self.pool.get_begun(WAIT, "")?;
        conn.transact("BEGIN", |conn| {
            let insert = conn
                .prepare("INSERT INTO _uploads (id, seq, data) VALUES ($1, $2, $3)")
                .map_err(db)?;
            let mut buf = vec![0u8; PIECE];
            let mut seq = 0i32;
            loop {
                let mut n = 0;
                while n < PIECE {
                    match file.read(&mut buf[n..]).map_err(Error::io)? {
                        0 => break,
                        k => n += k,
                    }
                }
                if n == 0 && seq > 0 {
                    break;
                }
                conn.client
                    .execute(&insert, &[&id, &seq, &&buf[..n]])
                    .map_err(db)?;
                seq += 1;
                if n < PIECE {
                    break;
                }
            }
            Ok(())
        })?;
        drop(conn);
        let _ = std::fs::remove_file(local);
        Ok(())
    }

    fn open_input(&self, id: &str, offset: u64) -> Result<Box<dyn Read + Send>> {
        let mut r = Pieces {
            pool: self.pool.clone(),
            sql: "SELECT seq::int8, data FROM _uploads WHERE id = $1 AND seq >= $2::int8 ORDER BY seq LIMIT 1",
            key: id.to_owned(),
            next: (offset / PIECE as u64) as i64,
            skip: (offset % PIECE as u64) as usize,
            buf: Vec::new(),
            pos: 0,
            left: u64::MAX,
            step: Step::Seq,
        };
        if !r.fetch()? {
            return Err(Error::not_found("the upload is gone"));
        }
        Ok(Box::new(r))
    }

    fn open_result(&self, job_id: &str, len: u64) -> Result<Box<dyn Read + Send>> {
        self.open_result_at(job_id, 0, len)
    }

    fn open_result_at(&self, id: &str, from: u64, len: u64) -> Result<Box<dyn Read + Send>> {
        let mut r = Pieces {
            pool: self.pool.clone(),
            sql: "SELECT start, data FROM _results WHERE job_id = $1 AND start >= $2 ORDER BY start LIMIT 1",
            key: id.to_owned(),
            next: 0,
            skip: 0,
            buf: Vec::new(),
            pos: 0,
            left: len,
            step: Step::Offset,
        };
        if from > 0 && len > 0 {
            // The piece holding byte `from`, then on from there.
            let at = i64::try_from(from).unwrap_or(i64::MAX);
            let mut conn = self.pool.get_begun(WAIT, "")?;
            let row = conn.transact("BEGIN READ ONLY", |conn| {
                conn.client
                    .query_opt(
                        "SELECT start FROM _results WHERE job_id = $1 AND start <= $2
                         ORDER BY start DESC LIMIT 1",
                        &[&id, &at],
                    )
                    .map_err(db)
            })?;
            let start: i64 = match row {
                Some(row) => row.try_get(0).map_err(Error::internal)?,
                None => 0,
            };
            r.next = start;
            r.skip = usize::try_from(at - start).unwrap_or(usize::MAX);
        }
        Ok(Box::new(r))
    }

    fn delete_result(&self, id: &str) -> Result<()> {
        let mut conn = self.pool.get_begun(WAIT, "")?;
        conn.transact("BEGIN", |conn| {
            conn.client
                .execute("DELETE FROM _results WHERE job_id = $1", &[&id])
                .map_err(db)
        })?;
        Ok(())
    }

    fn delete_input(&self, id: &str) -> Result<()> {
        let mut conn = self.pool.get_begun(WAIT, "")?;
        conn.transact("BEGIN", |conn| {
            conn.client
                .execute("DELETE FROM _uploads WHERE id = $1", &[&id])
                .map_err(db)
        })?;
        Ok(())
    }

    fn rename_input(&self, from: &str, to: &str) -> Result<()> {
        let mut conn = self.pool.get_begun(WAIT, "")?;
        conn.transact("BEGIN", |conn| {
            conn.client
                .execute("UPDATE _uploads SET id = $2 WHERE id = $1", &[&from, &to])
                .map_err(db)
        })?;
        Ok(())
    }
}

/// How the key of the next piece follows from the last one.
enum Step {
    /// Pieces are numbered 0, 1, 2…
    Seq,
    /// Pieces are keyed by their byte offset.
    Offset,
}

/// A reader over stored pieces, fetching one at a time.
struct Pieces {
    pool: Arc<Pool>,
    sql: &'static str,
    key: String,
    next: i64,
    skip: usize,
    buf: Vec<u8>,
    pos: usize,
    /// Bytes still to give out.
    left: u64,
    step: Step,
}

impl Pieces {
    /// Loads the next piece; false at the end.
    fn fetch(&mut self) -> Result<bool> {
        let mut conn = self.pool.get_begun(WAIT, "")?;
        let (sql, key, next) = (self.sql, &self.key, self.next);
        let row = conn.transact("BEGIN READ ONLY", |conn| {
            let stmt = conn.prepare(sql).map_err(db)?;
            conn.client.query_opt(&stmt, &[key, &next]).map_err(db)
        })?;
        let Some(row) = row else {
            return Ok(false);
        };
        let at: i64 = row.try_get(0).map_err(Error::internal)?;
        self.buf = row.try_get(1).map_err(Error::internal)?;
        self.pos = self.skip.min(self.buf.len());
        self.skip = 0;
        self.next = match self.step {
            Step::Seq => at + 1,
            Step::Offset => at + self.buf.len() as i64,
        };
        Ok(true)
    }
}

impl Read for Pieces {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        while self.pos >= self.buf.len() {
            match self.fetch() {
                Ok(true) => {}
                Ok(false) => return Ok(0),
                Err(e) => return Err(std::io::Error::other(e.message)),
            }
        }
        let n = out
            .len()
            .min(self.buf.len() - self.pos)
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        self.left -= n as u64;
        Ok(n)
    }
}
