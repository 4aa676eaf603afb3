//! Writing the libprocess wire format.
//!
//! Messages are written exactly as libprocess 1.9's `MessageEncoder`
//! (3rdparty/libprocess/src/encoder.hpp:101-140) writes them, so a real
//! libprocess peer cannot tell us apart; responses follow `HttpResponseEncoder`
//! (:142-215) without its optional gzip.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{BufMut, BytesMut};

use crate::http::{Response, ResponseHead};
use crate::Upid;

/// Appends one libprocess message to `out`:
///
/// ```text
/// POST /<to.id>/<name> HTTP/1.1\r\n
/// User-Agent: libprocess/<from>\r\n
/// Libprocess-From: <from>\r\n
/// Connection: Keep-Alive\r\n
/// Host: \r\n
/// Transfer-Encoding: chunked\r\n      (only when the body is not empty)
/// \r\n
/// <hex len>\r\n<body>\r\n0\r\n\r\n      (only when the body is not empty)
/// ```
///
/// The `/<to.id>` part is left out when the id is empty, as upstream does.
pub fn encode_message(from: &Upid, to: &Upid, name: &str, body: &[u8], out: &mut BytesMut) {
    out.reserve(160 + name.len() + to.id().len() + 2 * from.id().len() + body.len());
    out.put_slice(b"POST ");
    if !to.id().is_empty() {
        out.put_u8(b'/');
        out.put_slice(to.id().as_bytes());
    }
    out.put_u8(b'/');
    out.put_slice(name.as_bytes());
    // The sender is formatted once (address formatting dominates the cost).
    let from = from.to_string();
    out.put_slice(b" HTTP/1.1\r\nUser-Agent: libprocess/");
    out.put_slice(from.as_bytes());
    out.put_slice(b"\r\nLibprocess-From: ");
    out.put_slice(from.as_bytes());
    out.put_slice(b"\r\nConnection: Keep-Alive\r\nHost: \r\n");
    if body.is_empty() {
        out.put_slice(b"\r\n");
    } else {
        let _ = write!(
            out,
            "Transfer-Encoding: chunked\r\n\r\n{:x}\r\n",
            body.len()
        );
        out.put_slice(body);
        out.put_slice(b"\r\n0\r\n\r\n");
    }
}

/// The message encoding as a fresh buffer.
pub fn message_bytes(from: &Upid, to: &Upid, name: &str, body: &[u8]) -> BytesMut {
    let mut out = BytesMut::new();
    encode_message(from, to, name, body, &mut out);
    out
}

