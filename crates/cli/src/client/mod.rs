//! The client commands of the `sluice` binary: they speak the native API over HTTP (never the data
//! directory), print tables for people and JSON for scripts (`--json`), and show progress bars
//! only on a terminal.

pub mod args;
mod batches;
mod commands;
mod export;
mod import;
mod objects;
mod output;
mod profile;
mod watch;

use anyhow::{bail, Context};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;

pub use args::{ClientArgs, ClientCommand, EarlyArgs};

/// A server and the credentials to call it with.
pub struct Api {
    pub base: String,
    token: Option<String>,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(base: &str, token: Option<String>) -> anyhow::Result<Api> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            bail!("the server URL must start with http:// or https:// (got {base:?})");
        }
        Ok(Api {
            base,
            token,
            http: reqwest::Client::builder()
                .user_agent(concat!("sluice-cli/", env!("CARGO_PKG_VERSION")))
                .build()?,
        })
    }

    /// A request to `path` (relative to the server), with the credentials.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let req = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    /// Sends `req`; a non-success answer becomes an error with the server's code and message.
    pub async fn send(&self, req: RequestBuilder) -> anyhow::Result<Response> {
        let resp = req
            .send()
            .await
            .with_context(|| format!("could not reach {}", self.base))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        let e = &body["error"];
        match (e["code"].as_str(), e["message"].as_str()) {
            (Some(code), Some(msg)) => {
                let field = e["field"]
                    .as_str()
                    .map(|f| format!(" (field {f})"))
                    .unwrap_or_default();
                bail!("{status}: {code}: {msg}{field}")
            }
            _ => bail!("{status}"),
        }
    }

    /// A JSON call: `body` sent as JSON when given, the answer parsed (null when empty).
    pub async fn json(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self.request(method, path);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = self.send(req).await?;
        let text = resp.text().await?;
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).context("the server's answer is not JSON")
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.json(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.json(Method::POST, path, Some(body)).await
    }
}

/// A path segment, percent-encoded.
pub fn seg(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Runs a client command; the process's exit code.
pub async fn run(before: &EarlyArgs, command: ClientCommand) -> anyhow::Result<i32> {
    let args = command.conn(before);
    if let ClientCommand::Login { url, token, .. } = &command {
        return profile::login(&args, url, token.clone()).await.map(|()| 0);
    }
    let api = profile::connect(&args)?;
    commands::run(&api, &args, command).await
}

/// A mistake in how a command was called (a malformed flag value, a file of the wrong kind), found
/// before anything was sent: the process exits 64 (`EX_USAGE`), as for a flag clap refuses.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// Exit codes (`docs/CLI.md`): 0 done, 1 failed, 2 done with failed rows, 64 a usage error.
pub mod exit {
    pub const FAILED: i32 = 1;
    pub const ROWS_FAILED: i32 = 2;
    pub const USAGE: i32 = 64;
}
