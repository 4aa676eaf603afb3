//! Shared pieces of the tokio runtime tests: test actors, a plain blocking
//! HTTP/1.1 client that reads exactly what the server writes, and waiting.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bytes::Bytes;
use libprocess::http::{Response, ResponseHead, StreamSender};
use libprocess::{Actor, Cx, Request, Responder, Routes, Upid};

/// Polls `cond` until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Answers `ping` with `pong` (same body) to the sender, and serves
/// `state`, `` (the root) and a streaming `events` endpoint.
#[derive(Default)]
pub struct Echo {
    pub pings: usize,
    pub last_from: Option<Upid>,
    pub stream: Option<StreamSender>,
    pub closed: usize,
}

impl Actor for Echo {
    fn install(r: &mut Routes<Self>) {
        r.raw("ping", Echo::ping);
        r.http("state", Echo::state);
        r.http("", Echo::root);
        r.http("events", Echo::events);
        r.http("slow", Echo::slow);
        r.http("never", Echo::never);
    }
}

impl Echo {
    fn ping(&mut self, cx: &mut Cx<'_, Self>, from: Upid, body: Bytes) {
        self.pings += 1;
        self.last_from = Some(from.clone());
        cx.send_raw(&from, "pong", body);
    }

    fn state(&mut self, _cx: &mut Cx<'_, Self>, req: Request, resp: Responder) {
        resp.respond(Response::json(format!(
            "{{\"pings\":{},\"path\":\"{}\",\"endpoint\":\"{}\",\"q\":\"{}\"}}",
            self.pings,
            req.path,
            req.endpoint,
            req.query_param("q").unwrap_or("")
        )));
    }

    /// Answers 50 ms later, from a timer: a response that is not ready
    /// when the next pipelined request's is.
    fn slow(&mut self, cx: &mut Cx<'_, Self>, _req: Request, resp: Responder) {
        cx.delay(std::time::Duration::from_millis(50), move |_, _| {
            resp.respond(Response::text(http::StatusCode::OK, "slow"))
        });
    }

    /// Drops the responder without answering.
    fn never(&mut self, _cx: &mut Cx<'_, Self>, _req: Request, resp: Responder) {
        drop(resp);
    }

    fn root(&mut self, _cx: &mut Cx<'_, Self>, _req: Request, resp: Responder) {
        resp.respond(Response::text(http::StatusCode::OK, "root"));
    }

    fn events(&mut self, cx: &mut Cx<'_, Self>, _req: Request, resp: Responder) {
        let head = ResponseHead {
            status: http::StatusCode::OK,
            headers: http::HeaderMap::new(),
        };
        if let Some(mut s) = cx.stream(resp, head, 4, |a: &mut Echo, _cx| a.closed += 1) {
            let _ = s.try_send(Bytes::from_static(b"hello\n"));
            self.stream = Some(s);
        }
    }
}

/// Records every `exited` it gets and every `pong`.
#[derive(Default)]
pub struct Watcher {
    pub exited: Vec<Upid>,
    pub pongs: Vec<(Upid, Bytes)>,
}

impl Actor for Watcher {
    fn install(r: &mut Routes<Self>) {
        r.raw("pong", Watcher::pong);
    }

    fn exited(&mut self, _cx: &mut Cx<'_, Self>, pid: &Upid) {
        self.exited.push(pid.clone());
    }
}

impl Watcher {
    fn pong(&mut self, _cx: &mut Cx<'_, Self>, from: Upid, body: Bytes) {
        self.pongs.push((from, body));
    }
}

/// A response as read off the socket.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub chunked: bool,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A blocking client connection.
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    fn fill(&mut self) -> bool {
        let mut tmp = [0u8; 16 * 1024];
        match self.stream.read(&mut tmp) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&tmp[..n]);
                true
            }
        }
    }

    /// Reads one response head; the body is left for the caller.
    pub fn read_head(&mut self) -> Option<RawResponse> {
        loop {
            let mut hs = [httparse::EMPTY_HEADER; 64];
            let mut r = httparse::Response::new(&mut hs);
            if let Ok(httparse::Status::Complete(n)) = r.parse(&self.buf) {
                let headers: Vec<(String, String)> = r
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_string(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect();
                let status = r.code.unwrap_or(0);
                self.buf.drain(..n);
                let chunked = headers.iter().any(|(k, v)| {
                    k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked")
                });
                return Some(RawResponse {
                    status,
                    headers,
                    body: Vec::new(),
                    chunked,
                });
            }
            if !self.fill() {
                return None;
            }
        }
    }

    /// Reads the next chunk of a chunked body; `Some(empty)` = last chunk.
    pub fn read_chunk(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Ok(httparse::Status::Complete((used, size))) =
                httparse::parse_chunk_size(&self.buf)
            {
                let size = size as usize;
                if self.buf.len() >= used + size + 2 {
                    let data = self.buf[used..used + size].to_vec();
                    self.buf.drain(..used + size + 2);
                    return Some(data);
                }
            }
            if !self.fill() {
                return None;
            }
        }
    }

    /// Reads one complete response (Content-Length or chunked body).
    pub fn read_response(&mut self) -> Option<RawResponse> {
        let mut r = self.read_head()?;
        if r.chunked {
            loop {
                let c = self.read_chunk()?;
                if c.is_empty() {
                    break;
                }
                r.body.extend_from_slice(&c);
            }
        } else {
            let len: usize = r
                .header("content-length")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while self.buf.len() < len {
                if !self.fill() {
                    return None;
                }
            }
            r.body = self.buf.drain(..len).collect();
        }
        Some(r)
    }

    /// Whether the server closed the connection (reads EOF).
    pub fn closed_by_peer(&mut self) -> bool {
        !self.fill()
    }
}

/// One request on a fresh connection.
pub fn get(addr: SocketAddr, path: &str) -> RawResponse {
    let mut c = Client::connect(addr);
    c.write(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    c.read_response().expect("a response")
}
