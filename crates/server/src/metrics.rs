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
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
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
                    sluice_engine::metrics::zero();
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

/// The counter and timer of a series.
type Handles = (metrics::Counter, metrics::Histogram);
/// Series by route template, then by method and status.
type Series = HashMap<String, HashMap<(axum::http::Method, u16), Handles>>;

/// The handles of each series seen (by route template, then method and status), so a request
/// finds its own without building (and allocating) their names and labels; at most `MAX_SERIES`
/// are kept (methods are the client's own words, so their number is the client's to choose).
fn series() -> &'static Mutex<Series> {
    static SERIES: OnceLock<Mutex<Series>> = OnceLock::new();
    SERIES.get_or_init(Default::default)
}

const MAX_SERIES: usize = 4096;
const UNMATCHED: &str = "unmatched";

fn handles(route: &str, method: &axum::http::Method, status: u16) -> Handles {
    let mut known = series().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(h) = known
        .get(route)
        .and_then(|m| m.get(&(method.clone(), status)))
    {
        return h.clone();
    }
    let made = (
        metrics::counter!("sluice_http_requests_total", "method" => method.as_str().to_owned(), "route" => route.to_owned(), "status" => status.to_string()),
        metrics::histogram!("sluice_http_request_duration_seconds", "method" => method.as_str().to_owned(), "route" => route.to_owned()),
    );
    let count: usize = known.values().map(HashMap::len).sum();
    if count < MAX_SERIES {
        known
            .entry(route.to_owned())
            .or_default()
            .insert((method.clone(), status), made.clone());
    }
    made
}

/// Counts every request by its route template (`/v1/apps/{app}/jobs/{id}`, never the ids), its
/// method and its status, and times it.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = req.method().clone();
    let start = Instant::now();
    let resp = next.run(req).await;
    let route = route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    let (counter, timer) = handles(route, &method, resp.status().as_u16());
    counter.increment(1);
    timer.record(start.elapsed().as_secs_f64());
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
