//! Reading HTTP/1.1 requests off an inbound connection, and telling libprocess
//! messages from endpoint requests.
//!
//! [`RequestDecoder`] is incremental: feed it the connection's read buffer
//! and it takes complete requests off the front (pipelined requests come out
//! one by one). Content-Length bodies are split off the buffer without a copy;
//! a chunked body of one chunk (what every libprocess peer sends) is too. Head
//! and body sizes are bounded; anything malformed is an error the caller
//! answers with [`DecodeError::status`] before closing the connection
//! (upstream's `StreamingRequestDecoder`, 3rdparty/libprocess/src/decoder.hpp,
//! just closes; a status line helps the client and costs nothing).

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

/// A request as it came off the wire.
#[derive(Clone, Debug)]
pub struct DecodedRequest {
    pub method: Method,
    /// The raw request target: path and query, not decoded.
    pub target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version: u8,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Whether the connection stays open after the response.
    pub keep_alive: bool,
}

impl DecodedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The path part of the target (absolute-form targets lose their authority).
    pub fn path(&self) -> &str {
        split_target(&self.target).0
    }

    pub fn query(&self) -> Option<&str> {
        split_target(&self.target).1
    }
}

/// Why a request could not be decoded. The connection cannot be resynchronised
/// after any of these, so it is closed after answering.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("request line and headers exceed {0} bytes")]
    HeadTooLarge(usize),
    #[error("request body exceeds {0} bytes")]
    BodyTooLarge(usize),
    #[error("bad chunked body: {0}")]
    BadChunk(&'static str),
    #[error("unsupported transfer encoding '{0}'")]
    UnsupportedTransferEncoding(String),
}

