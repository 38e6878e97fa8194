//! Tasks (jobs, exports, batches) as both stores keep them: one table of documents beside the
//! columns the queue and the lists filter on. A backend stores, finds and counts rows; what each
//! kind asks of the table is written once here, as default methods.

use crate::error::{Error, Result};
use crate::model::{
    Batch, BatchStatus, CallbackStatus, Export, ExportStatus, Job, JobStatus, Queue, Task,
    TaskKind, Timestamp,
};
use uuid::Uuid;

/// A task as stored: the columns the queue and the lists filter on, and the kind's document.
pub struct TaskRow<'a> {
    pub kind: TaskKind,
    pub id: &'a str,
    pub app_id: Uuid,
    pub status: &'static str,
    pub queue: Queue,
    pub callback: Option<&'static str>,
    pub created_at: &'a str,
    /// The upload a job reads (`""` for other kinds).
    pub file_id: &'a str,
    /// Whether the task's output was deleted after its retention.
    pub expired: bool,
    pub doc: String,
}

/// Task `t` as a row.
pub fn row<T: Task>(t: &T) -> Result<TaskRow<'_>> {
    Ok(TaskRow {
        kind: T::TASK,
        id: t.id(),
        app_id: t.app_id(),
        status: t.status_name(),
        queue: t.queue(),
        callback: t.callback().map(CallbackStatus::as_str),
        created_at: t.created_at().as_str(),
        file_id: t.file_id(),
        expired: t.expired(),
        doc: serde_json::to_string(t).map_err(Error::internal)?,
    })
}

/// The order tasks are found in.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Oldest first: the queue's order.
    Oldest,
    /// Newest first: how lists show them.
    Newest,
}

/// A filter on one kind's tasks; `None` and empty lists match everything.
pub struct TaskFind<'a> {
    pub kind: TaskKind,
    pub id: Option<&'a str>,
    pub app_id: Option<Uuid>,
    pub statuses: &'a [&'a str],
    pub queue: Option<Queue>,
    pub callback: Option<&'a str>,
    /// Only those created before this whose output is still kept.
    pub kept_before: Option<&'a str>,
    pub order: Order,
    pub offset: u64,
    pub limit: Option<u64>,
    /// Locks what is found, skipping what another transaction holds (how the queue is claimed on
    /// a store instances share).
    pub skip_locked: bool,
}

impl<'a> TaskFind<'a> {
    pub fn of(kind: TaskKind) -> TaskFind<'a> {
        TaskFind {
            kind,
            id: None,
            app_id: None,
            statuses: &[],
            queue: None,
            callback: None,
            kept_before: None,
            order: Order::Oldest,
            offset: 0,
            limit: None,
            skip_locked: false,
        }
    }
}

/// How a backend numbers its parameters.
#[derive(Clone, Copy)]
pub enum Marks {
    /// `?1`, `?2`: SQLite.
    Question,
    /// `$1`, `$2`: PostgreSQL.
    Dollar,
}

/// A parameter of a query `TaskFind` built.
pub enum TaskParam<'a> {
    Text(&'a str),
    App(Uuid),
    Int(i64),
}

/// The WHERE clause of `find` numbered with `marks` (with its order and limit unless `counting`), and its
/// parameters: the same SQL on both stores but for how parameters are written.
pub fn find_sql<'a>(
    find: &TaskFind<'a>,
    marks: Marks,
    counting: bool,
) -> (String, Vec<TaskParam<'a>>) {
    let mut params = vec![TaskParam::Text(find.kind.as_str())];
    let mut sql = String::from("kind = ?");
    let mut and = |cond: &str, p: Vec<TaskParam<'a>>| {
        params.extend(p);
        sql.push_str(" AND ");
        sql.push_str(cond);
    };
    if let Some(id) = find.id {
        and("id = ?", vec![TaskParam::Text(id)]);
    }
    if let Some(app) = find.app_id {
        and("app_id = ?", vec![TaskParam::App(app)]);
    }
    if let Some(q) = find.queue {
        and("queue = ?", vec![TaskParam::Text(q.as_str())]);
    }
    if let Some(cb) = find.callback {
        and("callback = ?", vec![TaskParam::Text(cb)]);
    }
    if let Some(before) = find.kept_before {
        and(
            "NOT expired AND created_at < ?",
            vec![TaskParam::Text(before)],
        );
    }
    if !find.statuses.is_empty() {
        let marks = vec!["?"; find.statuses.len()].join(", ");
        let statuses = find.statuses.iter().map(|s| TaskParam::Text(s)).collect();
        and(&format!("status IN ({marks})"), statuses);
    }
    if counting {
        return (numbered(&sql, marks), params);
    }
    sql.push_str(match find.order {
        Order::Oldest => " ORDER BY created_at, id",
        Order::Newest => " ORDER BY created_at DESC, id DESC",
    });
    if let Some(limit) = find.limit {
        sql.push_str(" LIMIT ?");
        params.push(TaskParam::Int(i64::try_from(limit).unwrap_or(i64::MAX)));
    }
    if find.offset > 0 {
        sql.push_str(" OFFSET ?");
        params.push(TaskParam::Int(
            i64::try_from(find.offset).unwrap_or(i64::MAX),
        ));
    }
    (numbered(&sql, marks), params)
}

