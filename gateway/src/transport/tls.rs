//! TLS for QUIC: the operator's certificate, or a generated development certificate that
//! clients can trust by reading the PEM witmesh writes out.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Names the development certificate is valid for: loopback only.
pub const DEV_CERT_NAMES: &[&str] = &["localhost", "127.0.0.1", "::1"];

/// A server certificate chain and key.
pub struct Identity {
    /// Leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key.
    pub key: PrivateKeyDer<'static>,
    /// For a generated certificate: its PEM, which clients add to their trusted roots.
    pub dev_pem: Option<String>,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Loads a PEM certificate chain and key.
pub fn load_identity(cert: &Path, key: &Path) -> anyhow::Result<Identity> {
    let chain = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("cannot read certificate `{}`", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("invalid PEM in `{}`", cert.display()))?;
    if chain.is_empty() {
        anyhow::bail!("`{}` holds no certificate", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("cannot read a private key from `{}`", key.display()))?;
    Ok(Identity {
        chain,
        key,
        dev_pem: None,
    })
}

/// Generates a self-signed development certificate for [`DEV_CERT_NAMES`].
pub fn dev_identity() -> anyhow::Result<Identity> {
    let names: Vec<String> = DEV_CERT_NAMES.iter().map(|s| (*s).to_owned()).collect();
    let cert = rcgen::generate_simple_self_signed(names)
        .context("cannot generate a development certificate")?;
    Ok(Identity {
        chain: vec![cert.cert.der().clone()],
        key: PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der()).into(),
        dev_pem: Some(cert.cert.pem()),
    })
}

/// A QUIC server configuration: TLS 1.3, no client authentication, no ALPN required.
pub fn server_config(id: &Identity) -> anyhow::Result<quinn::ServerConfig> {
    let tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .context("TLS 1.3 unavailable")?
        .with_no_client_auth()
        .with_single_cert(id.chain.clone(), id.key.clone_key())
        .context("the certificate and key do not form a usable identity")?;
    let quic = QuicServerConfig::try_from(tls).context("TLS config unusable for QUIC")?;
    Ok(quinn::ServerConfig::with_crypto(Arc::new(quic)))
}

/// A QUIC client configuration trusting the given PEM certificates (CAs or self-signed).
pub fn client_config(trusted_pem: &[u8]) -> anyhow::Result<quinn::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(trusted_pem) {
        roots
            .add(cert.context("invalid PEM certificate")?)
            .context("certificate not usable as a root")?;
    }
    let tls = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .context("TLS 1.3 unavailable")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let quic = QuicClientConfig::try_from(tls).context("TLS config unusable for QUIC")?;
    Ok(quinn::ClientConfig::new(Arc::new(quic)))
}
