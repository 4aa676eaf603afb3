//! Per-connection certificate policy, as libprocess 1.9 applies it
//! (3rdparty/libprocess/src/openssl.cpp `configure_socket` and `verify`).
//!
//! 1.9 semantics (docs/ssl.md, docs/upgrades.md "1.9.x client certificate
//! verification"):
//! - client mode: with `VERIFY_CERT` the server certificate is verified in the
//!   handshake (chain, expiry); without it, it is still required (OpenSSL
//!   needs one unless an anonymous cipher is used) but not checked;
//! - server mode: with `REQUIRE_CERT` a client certificate is requested,
//!   required and verified; without it none is even requested;
//! - `openssl` scheme: the client hands the expected hostname (or, without
//!   one, the peer IP if `VERIFY_IPADD`) to OpenSSL, which checks it in the
//!   handshake; the server checks no name;
//! - `legacy` scheme: after the handshake, both sides reverse-resolve the
//!   peer IP and compare it with the certificate ([`legacy_match`]).

use std::ffi::CStr;
use std::net::{IpAddr, SocketAddr};

use openssl::nid::Nid;
use openssl::ssl::{Ssl, SslRef, SslVerifyMode};
use openssl::x509::{X509Ref, X509StoreContextRef, X509VerifyResult};

use super::{HostnameValidationScheme, SslConfig, TlsError};

/// Which end of the connection we are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// We connected.
    Client,
    /// We accepted.
    Server,
}

/// Logs why OpenSSL rejected a certificate, as upstream's `verify_callback`
/// does; the decision itself is left to OpenSSL.
fn log_verify_failure(ok: bool, store: &mut X509StoreContextRef) -> bool {
    if !ok {
        let depth = store.error_depth();
        let error = store.error();
        let (issuer, subject) = store
            .current_cert()
            .map(|c| (name_text(c.issuer_name()), name_text(c.subject_name())))
            .unwrap_or_default();
        tracing::warn!(
            "Error with certificate at depth: {depth}; Issuer: {issuer}; Subject: {subject}; Error ({}): {}",
            error.as_raw(),
            error.error_string()
        );
    }
    ok
}

fn name_text(name: &openssl::x509::X509NameRef) -> String {
    name.entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?");
            let value = e.data().to_string().unwrap_or_else(|_| "?".to_string());
            format!("/{key}={value}")
        })
        .collect()
}

/// Sets up the `Ssl` of one connection before its handshake
/// (`configure_socket`). `hostname` is the name the peer was addressed by
/// (a UPID's host), `None` when addressed by IP.
pub fn configure(
    ssl: &mut Ssl,
    config: &SslConfig,
    mode: Mode,
    peer: SocketAddr,
    hostname: Option<&str>,
) -> Result<(), TlsError> {
    match mode {
        Mode::Client if config.verify_cert => {
            ssl.set_verify_callback(SslVerifyMode::PEER, log_verify_failure);
        }
        Mode::Server if config.require_cert => {
            ssl.set_verify_callback(
                SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT,
                log_verify_failure,
            );
        }
        _ => {}
    }

    // The `openssl` scheme checks names in the handshake, client side only:
    // which client identities are acceptable is application policy upstream
    // leaves open.
    if config.hostname_validation_scheme == HostnameValidationScheme::Openssl
        && mode == Mode::Client
        && config.verify_cert
    {
        let configure_err = |reason: String| TlsError::Configure { peer, reason };
        let param = ssl.param_mut();
        match hostname {
            Some(host) => param
                .set_host(host)
                .map_err(|e| configure_err(format!("could not enable x509 hostname check: {e}")))?,
            None => {
                if !config.verify_ipadd {
                    return Err(configure_err(
                        "no DNS name given and IP address verification is disabled \
                         (the 'openssl' hostname validation scheme needs \
                         LIBPROCESS_SSL_VERIFY_IPADD=true to connect by IP)"
                            .to_string(),
                    ));
                }
                param
                    .set_ip(peer.ip())
                    .map_err(|e| configure_err(format!("could not enable x509 IP check: {e}")))?
            }
        }
    }
    Ok(())
}

/// Explains a failed handshake: OpenSSL's error plus, when a certificate was
/// the reason, the verification result ("certificate has expired", "hostname
/// mismatch", ...).
pub fn handshake_reason(ssl: &SslRef, error: &dyn std::fmt::Display) -> String {
    let result = ssl.verify_result();
    if result != X509VerifyResult::OK {
        format!(
            "{error} (certificate verification: {})",
            result.error_string()
        )
    } else {
        format!("{error}")
    }
}

