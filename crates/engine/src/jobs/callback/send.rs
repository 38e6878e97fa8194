//! Sending one callback: the body signed with the app's secret, POSTed to the address the policy
//! checked (no second lookup an attacker could rebind), without redirects or proxies.

use super::policy::{check, parse_url};
use crate::error::{Error, Result};
use crate::settings::CallbackAllow;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

/// `sha256=<hex HMAC-SHA256 of the body keyed with the app's secret>`.
pub fn sign(secret: &str, body: &[u8]) -> Result<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(Error::internal)?;
    mac.update(body);
    Ok(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

/// One delivery attempt: POSTs `body` to `url` at the checked address. `Err` says why it failed.
pub async fn send(
    allow: &CallbackAllow,
    url: &str,
    secret: &str,
    body: &[u8],
    timeout: Duration,
) -> std::result::Result<(), String> {
    let u = parse_url(url).map_err(|e| e.message)?;
    let addr = check(allow, &u).await.map_err(|e| e.message)?;
    let host = u.host_str().unwrap_or_default().to_owned();
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        // A proxy would resolve the name again, undoing the check.
        .no_proxy()
        .resolve(&host, addr)
        .build()
        .map_err(|e| e.to_string())?;
    let resp = client
        .post(u)
        .header("content-type", "application/json")
        .header("user-agent", "sluice-callback/1")
        .header(
            "x-sluice-signature",
            sign(secret, body).map_err(|e| e.message)?,
        )
        .body(body.to_vec())
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "timed out".to_owned()
            } else {
                e.to_string()
            }
        })?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("the receiver answered {}", resp.status().as_u16()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256() {
        // RFC 4231 test case 2.
        let sig = sign("Jefe", b"what do ya want for nothing?").unwrap();
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
