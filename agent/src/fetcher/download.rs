//! A small blocking HTTP/1.1 `GET` for the fetcher (upstream uses libcurl
//! through `net::download`): plain or TLS (OpenSSL, the system's trust store
//! and hostname checks, as curl's defaults), redirects followed, chunked or
//! length-delimited bodies, and the stall timeout as a socket read timeout.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

const MAX_REDIRECTS: usize = 10;
const MAX_HEADER_BYTES: usize = 64 << 10;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// A parsed `http(s)://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub target: String,
}

impl Url {
    pub fn parse(url: &str) -> Result<Url, String> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else {
            return Err(format!("Unsupported URL scheme: {url}"));
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let (authority, target) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_string()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_string()),
        };
        // Credentials in the URL are not sent.
        let authority = authority.rsplit('@').next().unwrap_or_default();
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("Malformed URL host: {url}"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p
                    .parse()
                    .map_err(|_| format!("Malformed URL port: {url}"))?,
                None => default_port,
            };
            (h.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (
                    h.to_string(),
                    p.parse()
                        .map_err(|_| format!("Malformed URL port: {url}"))?,
                ),
                None => (authority.to_string(), default_port),
            }
        };
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("Malformed URL host: {url}"));
        }
        if target.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("Malformed URL path: {url}"));
        }
        Ok(Url {
            tls,
            host,
            port,
            target,
        })
    }

    fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == if self.tls { 443 } else { 80 } {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// A `Location` header relative to this URL.
    fn join(&self, location: &str) -> Result<Url, String> {
        if location.starts_with("http://") || location.starts_with("https://") {
            return Url::parse(location);
        }
        let scheme = if self.tls { "https" } else { "http" };
        let base = format!("{scheme}://{}", self.host_header());
        if location.starts_with('/') {
            return Url::parse(&format!("{base}{location}"));
        }
        let dir = self
            .target
            .split('?')
            .next()
            .and_then(|p| p.rsplit_once('/'))
            .map(|(d, _)| d)
            .unwrap_or("");
        Url::parse(&format!("{base}{dir}/{location}"))
    }
}

trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

fn connect(url: &Url, stall: Option<Duration>) -> Result<Box<dyn Stream>, String> {
    let addrs: Vec<_> = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|e| format!("Couldn't resolve host name '{}': {e}", url.host))?
        .collect();
    let mut last = format!("Couldn't resolve host name '{}'", url.host);
    for a in addrs {
        match TcpStream::connect_timeout(&a, CONNECT_TIMEOUT) {
            Ok(s) => {
                s.set_read_timeout(stall).map_err(|e| e.to_string())?;
                s.set_write_timeout(stall).map_err(|e| e.to_string())?;
                if !url.tls {
                    return Ok(Box::new(s));
                }
                let connector = openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls())
                    .map_err(|e| format!("TLS setup failed: {e}"))?
                    .build();
                let tls = connector
                    .connect(&url.host, s)
                    .map_err(|e| format!("TLS handshake with '{}' failed: {e}", url.host))?;
                return Ok(Box::new(tls));
            }
            Err(e) => last = format!("Failed to connect to {a}: {e}"),
        }
    }
    Err(last)
}

struct Head {
    code: u16,
    location: Option<String>,
    chunked: bool,
    length: Option<u64>,
}

fn read_head(r: &mut impl BufRead) -> Result<Head, String> {
    let mut raw = Vec::new();
    loop {
        let n = r
            .read_until(b'\n', &mut raw)
            .map_err(|e| format!("Failed to read response: {e}"))?;
        if n == 0 {
            return Err("Connection closed before the response header".into());
        }
        if raw.ends_with(b"\r\n\r\n") || raw.ends_with(b"\n\n") {
            break;
        }
        if raw.len() > MAX_HEADER_BYTES {
            return Err("Response header too large".into());
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 100];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(&raw) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err("Truncated response header".into()),
        Err(e) => return Err(format!("Malformed response: {e}")),
    }
    let get = |name: &str| {
        resp.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
            .map(|v| v.trim().to_string())
    };
    Ok(Head {
        code: resp.code.unwrap_or(0),
        location: get("location"),
        chunked: get("transfer-encoding")
            .map(|v| v.to_ascii_lowercase().contains("chunked"))
            .unwrap_or(false),
        length: get("content-length").and_then(|v| v.parse().ok()),
    })
}

