//! TLS on `sluice serve`: a client trusting the server's self-signed certificate talks HTTPS (reqwest
//! here, Python's OpenSSL through the certificate file), plain HTTP to the port gets no HTTP answer,
//! a handshake that never ends holds up no one and is closed after the read timeout, the links
//! handed to callbacks say `https://`, and unusable certificate or key files stop the start.

use crate::common::{spawn_tls_app_with, unzip, zip_of, Receiver};
use serde_json::{json, Value};
use sluice_server::{Config, Server};
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a test waits for the server to close a connection it should close.
const CLOSE_LIMIT: Duration = Duration::from_secs(30);

/// Reads until the server closes the connection; what it sent, or none if it did not close in time.
async fn read_to_close(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    match tokio::time::timeout(CLOSE_LIMIT, stream.read_to_end(&mut got)).await {
        Ok(_) => Some(got),
        Err(_) => None,
    }
}

#[tokio::test]
async fn a_client_trusting_the_certificate_talks_https() {
    let (app, base, cert) = spawn_tls_app_with(|_| {}).await;
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let resp = app
        .client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), reqwest::Version::HTTP_11);
    // The helpers go over HTTPS too, credentials and all.
    app.setup_crm().await;
    let (s, b) = app
        .admin(
            "POST",
            "/v1/apps/crm/objects/contacts/records",
            Some(json!({"email": "a@b.c", "age": 3})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(app.count("crm", "contacts").await, 1);
    // A client without the certificate refuses the server.
    let plain = reqwest::Client::new()
        .get(format!("{base}/healthz"))
        .send()
        .await;
    assert!(plain.is_err(), "an untrusted certificate was accepted");
    // OpenSSL (Python's `ssl`, which `requests` uses) trusts it through the PEM file alone.
    let script = "import ssl, sys, urllib.request\n\
        ctx = ssl.create_default_context(cafile=sys.argv[2])\n\
        print(urllib.request.urlopen(sys.argv[1], context=ctx).read().decode())";
    let url = format!("{base}/healthz");
    // Run off the runtime's thread, which serves the request.
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .args(["-c", script, &url])
            .arg(&cert)
            .output()
    })
    .await
    .unwrap()
    .expect("python3 runs");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.contains("\"ok\""),
        "{said}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn plain_http_to_the_tls_port_gets_no_http_answer() {
    let (app, base, _) = spawn_tls_app_with(|_| {}).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let got = read_to_close(&mut stream)
        .await
        .expect("the server closes a connection that is not TLS");
    assert!(
        !got.starts_with(b"HTTP/"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    // The server goes on.
    let resp = app
        .client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

/// Connections that begin a handshake and stop: half say nothing, half begin a ClientHello (a TLS
/// record header announcing more than follows).
async fn stalled(addr: std::net::SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut all = Vec::new();
    for i in 0..n {
        let mut s = TcpStream::connect(addr).await.unwrap();
        if i % 2 == 1 {
            s.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
                .await
                .unwrap();
        }
        all.push(s);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handshake_that_never_ends_holds_up_no_one() {
    // With a read timeout longer than the test, others are served while handshakes hang (the
    // client gives up well before the hour: a handshake awaited in the accept loop fails this).
    let (app, base, _) = spawn_tls_app_with(|c| c.read_timeout = 3600).await;
    let _hanging = stalled(app.addr, 16).await;
    for _ in 0..3 {
        let get = app
            .client
            .get(format!("{base}/healthz"))
            .timeout(CLOSE_LIMIT);
        assert_eq!(get.send().await.unwrap().status(), 200);
    }
    // The read timeout bounds a handshake: the server closes the stalled connections.
    let (app, _, _) = spawn_tls_app_with(|c| c.read_timeout = 1).await;
    for mut s in stalled(app.addr, 2).await {
        let got = read_to_close(&mut s).await;
        assert!(
            got.is_some(),
            "a stalled handshake outlived the read timeout"
        );
    }
}

/// A Zoho Bigin write job's callback carries its result's `download_url`: with TLS and no
/// `--public-url`, an `https://` link on the listen address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_links_say_https() {
    let (app, _, _) = spawn_tls_app_with(|c| {
        c.callback_allow = "127.0.0.0/8".into();
        c.callback_backoff_ms = 100;
    })
    .await;
    app.create_app("org1").await;
    let fields = json!([{"name": "Last_Name", "type": "text", "required": true}]);
    app.create_object("org1", "Contacts", fields).await;
    let token = app.token("org1", "zoe", "writer").await;
    let auth = format!("Zoho-oauthtoken {token}");
    let zip = zip_of(&[("Contacts.csv", b"Last_Name\nSmith\n")]);
    let part = reqwest::multipart::Part::bytes(zip)
        .file_name("Contacts.zip")
        .mime_str("application/zip")
        .unwrap();
    let resp = app
        .client
        .post(app.url("/bigin/v2/upload"))
        .header("Authorization", &auth)
        .header("feature", "bulk-write")
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    let uploaded: Value = resp.json().await.unwrap();
    let receiver = Receiver::start(0).await;
    let job = json!({"operation": "insert", "callback": {"url": receiver.url, "method": "post"},
        "resource": [{"type": "data", "module": {"api_name": "Contacts"},
                      "file_id": uploaded["details"]["file_id"]}]});
    let (s, b) = app
        .send(
            "POST",
            "/bigin/bulk/v2/write",
            &[("Authorization", &auth)],
            Some(job),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let got = receiver.wait(1).await;
    let sent: Value = serde_json::from_slice(&got[0].1).unwrap();
    let link = sent["result"]["download_url"].as_str().unwrap_or_default();
    let expected = format!("https://{}/", app.addr);
    assert!(link.starts_with(&expected), "{sent}");
    // The link answers over HTTPS (the callback goes out once the result is written).
    let resp = app
        .client
        .get(link)
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let files = unzip(&resp.bytes().await.unwrap());
    assert!(files[0].1.contains("ADDED"), "{files:?}");
}

/// Certificate and key files, made for `localhost`, in `dir`.
fn pair(dir: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let made = rcgen::generate_simple_self_signed(["localhost".to_owned()]).unwrap();
    let (cert, key) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    (cert, key)
}

#[tokio::test]
async fn unusable_tls_files_stop_the_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = pair(dir.path(), "a");
    let (_, other_key) = pair(dir.path(), "b");
    let missing = dir.path().join("missing.pem");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let p = |p: &Path| Some(p.to_owned());
    let cases = [
        (p(&missing), p(&key), vec!["--tls-cert", "missing.pem"]),
        (p(&cert), p(&missing), vec!["--tls-key", "missing.pem"]),
        // A key file where the certificate belongs, and the other way round.
        (
            p(&key),
            p(&key),
            vec!["--tls-cert", "a.key", "no CERTIFICATE"],
        ),
        (
            p(&cert),
            p(&cert),
            vec!["--tls-key", "a.crt", "no unencrypted private key"],
        ),
        (p(&cert), p(&garbage), vec!["--tls-key", "garbage.pem"]),
        (
            p(&cert),
            p(&other_key),
            vec!["a.crt", "b.key", "do not make a pair"],
        ),
        (p(&cert), None, vec!["--tls-cert needs --tls-key"]),
        (None, p(&key), vec!["--tls-key needs --tls-cert"]),
    ];
    for (tls_cert, tls_key, words) in cases {
        // Never opened: the files are read first.
        let mut config = Config::new(dir.path().join("data"));
        (config.tls_cert, config.tls_key) = (tls_cert, tls_key);
        let Err(e) = Server::bind(config).await else {
            panic!("the server started with {words:?}");
        };
        let said = format!("{e:#}");
        for w in &words {
            assert!(said.contains(w), "{said:?} lacks {w:?}");
        }
        assert!(
            !dir.path().join("data").exists(),
            "the store opened before the check"
        );
    }
}
