//! A throw-away PKI for tests and benches: a CA, and certificates it (or
//! another CA) issues with chosen names, addresses and validity, written as
//! PEM files under a temporary directory removed on drop.

use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName, SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509NameBuilder, X509};

use super::SslConfig;

fn ossl(e: openssl::error::ErrorStack) -> io::Error {
    io::Error::other(e)
}

/// What to put in a certificate.
#[derive(Clone, Debug)]
pub struct CertSpec {
    /// Subject CN.
    pub cn: String,
    /// SAN DNS names.
    pub dns: Vec<String>,
    /// SAN IP addresses.
    pub ips: Vec<IpAddr>,
    /// Validity start, in days from now (negative = past).
    pub not_before_days: i64,
    /// Validity end, in days from now.
    pub not_after_days: i64,
}

impl CertSpec {
    /// CN and SAN DNS `host`, SAN IP 127.0.0.1, valid from yesterday for a
    /// year: what a peer on loopback presents.
    pub fn server(host: &str) -> CertSpec {
        CertSpec {
            cn: host.to_string(),
            dns: vec![host.to_string()],
            ips: vec![IpAddr::from([127, 0, 0, 1])],
            not_before_days: -1,
            not_after_days: 365,
        }
    }

    /// Makes the certificate expired (valid from 30 to 1 days ago).
    pub fn expired(mut self) -> CertSpec {
        self.not_before_days = -30;
        self.not_after_days = -1;
        self
    }
}

/// A certificate with its key and PEM files.
pub struct Issued {
    /// The certificate.
    pub cert: X509,
    /// Its private key.
    pub key: PKey<Private>,
    /// PEM of `cert`.
    pub cert_file: PathBuf,
    /// PEM of `key` (unencrypted PKCS#8).
    pub key_file: PathBuf,
}

/// A CA and the directory its files live in.
pub struct Pki {
    dir: PathBuf,
    ca_cert: X509,
    ca_key: PKey<Private>,
    ca_file: PathBuf,
    serial: AtomicU32,
    next_file: AtomicU32,
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn rsa_key() -> io::Result<PKey<Private>> {
    // RSA 2048: the 1.0.2 reference peer's default suites (AES128-SHA) use
    // RSA key exchange, and OpenSSL 3's security level wants >= 2048 bits.
    PKey::from_rsa(Rsa::generate(2048).map_err(ossl)?).map_err(ossl)
}

fn time(days: i64) -> io::Result<Asn1Time> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(io::Error::other)?
        .as_secs() as i64;
    Asn1Time::from_unix((now + days * 86_400) as libc::time_t).map_err(ossl)
}

impl Pki {
    /// A new CA (CN "libprocess test CA") in a fresh temporary directory.
    pub fn generate() -> io::Result<Pki> {
        Self::generate_named("libprocess test CA")
    }