thread_local! {
    static DATE: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// The `Date` header value for now (RFC 7231 IMF-fixdate), cached per second.
pub fn http_date() -> String {
    let now = SystemTime::now();
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    DATE.with(|d| {
        let mut d = d.borrow_mut();
        if d.0 != secs {
            *d = (secs, httpdate::fmt_http_date(now));
        }
        d.1.clone()
    })
}

fn status_line(status: http::StatusCode, out: &mut BytesMut) {
    let _ = match status.canonical_reason() {
        Some(r) => write!(out, "HTTP/1.1 {} {r}\r\n", status.as_u16()),
        None => write!(out, "HTTP/1.1 {}\r\n", status.as_u16()),
    };
}

/// Writes a header name in the capitalised form upstream uses
/// (`Content-Type`), since `http::HeaderName` stores names lower-cased.
fn header_name(name: &str, out: &mut BytesMut) {
    let mut up = true;
    for b in name.bytes() {
        out.put_u8(if up { b.to_ascii_uppercase() } else { b });
        up = b == b'-';
    }
}

fn headers(map: &http::HeaderMap, skip_length: bool, out: &mut BytesMut) {
    for (k, v) in map {
        if skip_length
            && (k == http::header::CONTENT_LENGTH || k == http::header::TRANSFER_ENCODING)
        {
            continue;
        }
        header_name(k.as_str(), out);
        out.put_slice(b": ");
        out.put_slice(v.as_bytes());
        out.put_slice(b"\r\n");
    }
    if !map.contains_key(http::header::DATE) {
        let _ = write!(out, "Date: {}\r\n", http_date());
    }
}

/// Appends a complete response: status line, the response's headers, `Date`
/// (always, as upstream), `Content-Length` (unless set), the body.
pub fn encode_response(response: &Response, out: &mut BytesMut) {
    out.reserve(128 + response.body.len());
    status_line(response.status, out);
    headers(&response.headers, false, out);
    if !response.headers.contains_key(http::header::CONTENT_LENGTH) {
        let _ = write!(out, "Content-Length: {}\r\n", response.body.len());
    }
    out.put_slice(b"\r\n");
    out.put_slice(&response.body);
}

/// Appends the head of a chunked (streaming) response.
pub fn encode_stream_head(head: &ResponseHead, out: &mut BytesMut) {
    status_line(head.status, out);
    headers(&head.headers, true, out);
    out.put_slice(b"Transfer-Encoding: chunked\r\n\r\n");
}

/// Appends one chunk of a chunked body; an empty chunk would end the body,
/// so it is skipped.
pub fn encode_chunk(data: &[u8], out: &mut BytesMut) {
    if data.is_empty() {
        return;
    }
    let _ = write!(out, "{:x}\r\n", data.len());
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

/// The last chunk, ending a chunked body.
pub fn encode_last_chunk(out: &mut BytesMut) {
    out.put_slice(b"0\r\n\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn pid(s: &str) -> Upid {
        Upid::parse_literal(s).unwrap()
    }

    #[test]
    fn message_with_body_is_byte_exact() {
        let out = message_bytes(
            &pid("slave(1)@127.0.0.1:5051"),
            &pid("master@127.0.0.1:5050"),
            "mesos.internal.PongSlaveMessage",
            &[0xAB; 26],
        );
        let mut want = b"POST /master/mesos.internal.PongSlaveMessage HTTP/1.1\r\n\
User-Agent: libprocess/slave(1)@127.0.0.1:5051\r\n\
Libprocess-From: slave(1)@127.0.0.1:5051\r\n\
Connection: Keep-Alive\r\n\
Host: \r\n\
Transfer-Encoding: chunked\r\n\
\r\n\
1a\r\n"
            .to_vec();
        want.extend_from_slice(&[0xAB; 26]);
        want.extend_from_slice(b"\r\n0\r\n\r\n");
        assert_eq!(&out[..], &want[..]);
    }

    #[test]
    fn empty_body_has_no_body_headers() {
        let out = message_bytes(&pid("a@1.2.3.4:1"), &pid("b@1.2.3.4:2"), "ping", b"");
        assert_eq!(
            &out[..],
            &b"POST /b/ping HTTP/1.1\r\nUser-Agent: libprocess/a@1.2.3.4:1\r\n\
Libprocess-From: a@1.2.3.4:1\r\nConnection: Keep-Alive\r\nHost: \r\n\r\n"[..]
        );
    }

    #[test]
    fn empty_target_id_leaves_out_the_id_segment() {
        let out = message_bytes(&pid("a@1.2.3.4:1"), &pid("@1.2.3.4:2"), "x", b"");
        assert!(out.starts_with(b"POST /x HTTP/1.1\r\n"));
    }

    #[test]
    fn response_has_date_and_length() {
        let r = Response::json(Bytes::from_static(b"{}"));
        let mut out = BytesMut::new();
        encode_response(&r, &mut out);
        let s = String::from_utf8(out.to_vec()).unwrap();
        assert!(s.starts_with("HTTP/1.1 200 OK\r\n"), "{s}");
        assert!(s.contains("Content-Type: application/json\r\n"), "{s}");
        assert!(s.contains("\r\nDate: "), "{s}");
        assert!(s.ends_with("Content-Length: 2\r\n\r\n{}"), "{s}");
    }

    #[test]
    fn chunks() {
        let mut out = BytesMut::new();
        encode_chunk(b"hello world, this is 29 bytes", &mut out);
        encode_chunk(b"", &mut out);
        encode_last_chunk(&mut out);
        assert_eq!(
            &out[..],
            b"1d\r\nhello world, this is 29 bytes\r\n0\r\n\r\n"
        );
    }
}
