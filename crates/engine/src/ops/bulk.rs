//! The bulk executor: many ops, in order, in one transaction with a savepoint each; per-item
//! failure or all-or-nothing.

use super::exec::{run, Ctx};
use super::{Op, Output};
use crate::auth::Principal;
use crate::error::{Error, ErrorCode, Result};

/// Builds an item's op once the earlier results are known (for references such as `${c1.body.id}`).
pub type BulkPlan = Box<dyn FnOnce(&[Result<Output>]) -> Result<Op> + Send>;

/// One entry of a bulk request: who runs it (already authenticated, or why not) and its op.
pub struct BulkItem {
    pub who: Result<Principal>,
    pub plan: BulkPlan,
}

impl BulkItem {
    pub fn new(
        who: Result<Principal>,
        plan: impl FnOnce(&[Result<Output>]) -> Result<Op> + Send + 'static,
    ) -> Self {
        Self {
            who,
            plan: Box::new(plan),
        }
    }
}

/// Runs `items` in order. Returns one result per item and whether the transaction's work is kept:
/// atomic runs stop at the first failure, which keeps its error while every other item reports
/// `not_applied`.
pub fn run_bulk(
    ctx: &mut Ctx<'_>,
    items: Vec<BulkItem>,
    atomic: bool,
) -> (Vec<Result<Output>>, bool) {
    let total = items.len();
    let mut results: Vec<Result<Output>> = Vec::with_capacity(total);
    for item in items {
        let result = item.who.and_then(|who| {
            let op = (item.plan)(&results)?;
            run_one(ctx, &who, op)
        });
        let failed = result.is_err();
        results.push(result);
        if atomic && failed {
            let at = results.len() - 1;
            let not_applied = || {
                Error::new(
                    ErrorCode::NotApplied,
                    format!("not applied: operation {at} failed and the request is atomic"),
                )
            };
            for r in results.iter_mut().take(at) {
                *r = Err(not_applied());
            }
            results.extend((at + 1..total).map(|_| Err(not_applied())));
            return (results, false);
        }
    }
    (results, true)
}

/// Runs one op in its own savepoint, so a failure undoes only its own writes (and catalog changes).
pub fn run_one(ctx: &mut Ctx<'_>, who: &Principal, op: Op) -> Result<Output> {
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
