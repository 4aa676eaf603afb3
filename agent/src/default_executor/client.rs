//! A small blocking HTTP/1.1 client for the default executor's calls to
//! its agent (`/api/v1/executor` and `/api/v1`). One connection per call;
//! the SUBSCRIBE response is read as a chunked RecordIO stream.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::Bytes;

/// A response: status code and whole body.
#[derive(Clone, Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Where the agent listens: `ip:port` and the agent process id
/// (`slave(1)`), from `MESOS_SLAVE_PID`.
#[derive(Clone, Debug)]
pub struct Agent {
    pub addr: String,
    pub id: String,
}

impl Agent {
    /// From a libprocess pid `slave(1)@10.0.0.1:5051`.
    pub fn from_pid(pid: &str) -> Option<Agent> {
        let (id, addr) = pid.split_once('@')?;
        if id.is_empty() || addr.is_empty() {
            return None;
        }
        Some(Agent {
            addr: addr.to_string(),
            id: id.to_string(),
        })
    }

    fn send(
        &self,
        path: &str,
        content_type: &str,
        body: &[u8],
        timeout: Option<Duration>,
    ) -> std::io::Result<BufReader<TcpStream>> {
        let s = TcpStream::connect(&self.addr)?;
        s.set_read_timeout(timeout)?;
        s.set_nodelay(true)?;
        let mut w = &s;
        write!(
            w,
            "POST /{}/{path} HTTP/1.1\r\nHost: {}\r\nContent-Type: {content_type}\r\n\
             Accept: {content_type}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
            self.id,
            self.addr,
            body.len()
        )?;
        w.write_all(body)?;
        w.flush()?;
        Ok(BufReader::new(s))
    }

    /// POSTs `body` to `/<agent id>/<path>` and reads the whole answer.
    pub fn post(
        &self,
        path: &str,
        content_type: &str,
        body: &[u8],
        timeout: Option<Duration>,
    ) -> std::io::Result<HttpResponse> {
        let mut r = self.send(path, content_type, body, timeout)?;
        let head = read_head(&mut r)?;
        let mut body = Vec::new();
        if head.chunked {
            while let Some(chunk) = read_chunk(&mut r)? {
                body.extend_from_slice(&chunk);
            }
        } else if let Some(n) = head.content_length {
            body.resize(n, 0);
            r.read_exact(&mut body)?;
        } else {
            r.read_to_end(&mut body)?;
        }
        Ok(HttpResponse {
            status: head.status,
            body,
        })
    }

    /// POSTs `body` and, on `200`, hands every RecordIO record of the
    /// streamed answer to `on_record` until the stream ends. Returns the
    /// status, with the body of a non-200 answer.
    pub fn post_stream(
        &self,
        path: &str,
        content_type: &str,
        body: &[u8],
        mut on_record: impl FnMut(Bytes),
    ) -> std::io::Result<HttpResponse> {
        let mut r = self.send(path, content_type, body, None)?;
        let head = read_head(&mut r)?;
        if head.status != 200 {
            let mut body = Vec::new();
            if let Some(n) = head.content_length {
                body.resize(n, 0);
                r.read_exact(&mut body)?;
            }
            return Ok(HttpResponse {
                status: head.status,
                body,
            });
        }
        let mut decoder = mesos_proto::recordio::Decoder::new(64 * 1024 * 1024);
        let mut feed = |chunk: &[u8]| -> std::io::Result<()> {
            let records = decoder
                .decode(chunk)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
            records.into_iter().for_each(&mut on_record);
            Ok(())
        };
        if head.chunked {
            while let Some(chunk) = read_chunk(&mut r)? {
                feed(&chunk)?;
            }
        } else {
            let mut buf = [0u8; 64 * 1024];
            loop {
                let n = r.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                feed(&buf[..n])?;
            }
        }
        Ok(HttpResponse {
            status: 200,
            body: Vec::new(),
        })
    }
}

struct Head {
    status: u16,
    chunked: bool,
    content_length: Option<usize>,
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

fn read_head(r: &mut impl BufRead) -> std::io::Result<Head> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed before a response",
        ));
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid("bad status line"))?;
    let mut head = Head {
        status,
        chunked: false,
        content_length: None,
    };
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(invalid("truncated headers"));
        }
        let l = line.trim_end();
        if l.is_empty() {
            return Ok(head);
        }
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim(), v.trim());
            if k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked") {
                head.chunked = true;
            } else if k.eq_ignore_ascii_case("content-length") {
                head.content_length = v.parse().ok();
            }
        }
    }
}

/// One chunk of a chunked body; `None` at the last (empty) chunk.
fn read_chunk(r: &mut impl BufRead) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
        .map_err(|_| invalid("bad chunk size"))?;
    if size == 0 {
        // Trailers end with an empty line.
        loop {
            line.clear();
            if r.read_line(&mut line)? == 0 || line.trim().is_empty() {
                return Ok(None);
            }
        }
    }
    let mut chunk = vec![0u8; size + 2];
    r.read_exact(&mut chunk)?;
    chunk.truncate(size);
    Ok(Some(chunk))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_chunked_and_sized_bodies() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let mut r = BufReader::new(&raw[..]);
        let head = read_head(&mut r).unwrap();
        assert!(head.chunked && head.status == 200);
        assert_eq!(read_chunk(&mut r).unwrap().unwrap(), b"abc");
        assert_eq!(read_chunk(&mut r).unwrap().unwrap(), b"de");
        assert!(read_chunk(&mut r).unwrap().is_none());
        let raw = b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope";
        let mut r = BufReader::new(&raw[..]);
        let head = read_head(&mut r).unwrap();
        assert_eq!((head.status, head.content_length), (404, Some(4)));
        assert!(Agent::from_pid("slave(1)@127.0.0.1:5051").is_some());
        assert!(Agent::from_pid("nonsense").is_none());
    }
}