/// The post-handshake check (`verify`): presence and validity of the peer
/// certificate, then the `legacy` hostname validation. `ip` is the peer IP,
/// reverse-resolved for `legacy` as upstream does (a blocking lookup, run off
/// the async threads).
pub async fn post_handshake(
    ssl: &SslRef,
    config: &SslConfig,
    mode: Mode,
    hostname: Option<&str>,
    ip: Option<IpAddr>,
) -> Result<(), String> {
    match mode {
        Mode::Client if !config.verify_cert => return Ok(()),
        Mode::Server if !config.require_cert => return Ok(()),
        _ => {}
    }
    // Also catches an anonymous cipher, which would skip verification: 1.9
    // refuses those when verifying (docs/upgrades.md).
    let cert = ssl
        .peer_certificate()
        .ok_or_else(|| "Peer did not provide certificate".to_string())?;
    if ssl.verify_result() != X509VerifyResult::OK {
        return Err(format!(
            "Could not verify peer certificate: {}",
            ssl.verify_result().error_string()
        ));
    }
    if config.hostname_validation_scheme == HostnameValidationScheme::Openssl {
        // Checked in the handshake (client) or not at all (server).
        return Ok(());
    }
    // Legacy: the reverse lookup result replaces the given hostname.
    let mut peer_hostname = hostname.map(str::to_string);
    if let Some(ip) = ip {
        let started = std::time::Instant::now();
        let lookup = tokio::task::spawn_blocking(move || reverse_dns(ip))
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
        if started.elapsed() > std::time::Duration::from_millis(100) {
            // Upstream warns too (MESOS-9339): slow rDNS stalls connections.
            tracing::warn!(
                "Reverse DNS lookup for '{ip}' took {}ms",
                started.elapsed().as_millis()
            );
        }
        match lookup {
            Ok(name) => peer_hostname = Some(name),
            Err(e) => tracing::debug!("Could not determine hostname of peer {ip}: {e}"),
        }
    }
    legacy_match(
        &cert,
        peer_hostname.as_deref(),
        ip,
        config.verify_ipadd,
        config.require_cert,
    )
}

/// The `legacy` hostname validation of openssl.cpp `verify`, on an already
/// resolved peer hostname. Kept exactly, including its quirks:
/// - with no hostname and no `VERIFY_IPADD` the check passes unless
///   `REQUIRE_CERT` is set;
/// - SAN DNS names are compared case-sensitively, without wildcards;
/// - SAN IPs count only with `VERIFY_IPADD`;
/// - when no SAN matched, the first CN decides, even if SANs exist.
pub fn legacy_match(
    cert: &X509Ref,
    peer_hostname: Option<&str>,
    ip: Option<IpAddr>,
    verify_ipadd: bool,
    require_cert: bool,
) -> Result<(), String> {
    if !verify_ipadd && peer_hostname.is_none() {
        return if require_cert {
            Err("Cannot verify peer certificate: peer hostname unknown".to_string())
        } else {
            Ok(())
        };
    }
    if let Some(sans) = cert.subject_alt_names() {
        for name in sans.iter() {
            if let (Some(dns), Some(host)) = (name.dnsname(), peer_hostname) {
                if dns == host {
                    return Ok(());
                }
            }
            if let (Some(bytes), Some(ip), true) = (name.ipaddress(), ip, verify_ipadd) {
                let matches = match ip {
                    IpAddr::V4(v4) => bytes == v4.octets(),
                    IpAddr::V6(v6) => bytes == v6.octets(),
                };
                if matches {
                    return Ok(());
                }
            }
        }
    }
    if let Some(host) = peer_hostname {
        if let Some(cn) = cert.subject_name().entries_by_nid(Nid::COMMONNAME).next() {
            let cn = cn.data().to_string().unwrap_or_default();
            return if cn == host {
                Ok(())
            } else {
                Err(format!(
                    "Presented Certificate Name: {cn} does not match peer hostname name: {host}"
                ))
            };
        }
    }
    let mut details = Vec::new();
    if let Some(h) = peer_hostname {
        details.push(format!("hostname {h}"));
    }
    if let Some(ip) = ip {
        details.push(format!("IP {ip}"));
    }
    Err(format!(
        "Could not verify presented certificate with {}",
        details.join(", ")
    ))
}