impl DecodeError {
    /// The status to answer with before closing.
    pub fn status(&self) -> StatusCode {
        match self {
            DecodeError::HeadTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            DecodeError::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            DecodeError::UnsupportedTransferEncoding(_) => StatusCode::NOT_IMPLEMENTED,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

const MAX_HEADERS: usize = 100;

const LIBPROCESS_FROM: &str = "libprocess-from";

enum Phase {
    /// Waiting for a chunk-size line.
    Size,
    /// Waiting for this many data bytes.
    Data(usize),
    /// Waiting for the CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: trailer lines until an empty one.
    Trailer,
}

enum BodyState {
    Length(usize),
    Chunked {
        phase: Phase,
        chunks: Vec<Bytes>,
        total: usize,
        trailer: usize,
    },
}

enum State {
    Head,
    /// The head is in, the body is awaited; `bool` = a `100 Continue` is owed.
    Body(Box<(DecodedRequest, BodyState)>, bool),
    /// A chunked body handed out chunk by chunk ([`RequestDecoder::stream_body`]).
    Streaming(BodyState),
    Failed(DecodeError),
}

/// Incremental HTTP/1.1 request decoder for one connection.
pub struct RequestDecoder {
    max_head: usize,
    max_body: usize,
    state: State,
    /// The head of the awaited chunked body was shown by
    /// [`RequestDecoder::new_chunked_head`].
    head_shown: bool,
}

impl RequestDecoder {
    pub fn new(max_head: usize, max_body: usize) -> RequestDecoder {
        RequestDecoder {
            max_head,
            max_body,
            state: State::Head,
            head_shown: false,
        }
    }

    /// Whether part of a request has been consumed and the rest is awaited.
    pub fn in_progress(&self) -> bool {
        matches!(self.state, State::Body(..) | State::Streaming(_))
    }

    /// The head of a chunked request whose body is awaited, once per
    /// request: the caller may then take the body as a stream
    /// ([`RequestDecoder::stream_body`]) instead of waiting for all of it.
    pub fn new_chunked_head(&mut self) -> Option<&DecodedRequest> {
        match &self.state {
            State::Body(b, _) if !self.head_shown && matches!(b.1, BodyState::Chunked { .. }) => {
                self.head_shown = true;
                Some(&b.0)
            }
            _ => None,
        }
    }

    /// Switches the awaited chunked body to streaming: returns its request
    /// (empty body) and whether a `100 Continue` is owed. From now on
    /// [`RequestDecoder::decode_stream`] hands out the chunks; each is
    /// still bounded by `max_body`, the total is not.
    pub fn stream_body(&mut self) -> Option<(DecodedRequest, bool)> {
        match std::mem::replace(&mut self.state, State::Head) {
            State::Body(b, expect) => {
                let (req, body) = *b;
                self.state = State::Streaming(body);
                Some((req, expect))
            }
            other => {
                self.state = other;
                None
            }
        }
    }

    /// Whether a streamed body is being decoded.
    pub fn is_streaming(&self) -> bool {
        matches!(self.state, State::Streaming(_))
    }

    /// Takes the chunks of a streamed body that are complete in `buf`;
    /// `true` once the body (with its trailer) is over, after which
    /// [`RequestDecoder::decode`] takes the next request.
    pub fn decode_stream(&mut self, buf: &mut BytesMut) -> Result<(Vec<Bytes>, bool), DecodeError> {
        let (max_body, max_head) = (self.max_body, self.max_head);
        let State::Streaming(BodyState::Chunked {
            phase,
            chunks,
            total,
            trailer,
        }) = &mut self.state
        else {
            return Ok((Vec::new(), false));
        };
        match chunked(buf, phase, chunks, total, trailer, max_body, max_head) {
            Ok(done) => {
                // Only the size of one chunk is bounded while streaming.
                *total = 0;
                let out = std::mem::take(chunks);
                if done {
                    self.state = State::Head;
                    self.head_shown = false;
                }
                Ok((out, done))
            }
            Err(e) => {
                self.state = State::Failed(e.clone());
                Err(e)
            }
        }
    }

    /// `true` once when the request whose body is awaited sent
    /// `Expect: 100-continue`: the caller should write `100 Continue` so
    /// clients like curl do not stall before sending the body. (Upstream
    /// never answers it; clients then send the body after a timeout.)
    pub fn take_continue(&mut self) -> bool {
        match &mut self.state {
            State::Body(_, owed) => std::mem::take(owed),
            _ => false,
        }
    }

    /// Takes the next complete request off the front of `buf`: `Ok(None)`
    /// means more bytes are needed. After an error the decoder stays failed.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<DecodedRequest>, DecodeError> {
        let r = self.step(buf);
        if let Err(e) = &r {
            self.state = State::Failed(e.clone());
        }
        r
    }

    fn step(&mut self, buf: &mut BytesMut) -> Result<Option<DecodedRequest>, DecodeError> {
        loop {
            match &mut self.state {
                State::Failed(e) => return Err(e.clone()),
                // The caller reads a streamed body with `decode_stream`.
                State::Streaming(_) => return Ok(None),
                State::Head => {
                    // Tolerate blank lines between pipelined requests (RFC 7230 §3.5).
                    while buf.starts_with(b"\r\n") {
                        buf.advance(2);
                    }
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    let Some((req, body)) = self.head(buf)? else {
                        return Ok(None);
                    };
                    match body {
                        BodyState::Length(0) => return Ok(Some(req)),
                        body => {
                            let expect = req
                                .header("expect")
                                .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
                            self.state = State::Body(Box::new((req, body)), expect)
                        }
                    }
                }
                State::Body(b, _) => {
                    let (req, body) = &mut **b;
                    let done = match body {
                        BodyState::Length(n) => {
                            if buf.len() < *n {
                                return Ok(None);
                            }
                            req.body = buf.split_to(*n).freeze();
                            true
                        }
                        BodyState::Chunked {
                            phase,
                            chunks,
                            total,
                            trailer,
                        } => {
                            if !chunked(
                                buf,
                                phase,
                                chunks,
                                total,
                                trailer,
                                self.max_body,
                                self.max_head,
                            )? {
                                return Ok(None);
                            }
                            req.body = match chunks.len() {
                                0 => Bytes::new(),
                                1 => chunks.pop().unwrap_or_default(),
                                _ => {
                                    let mut all = BytesMut::with_capacity(*total);
                                    for c in chunks.drain(..) {
                                        all.extend_from_slice(&c);
                                    }
                                    all.freeze()
                                }
                            };
                            true
                        }
                    };
                    if done {
                        let State::Body(b, _) = std::mem::replace(&mut self.state, State::Head)
                        else {
                            unreachable!("state checked above")
                        };
                        self.head_shown = false;
                        return Ok(Some(b.0));
                    }
                }
            }
        }
    }

    fn head(&self, buf: &mut BytesMut) -> Result<Option<(DecodedRequest, BodyState)>, DecodeError> {
        // Left uninitialised: zeroing a hundred header slots per request
        // would cost more than parsing a typical libprocess message.
        let mut headers =
            [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut []);
        let n = match parsed.parse_with_uninit_headers(buf, &mut headers) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => {
                if buf.len() > self.max_head {
                    return Err(DecodeError::HeadTooLarge(self.max_head));
                }
                return Ok(None);
            }
            Err(httparse::Error::TooManyHeaders) => {
                return Err(DecodeError::HeadTooLarge(self.max_head))
            }
            Err(e) => return Err(DecodeError::Malformed(e.to_string())),
        };
        if n > self.max_head {
            return Err(DecodeError::HeadTooLarge(self.max_head));
        }
        let method = Method::from_bytes(parsed.method.unwrap_or("").as_bytes())
            .map_err(|_| DecodeError::Malformed("bad method".into()))?;
        let target = parsed.path.unwrap_or("").to_string();
        let version = parsed.version.unwrap_or(1);
        let mut fields: Vec<(HeaderName, usize, usize)> = Vec::with_capacity(parsed.headers.len());
        let mut length: Option<usize> = None;
        let mut chunked_te = false;
        let mut close = false;
        let mut keep_alive = false;
        let base = buf.as_ptr() as usize;
        for h in parsed.headers.iter() {
            // Every message carries Libprocess-From; a static name saves
            // lower-casing it into a fresh allocation each time.
            let name = if h.name.eq_ignore_ascii_case(LIBPROCESS_FROM) {
                HeaderName::from_static(LIBPROCESS_FROM)
            } else {
                HeaderName::from_bytes(h.name.as_bytes())
                    .map_err(|_| DecodeError::Malformed(format!("bad header name '{}'", h.name)))?
            };
            if name == http::header::CONTENT_LENGTH {
                let v = std::str::from_utf8(h.value)
                    .ok()
                    .map(str::trim)
                    .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|v| v.parse::<usize>().ok())
                    .ok_or_else(|| DecodeError::Malformed("bad Content-Length".into()))?;
                if length.is_some_and(|l| l != v) {
                    return Err(DecodeError::Malformed("conflicting Content-Length".into()));
                }
                length = Some(v);
            } else if name == http::header::TRANSFER_ENCODING {
                let v = String::from_utf8_lossy(h.value);
                let last = v
                    .rsplit(',')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                if last != "chunked" {
                    return Err(DecodeError::UnsupportedTransferEncoding(
                        v.trim().to_string(),
                    ));
                }
                chunked_te = true;
            } else if name == http::header::CONNECTION {
                for t in String::from_utf8_lossy(h.value).split(',') {
                    let t = t.trim();
                    close |= t.eq_ignore_ascii_case("close");
                    keep_alive |= t.eq_ignore_ascii_case("keep-alive");
                }
            }
            // Values are kept as slices of the head's bytes, not copied.
            let start = h.value.as_ptr() as usize - base;
            fields.push((name, start, start + h.value.len()));
        }
        let head = buf.split_to(n).freeze();
        let mut map = HeaderMap::with_capacity(fields.len());
        for (name, start, end) in fields {
            let value = HeaderValue::from_maybe_shared(head.slice(start..end))
                .map_err(|_| DecodeError::Malformed(format!("bad value of header '{name}'")))?;
            map.append(name, value);
        }
        let body = if chunked_te {
            // Transfer-Encoding wins over Content-Length (RFC 7230 §3.3.3).
            BodyState::Chunked {
                phase: Phase::Size,
                chunks: Vec::new(),
                total: 0,
                trailer: 0,
            }
        } else {
            let n = length.unwrap_or(0);
            if n > self.max_body {
                return Err(DecodeError::BodyTooLarge(self.max_body));
            }
            BodyState::Length(n)
        };
        let req = DecodedRequest {
            method,
            target,
            version,
            headers: map,
            body: Bytes::new(),
            keep_alive: if version == 0 {
                keep_alive && !close
            } else {
                !close
            },
        };
        Ok(Some((req, body)))
    }
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

/// Advances a chunked body; `Ok(true)` when the whole body (with trailers) is in.
fn chunked(
    buf: &mut BytesMut,
    phase: &mut Phase,
    chunks: &mut Vec<Bytes>,
    total: &mut usize,
    trailer: &mut usize,
    max_body: usize,
    max_head: usize,
) -> Result<bool, DecodeError> {
    loop {
        match phase {
            Phase::Size => match httparse::parse_chunk_size(buf) {
                Ok(httparse::Status::Complete((used, size))) => {
                    buf.advance(used);
                    let size =
                        usize::try_from(size).map_err(|_| DecodeError::BodyTooLarge(max_body))?;
                    if total.saturating_add(size) > max_body {
                        return Err(DecodeError::BodyTooLarge(max_body));
                    }
                    *phase = if size == 0 {
                        Phase::Trailer
                    } else {
                        Phase::Data(size)
                    };
                }
                Ok(httparse::Status::Partial) => {
                    // A size line is a few hex digits plus optional extensions.
                    if buf.len() > 1024 {
                        return Err(DecodeError::BadChunk("chunk size line too long"));
                    }
                    return Ok(false);
                }
                Err(_) => return Err(DecodeError::BadChunk("invalid chunk size")),
            },
            Phase::Data(n) => {
                if buf.len() < *n {
                    return Ok(false);
                }
                *total += *n;
                chunks.push(buf.split_to(*n).freeze());
                *phase = Phase::DataEnd;
            }
            Phase::DataEnd => {
                if buf.len() < 2 {
                    return Ok(false);
                }
                if &buf[..2] != b"\r\n" {
                    return Err(DecodeError::BadChunk("missing CRLF after chunk data"));
                }
                buf.advance(2);
                *phase = Phase::Size;
            }
            Phase::Trailer => {
                let Some(i) = find_crlf(buf) else {
                    if *trailer + buf.len() > max_head {
                        return Err(DecodeError::HeadTooLarge(max_head));
                    }
                    return Ok(false);
                };
                buf.advance(i + 2);
                *trailer += i + 2;
                if *trailer > max_head {
                    return Err(DecodeError::HeadTooLarge(max_head));
                }
                // Trailer fields are discarded; an empty line ends the body.
                if i == 0 {
                    return Ok(true);
                }
            }
        }
    }
}

/// Splits a request target into path and query. Absolute-form targets
/// (`http://host/path`) lose their scheme and authority.
pub fn split_target(target: &str) -> (&str, Option<&str>) {
    let t = match target.find("://") {
        Some(i) if !target[..i].contains('/') => {
            let rest = &target[i + 3..];
            rest.find('/').map(|j| &rest[j..]).unwrap_or("/")
        }
        _ => target,
    };
    let t = t.split('#').next().unwrap_or("");
    match t.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (t, None),
    }
}

