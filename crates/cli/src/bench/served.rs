//! A server as a user runs it, for the benches that guard the headline: `sluice serve` with its
//! defaults in a process of its own (logging as shipped, to a file), and a client in this process.

use super::{bench_fields, bench_record, ChildServer, ADMIN};
use reqwest::Client;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// A server in its own process and the keep-alive client that speaks to it.
pub struct Served {
    pub server: ChildServer,
    pub client: Client,
}

impl Served {
    /// `sluice serve` (this binary, or `bin`) over a fresh data dir under `dir`, with the bench app
    /// and its two objects made: `people` (8 fields) and `people_json` (the same and a JSON field).
    pub async fn start(bin: Option<PathBuf>, dir: &Path, name: &str) -> anyhow::Result<Served> {
        let data = dir.join(name);
        let server = ChildServer::start_as_shipped(bin, &data).await?;
        let served = Served {
            server,
            client: Client::new(),
        };
        served.post("/v1/apps", json!({"name": "bench"})).await?;
        served
            .post(
                "/v1/apps/bench/objects",
                json!({"name": "people", "fields": bench_fields()}),
            )
            .await?;
        let mut fields = bench_fields();
        if let Some(list) = fields.as_array_mut() {
            list.push(json!({"name": "tags", "type": "json"}));
        }
        served
            .post(
                "/v1/apps/bench/objects",
                json!({"name": "people_json", "fields": fields}),
            )
            .await?;
        Ok(served)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base)
    }

    pub async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let resp = self
            .client
            .post(self.url(path))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
            .await?;
        let status = resp.status();
        let v: Value = resp.json().await?;
        anyhow::ensure!(status.is_success(), "{path}: {status} {v}");
        Ok(v)
    }
}

/// Row `i` of the bench data set with a JSON field as well (for `people_json`).
pub fn json_record(i: usize) -> Value {
    let mut r = bench_record(i);
    r["tags"] =
        json!({"source": "bench", "rank": i % 10, "labels": ["lead", format!("batch{}", i % 50)]});
    r
}