/// The first name `getnameinfo(NI_NAMEREQD)` gives for `ip`, as stout's
/// `net::getHostname` (blocking).
pub fn reverse_dns(ip: IpAddr) -> Result<String, String> {
    let sa = socket2_addr(ip);
    let mut host = [0 as libc::c_char; 1025];
    // SAFETY: `sa` is a properly initialised sockaddr of the given length;
    // `host` is a writable buffer whose length we pass; no service buffer.
    let rc = unsafe {
        libc::getnameinfo(
            sa.as_ptr(),
            sa.len(),
            host.as_mut_ptr(),
            host.len() as libc::socklen_t,
            std::ptr::null_mut(),
            0,
            libc::NI_NAMEREQD,
        )
    };
    if rc != 0 {
        // SAFETY: gai_strerror returns a static NUL-terminated string.
        let msg = unsafe { CStr::from_ptr(libc::gai_strerror(rc)) };
        return Err(msg.to_string_lossy().into_owned());
    }
    // SAFETY: on success getnameinfo NUL-terminates `host`.
    let name = unsafe { CStr::from_ptr(host.as_ptr()) };
    Ok(name.to_string_lossy().into_owned())
}

/// A `sockaddr_in`/`sockaddr_in6` for `ip` (port 0).
enum RawAddr {
    V4(libc::sockaddr_in),
    V6(libc::sockaddr_in6),
}

impl RawAddr {
    fn as_ptr(&self) -> *const libc::sockaddr {
        match self {
            RawAddr::V4(a) => a as *const libc::sockaddr_in as *const libc::sockaddr,
            RawAddr::V6(a) => a as *const libc::sockaddr_in6 as *const libc::sockaddr,
        }
    }
    fn len(&self) -> libc::socklen_t {
        (match self {
            RawAddr::V4(_) => std::mem::size_of::<libc::sockaddr_in>(),
            RawAddr::V6(_) => std::mem::size_of::<libc::sockaddr_in6>(),
        }) as libc::socklen_t
    }
}

fn socket2_addr(ip: IpAddr) -> RawAddr {
    match ip {
        IpAddr::V4(v4) => {
            // SAFETY: all-zero is a valid sockaddr_in.
            let mut a: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            a.sin_family = libc::AF_INET as libc::sa_family_t;
            a.sin_addr.s_addr = u32::from_ne_bytes(v4.octets());
            RawAddr::V4(a)
        }
        IpAddr::V6(v6) => {
            // SAFETY: all-zero is a valid sockaddr_in6.
            let mut a: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            a.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            a.sin6_addr.s6_addr = v6.octets();
            RawAddr::V6(a)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::testing::{CertSpec, Pki};

    #[test]
    fn legacy_rules() {
        let pki = Pki::generate().unwrap();
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let valid = pki.issue(&CertSpec::server("localhost")).unwrap();
        let cert = &valid.cert;
        // SAN DNS match.
        assert!(legacy_match(cert, Some("localhost"), Some(lo), false, true).is_ok());
        // SAN IP only counts with VERIFY_IPADD.
        assert!(legacy_match(cert, Some("other"), Some(lo), true, true).is_ok());
        let e = legacy_match(cert, Some("other"), Some(lo), false, true).unwrap_err();
        assert!(
            e.contains("does not match peer hostname name: other"),
            "{e}"
        );
        // Unknown hostname, no VERIFY_IPADD: only REQUIRE_CERT makes it fail.
        assert!(legacy_match(cert, None, Some(lo), false, false).is_ok());
        assert!(legacy_match(cert, None, Some(lo), false, true).is_err());
        // CN fallback even though SANs exist.
        let cn_only = pki
            .issue(&CertSpec {
                dns: vec!["a.example".into()],
                ..CertSpec::server("b.example")
            })
            .unwrap();
        assert!(legacy_match(&cn_only.cert, Some("b.example"), None, false, true).is_ok());
        // Case-sensitive, no wildcards.
        assert!(legacy_match(cert, Some("LOCALHOST"), None, false, true).is_err());
    }

    #[test]
    fn reverse_dns_of_loopback() {
        // /etc/hosts maps 127.0.0.1 on any sane machine; the name is what the
        // legacy scheme compares, so only insist that a name comes back.
        let name = reverse_dns("127.0.0.1".parse().unwrap()).unwrap();
        assert!(!name.is_empty());
    }
}
