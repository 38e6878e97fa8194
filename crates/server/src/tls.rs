//! TLS for `sluice serve`: the certificate chain and private key read from PEM files once at start
//! (before anything listens), served by rustls with the ring provider, HTTP/1.1 only.

use anyhow::{anyhow, bail, Context};
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
pub use tokio_rustls::TlsAcceptor;

/// The ALPN protocol sluice speaks (RFC 7301): a client offering `h2` too is told HTTP/1.1.
const HTTP_1_1: &[u8] = b"http/1.1";

/// The acceptor for `--tls-cert` and `--tls-key`, or none when neither is given. One without the
/// other, or a file that cannot be read or holds no usable certificate or key, is an error naming
/// the flag and the file.
pub fn acceptor(cert: Option<&Path>, key: Option<&Path>) -> anyhow::Result<Option<TlsAcceptor>> {
    let (cert, key) = match (cert, key) {
        (None, None) => return Ok(None),
        (Some(cert), Some(key)) => (cert, key),
        (Some(_), None) => bail!("--tls-cert needs --tls-key (the certificate's private key)"),
        (None, Some(_)) => bail!("--tls-key needs --tls-cert (the certificate chain it signs for)"),
    };
    let chain = read_chain(cert)?;
    let private = read_key(key)?;
    let provider = Arc::new(ring::default_provider());
    // Loaded once here only to name the key file when the key itself is what rustls refuses;
    // `with_single_cert` below loads it again and checks it against the certificate.
    provider
        .key_provider
        .load_private_key(private.clone_key())
        .map_err(|e| anyhow!("--tls-key {}: {e}", key.display()))?;
    // TLS 1.3 and 1.2 (rustls' safe defaults): 1.2 for the older OpenSSL and Java runtimes that
    // vendor SDKs still run on.
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| {
            anyhow!(
                "--tls-cert {} and --tls-key {} do not make a pair: {e}",
                cert.display(),
                key.display()
            )
        })?;
    config.alpn_protocols = vec![HTTP_1_1.to_vec()];
    Ok(Some(TlsAcceptor::from(Arc::new(config))))
}

/// The certificates of a PEM file, the server's own first (anything else in the file is skipped).
fn read_chain(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let named = |e: &dyn std::fmt::Display| anyhow!("--tls-cert {}: {e}", path.display());
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| named(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| named(&e))?;
    if chain.is_empty() {
        return Err(named(&"no CERTIFICATE in this PEM file"));
    }
    Ok(chain)
}

/// The first private key of a PEM file: PKCS#8 (`PRIVATE KEY`), RSA (`RSA PRIVATE KEY`) or SEC1
/// (`EC PRIVATE KEY`), unencrypted.
fn read_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| {
        let e = match e {
            tokio_rustls::rustls::pki_types::pem::Error::NoItemsFound => {
                "no unencrypted private key (PKCS#8, RSA or SEC1) in this PEM file".to_owned()
            }
            e => e.to_string(),
        };
        anyhow!("--tls-key {}: {e}", path.display())
    })
}
