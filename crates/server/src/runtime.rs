//! The runtime every server runs on, and what makes one failing request stay one failed request:
//! threads whose stack the input bounds are measured against, and a panic answered as a 500.

use crate::error::ApiError;
use axum::response::{IntoResponse, Response};
use sluice_engine::settings::defaults::THREAD_STACK_BYTES;
use sluice_engine::Error;
use std::any::Any;

/// The multi-threaded runtime `sluice serve` runs on: its workers and blocking threads get
/// `THREAD_STACK_BYTES` of stack, which the bounds on untrusted input are measured against.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sluice-worker")
        .thread_stack_size(THREAD_STACK_BYTES)
        .build()
}

/// A handler that panicked: logged (and counted) as an internal error, answered as one 500; the
/// connection and the process go on.
pub fn panicked(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    ApiError(Error::internal(format_args!(
        "a request handler panicked: {detail}"
    )))
    .into_response()
}
