//! The bulk executor: many ops, in order, in one transaction with a savepoint each; per-item
//! failure or all-or-nothing.

use super::exec::run;
use super::records::create_many;
use super::{Input, Op, Output, Target};
use crate::auth::resolve_in;
use crate::core::Ctx;
use crate::error::{Error, ErrorCode, Result};
use crate::model::Principal;
use std::collections::HashMap;
use std::sync::mpsc::Receiver;

/// Builds an item's op once the earlier results are known (for references such as `${c1.body.id}`).
/// It may be called again if the store runs the request's transaction again.
pub type BulkPlan = Box<dyn Fn(&[Result<Output>]) -> Result<Op> + Send>;

/// How an entry's op is made.
enum Planned {
    /// Known already (it refers to no earlier result): taken for the run, or copied when the store
    /// may run the request's transaction again.
    Fixed(Option<Result<Op>>),
    Deferred(BulkPlan),
}

/// One entry of a bulk request: who runs it (already authenticated, or why not), the token to
/// check again as of the entry (a revocation or demotion by an earlier entry counts), and its op.
pub struct BulkItem {
    pub who: Result<Principal>,
    pub token: Option<String>,
    plan: Planned,
}

impl BulkItem {
    /// An entry refused before it could be planned (bad credentials, a malformed command): it
    /// answers `e` in its slot.
    pub fn failed(e: Error) -> Self {
        Self {
            who: Err(e),
            token: None,
            plan: Planned::Fixed(None),
        }
    }

    /// An entry whose op is known already (it refers to no earlier result).
    pub fn fixed(who: Result<Principal>, op: Result<Op>) -> Self {
        Self {
            who,
            token: None,
            plan: Planned::Fixed(Some(op)),
        }
    }

    pub fn new(
        who: Result<Principal>,
        plan: impl Fn(&[Result<Output>]) -> Result<Op> + Send + 'static,
    ) -> Self {
        Self {
            who,
            token: None,
            plan: Planned::Deferred(Box::new(plan)),
        }
    }

    /// Checks `token` again as the entry runs: the entry acts as what the token grants then.
    pub fn as_of_entry(mut self, token: Option<String>) -> Self {
        self.token = token;
        self
    }

    /// The plan does not look at earlier results, so the item may be planned before they exist
    /// (consecutive creates are then written together).
    fn independent(&self) -> bool {
        matches!(self.plan, Planned::Fixed(_))
    }

    /// The entry's op for this run of the transaction.
    fn op(&mut self, ctx: &Ctx<'_>, results: &[Result<Output>]) -> Result<Op> {
        match &mut self.plan {
            Planned::Fixed(op) => ctx
                .take(op)
                .unwrap_or_else(|| Err(Error::internal("a bulk entry was planned twice"))),
            Planned::Deferred(plan) => plan(results),
        }
    }
}

/// What feeds a bulk run: items as the front door decodes them, then the end of the request
/// (with whether it is atomic, or why it is invalid). Streaming lets decoding overlap execution.
pub enum BulkMsg {
    /// The request is atomic; sent as soon as it is known, so execution can stop at a failure.
    Atomic,
    /// The next items, in order; sent in batches so the writer is not woken once per item.
    Items(Vec<BulkItem>),
    End(Result<bool>),
}

fn not_applied(at: usize) -> Error {
    Error::new(
        ErrorCode::NotApplied,
        format!("not applied: operation {at} failed and the request is atomic"),
    )
}

/// A bulk request's messages as they arrive, kept so that a transaction the store runs again
/// replays them.
pub struct BulkFeed {
    rx: Receiver<BulkMsg>,
    seen: Vec<BulkMsg>,
}

impl BulkFeed {
    pub fn new(rx: Receiver<BulkMsg>) -> Self {
        Self {
            rx,
            seen: Vec::new(),
        }
    }

    /// Whether message `i` is here without waiting for it (seen before, or arrived already).
    fn ready(&mut self, i: usize) -> bool {
        if i < self.seen.len() {
            return true;
        }
        match self.rx.try_recv() {
            Ok(msg) => {
                self.seen.push(msg);
                true
            }
            Err(_) => false,
        }
    }

    /// Message `i`: one seen before, or the next to arrive (`None`: the sender is gone).
    fn get(&mut self, i: usize) -> Option<&mut BulkMsg> {
        if i == self.seen.len() {
            self.seen.push(self.rx.recv().ok()?);
        }
        self.seen.get_mut(i)
    }
}

