//! Record operations: create, read, list, merge, replace and delete, each checked against the object.

use super::relations::{delete_following, expand_records, linked_cond, resolve_refs, Expand};
use super::select::selection;
use super::{Body, Input, ListBody, ListSpec, Output, Target};
use crate::core::Ctx;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{
    encode_cursor, Column, Cond, Need, Object, Principal, Record, RecordId, Stamp, Value,
    WriteMode, Writes,
};
use crate::store::RowWrite;
use serde_json::Value as Json;
use std::sync::Arc;

pub fn stamp(ctx: &Ctx<'_>, who: &Principal) -> Stamp {
    Stamp {
        user: who.user_name().to_owned(),
        at: ctx.now.clone(),
    }
}

/// Rewrites a store unique violation so it names the value too: `email a@b.c already exists`.
pub fn explain_unique(err: Error, obj: &Object, writes: &Writes) -> Error {
    if err.code != ErrorCode::UniqueViolation {
        return err;
    }
    let Some(field) = err.field.clone() else {
        return err;
    };
    let value = obj
        .field(&field)
        .and_then(|(i, _)| writes.0.iter().find(|(j, _)| *j == i))
        .map(|(_, v)| match v.to_json() {
            Json::String(s) => s,
            other => other.to_string(),
        });
    match value {
        Some(v) => Error::new(
            ErrorCode::UniqueViolation,
            format!("{field} {v} already exists"),
        )
        .with_field(field),
        None => err,
    }
}

pub fn create(ctx: &mut Ctx<'_>, who: &Principal, t: &Target, input: Input) -> Result<Output> {
    let (_, obj) = ctx.object(who, &t.app, &t.object, Need::Write)?;
    let mut writes = input.into_writes(&obj, WriteMode::Whole)?;
    resolve_one(ctx, &obj, &mut writes)?;
    let id = RecordId::new();
    let stamp = stamp(ctx, who);
    ctx.tx
        .insert_record(&obj, id.as_str(), &writes, &stamp)
        .map_err(|e| explain_unique(e, &obj, &writes))?;
    Ok(created(&obj, id, writes, &stamp))
}

