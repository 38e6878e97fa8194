//! Deletes that follow `on_delete`: a pure planner walks the relations pointing at the records
//! (level by level, one store call per relation field and level, never recursing), then one
//! executor clears, cascades and deletes, all inside the caller's transaction.

use crate::background::failpoint;
use crate::core::Ctx;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{Object, OnDelete, Stamp, Value, Writes};
use crate::store::RowWrite;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A delete's answer: whether the record was there, and how many records its cascades deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deleted {
    pub found: bool,
    pub cascaded: u64,
}

/// Record id → the roots (indexes of the deleted ids) that reach it.
type Roots = HashMap<String, Vec<usize>>;

/// Records reached from the deleted ones, by object id.
type Reached = BTreeMap<uuid::Uuid, (Arc<Object>, Roots)>;

/// Records of one object reached at one level.
type Level = Vec<(Arc<Object>, Roots)>;

/// Records whose field is cleared, with their roots.
type Cleared = Vec<(String, Vec<usize>)>;

/// What deleting the roots does, found before anything changes.
struct Plan {
    cascades: Reached,
    /// (object, relation field, records whose field is cleared).
    clears: Vec<(Arc<Object>, usize, Cleared)>,
    /// (object, relation field, record, roots) kept back by `restrict`.
    restricts: Vec<(Arc<Object>, usize, String, Vec<usize>)>,
    refused: Vec<Option<Error>>,
}

/// Deletes `ids` from `obj`, following every relation that points at them; one answer per id.
/// A root refused by a `restrict` (anywhere below it) changes nothing and answers
/// `still_referenced`.
pub fn delete_following(
    ctx: &mut Ctx<'_>,
    obj: &Arc<Object>,
    ids: &[&str],
    stamp: &Stamp,
) -> Result<Vec<Result<Deleted>>> {
    let pointed = ctx
        .catalog
        .app_by_id(obj.app_id)
        .is_some_and(|a| a.is_pointed_at(obj.name.as_str()));
    if !pointed {
        let done = ctx.tx.delete_records(obj, ids)?;
        return Ok(done
            .into_iter()
            .map(|r| r.map(|found| Deleted { found, cascaded: 0 }))
            .collect());
    }
    let plan = plan(ctx, obj, ids)?;
    execute(ctx, obj, ids, plan, stamp)
}

fn plan(ctx: &mut Ctx<'_>, obj: &Arc<Object>, ids: &[&str]) -> Result<Plan> {
    let app = ctx
        .catalog
        .app_by_id(obj.app_id)
        .cloned()
        .ok_or_else(|| Error::not_found("the app is gone"))?;
    ctx.tx.lock_for_delete(obj, ids)?;
    let max_depth = ctx.settings.max_cascade_depth;
    let mut plan = Plan {
        cascades: BTreeMap::new(),
        clears: Vec::new(),
        restricts: Vec::new(),
        refused: vec![None; ids.len()],
    };
    let mut roots: Roots = HashMap::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        roots.entry((*id).to_owned()).or_default().push(i);
    }
    plan.cascades.insert(obj.id, (obj.clone(), roots.clone()));
    let mut level: Level = vec![(obj.clone(), roots)];
    let mut depth = 0;
    while !level.is_empty() {
        if depth == max_depth {
            for (_, records) in &level {
                for root in records.values().flatten() {
                    plan.refused[*root] = Some(Error::new(
                        ErrorCode::LimitExceeded,
                        format!(
                            "the cascade goes deeper than {max_depth} levels (max_cascade_depth)"
                        ),
                    ));
                }
            }
            break;
        }
        depth += 1;
        let mut next: Level = Vec::new();
        for (target, records) in &level {
            let keys: Vec<&str> = records.keys().map(String::as_str).collect();
            for (from, field, rule) in app.pointing_at(target.name.as_str()) {
                let hits = ctx.tx.referencing(&from, field, &keys)?;
                if hits.is_empty() {
                    continue;
                }
                let with_roots = hits.into_iter().map(|(t, id)| {
                    let roots = records.get(&t).cloned().unwrap_or_default();
                    (id, roots)
                });
                match rule {
                    OnDelete::Restrict => plan
                        .restricts
                        .extend(with_roots.map(|(id, r)| (from.clone(), field, id, r))),
                    OnDelete::SetNull => {
                        plan.clears
                            .push((from.clone(), field, with_roots.collect()))
                    }
                    OnDelete::Cascade => {
                        let entry = plan
                            .cascades
                            .entry(from.id)
                            .or_insert_with(|| (from.clone(), HashMap::new()));
                        let mut fresh = HashMap::new();
                        for (id, r) in with_roots {
                            if !entry.1.contains_key(&id) {
                                entry.1.insert(id.clone(), r.clone());
                                fresh.insert(id, r);
                            }
                        }
                        if !fresh.is_empty() {
                            next.push((from.clone(), fresh));
                        }
                    }
                }
            }
        }
        level = next;
    }
    // A restrict holds unless the record pointing is itself deleted.
    for (from, field, id, roots) in &plan.restricts {
        let deleted = plan
            .cascades
            .get(&from.id)
            .is_some_and(|(_, records)| records.contains_key(id));
        if !deleted {
            let name = format!("{}.{}", from.name, from.fields[*field].name);
            for root in roots {
                plan.refused[*root].get_or_insert_with(|| {
                    Error::new(
                        ErrorCode::StillReferenced,
                        format!("{name} of record {id} still points at this record"),
                    )
                    .with_field(name.clone())
                });
            }
        }
    }
    Ok(plan)
}

