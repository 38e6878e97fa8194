//! The native API's documents for jobs, uploads, batches, exports and query answers (also the
//! default callback bodies of jobs and exports).

use serde_json::{json, Value as Json};
use sluice_engine::model::{
    Batch, BatchOp, Callback, Export, ExportSource, ExportStatus, FileRow, Job, QueryResult,
};

fn callback_json(cb: &Callback) -> Json {
    json!({
        "url": cb.url, "method": cb.method, "status": cb.status, "attempts": cb.attempts,
        "last_error": cb.last_error, "delivered_at": cb.delivered_at,
    })
}

pub fn job_json(job: &Job) -> Json {
    let p = &job.progress;
    let mut v = json!({
        "id": job.id,
        "status": job.status.as_str(),
        "operation": job.operation,
        "object": job.object,
        "file_id": job.file_id,
        "find_by": job.find_by,
        "ignore_empty": job.ignore_empty,
        "progress": {
            "total": p.total, "processed": p.processed, "added": p.added, "updated": p.updated,
            "skipped": p.skipped, "failed": p.failed, "deleted": p.deleted,
            "cascaded": p.cascaded,
        },
        "created_at": job.created_at,
        "started_at": job.started_at,
        "completed_at": job.completed_at,
        "created_by": job.created_by,
        "error": job.error,
        "result_url": job.status.is_final().then(|| format!("/v1/apps/{}/jobs/{}/result", job.app, job.id)),
    });
    if let Some(cb) = &job.callback {
        v["callback"] = callback_json(cb);
    }
    if let Some(w) = job.warning() {
        v["warning"] = json!(w);
    }
    v
}

pub fn export_json(e: &Export) -> Json {
    let mut v = json!({
        "id": e.id,
        "status": e.status.as_str(),
        "format": e.format.as_str(),
        "rows": e.rows,
        "bytes": e.bytes,
        "created_at": e.created_at,
        "started_at": e.started_at,
        "completed_at": e.completed_at,
        "created_by": e.created_by,
        "created_by_id": e.created_by_id,
        "error": e.error,
        "expired": e.expired,
        "result_url": (e.status == ExportStatus::Completed && !e.expired)
            .then(|| format!("/v1/apps/{}/exports/{}/result", e.app, e.id)),
    });
    match &e.source {
        ExportSource::Object {
            object, columns, ..
        } => {
            v["object"] = json!(object);
            v["fields"] = json!(columns);
        }
        ExportSource::Query { sql, params, .. } => {
            v["query"] = json!(sql);
            v["params"] = json!(params);
        }
    }
    if let Some(cb) = &e.callback {
        v["callback"] = callback_json(cb);
    }
    v
}

pub fn file_json(f: &FileRow) -> Json {
    json!({
        "file_id": f.id, "name": f.name, "size": f.size, "content_type": f.content_type,
        "rows": f.rows, "columns": f.header, "created_at": f.created_at, "created_by": f.created_by,
    })
}

fn batch_op_json(op: &BatchOp) -> Json {
    let mut v = json!({"action": op.action, "object": op.object, "form_id": op.object_id});
    if let Some(q) = &op.query {
        v["query"] = json!(q);
    }
    if let Some(ids) = &op.ids {
        v["ids"] = json!(ids);
    }
    if let Some(n) = op.ids_count {
        v["ids_count"] = json!(n);
    }
    if let Some(s) = &op.set {
        v["set"] = s.clone();
    }
    v
}

pub fn batch_json(b: &Batch) -> Json {
    json!({
        "id": b.id,
        "status": b.status.as_str(),
        "objects_total": b.objects_total,
        "objects_success": b.objects_success,
        "objects_failed": b.objects_failed,
        "cascaded": b.objects_cascaded,
        "created_at": b.created_at,
        "updated_at": b.updated_at,
        "started_at": b.started_at,
        "completed_at": b.completed_at,
        "created_by": b.created_by,
        "created_by_id": b.created_by_id,
        "updated_by": b.updated_by,
        "updated_by_id": b.updated_by_id,
        "error": b.error,
        "operations": b.operations.iter().map(batch_op_json).collect::<Vec<_>>(),
    })
}

/// `{"columns": […], "rows": [[…]…]}`.
pub fn query_json(r: &QueryResult) -> Json {
    json!({"columns": r.columns, "rows": r.rows})
}

/// The answer as CSV text (header row, then values; null as an empty cell).
pub fn query_csv(r: &QueryResult) -> String {
    query_csv_with(r, true)
}

/// A query's rows as CSV, with or without the header line.
pub fn query_csv_with(r: &QueryResult, header: bool) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    if header {
        let _ = w.write_record(&r.columns);
    }
    for row in &r.rows {
        let _ = w.write_record(row.iter().map(|v| match v {
            Json::Null => String::new(),
            Json::String(s) => s.clone(),
            other => other.to_string(),
        }));
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
