//! The engine's metrics, recorded through the `metrics` facade into whatever recorder the process
//! installed (the server's Prometheus one; with none, each call costs a check). Names and labels
//! are fixed here (but for internal errors, which `error` counts as it logs them); label values
//! come from closed sets (outcomes, operations, error codes), never from ids or input.

use crate::error::{Result, INTERNAL_ERRORS};
use crate::model::Progress;
use metrics::{
    counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit,
};
use std::time::Duration;

/// Describes every metric the engine records (for the `# HELP` lines).
pub fn describe() {
    describe_counter!(
        "sluice_bulk_operations_total",
        "Operations of synchronous bulk requests, by outcome (ok, or the error code)"
    );
    describe_counter!(
        "sluice_job_rows_total",
        "Rows of bulk-write jobs committed, by operation and outcome"
    );
    describe_counter!(
        "sluice_batch_records_total",
        "Records batches changed, by outcome"
    );
    describe_histogram!(
        "sluice_writer_queue_wait_seconds",
        Unit::Seconds,
        "Time a write waited between being queued and starting to run"
    );
    describe_histogram!(
        "sluice_sqlite_checkpoint_seconds",
        Unit::Seconds,
        "Time the embedded store's WAL checkpoints took"
    );
    describe_counter!(
        "sluice_exports_total",
        "Exports that stopped running on this instance, by status"
    );
    describe_counter!(
        "sluice_export_rows_total",
        "Rows written by exports that completed on this instance"
    );
    describe_counter!(
        "sluice_callback_deliveries_total",
        "Callback delivery attempts, by outcome (delivered, retry, failed)"
    );
    describe_counter!(
        "sluice_write_retries_total",
        "Writes run again on a fresh transaction after losing a race, by reason (deadlock, \
         serialization, lock_timeout, lock_held, schema, commit)"
    );
    describe_counter!(
        "sluice_reads_total",
        "Reads that could go to a read replica, by where they were served (replica, primary)"
    );
    describe_gauge!(
        "sluice_read_replicas_usable",
        "Read replicas in use: reachable standbys within --max-replica-lag"
    );
    describe_counter!(
        INTERNAL_ERRORS,
        "Internal errors (each is logged with its detail)"
    );
}

/// Every counter at zero, so each is in the first scrape (a series that appears only once something
/// happened cannot be told from a series that is not collected, and `rate()` over it misses the
/// first increase). Labelled ones start with the label values that matter most.
pub fn zero() {
    counter!("sluice_bulk_operations_total", "outcome" => "ok").absolute(0);
    for outcome in ["delivered", "retry", "failed"] {
        counter!("sluice_callback_deliveries_total", "outcome" => outcome).absolute(0);
    }
    counter!(INTERNAL_ERRORS).absolute(0);
    counter!("sluice_export_rows_total").absolute(0);
    for outcome in ["success", "failed"] {
        counter!("sluice_batch_records_total", "outcome" => outcome).absolute(0);
    }
}

/// The outcomes of one bulk request's operations.
pub fn bulk_operations<T>(results: &[Result<T>]) {
    let mut ok = 0;
    for r in results {
        match r {
            Ok(_) => ok += 1,
            Err(e) => {
                counter!("sluice_bulk_operations_total", "outcome" => e.code.as_str()).increment(1)
            }
        }
    }
    counter!("sluice_bulk_operations_total", "outcome" => "ok").increment(ok);
}

/// What one committed chunk of a job added to its counters.
pub fn job_rows(operation: &'static str, before: &Progress, after: &Progress) {
    let outcomes = [
        ("added", after.added.saturating_sub(before.added)),
        ("updated", after.updated.saturating_sub(before.updated)),
        ("skipped", after.skipped.saturating_sub(before.skipped)),
        ("deleted", after.deleted.saturating_sub(before.deleted)),
        ("failed", after.failed.saturating_sub(before.failed)),
    ];
    for (outcome, n) in outcomes {
        if n > 0 {
            counter!("sluice_job_rows_total", "operation" => operation, "outcome" => outcome)
                .increment(n);
        }
    }
}

pub fn batch_records(success: u64, failed: u64) {
    if success > 0 {
        counter!("sluice_batch_records_total", "outcome" => "success").increment(success);
    }
    if failed > 0 {
        counter!("sluice_batch_records_total", "outcome" => "failed").increment(failed);
    }
}

pub fn export_finished(status: &'static str, rows: u64) {
    counter!("sluice_exports_total", "status" => status).increment(1);
    if status == "completed" {
        counter!("sluice_export_rows_total").increment(rows);
    }
}

pub fn writer_wait(d: Duration) {
    histogram!("sluice_writer_queue_wait_seconds").record(d.as_secs_f64());
}

pub fn checkpoint(d: Duration) {
    histogram!("sluice_sqlite_checkpoint_seconds").record(d.as_secs_f64());
}

/// A write that lost a race runs again; `reason` names the race.
pub fn write_retry(reason: &'static str) {
    counter!("sluice_write_retries_total", "reason" => reason).increment(1);
}

pub fn callback(outcome: &'static str) {
    counter!("sluice_callback_deliveries_total", "outcome" => outcome).increment(1);
}

/// A read that a replica could serve, served by one (or by the primary): counted only where read
/// replicas are configured.
pub fn read_served(by_replica: bool) {
    let by = if by_replica { "replica" } else { "primary" };
    counter!("sluice_reads_total", "served_by" => by).increment(1);
}

pub fn replicas_usable(n: usize) {
    gauge!("sluice_read_replicas_usable").set(n as f64);
}