fn copy_chunked(r: &mut impl BufRead, out: &mut impl Write) -> Result<(), String> {
    loop {
        let mut line = String::new();
        r.read_line(&mut line)
            .map_err(|e| format!("Failed to read chunk: {e}"))?;
        let size_text = line.trim().split(';').next().unwrap_or_default();
        let size = u64::from_str_radix(size_text, 16)
            .map_err(|_| format!("Malformed chunk size '{}'", line.trim()))?;
        if size == 0 {
            return Ok(());
        }
        let n = std::io::copy(&mut r.by_ref().take(size), out)
            .map_err(|e| format!("Failed to read chunk: {e}"))?;
        if n != size {
            return Err("Connection closed in the middle of a chunk".into());
        }
        let mut crlf = String::new();
        r.read_line(&mut crlf)
            .map_err(|e| format!("Failed to read chunk: {e}"))?;
    }
}

/// Upstream `net::contentLength` (curl `HEAD`, redirects followed): the
/// `Content-Length` of `url`, which the agent reserves in the fetcher cache
/// before the download. An answer other than 200, or one without a length,
/// is an error.
pub fn content_length(url: &str, stall: Option<Duration>) -> Result<u64, String> {
    let mut url = Url::parse(url)?;
    for _ in 0..=MAX_REDIRECTS {
        let mut stream = connect(&url, stall)?;
        let request = format!(
            "HEAD {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: mesos-fetcher/1.9.0\r\nAccept: */*\r\nConnection: close\r\n\r\n",
            url.target,
            url.host_header()
        );
        stream
            .write_all(request.as_bytes())
            .map_err(|e| format!("Failed to send request: {e}"))?;
        let head = read_head(&mut BufReader::new(stream))?;
        if matches!(head.code, 301 | 302 | 303 | 307 | 308) {
            if let Some(loc) = &head.location {
                url = url.join(loc)?;
                continue;
            }
        }
        if head.code != 200 {
            return Err(format!("HEAD request returned HTTP code {}", head.code));
        }
        return head
            .length
            .ok_or_else(|| "No URL content-length available".to_string());
    }
    Err(format!("Maximum ({MAX_REDIRECTS}) redirects followed"))
}

