//! The libprocess HTTP transport: the wire format shared by every libprocess
//! peer, independent of any runtime.
//!
//! - [`encode`]: outbound messages as `POST /<id>/<name>` requests, byte for
//!   byte as libprocess 1.9 writes them (3rdparty/libprocess/src/encoder.hpp
//!   `MessageEncoder`), and HTTP responses (`HttpResponseEncoder`).
//! - [`decode`]: an incremental HTTP/1.1 request decoder for the inbound side
//!   (upstream's `StreamingRequestDecoder`, decoder.hpp), bounded in head and
//!   body size, plus the message-vs-endpoint classification of process.cpp.
//! - [`TransportConfig`]: the `LIBPROCESS_*` environment (process.cpp:176-270),
//!   including the `LIBPROCESS_SSL_*` settings ([`crate::tls::SslConfig`]).

pub mod decode;
pub mod encode;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::tls::SslConfig;

/// Default cap on a request body: far above any message Mesos sends (the
/// largest are registry snapshots of a few MiB) and low enough that a peer
/// cannot make us buffer without bound. Upstream has no cap.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024 * 1024;

/// Cap on a request's line plus headers; http_parser's `HTTP_MAX_HEADER_SIZE`
/// (80 KiB), which upstream's decoder inherits.
pub const DEFAULT_MAX_HEAD: usize = 80 * 1024;

/// Where the transport listens and what address it puts in its pids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportConfig {
    /// Address to bind (`LIBPROCESS_IP`, default 0.0.0.0).
    pub ip: IpAddr,
    /// Port to bind (`LIBPROCESS_PORT`, 0 = ephemeral).
    pub port: u16,
    /// Advertised IP (`LIBPROCESS_ADVERTISE_IP`): goes into pids, is not bound.
    pub advertise_ip: Option<IpAddr>,
    /// Advertised port (`LIBPROCESS_ADVERTISE_PORT`).
    pub advertise_port: Option<u16>,
    /// `LIBPROCESS_REQUIRE_PEER_ADDRESS_IP_MATCH`: reject (400) messages whose
    /// sender pid's IP differs from the connection's peer IP.
    pub require_peer_address_ip_match: bool,
    /// Largest request body accepted; larger ones get 413 and the connection closes.
    pub max_body: usize,
    /// Largest request line plus headers accepted.
    pub max_head: usize,
    /// Worker threads of the tokio runtime a `Runtime` owns
    /// (`LIBPROCESS_NUM_WORKER_THREADS`; default: the number of CPUs, at least 2).
    pub worker_threads: Option<usize>,
    /// TLS (`LIBPROCESS_SSL_*`, openssl.cpp); disabled by default.
    pub ssl: SslConfig,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 0,
            advertise_ip: None,
            advertise_port: None,
            require_peer_address_ip_match: false,
            max_body: DEFAULT_MAX_BODY,
            max_head: DEFAULT_MAX_HEAD,
            worker_threads: None,
            ssl: SslConfig::default(),
        }
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

impl TransportConfig {
    /// Loopback on an ephemeral port: what tests use.
    pub fn loopback() -> TransportConfig {
        TransportConfig::default().ip(IpAddr::V4(Ipv4Addr::LOCALHOST))
    }

