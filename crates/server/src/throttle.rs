//! Backpressure at the door: an optional request rate per credential (a token bucket, answering 429
//! with `Retry-After`), and `Retry-After` on every 503 and 429 that lacks one, so clients know when
//! to come back.

use crate::error::error_body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sluice_engine::{Error, ErrorCode};
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Credentials tracked at once; past this, buckets that are full again are forgotten.
const MAX_TRACKED: usize = 100_000;

/// Headers (and a query parameter) that carry credentials, on any front door.
const CREDENTIAL_HEADERS: [&str; 4] = [
    "authorization",
    "oauth-token",
    "x-apitoken",
    "anonymoustoken",
];

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Requests per second per credential, with bursts of twice that.
pub struct RateLimiter {
    per_second: f64,
    buckets: Mutex<HashMap<u64, Bucket>>,
    hasher: RandomState,
}

impl RateLimiter {
    pub fn new(per_second: u32) -> Arc<RateLimiter> {
        Arc::new(RateLimiter {
            per_second: f64::from(per_second),
            buckets: Mutex::new(HashMap::new()),
            hasher: RandomState::new(),
        })
    }

    fn burst(&self) -> f64 {
        self.per_second * 2.0
    }

    /// Takes one request from `key`'s bucket; `Err(seconds)` to wait when it is empty.
    fn take(&self, key: u64, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(&key) {
            let (rate, burst) = (self.per_second, self.burst());
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let b = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst(),
            at: now,
        });
        let refill = now.duration_since(b.at).as_secs_f64() * self.per_second;
        b.tokens = (b.tokens + refill).min(self.burst());
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / self.per_second).ceil().max(1.0) as u64)
        }
    }
}

/// Query parameters that carry credentials: `token`, and Backand's `authorization` and
/// `AnonymousToken` (which Backand reads in any case).
const CREDENTIAL_PARAMS: [&str; 3] = ["token", "authorization", "anonymoustoken"];

/// The credential a request presents (headers first, then a query parameter), hashed.
fn credential(req: &Request, hasher: &RandomState) -> Option<u64> {
    let found = CREDENTIAL_HEADERS
        .iter()
        .find_map(|h| req.headers().get(*h).map(|v| v.as_bytes().to_vec()))
        .or_else(|| {
            req.uri().query().and_then(|q| {
                q.split('&').find_map(|p| {
                    let (name, value) = p.split_once('=')?;
                    CREDENTIAL_PARAMS
                        .iter()
                        .any(|c| name.eq_ignore_ascii_case(c))
                        .then(|| value.as_bytes().to_vec())
                })
            })
        })?;
    Some(hasher.hash_one(found))
}

/// Answers 429 to a credential past its rate (`--rate-limit`; `None`: no limit).
pub async fn rate_limit(
    State(limiter): State<Option<Arc<RateLimiter>>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(limiter) = limiter else {
        return next.run(req).await;
    };
    let Some(key) = credential(&req, &limiter.hasher) else {
        return next.run(req).await;
    };
    match limiter.take(key, Instant::now()) {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            let e = Error::new(
                ErrorCode::RateLimited,
                format!(
                    "more than {} requests a second with these credentials; retry in {wait} s",
                    limiter.per_second
                ),
            );
            let mut resp = (StatusCode::TOO_MANY_REQUESTS, Json(error_body(&e))).into_response();
            if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
    }
}

/// Adds `Retry-After: 1` to a 503 or 429 that says nothing of when to retry.
pub async fn retry_after(mut resp: Response) -> Response {
    let status = resp.status();
    if (status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS)
        && !resp.headers().contains_key(header::RETRY_AFTER)
    {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn buckets_refill_at_the_rate() {
        let l = RateLimiter::new(2);
        let t0 = Instant::now();
        for _ in 0..4 {
            assert!(l.take(1, t0).is_ok(), "a burst of twice the rate");
        }
        assert_eq!(l.take(1, t0), Err(1));
        assert!(l.take(2, t0).is_ok(), "each credential has its own bucket");
        assert!(l.take(1, t0 + Duration::from_millis(500)).is_ok());
        assert!(l.take(1, t0 + Duration::from_millis(500)).is_err());
    }
}
