//! Job callbacks: the SSRF policy for callback targets and the signed delivery.
//!
//! Policy: only `http`/`https` URLs; the host is resolved and every address must be public
//! (not loopback, private, link-local, shared, multicast, documentation or unspecified) unless the
//! host name or the address is on the allow-list (`--callback-allow`: host names and CIDRs). The
//! check runs when the job is created and again at each delivery, and the connection goes to the
//! address that was checked (no second lookup an attacker could rebind), without redirects.

use crate::error::{Error, Result};
use hmac::{Hmac, Mac};
use ipnet::IpNet;
use sha2::Sha256;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub struct Policy {
    nets: Vec<IpNet>,
    hosts: Vec<String>,
}

fn refused(msg: impl Into<String>) -> Error {
    Error::validation("callback", msg)
}

impl Policy {
    /// Parses `127.0.0.0/8,10.1.0.0/16,hooks.internal` (CIDRs, single addresses, host names).
    pub fn parse(spec: &str) -> std::result::Result<Policy, String> {
        let mut p = Policy::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if let Ok(net) = item.parse::<IpNet>() {
                p.nets.push(net);
            } else if let Ok(ip) = item.parse::<IpAddr>() {
                p.nets.push(IpNet::from(ip));
            } else if item
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            {
                p.hosts.push(item.to_ascii_lowercase());
            } else {
                return Err(format!("{item:?} is not a CIDR, an address or a host name"));
            }
        }
        Ok(p)
    }

    fn allows(&self, host: &str, ip: IpAddr) -> bool {
        is_public(ip)
            || self.nets.iter().any(|n| n.contains(&ip))
            || self.hosts.iter().any(|h| h == host)
    }

    /// Resolves the URL's host and checks every address; returns the one to connect to.
    pub async fn check(&self, url: &reqwest::Url) -> Result<SocketAddr> {
        let host = url
            .host_str()
            .ok_or_else(|| refused("the callback URL has no host"))?
            .to_ascii_lowercase();
        let port = url.port_or_known_default().unwrap_or(80);
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((bare, port))
                .await
                .map_err(|_| refused(format!("the callback host {host} does not resolve")))?
                .collect(),
        };
        if addrs.is_empty() {
            return Err(refused(format!(
                "the callback host {host} does not resolve"
            )));
        }
        if let Some(bad) = addrs.iter().find(|a| !self.allows(bare, a.ip())) {
            return Err(refused(format!(
                "callbacks may not go to {} (not a public address; see --callback-allow)",
                bad.ip()
            )));
        }
        Ok(addrs[0])
    }
}

/// Checks the form of a callback URL: absolute `http` or `https` with a host.
pub fn parse_url(url: &str) -> Result<reqwest::Url> {
    let u = reqwest::Url::parse(url).map_err(|_| refused(format!("{url:?} is not a valid URL")))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err(refused(
            "callback URLs must be http or https URLs with a host",
        ));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(refused("callback URLs may not carry credentials"));
    }
    Ok(u)
}

/// Addresses a callback must not reach unless allowed.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (18..20).contains(&o[1]))
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            // IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses
            // carry an IPv4 address inside: judge that one.
            let embedded = match s {
                [0, 0, 0, 0, 0, 0, _, _] | [0x64, 0xff9b, 0, 0, 0, 0, _, _] => {
                    Some(std::net::Ipv4Addr::new(
                        (s[6] >> 8) as u8,
                        s[6] as u8,
                        (s[7] >> 8) as u8,
                        s[7] as u8,
                    ))
                }
                [0x2002, a, b, ..] => Some(std::net::Ipv4Addr::new(
                    (a >> 8) as u8,
                    a as u8,
                    (b >> 8) as u8,
                    b as u8,
                )),
                _ => None,
            };
            if let Some(v4) = embedded {
                return !v6.is_unspecified() && !v6.is_loopback() && is_public(IpAddr::V4(v4));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8))
        }
    }
}

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
pub async fn deliver(
    policy: &Policy,
    url: &str,
    secret: &str,
    body: &[u8],
    timeout: Duration,
) -> std::result::Result<(), String> {
    let u = parse_url(url).map_err(|e| e.message)?;
    let addr = policy.check(&u).await.map_err(|e| e.message)?;
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
    fn private_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:0a00:0001::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn allow_list_parses() {
        let p = Policy::parse("127.0.0.0/8, 10.1.0.0/16,hooks.local").unwrap();
        assert!(p.allows("x", "127.0.0.1".parse().unwrap()));
        assert!(!p.allows("x", "10.2.0.1".parse().unwrap()));
        assert!(p.allows("hooks.local", "10.2.0.1".parse().unwrap()));
        assert!(Policy::parse("not a host!").is_err());
    }

    #[test]
    fn urls_must_be_http() {
        assert!(parse_url("http://example.com/x").is_ok());
        for bad in [
            "ftp://example.com",
            "file:///etc/passwd",
            "example.com",
            "http://user:pw@example.com/",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

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
