//! Statements looked up once per transaction for the record-write hot path: a bulk request or an
//! import chunk writes many rows of one object with one column set, so it finds its statement once
//! (in the connection's cache) and binds per row, with no SQL text built or hashed per row.

use crate::model::{Object, Writes};
use rusqlite::{CachedStatement, Connection, Result};
use std::collections::hash_map::{Entry, HashMap};
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Insert,
    Update,
}

/// Keyed by the object's address (kept alive by the `Arc` held here, so it cannot be reused), the
/// written columns and the statement kind.
#[derive(Default)]
pub struct Prepared<'c> {
    map: HashMap<(usize, u128, Kind), (Arc<Object>, CachedStatement<'c>)>,
}

/// The written columns as a bit set, when they fit and come in field order (as checked writes do).
fn mask(w: &Writes) -> Option<u128> {
    let mut mask = 0u128;
    let mut last = None;
    for (i, _) in &w.0 {
        if *i >= 128 || last.is_some_and(|l| l >= *i) {
            return None;
        }
        mask |= 1 << i;
        last = Some(*i);
    }
    Some(mask)
}

impl<'c> Prepared<'c> {
    /// The statement for these writes, built by `sql` the first time. `None` when the writes cannot
    /// be keyed (then the caller uses SQLite's own statement cache). Failures are SQLite's, for the
    /// caller to map.
    pub fn get(
        &mut self,
        conn: &'c Connection,
        obj: &Arc<Object>,
        w: &Writes,
        kind: Kind,
        sql: impl FnOnce() -> String,
    ) -> Result<Option<&mut CachedStatement<'c>>> {
        let Some(mask) = mask(w) else { return Ok(None) };
        let key = (Arc::as_ptr(obj) as usize, mask, kind);
        let slot = match self.map.entry(key) {
            Entry::Occupied(e) => e.into_mut(),
            // The connection's cache keeps the statement between transactions (a single create is
            // a transaction of its own): it is prepared once, not once per transaction.
            Entry::Vacant(e) => e.insert((obj.clone(), conn.prepare_cached(&sql())?)),
        };
        Ok(Some(&mut slot.1))
    }
}
