//! The accept loop: HTTP/1.1 connections, plain or over TLS, whose request headers must arrive
//! within the read timeout (which also ends a kept-alive connection left idle that long, and bounds
//! a TLS handshake), and a graceful shutdown with a deadline, after which the connections still
//! open are closed — a request whose body never finished arriving is never applied.

use axum::Router;
use hyper::server::conn::http1::Builder;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// How long to wait before accepting again after the listener failed (e.g. too many open files).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting, lets requests in
/// flight finish for up to `drain`, and closes what is left. With `tls`, every connection first
/// completes a TLS handshake, in its own task.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
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
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                };
                // Answers go out as soon as they are written (a kept-alive client waits for each).
                let _ = stream.set_nodelay(true);
                let service = TowerToHyperService::new(app.clone());
                // The plain path is exactly what it was before TLS: one branch per connection,
                // nothing added per request.
                let Some(tls) = &tls else {
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    let watched = graceful.watch(conn);
                    conns.spawn(async move {
                        let _ = watched.await;
                    });
                    continue;
                };
                // The handshake runs in the connection's own task, so a slow or silent client
                // never holds up accepting; the watcher is taken now, so a shutdown that begins
                // during the handshake still reaches the connection.
                let handshake = Handshake { tls: tls.clone(), timeout: read_timeout };
                let (builder, watcher) = (builder.clone(), graceful.watcher());
                conns.spawn(async move {
                    if let Some(stream) = handshake.run(stream, peer).await {
                        let conn = builder.serve_connection(TokioIo::new(stream), service);
                        let _ = watcher.watch(conn).await;
                    }
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

/// A TLS handshake bounded by the read timeout.
struct Handshake {
    tls: TlsAcceptor,
    timeout: Duration,
}

impl Handshake {
    /// The encrypted stream, or none when the client failed the handshake or did not finish it in
    /// time: logged at debug level only, since scanners and plain-HTTP clients do this all day.
    async fn run(
        self,
        stream: TcpStream,
        peer: std::net::SocketAddr,
    ) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
        match tokio::time::timeout(self.timeout, self.tls.accept(stream)).await {
            Ok(Ok(stream)) => Some(stream),
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                None
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                None
            }
        }
    }
}
