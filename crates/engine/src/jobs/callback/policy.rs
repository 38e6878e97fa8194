//! The SSRF policy for callback targets.
//!
//! Policy: only `http`/`https` URLs; the host is resolved and every address must be public
//! (not loopback, private, link-local, shared, multicast, documentation or unspecified) unless the
//! host name or the address is on the allow-list (`--callback-allow`: host names and CIDRs). The
//! check runs when the job is created and again at each delivery, and the connection goes to the
//! address that was checked (no second lookup an attacker could rebind), without redirects.

use crate::error::{Error, Result};
use crate::settings::CallbackAllow;
use std::net::{IpAddr, SocketAddr};

fn refused(msg: impl Into<String>) -> Error {
    Error::validation("callback", msg)
}

fn allows(allow: &CallbackAllow, host: &str, ip: IpAddr) -> bool {
    is_public(ip)
        || allow.nets.iter().any(|n| n.contains(&ip))
        || allow.hosts.iter().any(|h| h == host)
}

/// Resolves the URL's host and checks every address; returns the one to connect to.
pub async fn check(allow: &CallbackAllow, url: &reqwest::Url) -> Result<SocketAddr> {
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
    if let Some(bad) = addrs.iter().find(|a| !allows(allow, bare, a.ip())) {
        return Err(refused(format!(
            "callbacks may not go to {} (not a public address; see --callback-allow)",
            bad.ip()
        )));
    }
    Ok(addrs[0])
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
        let p = CallbackAllow::parse("127.0.0.0/8, 10.1.0.0/16,hooks.local").unwrap();
        assert!(allows(&p, "x", "127.0.0.1".parse().unwrap()));
        assert!(!allows(&p, "x", "10.2.0.1".parse().unwrap()));
        assert!(allows(&p, "hooks.local", "10.2.0.1".parse().unwrap()));
        assert!(CallbackAllow::parse("not a host!").is_err());
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
}