/// Downloads `url` into `dest`; returns the final HTTP status. The file is
/// written only for a 200.
pub fn download(url: &str, dest: &Path, stall: Option<Duration>) -> Result<u16, String> {
    let mut url = Url::parse(url)?;
    for _ in 0..=MAX_REDIRECTS {
        let mut stream = connect(&url, stall)?;
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: mesos-fetcher/1.9.0\r\nAccept: */*\r\nConnection: close\r\n\r\n",
            url.target,
            url.host_header()
        );
        stream
            .write_all(request.as_bytes())
            .map_err(|e| format!("Failed to send request: {e}"))?;
        let mut r = BufReader::new(stream);
        let head = read_head(&mut r)?;
        if matches!(head.code, 301 | 302 | 303 | 307 | 308) {
            if let Some(loc) = &head.location {
                url = url.join(loc)?;
                continue;
            }
        }
        if head.code != 200 {
            return Ok(head.code);
        }
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(dest)
                .map_err(|e| format!("Failed to create '{}': {e}", dest.display()))?,
        );
        if head.chunked {
            copy_chunked(&mut r, &mut out)?;
        } else if let Some(len) = head.length {
            let n = std::io::copy(&mut r.by_ref().take(len), &mut out)
                .map_err(|e| format!("Failed to read body: {e}"))?;
            if n != len {
                return Err(format!("Transferred a partial file ({n} of {len} bytes)"));
            }
        } else {
            std::io::copy(&mut r, &mut out).map_err(|e| format!("Failed to read body: {e}"))?;
        }
        out.flush()
            .map_err(|e| format!("Failed to write '{}': {e}", dest.display()))?;
        return Ok(200);
    }
    Err(format!("Maximum ({MAX_REDIRECTS}) redirects followed"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn parses_urls() {
        let u = Url::parse("http://h:8080/a/b?x=1#frag").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.target.as_str()),
            ("h", 8080, "/a/b?x=1")
        );
        let u = Url::parse("https://user:pw@[::1]/x").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.tls), ("::1", 443, true));
        assert_eq!(Url::parse("http://h").unwrap().target, "/");
        assert!(Url::parse("http://h:bad/").is_err());
        assert!(Url::parse("http:///x").is_err());
        assert!(Url::parse("http://h/a b").is_err());
        let base = Url::parse("http://h:81/d/f").unwrap();
        assert_eq!(base.join("/z").unwrap().target, "/z");
        assert_eq!(base.join("g").unwrap().target, "/d/g");
        assert_eq!(base.join("g").unwrap().port, 81);
    }

    /// Serves canned responses, one per connection.
    fn serve(responses: Vec<Vec<u8>>) -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for resp in responses {
                let (mut s, _) = l.accept().unwrap();
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(&resp);
            }
        });
        port
    }

    #[test]
    fn downloads_chunked_after_a_redirect() {
        let port = serve(vec![
            b"HTTP/1.1 302 Found\r\nLocation: /real\r\nContent-Length: 0\r\n\r\n".to_vec(),
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
                .to_vec(),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        let code = download(
            &format!("http://127.0.0.1:{port}/x"),
            &dest,
            Some(Duration::from_secs(10)),
        )
        .unwrap();
        assert_eq!(code, 200);
        assert_eq!(std::fs::read(&dest).unwrap(), b"hello world");
    }

    /// A TLS server with a self-signed certificate, for one connection.
    fn self_signed_server() -> u16 {
        use openssl::{asn1, hash, pkey, rsa, ssl, x509};
        let key = pkey::PKey::from_rsa(rsa::Rsa::generate(2048).unwrap()).unwrap();
        let mut name = x509::X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "127.0.0.1").unwrap();
        let name = name.build();
        let mut b = x509::X509Builder::new().unwrap();
        b.set_version(2).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&asn1::Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&asn1::Asn1Time::days_from_now(1).unwrap())
            .unwrap();
        b.sign(&key, hash::MessageDigest::sha256()).unwrap();
        let cert = b.build();
        let mut acc = ssl::SslAcceptor::mozilla_intermediate_v5(ssl::SslMethod::tls()).unwrap();
        acc.set_private_key(&key).unwrap();
        acc.set_certificate(&cert).unwrap();
        let acc = acc.build();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((s, _)) = l.accept() {
                if let Ok(mut t) = acc.accept(s) {
                    let _ = t.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno");
                }
            }
        });
        port
    }

    #[test]
    fn untrusted_tls_certificates_are_refused() {
        let port = self_signed_server();
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        let e = download(
            &format!("https://127.0.0.1:{port}/x"),
            &dest,
            Some(Duration::from_secs(10)),
        )
        .unwrap_err();
        assert!(e.contains("TLS handshake"), "{e}");
        assert!(!dest.exists());
    }

    #[test]
    fn content_length_follows_redirects_and_needs_a_length() {
        let port = serve(vec![
            b"HTTP/1.1 301 Moved\r\nLocation: /real\r\nContent-Length: 0\r\n\r\n".to_vec(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n".to_vec(),
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec(),
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\n".to_vec(),
        ]);
        let url = format!("http://127.0.0.1:{port}/x");
        let stall = Some(Duration::from_secs(10));
        assert_eq!(content_length(&url, stall).unwrap(), 1234);
        assert!(content_length(&url, stall)
            .unwrap_err()
            .contains("No URL content-length"));
        assert!(content_length(&url, stall).unwrap_err().contains("404"));
    }

    #[test]
    fn reports_non_200_and_short_bodies() {
        let port = serve(vec![
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".to_vec(),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        let url = format!("http://127.0.0.1:{port}/x");
        assert_eq!(
            download(&url, &dest, Some(Duration::from_secs(10))).unwrap(),
            404
        );
        assert!(!dest.exists());
        let e = download(&url, &dest, Some(Duration::from_secs(10))).unwrap_err();
        assert!(e.contains("partial"), "{e}");
    }
}
