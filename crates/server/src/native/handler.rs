//! The one handler behind every native resource route: authenticate, parse to an op, run, render.

use super::render::{render, respond};
use super::route::{parse, NativeRequest};
use crate::credentials::bearer;
use crate::error::ApiError;
use crate::extract::{json_body, read_bytes};
use crate::idempotency;
use crate::State;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State as S;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use sluice_engine::ops::Op;
use sluice_engine::Error;

pub async fn dispatch(
    S(state): S<State>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    sluice_engine::background::panic_point("native_request");
    let result = async {
        let who = state.engine.auth().authenticate(bearer(&headers)?).await?;
        crate::read_after::take(&state, &headers, &who)?;
        let bytes = read_bytes(body)?;
        let key = match method == Method::POST {
            true => idempotency::key_of(&headers, &who, idempotency::app_of(uri.path()), || {
                idempotency::fingerprint(&method, &uri, &bytes)
            })?,
            false => None,
        };
        let op = parse(NativeRequest {
            method: method.as_str(),
            path: uri.path(),
            query: uri.query(),
            body: json_body(Ok(bytes))?,
        })?;
        let ran = match key {
            None => state.engine.run(&who, op).await.map(Ran::Plain),
            // A kept answer would hold the new token's secret, which sluice otherwise only hashes.
            Some(_) if matches!(op, Op::CreateToken(..)) => Err(Error::invalid(
                "tokens are created without an Idempotency-Key: the answer holds the secret",
            )
            .with_field("Idempotency-Key")),
            Some(key) => {
                let render = |out| {
                    let (status, reply) = render(Ok(out));
                    idempotency::json_answer(status, &reply)
                };
                state
                    .engine
                    .run_keyed(&who, op, key, render)
                    .await
                    .map(Ran::Keyed)
            }
        };
        ran.map(|ran| (ran, who))
    }
    .await;
    match result {
        Ok((ran, who)) => {
            let mut response = match ran {
                Ran::Plain(out) => respond(Ok(out)),
                Ran::Keyed(k) => idempotency::respond(k),
            };
            crate::read_after::give(&state, &who, &mut response);
            response
        }
        Err(e) => respond(Err(e)),
    }
}

/// An op's outcome, or its keyed answer.
enum Ran {
    Plain(sluice_engine::ops::Output),
    Keyed(sluice_engine::model::Keyed),
}

pub async fn fallback(uri: Uri) -> Response {
    ApiError(Error::not_found(format!("no endpoint at {}", uri.path()))).into_response()
}