    /// Reads the `LIBPROCESS_*` environment as libprocess does when it
    /// initializes (process.cpp:1076, flags at :176-270). Unset = default;
    /// a value that does not parse is an error (upstream exits with it).
    pub fn from_env() -> io::Result<TransportConfig> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// [`TransportConfig::from_env`] over an arbitrary variable lookup (for tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> io::Result<TransportConfig> {
        let mut c = TransportConfig::default();
        let ip = |k: &str| -> io::Result<Option<IpAddr>> {
            get(k)
                .map(|v| {
                    v.trim()
                        .parse::<IpAddr>()
                        .map_err(|e| invalid(format!("{k}={v:?}: {e}")))
                })
                .transpose()
        };
        let port = |k: &str| -> io::Result<Option<u16>> {
            get(k)
                .map(|v| {
                    v.trim()
                        .parse::<u16>()
                        .map_err(|e| invalid(format!("{k}={v:?}: {e}")))
                })
                .transpose()
        };
        if let Some(v) = ip("LIBPROCESS_IP")? {
            // Upstream's LIBPROCESS_IP is IPv4 only (LIBPROCESS_IP6 is separate).
            if !v.is_ipv4() {
                return Err(invalid(format!("LIBPROCESS_IP={v}: not an IPv4 address")));
            }
            c.ip = v;
        }
        if let Some(v) = port("LIBPROCESS_PORT")? {
            c.port = v;
        }
        c.advertise_ip = ip("LIBPROCESS_ADVERTISE_IP")?;
        c.advertise_port = port("LIBPROCESS_ADVERTISE_PORT")?;
        if let Some(v) = get("LIBPROCESS_REQUIRE_PEER_ADDRESS_IP_MATCH") {
            c.require_peer_address_ip_match = match v.trim() {
                "true" | "1" => true,
                "false" | "0" | "" => false,
                other => {
                    return Err(invalid(format!(
                        "LIBPROCESS_REQUIRE_PEER_ADDRESS_IP_MATCH={other:?}: not a boolean"
                    )))
                }
            };
        }
        if let Some(v) = get("LIBPROCESS_NUM_WORKER_THREADS") {
            let n = v
                .trim()
                .parse::<usize>()
                .map_err(|e| invalid(format!("LIBPROCESS_NUM_WORKER_THREADS={v:?}: {e}")))?;
            c.worker_threads = Some(n.max(1));
        }
        // Upstream reads these at the same start-up step (openssl.cpp
        // `reinitialize`, called from process::initialize).
        c.ssl = SslConfig::from_lookup(&get).map_err(|e| invalid(e.to_string()))?;
        Ok(c)
    }

    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.ip = ip;
        self
    }

    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    pub fn advertise_ip(mut self, ip: IpAddr) -> Self {
        self.advertise_ip = Some(ip);
        self
    }

    pub fn advertise_port(mut self, port: u16) -> Self {
        self.advertise_port = Some(port);
        self
    }

    pub fn require_peer_address_ip_match(mut self, on: bool) -> Self {
        self.require_peer_address_ip_match = on;
        self
    }

    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Sets the TLS configuration (instead of `LIBPROCESS_SSL_*`).
    pub fn ssl(mut self, ssl: SslConfig) -> Self {
        self.ssl = ssl;
        self
    }

    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = Some(n.max(1));
        self
    }

    /// The address processes advertise, given the address actually bound.
    /// An unspecified bound IP is replaced by the host name's first IPv4
    /// address, as upstream does (process.cpp:1138-1159), else loopback.
    pub fn advertised(&self, bound: SocketAddr) -> SocketAddr {
        let ip = match self.advertise_ip {
            Some(ip) => ip,
            None if bound.ip().is_unspecified() => {
                host_ip().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
            }
            None => bound.ip(),
        };
        SocketAddr::new(ip, self.advertise_port.unwrap_or(bound.port()))
    }
}

fn host_ip() -> Option<IpAddr> {
    use std::net::ToSocketAddrs;
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    (name.trim(), 0)
        .to_socket_addrs()
        .ok()?
        .find(|a| a.is_ipv4())
        .map(|a| a.ip())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn reads_libprocess_environment() {
        let c = TransportConfig::from_lookup(env(&[
            ("LIBPROCESS_IP", "127.0.0.1"),
            ("LIBPROCESS_PORT", "5050"),
            ("LIBPROCESS_ADVERTISE_IP", "10.1.2.3"),
            ("LIBPROCESS_ADVERTISE_PORT", "15050"),
        ]))
        .unwrap();
        assert_eq!(c.ip, "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(c.port, 5050);
        let bound: SocketAddr = "127.0.0.1:5050".parse().unwrap();
        assert_eq!(c.advertised(bound), "10.1.2.3:15050".parse().unwrap());
    }

    #[test]
    fn unset_environment_is_the_default() {
        let c = TransportConfig::from_lookup(env(&[])).unwrap();
        assert_eq!(c, TransportConfig::default());
        let bound: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        assert_eq!(c.advertised(bound), bound);
    }

    #[test]
    fn rejects_bad_values() {
        for (k, v) in [
            ("LIBPROCESS_IP", "nope"),
            ("LIBPROCESS_IP", "::1"),
            ("LIBPROCESS_PORT", "70000"),
            ("LIBPROCESS_ADVERTISE_PORT", "-1"),
            ("LIBPROCESS_REQUIRE_PEER_ADDRESS_IP_MATCH", "maybe"),
        ] {
            assert!(
                TransportConfig::from_lookup(env(&[(k, v)])).is_err(),
                "{k}={v} should be rejected"
            );
        }
    }
}