/// Whether a record reached by `roots` is still to be touched: some root reaching it goes ahead.
fn goes_ahead(roots: &[usize], refused: &[Option<Error>]) -> bool {
    roots.iter().any(|r| refused[*r].is_none())
}

fn execute(
    ctx: &mut Ctx<'_>,
    obj: &Arc<Object>,
    ids: &[&str],
    plan: Plan,
    stamp: &Stamp,
) -> Result<Vec<Result<Deleted>>> {
    let refused = &plan.refused;
    let mut cascaded = vec![0u64; ids.len()];
    for (from, field, records) in &plan.clears {
        let deleted = plan.cascades.get(&from.id).map(|(_, r)| r);
        let ids: Vec<&str> = records
            .iter()
            .filter(|(id, roots)| {
                goes_ahead(roots, refused) && !deleted.is_some_and(|d| d.contains_key(id))
            })
            .map(|(id, _)| id.as_str())
            .collect();
        let clear = Writes(vec![(*field, Value::Null)]);
        let rows: Vec<RowWrite<'_>> = ids
            .iter()
            .map(|id| RowWrite { id, writes: &clear })
            .collect();
        ctx.tx.update_records(from, &rows, stamp)?;
    }
    for (from, records) in plan.cascades.values() {
        // The roots themselves go last, below.
        let is_root =
            |id: &str, roots: &[usize]| from.id == obj.id && roots.iter().any(|r| ids[*r] == id);
        let doomed: Vec<(&str, usize)> = records
            .iter()
            .filter(|(id, roots)| goes_ahead(roots, refused) && !is_root(id, roots))
            .filter_map(|(id, roots)| {
                let first = roots.iter().find(|r| refused[**r].is_none())?;
                Some((id.as_str(), *first))
            })
            .collect();
        let just_ids: Vec<&str> = doomed.iter().map(|(id, _)| *id).collect();
        for ((_, root), r) in doomed.iter().zip(ctx.tx.delete_records(from, &just_ids)?) {
            if r? {
                cascaded[*root] += 1;
            }
        }
    }
    failpoint("relations.cascade.before_roots");
    let going: Vec<(usize, &str)> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| refused[*i].is_none())
        .map(|(i, id)| (i, *id))
        .collect();
    let root_ids: Vec<&str> = going.iter().map(|(_, id)| *id).collect();
    let mut out: Vec<Result<Deleted>> = refused
        .iter()
        .map(|r| match r {
            Some(e) => Err(e.clone()),
            None => Ok(Deleted {
                found: false,
                cascaded: 0,
            }),
        })
        .collect();
    for ((i, _), r) in going.iter().zip(ctx.tx.delete_records(obj, &root_ids)?) {
        out[*i] = r.map(|found| Deleted {
            found,
            cascaded: cascaded[*i],
        });
    }
    Ok(out)
}
