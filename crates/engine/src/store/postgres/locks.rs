//! Unique values locked in one order before they are written, so that writers on the same values
//! queue instead of deadlocking. Two transactions that insert the same unique values in different
//! orders each hold an index entry the other waits on; here a write first takes a
//! transaction-scoped advisory lock per (object, field, value), all in one statement, sorted, and
//! only then writes. A transaction's first such statement waits (it holds nothing another waits
//! on, and every writer takes its locks in the same order); any later one only tries, and a lock
//! held elsewhere ends the attempt at once (`busy`, which the store runs again), since waiting
//! while holding could close a cycle. Every such write holds the object's lock shared. A batch with
//! more values than `MAX_VALUE_LOCKS` locks no values, so the lock table stays small whatever the
//! batch size: a job's chunk takes the object's lock exclusively instead (`Past::Object`: jobs
//! queue behind one another and make bulk writers wait for one chunk); a bulk request's batch takes
//! nothing more (`Past::Nothing`: concurrent bulk requests on one object would otherwise queue
//! whole, and their rare collisions past that size are bounded by `lock_timeout` and rerun).

use super::tx::PgTx;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{Object, Value};
use crate::store::RowWrite;
use std::hash::Hasher;

/// Values one statement locks one by one; a batch with more does as its `Past` says.
const MAX_VALUE_LOCKS: usize = 256;

/// What a batch with more than `MAX_VALUE_LOCKS` unique values locks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Past {
    /// The object, exclusively (a job's chunk).
    Object,
    /// Nothing beyond the object's shared lock (a bulk request's batch).
    Nothing,
}

/// Takes the locks in array order (the object's first, then the values sorted), each shared or
/// exclusive as its flag says, waiting for each.
const WAIT: &str = "SELECT count(CASE WHEN l.s THEN pg_advisory_xact_lock_shared(l.k) \
    ELSE pg_advisory_xact_lock(l.k) END) FROM unnest($1::int8[], $2::bool[]) AS l(k, s)";
/// The same without waiting: whether every lock was free.
const TRY: &str = "SELECT bool_and(CASE WHEN l.s THEN pg_try_advisory_xact_lock_shared(l.k) \
    ELSE pg_try_advisory_xact_lock(l.k) END) FROM unnest($1::int8[], $2::bool[]) AS l(k, s)";

/// FNV-1a, 64 bits: the same key for the same value on every instance and build.
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

fn hasher(obj: &Object) -> Fnv {
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    h.write(obj.id.as_bytes());
    h
}

/// The lock of `obj` as a whole.
fn object_key(obj: &Object) -> i64 {
    hasher(obj).finish() as i64
}

/// The lock of `value` in field `field` of `obj`.
fn value_key(obj: &Object, field: usize, value: &Value) -> i64 {
    let mut h = hasher(obj);
    h.write(obj.fields[field].name.as_str().as_bytes());
    h.write_u8(0);
    match value {
        Value::Text(s) | Value::Date(s) | Value::DateTime(s) | Value::Json(s) => {
            h.write(s.as_bytes())
        }
        Value::Integer(n) => h.write(&n.to_le_bytes()),
        Value::Number(n) => h.write(&n.to_le_bytes()),
        Value::Boolean(b) => h.write_u8(u8::from(*b)),
        Value::Null | Value::Lookup(_) => {}
    }
    h.finish() as i64
}

/// The unique values `rows` write: (field, value) keys, sorted and without repeats.
fn keys(obj: &Object, rows: &[RowWrite<'_>]) -> Vec<i64> {
    let mut keys: Vec<i64> = rows
        .iter()
        .flat_map(|r| r.writes.0.iter())
        .filter(|(i, v)| obj.fields[*i].unique && !v.is_null())
        .map(|(i, v)| value_key(obj, *i, v))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Locks the unique values `rows` are about to write (nothing when they write none). At most one
/// statement; none when this transaction holds them already, or when this is its first write of
/// unique values and the only value (a lone insert waits on one index entry while holding none).
pub fn lock_unique(
    tx: &mut PgTx<'_>,
    obj: &Object,
    rows: &[RowWrite<'_>],
    past: Past,
) -> Result<()> {
    // A job's chunk that holds the object whole has nothing to hash for its later batches.
    if !obj.fields.iter().any(|f| f.unique) || tx.locks.whole.contains(&object_key(obj)) {
        return Ok(());
    }
    let keys = keys(obj, rows);
    let first = !tx.locks.wrote_unique;
    if keys.is_empty() || (first && keys.len() == 1) {
        tx.locks.wrote_unique |= !keys.is_empty();
        return Ok(());
    }
    let object = object_key(obj);
    let many = keys.len() > MAX_VALUE_LOCKS;
    let held = &tx.locks;
    let (mut lock, mut shared) = (Vec::new(), Vec::new());
    if !held.whole.contains(&object) {
        if many && past == Past::Object {
            lock.push(object);
            shared.push(false);
        } else if !held.shared.contains(&object) {
            lock.push(object);
            shared.push(true);
        }
    }
    if !many && !held.whole.contains(&object) {
        for k in keys.iter().filter(|k| !held.values.contains(k)) {
            lock.push(*k);
            shared.push(false);
        }
    }
    tx.locks.wrote_unique = true;
    if lock.is_empty() {
        return Ok(());
    }
    if first {
        tx.query(WAIT, &[&lock, &shared])?;
    } else {
        let got = tx
            .query(TRY, &[&lock, &shared])?
            .first()
            .and_then(|r| r.try_get::<_, Option<bool>>(0).ok().flatten())
            .unwrap_or(false);
        if !got {
            return Err(tx.lost_race(Error::new(
                ErrorCode::Busy,
                "another writer holds these values; retry",
            )));
        }
    }
    for (k, s) in lock.into_iter().zip(shared) {
        match (k == object, s) {
            (true, true) => tx.locks.shared.push(k),
            (true, false) => tx.locks.whole.push(k),
            (false, _) => {
                tx.locks.values.insert(k);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ObjectSpec, Timestamp, Writes};

    fn obj() -> Object {
        let spec: ObjectSpec = serde_json::from_value(serde_json::json!({"name": "o", "fields": [
            {"name": "email", "type": "text", "unique": true},
            {"name": "code", "type": "text", "unique": true},
            {"name": "age", "type": "integer"}
        ]}))
        .unwrap();
        Object::from_spec(uuid::Uuid::nil(), spec, Timestamp::now()).unwrap()
    }

    #[test]
    fn keys_are_the_unique_values_sorted_once_each() {
        let o = obj();
        let t = |s: &str| Value::Text(s.into());
        let a = Writes(vec![(0, t("x")), (1, t("x")), (2, Value::Integer(1))]);
        let b = Writes(vec![(0, t("x")), (1, Value::Null)]);
        let rows = [
            RowWrite { id: "", writes: &a },
            RowWrite { id: "", writes: &b },
        ];
        let k = keys(&o, &rows);
        // The same text in two fields is two values; the repeat and the null are left out.
        assert_eq!(k.len(), 2);
        assert!(k.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(k, keys(&o, &rows[..1]), "the same keys on every call");
        assert!(!k.contains(&object_key(&o)));
    }
}
