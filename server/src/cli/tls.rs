//! HTTPS for the admin client: rustls with ring (the provider the server's
//! NATS client already builds), trusting the platform's root certificates
//! (or `SSL_CERT_FILE` / `SSL_CERT_DIR`) plus those of an optional PEM file
//! (`--ca-file`, for a server whose certificate a private CA signed), and
//! handshake failures put in words that say what to do.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, anyhow, ensure};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// What it takes to open TLS to one server.
pub(super) struct Tls {
    connector: TlsConnector,
    /// The URL's host: sent as SNI (a name; never an IP address) and what
    /// the certificate must name.
    name: ServerName<'static>,
}

impl Tls {
    pub(super) fn new(host: &str, ca_file: Option<&Path>) -> anyhow::Result<Self> {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| anyhow!("{host:?} is neither a DNS name nor an IP address"))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("cannot set up TLS")?
            .with_root_certificates(roots(ca_file)?)
            .with_no_client_auth();
        // The client speaks HTTP/1.1 only; a proxy that offers h2 must not
        // pick it.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            connector: TlsConnector::from(Arc::new(config)),
            name,
        })
    }

    /// The TLS handshake over `tcp`; `authority` names the server in errors.
    pub(super) async fn handshake(
        &self,
        tcp: TcpStream,
        authority: &str,
    ) -> anyhow::Result<TlsStream<TcpStream>> {
        self.connector
            .connect(self.name.clone(), tcp)
            .await
            .map_err(|error| explain(&error, authority))
    }
}

/// The platform's roots and the CA file's certificates.
fn roots(ca_file: Option<&Path>) -> anyhow::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    // A certificate of the platform's that rustls cannot use is skipped,
    // as browsers and curl skip it.
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .with_context(|| format!("cannot read the CA file {}", path.display()))?;
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| anyhow!("the CA file {}: {e}", path.display()))?;
            found += 1;
            roots.add(cert).with_context(|| {
                format!(
                    "the CA file {}: certificate {found} cannot be a root",
                    path.display()
                )
            })?;
        }
        ensure!(
            found > 0,
            "the CA file {} holds no certificate (PEM: -----BEGIN CERTIFICATE-----)",
            path.display()
        );
    }
    if roots.is_empty() {
        let why = native
            .errors
            .first()
            .map_or_else(|| "it has none".to_owned(), ToString::to_string);
        anyhow::bail!(
            "no certificate authority to trust: cannot load this machine's ({why}); \
             give one with --ca-file PATH or EDDY_CA_FILE"
        );
    }
    Ok(roots)
}

/// A failed handshake as a person can act on it.
fn explain(error: &std::io::Error, authority: &str) -> anyhow::Error {
    let Some(tls) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return anyhow!("the TLS handshake with {authority} failed: {error}");
    };
    match tls {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => anyhow!(
                "the certificate of {authority} is not trusted: no certificate authority this \
                 machine trusts signed it. If the server's certificate comes from a private CA \
                 (or is self-signed), give that certificate with --ca-file PATH or EDDY_CA_FILE"
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                anyhow!(
                    "the certificate of {authority} is not valid for that name ({cert}): \
                 use a server URL with a name the certificate carries"
                )
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                anyhow!("the certificate of {authority} has expired ({cert})")
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => anyhow!(
                "the certificate of {authority} is not valid yet ({cert}): is this machine's clock right?"
            ),
            _ => anyhow!("the certificate of {authority} is refused: {cert}"),
        },
        rustls::Error::InvalidMessage(_) => anyhow!(
            "the TLS handshake with {authority} failed ({tls}): does it speak HTTPS? \
             For plain HTTP, use an http:// URL"
        ),
        _ => anyhow!("the TLS handshake with {authority} failed: {tls}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(tag: &str, text: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("eddy-tls-{}-{tag}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    fn message(result: anyhow::Result<RootCertStore>) -> String {
        format!("{:#}", result.unwrap_err())
    }

    #[test]
    fn a_ca_file_that_is_missing_or_holds_no_certificate_is_named_in_the_error() {
        let missing = std::env::temp_dir().join("eddy-tls-no-such-file.pem");
        let error = message(roots(Some(&missing)));
        assert!(
            error.contains("cannot read the CA file") && error.contains("no-such-file"),
            "{error}"
        );

        let key_only = temp_file(
            "key.pem",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        );
        let error = message(roots(Some(&key_only)));
        assert!(error.contains("holds no certificate"), "{error}");
        std::fs::remove_file(key_only).unwrap();

        let garbage = temp_file(
            "garbage.pem",
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
        );
        let error = message(roots(Some(&garbage)));
        assert!(error.contains("certificate 1 cannot be a root"), "{error}");
        std::fs::remove_file(garbage).unwrap();
    }

    #[test]
    fn the_host_is_the_name_checked_dns_or_ip() {
        let tls = Tls::new("127.0.0.1", None);
        // Without a CA file this needs the machine's roots; the name is
        // what is under test, so skip where there are none.
        if let Ok(tls) = tls {
            assert!(matches!(tls.name, ServerName::IpAddress(_)));
        }
        assert!(
            ServerName::try_from("::1".to_owned())
                .is_ok_and(|n| matches!(n, ServerName::IpAddress(_)))
        );
        assert!(
            ServerName::try_from("eddy.example.com".to_owned())
                .is_ok_and(|n| matches!(n, ServerName::DnsName(_)))
        );
        let error = Tls::new("bad name!", None).err().unwrap().to_string();
        assert!(
            error.contains("neither a DNS name nor an IP address"),
            "{error}"
        );
    }

    #[test]
    fn an_untrusted_certificate_says_to_give_the_ca_file() {
        let error = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        let text = explain(&error, "127.0.0.1:8443").to_string();
        assert!(
            text.contains("not trusted")
                && text.contains("--ca-file")
                && text.contains("EDDY_CA_FILE"),
            "{text}"
        );
        let plain = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
        );
        let text = explain(&plain, "127.0.0.1:8080").to_string();
        assert!(text.contains("http://"), "{text}");
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let text = explain(&reset, "h:1").to_string();
        assert!(
            text.starts_with("the TLS handshake with h:1 failed"),
            "{text}"
        );
    }
}