    /// A new CA with the given CN.
    pub fn generate_named(ca_cn: &str) -> io::Result<Pki> {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "libprocess-tls-{}-{}-{:08x}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir)?;

        let ca_key = rsa_key()?;
        let mut name = X509NameBuilder::new().map_err(ossl)?;
        name.append_entry_by_text("CN", ca_cn).map_err(ossl)?;
        let name = name.build();
        let mut b = X509Builder::new().map_err(ossl)?;
        b.set_version(2).map_err(ossl)?;
        let sn = serial(1)?;
        b.set_serial_number(&sn).map_err(ossl)?;
        b.set_subject_name(&name).map_err(ossl)?;
        b.set_issuer_name(&name).map_err(ossl)?;
        b.set_pubkey(&ca_key).map_err(ossl)?;
        let (nb, na) = (time(-1)?, time(3650)?);
        b.set_not_before(&nb).map_err(ossl)?;
        b.set_not_after(&na).map_err(ossl)?;
        b.append_extension(
            BasicConstraints::new()
                .critical()
                .ca()
                .build()
                .map_err(ossl)?,
        )
        .map_err(ossl)?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()
                .map_err(ossl)?,
        )
        .map_err(ossl)?;
        let ski = SubjectKeyIdentifier::new()
            .build(&b.x509v3_context(None, None))
            .map_err(ossl)?;
        b.append_extension(ski).map_err(ossl)?;
        b.sign(&ca_key, MessageDigest::sha256()).map_err(ossl)?;
        let ca_cert = b.build();
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, ca_cert.to_pem().map_err(ossl)?)?;
        Ok(Pki {
            dir,
            ca_cert,
            ca_key,
            ca_file,
            serial: AtomicU32::new(2),
            next_file: AtomicU32::new(0),
        })
    }

    /// The CA certificate.
    pub fn ca_cert(&self) -> &X509 {
        &self.ca_cert
    }

    /// The CA certificate's PEM file (for `LIBPROCESS_SSL_CA_FILE`).
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The directory holding every file of this PKI.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Issues a leaf certificate (server and client auth) signed by this CA.
    pub fn issue(&self, spec: &CertSpec) -> io::Result<Issued> {
        let key = rsa_key()?;
        let mut name = X509NameBuilder::new().map_err(ossl)?;
        name.append_entry_by_text("CN", &spec.cn).map_err(ossl)?;
        let name = name.build();
        let mut b = X509Builder::new().map_err(ossl)?;
        b.set_version(2).map_err(ossl)?;
        let sn = serial(self.serial.fetch_add(1, Ordering::Relaxed))?;
        b.set_serial_number(&sn).map_err(ossl)?;
        b.set_subject_name(&name).map_err(ossl)?;
        b.set_issuer_name(self.ca_cert.subject_name())
            .map_err(ossl)?;
        b.set_pubkey(&key).map_err(ossl)?;
        let (nb, na) = (time(spec.not_before_days)?, time(spec.not_after_days)?);
        b.set_not_before(&nb).map_err(ossl)?;
        b.set_not_after(&na).map_err(ossl)?;
        b.append_extension(BasicConstraints::new().build().map_err(ossl)?)
            .map_err(ossl)?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .key_encipherment()
                .build()
                .map_err(ossl)?,
        )
        .map_err(ossl)?;
        b.append_extension(
            ExtendedKeyUsage::new()
                .server_auth()
                .client_auth()
                .build()
                .map_err(ossl)?,
        )
        .map_err(ossl)?;
        if !spec.dns.is_empty() || !spec.ips.is_empty() {
            let mut san = SubjectAlternativeName::new();
            for d in &spec.dns {
                san.dns(d);
            }
            for ip in &spec.ips {
                san.ip(&ip.to_string());
            }
            let san = san
                .build(&b.x509v3_context(Some(&self.ca_cert), None))
                .map_err(ossl)?;
            b.append_extension(san).map_err(ossl)?;
        }
        b.sign(&self.ca_key, MessageDigest::sha256())
            .map_err(ossl)?;
        let cert = b.build();

        let n = self.next_file.fetch_add(1, Ordering::Relaxed);
        let cert_file = self.dir.join(format!("cert-{n}.pem"));
        let key_file = self.dir.join(format!("key-{n}.pem"));
        std::fs::write(&cert_file, cert.to_pem().map_err(ossl)?)?;
        std::fs::write(&key_file, key.private_key_to_pem_pkcs8().map_err(ossl)?)?;
        Ok(Issued {
            cert,
            key,
            cert_file,
            key_file,
        })
    }

    /// Writes arbitrary bytes to a file in this PKI's directory (for broken
    /// inputs in tests).
    pub fn write_file(&self, name: &str, contents: &[u8]) -> io::Result<PathBuf> {
        let p = self.dir.join(name);
        std::fs::write(&p, contents)?;
        Ok(p)
    }

    /// An enabled [`SslConfig`] presenting `who` and trusting this CA; every
    /// other field at its default.
    pub fn config(&self, who: &Issued) -> SslConfig {
        SslConfig {
            enabled: true,
            cert_file: Some(who.cert_file.clone()),
            key_file: Some(who.key_file.clone()),
            ca_file: Some(self.ca_file.clone()),
            ..SslConfig::default()
        }
    }
}

fn serial(n: u32) -> io::Result<Asn1Integer> {
    BigNum::from_u32(n)
        .and_then(|b| b.to_asn1_integer())
        .map_err(ossl)
}
