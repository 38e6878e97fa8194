//! Prometheus metrics: the process's one recorder, the middleware that counts HTTP requests by
//! route and status with a latency histogram, and `GET /metrics`, which adds the gauges read at
//! scrape time (queue depth, job rows per second). The engine records its own counters (bulk
//! operations, job and batch rows, writer queue wait, checkpoints, callbacks) through the same
//! `metrics` facade.

use crate::State;
use axum::extract::{MatchedPath, Request, State as S};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

/// Latency buckets, in seconds: from a cached get to a long bulk request.
const SECONDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder, installed on first use (`None` if another one was installed first).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
                .ok()?
                .install_recorder();
            match recorder {
                Ok(h) => {
                    sluice_engine::metrics::describe();
                    describe();
                    Some(h)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics are off: a recorder was installed already");
                    None
                }
            }
        })
        .as_ref()
}

fn describe() {
    metrics::describe_counter!(
        "sluice_http_requests_total",
        "HTTP requests answered, by method, route and status"
    );
    metrics::describe_histogram!(
        "sluice_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time from a request's headers to its answer's headers, by method and route"
    );
    metrics::describe_gauge!(
        "sluice_queue_depth",
        "Jobs queued and batches pending or running"
    );
    metrics::describe_gauge!(
        "sluice_job_rows_per_second",
        "Rows per second of the jobs this instance runs now (their last chunks)"
    );
}

/// Counts every request by its route template (`/v1/apps/{app}/jobs/{id}`, never the ids), its
/// method and its status, and times it.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let start = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("sluice_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("sluice_http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    resp
}

/// `GET /metrics`: the Prometheus text format.
pub async fn metrics(S(state): S<State>) -> Response {
    let Some(h) = handle() else {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "metrics are off in this process\n",
        )
            .into_response();
    };
    match state.engine.queue_depth().await {
        Ok((jobs, batches)) => {
            metrics::gauge!("sluice_queue_depth", "kind" => "jobs").set(jobs as f64);
            metrics::gauge!("sluice_queue_depth", "kind" => "batches").set(batches as f64);
        }
        Err(e) => tracing::warn!(error = %e, "could not read the queue depth"),
    }
    metrics::gauge!("sluice_job_rows_per_second").set(state.engine.jobs().rows_per_second());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        h.render(),
    )
        .into_response()
}
