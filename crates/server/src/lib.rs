//! sluice's HTTP front doors: the native API and the vendor dialects, all thin translators onto
//! the engine's calls.

pub mod budget;
pub mod config;
mod credentials;
pub mod dialects;
mod download;
pub mod duration;
pub mod error;
mod extract;
mod feed;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzz;
mod idempotency;
pub mod logs;
mod metrics;
mod native;
pub mod openapi;

#[cfg(test)]
mod properties;
mod read_after;
pub mod runtime;
mod serve;
mod throttle;
pub mod tls;
mod uploads;
mod url;
mod web;

pub use config::Config;

use axum::http::HeaderValue;
use axum::Router;
use sluice_engine::Engine;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer};
use tower_http::timeout::RequestBodyTimeoutLayer;

/// What every handler shares.
pub struct AppState {
    pub engine: Arc<Engine>,
    pub config: Config,
    /// Cancelled when shutdown begins: long answers (event streams) end instead of holding it.
    pub stopping: tokio_util::sync::CancellationToken,
}

pub type State = Arc<AppState>;

/// Builds the whole HTTP surface over an engine: the routes (with their metrics, which need the
/// matched route) inside one stack of layers built once — a layer added to a `Router` instead boxes
/// its future anew for every request on every route.
pub fn router(state: State) -> Router {
    let c = &state.config;
    let limiter = (c.rate_limit > 0).then(|| throttle::RateLimiter::new(c.rate_limit));
    let stack = tower::ServiceBuilder::new()
        .layer(tower_http::map_response_body::MapResponseBodyLayer::new(
            axum::body::Body::new,
        ))
        .layer(logs::request_ids())
        .layer(logs::request_lines())
        // Runs before routing: clients that join a base URL ending in `/` with `/api/...` send
        // `//api`.
        .layer(axum::middleware::map_request(collapse_slashes))
        .layer(cors_layer(&c.cors_origins))
        .layer(axum::middleware::map_response(throttle::retry_after))
        .layer(axum::middleware::from_fn_with_state(
            limiter,
            throttle::rate_limit,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            runtime::panicked,
        ))
        .layer(RequestBodyTimeoutLayer::new(Duration::from_secs(
            c.read_timeout,
        )))
        .layer(axum::extract::DefaultBodyLimit::max(c.max_body_bytes))
        .service(
            native::router()
                .merge(web::router())
                .merge(dialects::router())
                .fallback(native::fallback)
                .layer(axum::middleware::from_fn(metrics::track))
                .with_state(state.clone()),
        );
    Router::new().fallback_service(stack)
}

async fn collapse_slashes(mut req: axum::extract::Request) -> axum::extract::Request {
    let path = req.uri().path();
    if path.starts_with("//") {
        let fixed = format!("/{}", path.trim_start_matches('/'));
        let pq = match req.uri().query() {
            Some(q) => format!("{fixed}?{q}"),
            None => fixed,
        };
        if let Ok(uri) = pq.parse() {
            *req.uri_mut() = uri;
        }
    }
    req
}

/// CORS for browser clients (Backand's SDK runs in browsers): `*` allows any origin (the default,
/// for development); otherwise a comma-separated list of exact origins.
fn cors_layer(origins: &str) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods(AllowMethods::mirror_request())
        .allow_headers(AllowHeaders::mirror_request())
        .max_age(Duration::from_secs(3600));
    if origins.trim() == "*" {
        return layer.allow_origin(AllowOrigin::any());
    }
    let list: Vec<HeaderValue> = origins
        .split(',')
        .filter_map(|o| HeaderValue::from_str(o.trim()).ok())
        .collect();
    layer
        .allow_origin(AllowOrigin::list(list))
        .vary([axum::http::header::ORIGIN])
}

/// A server bound to its address, ready to serve.
pub struct Server {
    pub addr: SocketAddr,
    listener: TcpListener,
    tls: Option<tls::TlsAcceptor>,
    state: State,
}

impl Server {
    /// Reads the TLS certificate and key (if any), opens the store, bootstraps the admin token and
    /// binds the listener. A TLS file that cannot be used fails here, before anything listens.
    pub async fn bind(config: Config) -> anyhow::Result<Server> {
        let tls = tls::acceptor(config.tls_cert.as_deref(), config.tls_key.as_deref())?;
        // Installed before the engine opens, so its counters register from the first one.
        metrics::handle();
        let engine = Arc::new(Engine::open(
            config.database_url.as_deref(),
            &config.data_dir,
            config.engine_settings()?,
        )?);
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        // Callbacks have no request to take a host from: the listen address stands in.
        dialects::register(&engine, &config.public_base(Some(&addr.to_string())));
        engine.start().await?;
        if let Some(token) = engine.auth().bootstrap_admin(&config.data_dir).await? {
            println!(
                "sluice: generated admin token (saved to {}):\n{token}",
                config.data_dir.join("admin-token").display()
            );
        }
        Ok(Server {
            addr,
            listener,
            tls,
            state: Arc::new(AppState {
                engine,
                config,
                stopping: tokio_util::sync::CancellationToken::new(),
            }),
        })
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests and closes the store.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let app = router(self.state.clone());
        let c = &self.state.config;
        let drain = Duration::from_secs(c.shutdown_timeout);
        let stopping = self.state.stopping.clone();
        let shutdown = async move {
            shutdown.await;
            tracing::info!("shutting down: draining requests, stopping workers");
            stopping.cancel();
        };
        serve::serve(
            self.listener,
            app,
            self.tls,
            Duration::from_secs(c.read_timeout),
            drain,
            shutdown,
        )
        .await;
        self.state.engine.shutdown(drain).await;
        Ok(())
    }

    /// Where clients reach this server: `http://` or `https://` and the bound address.
    pub fn url(&self) -> String {
        format!("{}://{}", self.state.config.scheme(), self.addr)
    }

    /// The engine behind this server (tests arm its breakpoints).
    pub fn engine(&self) -> Arc<Engine> {
        self.state.engine.clone()
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