/// Percent-decodes as libprocess' `http::decode` (3rdparty/libprocess/src/http.cpp:833):
/// `+` is a space and a `%` must be followed by two hex digits.
pub fn percent_decode(s: &str) -> Result<String, String> {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return Ok(s.to_string());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (
                    b.get(i + 1).and_then(|&c| hex(c)),
                    b.get(i + 2).and_then(|&c| hex(c)),
                ) {
                    (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                    _ => return Err(format!("malformed % escape in '{s}'")),
                }
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| format!("'{s}' does not decode to UTF-8"))
}

/// Decodes `a=1&b=2` into pairs in order (upstream `http::query::decode`).
pub fn parse_query(q: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for part in q.split(['&', ';']) {
        if part.is_empty() {
            continue;
        }
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        out.push((percent_decode(k)?, percent_decode(v)?));
    }
    Ok(out)
}

/// Whether a request is a libprocess message rather than an endpoint request:
/// a POST whose `User-Agent` starts with `libprocess/` or that carries
/// `Libprocess-From` (process.cpp:704-711).
pub fn is_message(req: &DecodedRequest) -> bool {
    req.method == Method::POST
        && (req
            .header("user-agent")
            .is_some_and(|ua| ua.starts_with("libprocess/"))
            || req.headers.contains_key("libprocess-from"))
}

