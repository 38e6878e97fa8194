//! A TCP proxy a test controls, between an instance and PostgreSQL: it forwards both ways until
//! frozen, then moves no byte in either direction while every socket stays open (a network that
//! drops, not one that refuses), until thawed.

use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct Proxy {
    pub addr: SocketAddr,
    frozen: watch::Sender<bool>,
}

impl Proxy {
    /// Listens on an ephemeral port and forwards each connection to `target` (`host:port`).
    pub async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let frozen = watch::Sender::new(false);
        let gate = frozen.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&target).await else {
                    continue;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pump(cr, sw, gate.subscribe()));
                tokio::spawn(pump(sr, cw, gate.subscribe()));
            }
        });
        Proxy { addr, frozen }
    }

    /// Stops forwarding, both ways; what is in flight waits here.
    pub fn freeze(&self) {
        self.frozen.send_replace(true);
    }

    /// Forwards again, what waited first.
    pub fn thaw(&self) {
        self.frozen.send_replace(false);
    }
}

/// Copies `from` to `to` while not frozen; closes `to`'s writing side when `from` ends.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut frozen: watch::Receiver<bool>) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        if frozen.wait_for(|f| !*f).await.is_err() {
            return;
        }
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // Read just as the link froze: held until it thaws.
        if frozen.wait_for(|f| !*f).await.is_err() || to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
    let _ = to.shutdown().await;
}

/// `url` (one host) pointed at `addr` instead, and the `host:port` it named; `None` for a URL
/// this proxy cannot stand in for (several hosts, a socket directory).
pub fn through(url: &str, addr: SocketAddr) -> Option<(String, String)> {
    let start = url.find("://")? + 3;
    let end = url[start..]
        .find(['/', '?'])
        .map_or(url.len(), |i| start + i);
    let host_at = url[start..end].rfind('@').map_or(start, |i| start + i + 1);
    let host = &url[host_at..end];
    if host.is_empty() || host.contains(',') || host.starts_with('%') {
        return None;
    }
    let target = match host.rsplit_once(':') {
        Some((_, port)) if port.parse::<u16>().is_ok() => host.to_owned(),
        _ => format!("{host}:5432"),
    };
    Some((format!("{}{addr}{}", &url[..host_at], &url[end..]), target))
}