/// Runs items in arrival order and returns one result per item. An atomic run keeps nothing after a
/// failure: that item keeps its error and every other item reports `not_applied`. An invalid or
/// oversized request keeps nothing and fails whole.
pub fn run_bulk(ctx: &mut Ctx<'_>, feed: &mut BulkFeed, max: usize) -> Result<Vec<Result<Output>>> {
    let mut results: Vec<Result<Output>> = Vec::new();
    // Tokens resolved in this transaction; forgotten after any entry that may change them.
    let mut resolved: HashMap<String, Result<Principal>> = HashMap::new();
    let mut atomic = false;
    let mut failed_at: Option<usize> = None;
    let mut creates = Creates::default();
    for i in 0.. {
        // Creates wait to be written together only while more are at hand: before waiting for the
        // front door to decode more, the writer writes what it holds, so decoding and writing
        // overlap.
        if !feed.ready(i) {
            creates.flush(ctx, &mut results, &mut failed_at);
        }
        match feed.get(i) {
            Some(BulkMsg::Atomic) => atomic = true,
            Some(BulkMsg::Items(items)) => {
                for item in items.iter_mut() {
                    if results.len() == max {
                        return Err(too_many(max));
                    }
                    if !item.independent() {
                        creates.flush(ctx, &mut results, &mut failed_at);
                    }
                    if atomic && failed_at.is_some() {
                        results.push(Err(not_applied(0)));
                        continue;
                    }
                    let who = match (&item.who, &item.token) {
                        (Ok(_), Some(token)) => resolved
                            .entry(token.clone())
                            .or_insert_with_key(|t| resolve_in(ctx, t))
                            .clone(),
                        (who, _) => who.clone(),
                    };
                    let op = who.and_then(|who| Ok((item.op(ctx, &results)?, who)));
                    let result = match op {
                        Ok((Op::CreateRecord(t, input), who)) => {
                            if !creates.joins(ctx, &t) {
                                creates.flush(ctx, &mut results, &mut failed_at);
                            }
                            creates.push(results.len(), t, who, input);
                            // A placeholder the flush replaces (`Error::internal` would log).
                            results.push(Err(Error::new(ErrorCode::Internal, "internal error")));
                            continue;
                        }
                        Ok((op, who)) => {
                            creates.flush(ctx, &mut results, &mut failed_at);
                            if op.touches_tokens() {
                                resolved.clear();
                            }
                            run_one(ctx, &who, op)
                        }
                        Err(e) => {
                            creates.flush(ctx, &mut results, &mut failed_at);
                            Err(e)
                        }
                    };
                    if result.is_err() && failed_at.is_none() {
                        failed_at = Some(results.len());
                    }
                    results.push(result);
                }
            }
            Some(BulkMsg::End(Ok(is_atomic))) => {
                creates.flush(ctx, &mut results, &mut failed_at);
                if let (Some(at), true) = (failed_at, *is_atomic) {
                    for (i, r) in results.iter_mut().enumerate() {
                        if i != at {
                            *r = Err(not_applied(at));
                        }
                    }
                    ctx.discard();
                }
                return Ok(results);
            }
            Some(BulkMsg::End(Err(e))) => return Err(e.clone()),
            None => break,
        }
    }
    Err(Error::internal("a bulk request ended without its end"))
}

/// Consecutive record creates in one object, waiting to be written together.
#[derive(Default)]
struct Creates {
    target: Option<Target>,
    items: Vec<(usize, Principal, Input)>,
}

impl Creates {
    /// Whether a create in `t` can join the waiting ones. Creates in an object with a relation to
    /// itself are written one by one, so an entry may name a record an earlier entry made.
    fn joins(&self, ctx: &Ctx<'_>, t: &Target) -> bool {
        let self_related = || {
            ctx.catalog
                .app(&t.app)
                .and_then(|a| a.object(&t.object))
                .is_some_and(|o| o.relations().any(|(_, _, r)| r.object == o.name.as_str()))
        };
        self.target.as_ref().is_none_or(|w| w == t) && !self_related()
    }

    fn push(&mut self, slot: usize, t: Target, who: Principal, input: Input) {
        self.target = Some(t);
        self.items.push((slot, who, input));
    }

    /// Writes the waiting creates and puts their outcomes in their slots.
    fn flush(
        &mut self,
        ctx: &mut Ctx<'_>,
        results: &mut [Result<Output>],
        failed_at: &mut Option<usize>,
    ) {
        let Some(t) = self.target.take() else {
            return;
        };
        let items = std::mem::take(&mut self.items);
        let slots: Vec<usize> = items.iter().map(|(s, ..)| *s).collect();
        let outcomes = create_many(ctx, &t, items.into_iter().map(|(_, w, i)| (w, i)).collect());
        for (slot, outcome) in slots.into_iter().zip(outcomes) {
            if outcome.is_err() && failed_at.is_none_or(|f| slot < f) {
                *failed_at = Some(slot);
            }
            results[slot] = outcome;
        }
    }
}

pub fn too_many(max: usize) -> Error {
    Error::new(
        ErrorCode::LimitExceeded,
        format!("a bulk request holds at most {max} operations"),
    )
}

/// Runs one op so that a failure undoes only its own writes (and catalog changes). Ops that write
/// with a single statement rely on the store's statement atomicity (a failing statement leaves
/// nothing behind); every other op runs in its own savepoint.
pub fn run_one(ctx: &mut Ctx<'_>, who: &Principal, op: Op) -> Result<Output> {
    if op.is_single_statement() {
        return run(ctx, who, op);
    }
    let snapshot = ctx.catalog.clone();
    ctx.tx.savepoint()?;
    let result = run(ctx, who, op);
    match &result {
        Ok(_) => ctx.tx.release()?,
        Err(_) => {
            ctx.tx.rollback()?;
            *ctx.catalog = snapshot;
        }
    }
    result
}

#[cfg(test)]
mod tests;
