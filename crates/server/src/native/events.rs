//! Live progress as Server-Sent Events: `…/jobs/{id}/events`, `…/batches/{id}/events` and
//! `…/exports/{id}/events` send the document (`event: progress`) whenever it changed, at most
//! every 250 ms, then `event: done` with the final document, and end. Counters come from committed checkpoints, so they never go
//! backwards; the store is read each turn, so a job another instance runs is followed as well.

use super::documents::{batch_json, export_json, job_json};
use crate::error::{error_body, ApiResult};
use crate::extract::Caller;
use crate::State;
use axum::extract::{Path, State as S};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde_json::Value;
use sluice_engine::model::Principal;
use sluice_engine::Result;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// The shortest gap between two events of one stream.
pub const EVENT_EVERY: Duration = Duration::from_millis(250);

/// A tracked document's latest state: its JSON and whether it is final.
type Fetch = Box<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(Value, bool)>> + Send>> + Send>;

/// Where a stream is: the last document sent, and whether the final one has gone out.
struct Cursor {
    fetch: Fetch,
    last: Option<Value>,
    first: bool,
    done: bool,
    state: State,
}

fn event(name: &str, doc: &Value) -> Event {
    Event::default().event(name).data(doc.to_string())
}

/// Follows `fetch` until its document is final (or the server stops); the first document is
/// fetched before answering, so an unknown id is a plain 404.
async fn follow(state: State, fetch: Fetch) -> ApiResult<Response> {
    let (doc, done) = fetch().await?;
    let cursor = Cursor {
        fetch,
        last: Some(doc),
        first: true,
        done,
        state,
    };
    let s = stream::unfold(Some(cursor), |cursor| async move {
        let mut c = cursor?;
        if c.first {
            c.first = false;
            let doc = c.last.clone().unwrap_or_default();
            let name = if c.done { "done" } else { "progress" };
            let ev = event(name, &doc);
            let next = (!c.done).then_some(c);
            return Some((Ok::<_, Infallible>(ev), next));
        }
        loop {
            tokio::select! {
                () = tokio::time::sleep(EVENT_EVERY) => {}
                () = c.state.stopping.cancelled() => return None,
            }
            match (c.fetch)().await {
                Ok((doc, true)) => return Some((Ok(event("done", &doc)), None)),
                Ok((doc, false)) if c.last.as_ref() != Some(&doc) => {
                    let ev = event("progress", &doc);
                    c.last = Some(doc);
                    return Some((Ok(ev), Some(c)));
                }
                Ok(_) => {}
                Err(e) => return Some((Ok(event("error", &error_body(&e))), None)),
            }
        }
    });
    Ok(Sse::new(s).keep_alive(KeepAlive::default()).into_response())
}

pub async fn job_events(
    S(state): S<State>,
    Caller(who): Caller,
    Path((app, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let fetch = fetcher(&state, who, app, id, |s, who, app, id| async move {
        let job = s.engine.jobs().get(&who, &app, &id).await?;
        Ok((job_json(&job), job.status.is_final()))
    });
    follow(state, fetch).await
}

pub async fn batch_events(
    S(state): S<State>,
    Caller(who): Caller,
    Path((app, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let fetch = fetcher(&state, who, app, id, |s, who, app, id| async move {
        let batch = s.engine.batches().get(&who, &app, &id).await?;
        Ok((batch_json(&batch), batch.status.is_final()))
    });
    follow(state, fetch).await
}

pub async fn export_events(
    S(state): S<State>,
    Caller(who): Caller,
    Path((app, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let fetch = fetcher(&state, who, app, id, |s, who, app, id| async move {
        let e = s.engine.exports().get(&who, &app, &id).await?;
        Ok((export_json(&e), e.is_final()))
    });
    follow(state, fetch).await
}

/// A `Fetch` that calls `get` with its own copies of the caller and ids each time.
fn fetcher<F, Fut>(state: &State, who: Principal, app: String, id: String, get: F) -> Fetch
where
    F: Fn(State, Principal, String, String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(Value, bool)>> + Send + 'static,
{
    let state = state.clone();
    Box::new(move || Box::pin(get(state.clone(), who.clone(), app.clone(), id.clone())))
}