/// Numbers the `?` placeholders as the store's grammar writes them (`?1`, `$1`).
fn numbered(sql: &str, marks: Marks) -> String {
    let mark = match marks {
        Marks::Question => '?',
        Marks::Dollar => '$',
    };
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push(mark);
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

fn decode<T: Task>(docs: Vec<String>) -> Result<Vec<T>> {
    docs.iter()
        .map(|d| serde_json::from_str(d).map_err(Error::internal))
        .collect()
}

fn one<T: Task>(docs: Vec<String>) -> Result<Option<T>> {
    Ok(decode(docs)?.pop())
}

fn by_id(kind: TaskKind, id: &str) -> TaskFind<'_> {
    TaskFind {
        id: Some(id),
        ..TaskFind::of(kind)
    }
}

fn of_app<'a>(kind: TaskKind, app_id: Uuid, offset: u64, limit: usize) -> TaskFind<'a> {
    TaskFind {
        app_id: Some(app_id),
        order: Order::Newest,
        offset,
        limit: Some(limit as u64),
        ..TaskFind::of(kind)
    }
}

const FINISHED: [&str; 3] = ["completed", "failed", "canceled"];

/// Tasks of every kind, in one table; a backend implements the first three methods.
pub trait TaskTx {
    /// Stores a task, replacing the row of the same kind and id.
    fn put_task(&mut self, row: &TaskRow<'_>) -> Result<()>;
    /// The documents of the tasks `find` matches; in a write transaction on a store instances
    /// share, a task found by id stays locked until the transaction ends (so a read-modify-write
    /// of it is safe against other instances).
    fn find_tasks(&mut self, find: &TaskFind<'_>) -> Result<Vec<String>>;
    fn count_tasks(&mut self, find: &TaskFind<'_>) -> Result<u64>;

    /// The document of the oldest task of `kind` waiting that no other transaction is taking.
    fn next_waiting(&mut self, kind: TaskKind) -> Result<Option<String>> {
        let find = TaskFind {
            queue: Some(Queue::Waiting),
            limit: Some(1),
            skip_locked: true,
            ..TaskFind::of(kind)
        };
        Ok(self.find_tasks(&find)?.pop())
    }

    /// The documents of the tasks of `kind` held under a lease, oldest first.
    fn held_tasks(&mut self, kind: TaskKind) -> Result<Vec<String>> {
        self.find_tasks(&TaskFind {
            queue: Some(Queue::Held),
            ..TaskFind::of(kind)
        })
    }

    /// The document of task `id` of `kind` (locked as `find_tasks` says).
    fn get_task(&mut self, kind: TaskKind, id: &str) -> Result<Option<String>> {
        Ok(self.find_tasks(&by_id(kind, id))?.pop())
    }

    fn put_job(&mut self, job: &Job) -> Result<()> {
        self.put_task(&row(job)?)
    }

    fn get_job(&mut self, id: &str) -> Result<Option<Job>> {
        one(self.find_tasks(&by_id(TaskKind::Job, id))?)
    }

    /// An app's jobs, newest first.
    fn list_jobs(&mut self, app_id: Uuid, limit: usize) -> Result<Vec<Job>> {
        decode(self.find_tasks(&of_app(TaskKind::Job, app_id, 0, limit))?)
    }

    /// Jobs in a status, oldest first (the queue order).
    fn jobs_by_status(&mut self, status: JobStatus, limit: usize) -> Result<Vec<Job>> {
        decode(self.find_tasks(&TaskFind {
            statuses: &[status.as_str()],
            limit: Some(limit as u64),
            ..TaskFind::of(TaskKind::Job)
        })?)
    }

    /// Jobs waiting in the queue, and batches running (for the queue-depth metric).
    fn queue_depth(&mut self) -> Result<(u64, u64)> {
        let jobs = self.count_tasks(&TaskFind {
            statuses: &[JobStatus::Queued.as_str()],
            ..TaskFind::of(TaskKind::Job)
        })?;
        let batches = self.count_tasks(&TaskFind {
            statuses: &[BatchStatus::Running.as_str()],
            ..TaskFind::of(TaskKind::Batch)
        })?;
        Ok((jobs, batches))
    }

    /// Jobs whose callback is in a status.
    fn jobs_with_callback(&mut self, status: CallbackStatus) -> Result<Vec<Job>> {
        decode(self.find_tasks(&TaskFind {
            callback: Some(status.as_str()),
            ..TaskFind::of(TaskKind::Job)
        })?)
    }

    /// Finished jobs created before `before` whose results are still kept.
    fn jobs_to_expire(&mut self, before: &Timestamp) -> Result<Vec<Job>> {
        decode(self.find_tasks(&TaskFind {
            kept_before: Some(before.as_str()),
            statuses: &FINISHED,
            ..TaskFind::of(TaskKind::Job)
        })?)
    }

    fn put_export(&mut self, e: &Export) -> Result<()> {
        self.put_task(&row(e)?)
    }

    fn get_export(&mut self, id: &str) -> Result<Option<Export>> {
        one(self.find_tasks(&by_id(TaskKind::Export, id))?)
    }

    /// An app's exports, newest first: `limit` of them after skipping `offset`.
    fn list_exports(&mut self, app_id: Uuid, offset: u64, limit: usize) -> Result<Vec<Export>> {
        decode(self.find_tasks(&of_app(TaskKind::Export, app_id, offset, limit))?)
    }

    fn count_exports(&mut self, app_id: Uuid) -> Result<u64> {
        self.count_tasks(&TaskFind {
            app_id: Some(app_id),
            ..TaskFind::of(TaskKind::Export)
        })
    }

    /// Exports in a status, oldest first.
    fn exports_by_status(&mut self, status: ExportStatus) -> Result<Vec<Export>> {
        decode(self.find_tasks(&TaskFind {
            statuses: &[status.as_str()],
            ..TaskFind::of(TaskKind::Export)
        })?)
    }

    fn exports_with_callback(&mut self, status: CallbackStatus) -> Result<Vec<Export>> {
        decode(self.find_tasks(&TaskFind {
            callback: Some(status.as_str()),
            ..TaskFind::of(TaskKind::Export)
        })?)
    }

    /// Finished exports created before `before` whose files are still kept.
    fn exports_to_expire(&mut self, before: &Timestamp) -> Result<Vec<Export>> {
        decode(self.find_tasks(&TaskFind {
            kept_before: Some(before.as_str()),
            statuses: &FINISHED,
            ..TaskFind::of(TaskKind::Export)
        })?)
    }

    fn put_batch(&mut self, b: &Batch) -> Result<()> {
        self.put_task(&row(b)?)
    }

    fn get_batch(&mut self, id: &str) -> Result<Option<Batch>> {
        one(self.find_tasks(&by_id(TaskKind::Batch, id))?)
    }

    /// An app's batches, newest first: `limit` of them after skipping `offset`.
    fn list_batches(&mut self, app_id: Uuid, offset: u64, limit: usize) -> Result<Vec<Batch>> {
        decode(self.find_tasks(&of_app(TaskKind::Batch, app_id, offset, limit))?)
    }

    /// How many batches an app has.
    fn count_batches(&mut self, app_id: Uuid) -> Result<u64> {
        self.count_tasks(&TaskFind {
            app_id: Some(app_id),
            ..TaskFind::of(TaskKind::Batch)
        })
    }

    fn batches_by_status(&mut self, status: BatchStatus) -> Result<Vec<Batch>> {
        decode(self.find_tasks(&TaskFind {
            statuses: &[status.as_str()],
            ..TaskFind::of(TaskKind::Batch)
        })?)
    }
}
