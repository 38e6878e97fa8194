//! The accept loop: HTTP/1.1 connections whose request headers must arrive within the read timeout
//! (which also ends a kept-alive connection left idle that long), and a graceful shutdown with a
//! deadline, after which the connections still open are closed — a request whose body never
//! finished arriving is never applied.

use axum::Router;
use hyper::server::conn::http1::Builder;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// How long to wait before accepting again after the listener failed (e.g. too many open files).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting, lets requests in
/// flight finish for up to `drain`, and closes what is left.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    read_timeout: Duration,
    drain: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(read_timeout)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let mut conns = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                };
                // Answers go out as soon as they are written (a kept-alive client waits for each).
                let _ = stream.set_nodelay(true);
                let service = TowerToHyperService::new(app.clone());
                let conn = builder.serve_connection(TokioIo::new(stream), service);
                let watched = graceful.watch(conn);
                conns.spawn(async move {
                    let _ = watched.await;
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(drain) => {
            tracing::warn!(connections = conns.len(), "shutdown deadline reached; closing connections");
        }
    }
    conns.abort_all();
}
