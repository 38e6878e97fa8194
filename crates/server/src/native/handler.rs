//! The one handler behind every native resource route: authenticate, parse to an op, run, render.

use super::render::respond;
use super::route::{parse, NativeRequest};
use crate::credentials::bearer;
use crate::error::ApiError;
use crate::extract::json_body;
use crate::State;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State as S;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use sluice_engine::Error;

pub async fn dispatch(
    S(state): S<State>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let who = state.engine.auth().authenticate(bearer(&headers)?).await?;
        let op = parse(NativeRequest {
            method: method.as_str(),
            path: uri.path(),
            query: uri.query(),
            body: json_body(body)?,
        })?;
        state.engine.run(&who, op).await
    }
    .await;
    respond(result)
}

pub async fn fallback(uri: Uri) -> Response {
    ApiError(Error::not_found(format!("no endpoint at {}", uri.path()))).into_response()
}