/// Resolves and checks one write's relation values.
fn resolve_one(ctx: &mut Ctx<'_>, obj: &Object, writes: &mut Writes) -> Result<()> {
    match resolve_refs(ctx, obj, &mut [writes])?.into_iter().next() {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

fn created(obj: &Arc<Object>, id: RecordId, writes: Writes, stamp: &Stamp) -> Output {
    let record = Record {
        id: id.as_str().to_owned(),
        created_at: stamp.at.as_str().to_owned(),
        updated_at: stamp.at.as_str().to_owned(),
        created_by: stamp.user.clone(),
        updated_by: stamp.user.clone(),
        values: writes.0.into_iter().map(|(_, v)| v).collect(),
    };
    Output::Created(Body::record(obj, record))
}

/// Creates records in one object for consecutive creates of a bulk request: each is authorized
/// and checked alone, then the valid ones go to the store as one batch per writer (a batch takes
/// one stamp). Each gets its own outcome, as if it ran alone.
pub fn create_many(
    ctx: &mut Ctx<'_>,
    t: &Target,
    items: Vec<(Principal, Input)>,
) -> Vec<Result<Output>> {
    let mut out: Vec<Option<Result<Output>>> = (0..items.len()).map(|_| None).collect();
    let mut ready: Vec<(usize, Arc<Object>, RecordId, Writes, Stamp)> = Vec::new();
    for (i, (who, input)) in items.into_iter().enumerate() {
        let checked = ctx
            .object(&who, &t.app, &t.object, Need::Write)
            .and_then(|(_, obj)| Ok((input.into_writes(&obj, WriteMode::Whole)?, obj)));
        match checked {
            Ok((w, obj)) => ready.push((i, obj, RecordId::new(), w, stamp(ctx, &who))),
            Err(e) => out[i] = Some(Err(e)),
        }
    }
    // Relation values, per object, in one pass over its rows.
    let mut objects: Vec<Arc<Object>> = Vec::new();
    for (_, obj, ..) in &ready {
        if obj.relations().next().is_some() && !objects.iter().any(|o| Arc::ptr_eq(o, obj)) {
            objects.push(obj.clone());
        }
    }
    for obj in objects {
        let mut rows: Vec<(usize, &mut Writes)> = ready
            .iter_mut()
            .filter(|r| Arc::ptr_eq(&r.1, &obj))
            .map(|r| (r.0, &mut r.3))
            .collect();
        let at: Vec<usize> = rows.iter().map(|(i, _)| *i).collect();
        let mut writes: Vec<&mut Writes> = rows.iter_mut().map(|(_, w)| &mut **w).collect();
        match resolve_refs(ctx, &obj, &mut writes) {
            Ok(failed) => failed
                .into_iter()
                .for_each(|(k, e)| out[at[k]] = Some(Err(e))),
            Err(e) => at.iter().for_each(|i| out[*i] = Some(Err(e.clone()))),
        }
    }
    ready.retain(|r| out[r.0].is_none());
    // Each run of rows by one writer into one object is one batch; the rows are written first and
    // then moved into their answers, so nothing is copied for the answer.
    let mut written: Vec<Result<()>> = Vec::with_capacity(ready.len());
    let mut rest = ready.as_slice();
    while let Some((_, obj, _, _, first)) = rest.first() {
        let n = rest
            .iter()
            .take_while(|r| r.4.user == first.user && Arc::ptr_eq(&r.1, obj))
            .count();
        let (run, tail) = rest.split_at(n);
        let rows: Vec<RowWrite<'_>> = run
            .iter()
            .map(|(_, _, id, writes, _)| RowWrite {
                id: id.as_str(),
                writes,
            })
            .collect();
        match ctx.tx.insert_records(obj, &rows, first) {
            Ok(results) => written.extend(results),
            Err(e) => written.extend(run.iter().map(|_| Err(e.clone()))),
        }
        rest = tail;
    }
    for ((i, obj, id, w, s), r) in ready.into_iter().zip(written) {
        out[i] = Some(match r {
            Ok(()) => Ok(created(&obj, id, w, &s)),
            Err(e) => Err(explain_unique(e, &obj, &w)),
        });
    }
    out.into_iter()
        .map(|o| o.unwrap_or_else(|| Err(Error::internal("a create was left out"))))
        .collect()
}

fn missing(id: &str) -> Error {
    Error::not_found(format!("no record with id {id:?}"))
}

pub fn get(
    ctx: &mut Ctx<'_>,
    who: &Principal,
    t: &Target,
    id: &str,
    expand: &[String],
) -> Result<Output> {
    let (app, obj) = ctx.object(who, &t.app, &t.object, Need::Read)?;
    let expand = Expand::parse(&app, &obj, expand)?;
    let id = RecordId::parse(id)?;
    let record = ctx
        .tx
        .get_record(&obj, id.as_str())?
        .ok_or_else(|| missing(id.as_str()))?;
    if !expand.is_empty() {
        let shown = expand_records(ctx, &obj, std::slice::from_ref(&record), &expand)?;
        return Ok(Output::ok(shown.into_iter().next().unwrap_or_default()));
    }
    Ok(Output::Ok(Body::record(&obj, record)))
}

pub fn update(
    ctx: &mut Ctx<'_>,
    who: &Principal,
    t: &Target,
    id: &str,
    input: Input,
    replace: bool,
) -> Result<Output> {
    let (_, obj) = ctx.object(who, &t.app, &t.object, Need::Write)?;
    let id = RecordId::parse(id)?;
    let mode = if replace {
        WriteMode::Whole
    } else {
        WriteMode::Merge
    };
    let mut writes = input.into_writes(&obj, mode)?;
    resolve_one(ctx, &obj, &mut writes)?;
    let stamp = stamp(ctx, who);
    let found = ctx
        .tx
        .update_record(&obj, id.as_str(), &writes, &stamp)
        .map_err(|e| explain_unique(e, &obj, &writes))?;
    if !found {
        return Err(missing(id.as_str()));
    }
    let record = ctx
        .tx
        .get_record(&obj, id.as_str())?
        .ok_or_else(|| missing(id.as_str()))?;
    Ok(Output::Ok(Body::record(&obj, record)))
}

pub fn delete(ctx: &mut Ctx<'_>, who: &Principal, t: &Target, id: &str) -> Result<Output> {
    let (_, obj) = ctx.object(who, &t.app, &t.object, Need::Write)?;
    let id = RecordId::parse(id)?;
    let stamp = stamp(ctx, who);
    // Following relations takes several statements: they stand or fall together.
    let pointed = ctx
        .catalog
        .app_by_id(obj.app_id)
        .is_some_and(|a| a.is_pointed_at(obj.name.as_str()));
    if pointed {
        ctx.tx.savepoint()?;
    }
    let done = delete_following(ctx, &obj, &[id.as_str()], &stamp).and_then(|d| {
        d.into_iter()
            .next()
            .unwrap_or_else(|| Err(missing(id.as_str())))
    });
    if pointed {
        match &done {
            Ok(_) => ctx.tx.release()?,
            Err(_) => ctx.tx.rollback()?,
        }
    }
    let done = done?;
    if !done.found {
        return Err(missing(id.as_str()));
    }
    Ok(Output::Deleted)
}

/// The value of a sort column in a record, for building the next page's cursor.
fn key_value(rec: &Record, c: Column) -> Value {
    match c {
        Column::Id => Value::Text(rec.id.clone()),
        Column::CreatedAt => Value::DateTime(rec.created_at.clone()),
        Column::UpdatedAt => Value::DateTime(rec.updated_at.clone()),
        Column::CreatedBy => Value::Text(rec.created_by.clone()),
        Column::UpdatedBy => Value::Text(rec.updated_by.clone()),
        Column::Field(i) => rec.values[i].clone(),
    }
}

pub fn list(ctx: &mut Ctx<'_>, who: &Principal, t: &Target, spec: &ListSpec) -> Result<Output> {
    let (app, obj) = ctx.object(who, &t.app, &t.object, Need::Read)?;
    let expand = Expand::parse(&app, &obj, &spec.expand)?;
    let mut sel = selection(ctx, &obj, spec)?;
    if let Some(l) = &spec.linked {
        let linked = linked_cond(ctx, who, &t.app, &obj, l)?;
        sel.cond = Cond::and(vec![std::mem::replace(&mut sel.cond, Cond::True), linked]);
    }
    let limit = sel.limit;
    sel.limit = limit + 1;
    let mut records = ctx.tx.list_records(&obj, &sel)?;
    let more = records.len() > limit;
    records.truncate(limit);
    let next_cursor = match records.last() {
        Some(last) if more => {
            let values: Vec<Value> = sel
                .keys()
                .iter()
                .map(|k| key_value(last, k.column))
                .collect();
            Some(encode_cursor(&values))
        }
        _ => None,
    };
    let (mut total, mut total_omitted) = (None, None);
    if spec.count {
        sel.limit = limit;
        let within = ctx.settings.list.count_timeout;
        match ctx.tx.count_records(&obj, &sel, within)? {
            Some(n) => total = Some(n),
            None => {
                total_omitted = Some(format!(
                    "counting took longer than {} ms (count_timeout_ms); filter on indexed fields to count faster",
                    within.as_millis()
                ))
            }
        }
    }
    let shown = match expand.is_empty() {
        true => None,
        false => Some(expand_records(ctx, &obj, &records, &expand)?),
    };
    let body = Body::List(ListBody {
        object: obj,
        records,
        next_cursor,
        total,
        total_omitted,
    });
    Ok(Output::Ok(match shown {
        None => body,
        Some(shown) => {
            let mut json = body.into_json();
            json["records"] = Json::Array(shown);
            Body::Json(json)
        }
    }))
}
