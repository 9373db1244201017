//! TLS material: the dev CA and server certificate, and the rustls server config.
//!
//! `--dev` makes a throw-away CA and a server certificate for `localhost` and
//! `127.0.0.1` signed by it, and the CLI trusts that CA through the `dev` profile. In
//! production the operator brings a certificate and key (`--tls-cert/--tls-key`). Either
//! way the server speaks HTTPS only.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::fsutil;

pub struct DevCerts {
    pub ca_cert: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Generate (or reuse, if present) the dev CA and server certificate in `dir`.
pub fn ensure_dev_certs(dir: &Path) -> std::io::Result<DevCerts> {
    let paths = DevCerts {
        ca_cert: dir.join("dev-ca.pem"),
        cert: dir.join("tls-cert.pem"),
        key: dir.join("tls-key.pem"),
    };
    if paths.ca_cert.exists() && paths.cert.exists() && paths.key.exists() {
        return Ok(paths);
    }
    let err = |e: rcgen::Error| std::io::Error::other(format!("generating dev certificate: {e}"));
    let now = time::OffsetDateTime::now_utc();

    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name
        .push(DnType::CommonName, "imadm dev CA (local only)");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = now - time::Duration::hours(1);
    ca.not_after = now + time::Duration::days(365);
    let ca_key = KeyPair::generate().map_err(err)?;
    let ca_cert = ca.self_signed(&ca_key).map_err(err)?;
    let issuer = Issuer::new(ca, ca_key);

    let mut leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .map_err(err)?;
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.not_before = now - time::Duration::hours(1);
    leaf.not_after = now + time::Duration::days(90);
    let leaf_key = KeyPair::generate().map_err(err)?;
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).map_err(err)?;

    fsutil::write_atomic(&paths.key, leaf_key.serialize_pem().as_bytes(), 0o600)?;
    // Public, but private like everything in the data dir: one rule is easier to check.
    fsutil::write_atomic(&paths.cert, leaf_cert.pem().as_bytes(), 0o600)?;
    fsutil::write_atomic(&paths.ca_cert, ca_cert.pem().as_bytes(), 0o600)?;
    Ok(paths)
}

/// A rustls server config from PEM files, HTTP/2 and HTTP/1.1 via ALPN.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("cannot read TLS certificate {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bad PEM in TLS certificate {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate found in {}", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read TLS key {}: {e}", key.display()))?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS certificate and key do not fit together: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Install the one crypto provider the whole process uses (aws-lc-rs). Idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// The CAs a TLS client of the server trusts (audit sinks, the PostgreSQL store): the PEM
/// certificates of `ca` (`what` names it in errors, e.g. `sslrootcert`), else the
/// system's. An empty system store is left to the caller to judge.
pub fn client_roots(ca: Option<&Path>, what: &str) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    let Some(ca) = ca else {
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        return Ok(roots);
    };
    for cert in CertificateDer::pem_file_iter(ca)
        .map_err(|e| format!("cannot read {what} {}: {e}", ca.display()))?
    {
        let cert = cert.map_err(|e| format!("bad PEM in {}: {e}", ca.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("bad CA certificate in {}: {e}", ca.display()))?;
    }
    if roots.is_empty() {
        return Err(format!("no certificate in {what} {}", ca.display()));
    }
    Ok(roots)
}
