//! Request bodies delivered as a stream (`RouteOptions::request_streaming`,
//! upstream's `requestStreaming` routes with a `Request::PIPE` reader): a
//! chunked body reaches the handler chunk by chunk while the client is still
//! sending; Content-Length bodies and other routes still arrive whole.

mod tokio_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use libprocess::actor::RouteOptions;
use libprocess::http::{BodyPart, Response};
use libprocess::runtime::tokio::Runtime;
use libprocess::transport::TransportConfig;
use libprocess::{Actor, Cx, Request, Responder, Routes};
use tokio_support::{wait_until, Client};

const T: Duration = Duration::from_secs(10);

/// `upload` streams request bodies; `whole` does not. Both answer with
/// what they saw: `stream:<chunks>:<bytes>` or `whole:<bytes>`.
struct Uploads {
    seen: Arc<Mutex<Vec<String>>>,
}

impl Actor for Uploads {
    fn install(r: &mut Routes<Self>) {
        r.http_with(
            "upload",
            RouteOptions {
                request_streaming: true,
                ..Default::default()
            },
            Uploads::upload,
        );
        r.http("whole", Uploads::upload);
    }
}

impl Uploads {
    fn upload(&mut self, cx: &mut Cx<'_, Self>, req: Request, r: Responder) {
        let Some(body) = req.body_stream else {
            return r.respond(Response::json(format!("whole:{}", req.body.len())));
        };
        let seen = self.seen.clone();
        cx.blocking(
            move || {
                let mut n = 0;
                let mut bytes = Vec::new();
                loop {
                    match body.next_blocking(Some(Duration::from_secs(20))) {
                        BodyPart::Data(d) => {
                            n += 1;
                            seen.lock()
                                .unwrap()
                                .push(String::from_utf8_lossy(&d).into_owned());
                            bytes.extend_from_slice(&d);
                        }
                        BodyPart::End => {
                            return Ok(format!("stream:{n}:{}", String::from_utf8_lossy(&bytes)))
                        }
                        BodyPart::Failed(e) => return Err(e),
                        BodyPart::Timeout => return Err("timeout".to_string()),
                    }
                }
            },
            move |a: &mut Uploads, _cx, result: Result<String, String>| {
                a.seen
                    .lock()
                    .unwrap()
                    .push(format!("result:{}", result.clone().unwrap_or_else(|e| e)));
                match result {
                    Ok(s) => r.respond(Response::json(s)),
                    Err(e) => r.respond(Response::bad_request(e)),
                }
            },
        );
    }
}

fn setup() -> (Runtime, Arc<Mutex<Vec<String>>>, std::net::SocketAddr) {
    let rt = Runtime::start(TransportConfig::loopback().worker_threads(2)).expect("runtime");
    let seen = Arc::new(Mutex::new(Vec::new()));
    rt.spawn("up", Uploads { seen: seen.clone() });
    let addr = rt.addr();
    (rt, seen, addr)
}

#[test]
fn chunked_bodies_reach_the_handler_while_the_client_still_sends() {
    let (_rt, seen, addr) = setup();
    let mut c = Client::connect(addr);
    c.write(
        b"POST /up/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    );
    // The first chunk is handed over before the body is complete.
    assert!(
        wait_until(T, || seen.lock().unwrap().first().map(String::as_str)
            == Some("hello")),
        "first chunk delivered early: {:?}",
        seen.lock().unwrap()
    );
    c.write(b"1\r\n \r\n5\r\nworld\r\n0\r\n\r\n");
    let r = c.read_response().expect("response");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().starts_with("stream:"), "{}", r.text());
    assert!(r.text().ends_with(":hello world"), "{}", r.text());
    // The connection carries on with the next (pipelined) request.
    c.write(b"POST /up/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
    let r = c.read_response().expect("second response");
    assert_eq!(r.text(), "whole:3", "Content-Length bodies arrive whole");
}

#[test]
fn other_routes_get_whole_chunked_bodies() {
    let (_rt, _seen, addr) = setup();
    let mut c = Client::connect(addr);
    c.write(b"POST /up/whole HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n");
    assert_eq!(c.read_response().expect("response").text(), "whole:5");
}

#[test]
fn a_client_that_goes_away_mid_body_fails_the_stream() {
    let (_rt, seen, addr) = setup();
    let mut c = Client::connect(addr);
    c.write(
        b"POST /up/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
    );
    assert!(wait_until(T, || !seen.lock().unwrap().is_empty()));
    drop(c);
    assert!(
        wait_until(T, || seen
            .lock()
            .unwrap()
            .iter()
            .any(|s| s.starts_with("result:Connection closed"))),
        "{:?}",
        seen.lock().unwrap()
    );
}

#[test]
fn a_malformed_chunk_fails_the_stream_without_a_panic() {
    let (_rt, seen, addr) = setup();
    let mut c = Client::connect(addr);
    c.write(
        b"POST /up/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
    );
    assert!(wait_until(T, || !seen.lock().unwrap().is_empty()));
    c.write(b"zz\r\nabc\r\n");
    assert!(
        wait_until(T, || seen
            .lock()
            .unwrap()
            .iter()
            .any(|s| s.starts_with("result:bad chunked body"))),
        "{:?}",
        seen.lock().unwrap()
    );
    let r = c.read_response().expect("the handler answers");
    assert_eq!(r.status, 400);
}

#[test]
fn a_large_streamed_body_passes_through_a_bounded_queue() {
    let (_rt, seen, addr) = setup();
    let mut c = Client::connect(addr);
    c.write(b"POST /up/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..64 {
        c.write(format!("{:x}\r\n", chunk.len()).as_bytes());
        c.write(&chunk);
        c.write(b"\r\n");
    }
    c.write(b"0\r\n\r\n");
    let r = c.read_response().expect("response");
    assert_eq!(r.status, 200);
    let text = r.text();
    let (_, bytes) = text["stream:".len()..]
        .split_once(':')
        .expect("stream:n:bytes");
    assert_eq!(bytes.len(), 64 * 64 * 1024);
    let total: usize = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| !s.starts_with("result:"))
        .map(String::len)
        .sum();
    assert_eq!(total, 64 * 64 * 1024);
}