/// The sender a message claims: `Libprocess-From`, else what follows
/// `libprocess/` in `User-Agent` (process.cpp:717-741).
pub fn message_sender(req: &DecodedRequest) -> Option<String> {
    if let Some(v) = req.headers.get("libprocess-from") {
        return Some(String::from_utf8_lossy(v.as_bytes()).trim().to_string());
    }
    let ua = req.header("user-agent")?;
    ua.find("libprocess/")
        .map(|i| ua[i + "libprocess/".len()..].to_string())
}

/// Splits a message path `/<to>/<name>` into the percent-decoded target id and
/// the message name (everything after the second slash, as upstream's `parse`).
pub fn message_route(path: &str) -> Result<(String, String), String> {
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| "Request URL path must start with '/'".to_string())?;
    let (to, name) = rest.split_once('/').unwrap_or((rest, ""));
    let to = percent_decode(to).map_err(|e| format!("Failed to decode URL path: {e}"))?;
    Ok((to, name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8]) -> Result<Vec<DecodedRequest>, DecodeError> {
        let mut d = RequestDecoder::new(crate::transport::DEFAULT_MAX_HEAD, 1 << 20);
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(r) = d.decode(&mut buf)? {
            out.push(r);
        }
        Ok(out)
    }

    #[test]
    fn decodes_a_libprocess_message() {
        let from = crate::Upid::parse_literal("a@127.0.0.1:1").unwrap();
        let to = crate::Upid::parse_literal("b%28x@127.0.0.1:2").unwrap();
        let bytes = crate::transport::encode::message_bytes(&from, &to, "x.Y", b"hello");
        let reqs = decode_all(&bytes).unwrap();
        assert_eq!(reqs.len(), 1);
        let r = &reqs[0];
        assert!(is_message(r));
        assert_eq!(message_sender(r).as_deref(), Some("a@127.0.0.1:1"));
        assert_eq!(
            message_route(r.path()).unwrap(),
            ("b(x".to_string(), "x.Y".to_string())
        );
        assert_eq!(&r.body[..], b"hello");
        assert!(r.keep_alive);
    }

    #[test]
    fn pipelined_requests_split_at_every_byte() {
        let mut wire = Vec::new();
        wire.extend_from_slice(b"GET /master/state?x=1&y=a%20b HTTP/1.1\r\nHost: h\r\n\r\n");
        wire.extend_from_slice(b"POST /p/n HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
        wire.extend_from_slice(
            b"POST /p/m HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2;ext=1\r\nde\r\n1\r\nf\r\n0\r\nX-T: 1\r\n\r\n",
        );
        for split in 0..wire.len() {
            let mut d = RequestDecoder::new(1024, 1024);
            let mut buf = BytesMut::from(&wire[..split]);
            let mut out = Vec::new();
            while let Some(r) = d.decode(&mut buf).unwrap() {
                out.push(r);
            }
            buf.extend_from_slice(&wire[split..]);
            while let Some(r) = d.decode(&mut buf).unwrap() {
                out.push(r);
            }
            assert_eq!(out.len(), 3, "split at {split}");
            assert_eq!(out[0].path(), "/master/state");
            assert_eq!(
                parse_query(out[0].query().unwrap()).unwrap(),
                vec![("x".into(), "1".into()), ("y".into(), "a b".into())]
            );
            assert_eq!(&out[1].body[..], b"abc");
            assert_eq!(&out[2].body[..], b"def");
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn user_agent_alone_names_the_sender() {
        let r = &decode_all(b"POST /m/x HTTP/1.1\r\nUser-Agent: libprocess/s@1.1.1.1:5\r\n\r\n")
            .unwrap()[0];
        assert!(is_message(r));
        assert_eq!(message_sender(r).as_deref(), Some("s@1.1.1.1:5"));
        let g =
            &decode_all(b"GET /m/x HTTP/1.1\r\nLibprocess-From: s@1.1.1.1:5\r\n\r\n").unwrap()[0];
        assert!(!is_message(g), "only POSTs are messages");
    }

    #[test]
    fn bad_input_is_an_error_with_a_status() {
        let cases: &[(&[u8], StatusCode)] = &[
            (b"GARBAGE\x00\x01\r\n\r\n", StatusCode::BAD_REQUEST),
            (b"GET /\x7f HTTP/1.1\r\n\r\n", StatusCode::BAD_REQUEST),
            (
                b"POST /a HTTP/1.1\r\nContent-Length: x\r\n\r\n",
                StatusCode::BAD_REQUEST,
            ),
            (
                b"POST /a HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                StatusCode::BAD_REQUEST,
            ),
            (
                b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                StatusCode::BAD_REQUEST,
            ),
            (
                b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc",
                StatusCode::BAD_REQUEST,
            ),
            (
                b"POST /a HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
                StatusCode::NOT_IMPLEMENTED,
            ),
            (
                b"POST /a HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n",
                StatusCode::PAYLOAD_TOO_LARGE,
            ),
            (
                b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n100001\r\n",
                StatusCode::PAYLOAD_TOO_LARGE,
            ),
            (
                b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffffff\r\n",
                StatusCode::BAD_REQUEST,
            ),
        ];
        for (input, status) in cases {
            let e = decode_all(input).expect_err(&String::from_utf8_lossy(input));
            assert_eq!(
                e.status(),
                *status,
                "{:?}: {e}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn oversized_head_is_rejected_before_it_completes() {
        let mut d = RequestDecoder::new(100, 100);
        let mut buf = BytesMut::from(&b"GET /"[..]);
        buf.extend_from_slice(&[b'a'; 200]);
        assert_eq!(
            d.decode(&mut buf).unwrap_err().status(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
    }

    #[test]
    fn expect_continue_is_owed_once_while_the_body_is_awaited() {
        let mut d = RequestDecoder::new(1024, 1024);
        let mut buf = BytesMut::from(
            &b"POST /a HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"[..],
        );
        assert!(d.decode(&mut buf).unwrap().is_none());
        assert!(d.take_continue());
        assert!(!d.take_continue());
        buf.extend_from_slice(b"ok");
        assert_eq!(&d.decode(&mut buf).unwrap().unwrap().body[..], b"ok");
        assert!(!d.take_continue());
    }

    #[test]
    fn keep_alive_rules() {
        let r = decode_all(b"GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.1\r\nConnection: close\r\n\r\n").unwrap();
        assert_eq!(
            r.iter().map(|r| r.keep_alive).collect::<Vec<_>>(),
            vec![false, true, false]
        );
    }

    #[test]
    fn percent_decoding_matches_upstream() {
        assert_eq!(percent_decode("slave%281%29").unwrap(), "slave(1)");
        assert_eq!(percent_decode("a+b").unwrap(), "a b");
        assert!(percent_decode("%4").is_err());
        assert!(percent_decode("%zz").is_err());
        assert_eq!(split_target("http://h:1/a/b?c"), ("/a/b", Some("c")));
    }
}
