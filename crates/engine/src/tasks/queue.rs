//! The queue's transitions for a task of any kind, each one transaction: claim the oldest waiting
//! task under a lease, renew the leases of those running here, take back those whose holder
//! stopped renewing, give one back, load one as committed.

use crate::core::{Core, Pending};
use crate::error::{Error, Result};
use crate::model::{abandoned, held, Queue, Task};
use crate::store::tasks::row;
use crate::store::Tx;

fn decode<T: Task>(doc: &str) -> Result<T> {
    serde_json::from_str(doc).map_err(Error::internal)
}

/// Task `id` of `T`'s kind as this transaction sees it (locked in a write transaction).
pub fn get<T: Task>(tx: &mut dyn Tx, id: &str) -> Result<T> {
    match tx.get_task(T::TASK, id)? {
        Some(doc) => decode(&doc),
        None => Err(Error::not_found(format!(
            "the {} is gone",
            T::TASK.as_str()
        ))),
    }
}

/// Takes the oldest waiting task of `T`'s kind and marks it running under this instance's lease.
pub async fn claim<T: Task>(core: &Core) -> Result<Option<T>> {
    let lease = core.lease();
    core.transact(move |ctx| {
        let Some(doc) = ctx.tx.next_waiting(T::TASK)? else {
            return Ok(None);
        };
        let mut task: T = decode(&doc)?;
        task.claim(&lease, &ctx.now);
        ctx.tx.put_task(&row(&task)?)?;
        Ok(Some(task))
    })
    .await
}

/// Moves the leases of these tasks forward, where this instance still holds them.
pub async fn renew<T: Task>(core: &Core, ids: Vec<String>) -> Result<()> {
    let lease = core.lease();
    core.transact(move |ctx| {
        for id in &ids {
            let Some(doc) = ctx.tx.get_task(T::TASK, id)? else {
                continue;
            };
            let mut task: T = decode(&doc)?;
            if task.queue() == Queue::Held && held(task.lease(), &lease.owner) {
                task.renew(&lease);
                ctx.tx.put_task(&row(&task)?)?;
            }
        }
        Ok(())
    })
    .await
}

/// Held tasks whose lease expired (or, with `all`, every held task: on a store no other instance
/// shares, all of them were left by a stopped process) go back to waiting; they resume from what
/// they committed. Returns how many.
pub async fn rescue<T: Task>(core: &Core, all: bool) -> Result<usize> {
    let me = core.instance.clone();
    core.transact(move |ctx| {
        let mut n = 0;
        for doc in ctx.tx.held_tasks(T::TASK)? {
            let found: T = decode(&doc)?;
            // Read again, locked: another instance may be renewing it right now.
            let mut task: T = get(ctx.tx, found.id())?;
            // This instance's own leases are renewed by its heartbeat while it lives.
            let gone = all || abandoned(task.lease(), &me, &ctx.now);
            if task.queue() == Queue::Held && gone {
                task.requeue();
                ctx.tx.put_task(&row(&task)?)?;
                n += 1;
            }
        }
        Ok(n)
    })
    .await
}

/// Puts a task this instance runs back to waiting (the server is stopping, or the store refused it
/// this time): it is taken again here after a restart, or by another instance.
pub fn give_back<T: Task>(core: &Core, id: &str) -> Pending<T> {
    let (id, owner) = (id.to_owned(), core.instance.clone());
    core.submit(move |ctx| {
        let mut task: T = get(ctx.tx, &id)?;
        if task.queue() == Queue::Held && held(task.lease(), &owner) {
            task.requeue();
            ctx.tx.put_task(&row(&task)?)?;
        }
        Ok(task)
    })
}

/// The task as last committed.
pub fn load<T: Task>(core: &Core, id: &str) -> Pending<T> {
    let id = id.to_owned();
    core.submit(move |ctx| get(ctx.tx, &id))
}
