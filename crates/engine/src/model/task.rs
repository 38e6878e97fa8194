//! Background work as the scheduler sees it: every kind (jobs, exports, batches) is a task that
//! waits, is held under a lease while it runs, and ends; the queue knows a task by its kind, its
//! place in the queue and its lease, and stores the rest as the kind's own document.

use super::lease::Lease;
use super::lifecycle::Tracked;
use super::time::Timestamp;
use super::{
    Batch, BatchStatus, CallbackStatus, Export, ExportSource, ExportStatus, Job, JobStatus,
};
use serde::{de::DeserializeOwned, Serialize};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use uuid::Uuid;

/// The kinds of background work, each run by its own executor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskKind {
    Job,
    Export,
    Batch,
}

impl TaskKind {
    pub const ALL: [TaskKind; 3] = [TaskKind::Job, TaskKind::Export, TaskKind::Batch];

    /// The kind as stored and logged.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Job => "job",
            TaskKind::Export => "export",
            TaskKind::Batch => "batch",
        }
    }

    /// The breakpoint a worker passes once it claimed a task of this kind (tests hold it there).
    pub fn claimed_point(self) -> &'static str {
        match self {
            TaskKind::Job => "job.claimed",
            TaskKind::Export => "export.claimed",
            TaskKind::Batch => "batch.claimed",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Where a task stands in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// Ready to be claimed by any instance.
    Waiting,
    /// Running under a lease.
    Held,
    /// Not for the scheduler: not started yet (a pending batch), or ended.
    Out,
}

impl Queue {
    pub fn as_str(self) -> &'static str {
        match self {
            Queue::Waiting => "waiting",
            Queue::Held => "held",
            Queue::Out => "out",
        }
    }
}

/// What the queue needs of a kind of background work; the rest is the kind's own.
pub trait Task: Tracked + Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    const TASK: TaskKind;
    fn id(&self) -> &str;
    fn app_id(&self) -> Uuid;
    fn created_at(&self) -> &Timestamp;
    fn lease(&self) -> Option<&Lease>;
    fn queue(&self) -> Queue;
    /// Where its callback stands, if it has one.
    fn callback(&self) -> Option<CallbackStatus> {
        None
    }
    /// The upload it reads (`""`: none).
    fn file_id(&self) -> &str {
        ""
    }
    /// Whether its output was deleted after its retention.
    fn expired(&self) -> bool {
        false
    }
    /// Marks a waiting task running under `lease`.
    fn claim(&mut self, lease: &Lease, now: &Timestamp);
    /// Moves the lease of a held task forward.
    fn renew(&mut self, lease: &Lease);
    /// Puts a held task back to waiting; it resumes from what it committed.
    fn requeue(&mut self);
}

/// What every kind stores alike: its kind, id, app, creation time and lease, and how a lease is
/// renewed.
macro_rules! common_fields {
    ($kind:ident) => {
        const TASK: TaskKind = TaskKind::$kind;
        fn id(&self) -> &str {
            &self.id
        }
        fn app_id(&self) -> Uuid {
            self.app_id
        }
        fn created_at(&self) -> &Timestamp {
            &self.created_at
        }
        fn lease(&self) -> Option<&Lease> {
            self.lease.as_ref()
        }
        fn renew(&mut self, lease: &Lease) {
            self.lease = Some(lease.clone());
        }
    };
}

impl Task for Job {
    common_fields!(Job);
    fn queue(&self) -> Queue {
        match self.status {
            JobStatus::Queued => Queue::Waiting,
            JobStatus::Running => Queue::Held,
            _ => Queue::Out,
        }
    }
    fn callback(&self) -> Option<CallbackStatus> {
        self.callback.as_ref().map(|c| c.status)
    }
    fn file_id(&self) -> &str {
        &self.file_id
    }
    fn expired(&self) -> bool {
        self.result_expired
    }
    fn claim(&mut self, lease: &Lease, now: &Timestamp) {
        self.status = JobStatus::Running;
        self.lease = Some(lease.clone());
        if self.started_at.is_none() {
            self.started_at = Some(now.clone());
        }
    }
    fn requeue(&mut self) {
        self.status = JobStatus::Queued;
        self.lease = None;
    }
}

impl Task for Export {
    common_fields!(Export);
    fn queue(&self) -> Queue {
        match self.status {
            ExportStatus::Queued => Queue::Waiting,
            ExportStatus::Running => Queue::Held,
            _ => Queue::Out,
        }
    }
    fn callback(&self) -> Option<CallbackStatus> {
        self.callback.as_ref().map(|c| c.status)
    }
    fn expired(&self) -> bool {
        self.expired
    }
    fn claim(&mut self, lease: &Lease, now: &Timestamp) {
        Export::claim(self, lease, now);
    }
    /// An object export resumes from its cursor; a query export starts over (its partial output
    /// was local to the instance that ran it).
    fn requeue(&mut self) {
        self.status = ExportStatus::Queued;
        self.lease = None;
        if matches!(self.source, ExportSource::Query { .. }) {
            self.rows = 0;
            self.bytes = 0;
        }
    }
}

/// A started batch stays `running` on the wire while it waits for a worker: it waits without a
/// lease, and is held under one.
impl Task for Batch {
    common_fields!(Batch);
    fn queue(&self) -> Queue {
        match (self.status, &self.lease) {
            (BatchStatus::Running, None) => Queue::Waiting,
            (BatchStatus::Running, Some(_)) => Queue::Held,
            _ => Queue::Out,
        }
    }
    fn claim(&mut self, lease: &Lease, _now: &Timestamp) {
        self.lease = Some(lease.clone());
    }
    fn requeue(&mut self) {
        self.lease = None;
    }
}

/// Tasks running on this instance, by kind, each with its latest rate (rows per second).
#[derive(Default)]
pub struct Held(Mutex<HashMap<(TaskKind, String), f64>>);

impl Held {
    fn lock(&self) -> MutexGuard<'_, HashMap<(TaskKind, String), f64>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks task `id` running here; false if it already was.
    pub fn hold(&self, kind: TaskKind, id: &str) -> bool {
        self.lock().insert((kind, id.to_owned()), 0.0).is_none()
    }

    pub fn release(&self, kind: TaskKind, id: &str) {
        self.lock().remove(&(kind, id.to_owned()));
    }

    /// Ids of the tasks of `kind` running here.
    pub fn ids(&self, kind: TaskKind) -> Vec<String> {
        let held = self.lock();
        held.keys()
            .filter(|(k, _)| *k == kind)
            .map(|(_, id)| id.clone())
            .collect()
    }

    /// Records the rate of task `id`'s last chunk, if it is held here.
    pub fn set_rate(&self, kind: TaskKind, id: &str, rows_per_second: f64) {
        if let Some(r) = self.lock().get_mut(&(kind, id.to_owned())) {
            *r = rows_per_second;
        }
    }

    /// The rates of the tasks of `kind` held here, summed.
    pub fn total_rate(&self, kind: TaskKind) -> f64 {
        let held = self.lock();
        let sum: f64 = held
            .iter()
            .filter(|((k, _), _)| *k == kind)
            .map(|(_, r)| r)
            .sum();
        // An empty sum of floats is -0.0, which the metrics text prints as `-0`.
        if sum > 0.0 {
            sum
        } else {
            0.0
        }
    }
}
