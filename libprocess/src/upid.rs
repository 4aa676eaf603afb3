//! Process identifiers: `id@ip:port`, as libprocess prints and parses them
//! (3rdparty/libprocess/src/pid.cpp).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use crate::Error;

/// A libprocess process identifier: the process id plus the address of the
/// process manager that hosts it.
///
/// Cloning is cheap (the id is shared). Equality and ordering cover id and
/// address, not the `host` name a pid was parsed from (upstream compares the
/// same way: `UPID::operator==` ignores `host`).
#[derive(Clone)]
pub struct Upid {
    id: Arc<str>,
    addr: SocketAddr,
    host: Option<Arc<str>>,
}

impl Upid {
    pub fn new(id: impl Into<Arc<str>>, addr: SocketAddr) -> Self {
        Upid {
            id: id.into(),
            addr,
            host: None,
        }
    }

    /// The process id, e.g. `master`, `slave(1)`, `scheduler-<uuid>`.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn ip(&self) -> IpAddr {
        self.addr.ip()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The host name this pid was parsed from when it was not an IP literal
    /// (kept for TLS hostname validation, as upstream keeps `UPID.host`).
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// Another process on the same process manager.
    pub fn with_id(&self, id: impl Into<Arc<str>>) -> Upid {
        Upid {
            id: id.into(),
            addr: self.addr,
            host: self.host.clone(),
        }
    }

    /// Parses `id@host:port`. Hosts that are not IP literals are resolved with
    /// the system resolver (IPv4, as upstream); `[v6]:port` is also accepted.
    pub fn parse(s: &str) -> Result<Upid, Error> {
        Self::parse_with(s, |host| {
            use std::net::ToSocketAddrs;
            (host, 0)
                .to_socket_addrs()
                .ok()?
                .find(|a| a.is_ipv4())
                .map(|a| a.ip())
        })
    }

    /// Parses without touching DNS: host names are an error.
    pub fn parse_literal(s: &str) -> Result<Upid, Error> {
        Self::parse_with(s, |_| None)
    }

    fn parse_with(s: &str, resolve: impl Fn(&str) -> Option<IpAddr>) -> Result<Upid, Error> {
        let bad = || Error::BadPid(s.to_string());
        let s = s.trim();
        let (id, rest) = s.split_once('@').ok_or_else(bad)?;
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (h, p) = v6.split_once("]:").ok_or_else(bad)?;
            (h, p)
        } else {
            rest.split_once(':').ok_or_else(bad)?
        };
        // Upstream reads the port with sscanf("%hu"): leading digits only.
        let digits: &str = &port[..port.bytes().take_while(u8::is_ascii_digit).count()];
        let port: u16 = digits.parse().map_err(|_| bad())?;
        let (ip, hostname) = match IpAddr::from_str(host) {
            Ok(ip) => (ip, None),
            Err(_) if !host.is_empty() => (resolve(host).ok_or_else(bad)?, Some(Arc::from(host))),
            Err(_) => return Err(bad()),
        };
        Ok(Upid {
            id: Arc::from(id),
            addr: SocketAddr::new(ip, port),
            host: hostname,
        })
    }
}

impl Default for Upid {
    fn default() -> Self {
        Upid::new("", SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0))
    }
}

impl PartialEq for Upid {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.addr == other.addr
    }
}

impl Eq for Upid {}

impl std::hash::Hash for Upid {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
        self.addr.hash(state);
    }
}

impl PartialOrd for Upid {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Upid {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&*self.id, self.addr).cmp(&(&*other.id, other.addr))
    }
}

impl fmt::Display for Upid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `SocketAddr` prints `ip:port` and `[v6]:port`, as libprocess' Address does.
        write!(f, "{}@{}", self.id, self.addr)
    }
}

impl fmt::Debug for Upid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Upid {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Upid::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_ipv4() {
        let p = Upid::parse("slave(1)@127.0.0.1:5051").unwrap();
        assert_eq!(p.id(), "slave(1)");
        assert_eq!(p.port(), 5051);
        assert_eq!(p.to_string(), "slave(1)@127.0.0.1:5051");
    }

    #[test]
    fn ids_may_contain_colons_and_at_is_the_first_split() {
        let p = Upid::parse_literal("scheduler-1a2b@10.0.0.1:5050").unwrap();
        assert_eq!(p.id(), "scheduler-1a2b");
        assert_eq!(p.ip(), "10.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn parses_and_prints_ipv6() {
        let p = Upid::parse_literal("master@[::1]:5050").unwrap();
        assert_eq!(p.to_string(), "master@[::1]:5050");
    }

    #[test]
    fn port_takes_leading_digits_like_sscanf() {
        let p = Upid::parse_literal("master@127.0.0.1:5050/extra").unwrap();
        assert_eq!(p.port(), 5050);
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "",
            "master",
            "master@",
            "master@127.0.0.1",
            "master@127.0.0.1:x",
            "@:",
            "m@[::1:5",
        ] {
            assert!(Upid::parse_literal(s).is_err(), "{s:?} should not parse");
        }
    }

    #[test]
    fn empty_id_is_allowed() {
        let p = Upid::parse_literal("@127.0.0.1:1").unwrap();
        assert_eq!(p.id(), "");
    }

    #[test]
    fn equality_ignores_host_name() {
        let a = Upid::parse("m@localhost:1").unwrap();
        let b = Upid::parse_literal("m@127.0.0.1:1").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.host(), Some("localhost"));
    }
}
