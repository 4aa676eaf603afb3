//! Two of our runtimes over loopback, and raw clients against one: messages,
//! links and exits, endpoints and delegate routing, streams, bad input.

mod tokio_support;

use std::time::Duration;

use bytes::Bytes;
use libprocess::filter::Matcher;
use libprocess::runtime::tokio::Runtime;
use libprocess::transport::encode::message_bytes;
use libprocess::transport::TransportConfig;
use libprocess::Upid;
use tokio_support::{get, wait_until, Client, Echo, Watcher};

const T: Duration = Duration::from_secs(10);

fn rt() -> Runtime {
    Runtime::start(TransportConfig::loopback().worker_threads(2)).expect("start runtime")
}

fn pongs(rt: &Runtime, w: &Upid) -> Vec<(Upid, Bytes)> {
    rt.call::<Watcher, _>(w, |a, _| a.pongs.clone())
        .unwrap_or_default()
}

fn exits(rt: &Runtime, w: &Upid) -> Vec<Upid> {
    rt.call::<Watcher, _>(w, |a, _| a.exited.clone())
        .unwrap_or_default()
}

#[test]
fn messages_travel_both_ways_between_runtimes() {
    let (a, b) = (rt(), rt());
    let w = a.spawn("watcher", Watcher::default());
    let echo = b.spawn("echo", Echo::default());
    assert_eq!(echo.addr(), b.addr());
    let body = Bytes::from(vec![7u8; 100_000]);
    a.send(&w, &echo, "ping", body.clone());
    a.send(&w, &echo, "ping", Bytes::new());
    assert!(
        wait_until(T, || pongs(&a, &w).len() == 2),
        "two pongs come back"
    );
    let got = pongs(&a, &w);
    assert_eq!(got[0].0, echo, "the sender is the remote echo pid");
    assert_eq!(got[0].1, body, "a 100 kB body arrives intact");
    assert!(got[1].1.is_empty(), "an empty body stays empty");
    let from = b
        .call::<Echo, _>(&echo, |e, _| e.last_from.clone())
        .flatten();
    assert_eq!(from, Some(w));
}

#[test]
fn many_messages_keep_their_order() {
    let (a, b) = (rt(), rt());
    let w = a.spawn("watcher", Watcher::default());
    let echo = b.spawn("echo", Echo::default());
    for i in 0..2000u32 {
        a.send(&w, &echo, "ping", Bytes::from(i.to_be_bytes().to_vec()));
    }
    assert!(wait_until(T, || pongs(&a, &w).len() == 2000));
    let order: Vec<u32> = pongs(&a, &w)
        .iter()
        .map(|(_, b)| u32::from_be_bytes(b[..4].try_into().unwrap()))
        .collect();
    assert_eq!(order, (0..2000).collect::<Vec<_>>());
}

#[test]
fn linked_processes_get_exited_when_the_peer_shuts_down() {
    let (a, b) = (rt(), rt());
    let w = a.spawn("watcher", Watcher::default());
    let echo = b.spawn("echo", Echo::default());
    let other = b.pid("not-yet-there");
    let (e2, o2) = (echo.clone(), other.clone());
    a.call::<Watcher, _>(&w, move |_, cx| {
        cx.link(&e2);
        cx.link(&o2);
    })
    .unwrap();
    // The link opened the persistent socket; a message over it still works.
    a.send(&w, &echo, "ping", Bytes::from_static(b"x"));
    assert!(wait_until(T, || pongs(&a, &w).len() == 1));
    assert_eq!(a.link_count(), 2);
    assert!(exits(&a, &w).is_empty(), "no exit while the peer is up");
    b.shutdown();
    assert!(
        wait_until(T, || exits(&a, &w).len() == 2),
        "{:?}",
        exits(&a, &w)
    );
    let mut got = exits(&a, &w);
    got.sort();
    let mut want = vec![echo, other];
    want.sort();
    assert_eq!(got, want, "every pid at the address is reported");
    assert_eq!(a.link_count(), 0);
}

#[test]
fn linking_to_an_unreachable_address_exits() {
    let a = rt();
    let w = a.spawn("watcher", Watcher::default());
    // A port nobody listens on: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = Upid::parse_literal(&format!("master@127.0.0.1:{port}")).unwrap();
    let d = dead.clone();
    a.call::<Watcher, _>(&w, move |_, cx| cx.link(&d)).unwrap();
    assert!(wait_until(T, || exits(&a, &w) == vec![dead.clone()]));
}

#[test]
fn local_links_exit_on_terminate_and_at_once_when_missing() {
    let a = rt();
    let w = a.spawn("watcher", Watcher::default());
    let echo = a.spawn("echo", Echo::default());
    let missing = a.pid("missing");
    let (e, m) = (echo.clone(), missing.clone());
    a.call::<Watcher, _>(&w, move |_, cx| {
        cx.link(&m);
        cx.link(&e);
    })
    .unwrap();
    assert!(wait_until(T, || exits(&a, &w) == vec![missing.clone()]));
    a.terminate(&echo);
    assert!(a.wait_terminated(&echo, T));
    assert!(wait_until(T, || exits(&a, &w).len() == 2));
    assert_eq!(exits(&a, &w)[1], echo);
    // Unlinked processes hear nothing.
    let echo2 = a.spawn("echo2", Echo::default());
    let e2 = echo2.clone();
    a.call::<Watcher, _>(&w, move |_, cx| {
        cx.link(&e2);
        cx.unlink(&e2);
    })
    .unwrap();
    // `call` answers from inside the handler, before the handler's link and
    // unlink take effect; a second call to the same actor runs after them.
    // (Terminating echo2 first made the link find it missing: `exited`.)
    a.call::<Watcher, _>(&w, |_, _| ()).unwrap();
    a.terminate(&echo2);
    assert!(a.wait_terminated(&echo2, T));
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(exits(&a, &w).len(), 2);
}

#[test]
fn endpoints_delegate_and_not_found() {
    let a = rt();
    a.spawn("echo", Echo::default());
    let r = get(a.addr(), "/echo/state?q=a%20b");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.header("date").is_some());
    assert_eq!(
        r.text(),
        r#"{"pings":0,"path":"/echo/state","endpoint":"state","q":"a b"}"#
    );
    assert_eq!(get(a.addr(), "/nope/state").status, 404, "unknown process");
    assert_eq!(
        get(a.addr(), "/echo/nothing").status,
        404,
        "unknown endpoint"
    );
    assert_eq!(get(a.addr(), "/").status, 404, "no delegate yet");
    assert_eq!(
        get(a.addr(), "/echo/../echo/state").status,
        404,
        "relative path"
    );
    a.set_delegate(Some("echo"));
    let r = get(a.addr(), "/state");
    assert_eq!(r.status, 200);
    assert!(
        r.text()
            .contains(r#""path":"/echo/state","endpoint":"state""#),
        "{}",
        r.text()
    );
    assert_eq!(get(a.addr(), "/").text(), "root");
    assert_eq!(
        get(a.addr(), "/echo/state").status,
        200,
        "real ids still win"
    );
}

#[test]
fn raw_peer_messages_get_202_or_404_in_order() {
    let a = rt();
    let w = a.spawn("watcher", Watcher::default());
    let peer = Upid::parse_literal("peer(1)@127.0.0.1:1").unwrap();
    let mut c = Client::connect(a.addr());
    // Three pipelined messages in one write: delivered, unknown process,
    // delivered. Replies come back in request order.
    let mut wire = Vec::new();
    wire.extend_from_slice(&message_bytes(&peer, &w, "pong", b"one"));
    wire.extend_from_slice(&message_bytes(&peer, &a.pid("ghost"), "pong", b"x"));
    wire.extend_from_slice(&message_bytes(&peer, &w, "pong", b""));
    c.write(&wire);
    let statuses: Vec<u16> = (0..3).map(|_| c.read_response().unwrap().status).collect();
    assert_eq!(statuses, vec![202, 404, 202]);
    assert!(wait_until(T, || pongs(&a, &w).len() == 2));
    assert_eq!(pongs(&a, &w)[0], (peer.clone(), Bytes::from_static(b"one")));
    // Only `User-Agent: libprocess/...` (no Libprocess-From) also names the sender.
    c.write(b"POST /watcher/pong HTTP/1.1\r\nUser-Agent: libprocess/ua(2)@127.0.0.1:2\r\nContent-Length: 2\r\n\r\nhi");
    assert_eq!(c.read_response().unwrap().status, 202);
    assert!(wait_until(T, || pongs(&a, &w).len() == 3));
    assert_eq!(pongs(&a, &w)[2].0.to_string(), "ua(2)@127.0.0.1:2");
}

#[test]
fn filters_drop_and_observe_messages() {
    let (a, b) = (rt(), rt());
    let w = a.spawn("watcher", Watcher::default());
    let echo = b.spawn("echo", Echo::default());
    // Dropped on the receiving side before delivery.
    let dropped = b.filters().drop_one(Matcher::named("ping").to(&echo));
    let seen = a.filters().future(Matcher::named("pong"));
    a.send(&w, &echo, "ping", Bytes::from_static(b"1"));
    a.send(&w, &echo, "ping", Bytes::from_static(b"2"));
    assert!(seen.wait_for(1, T));
    assert_eq!(dropped.count(), 1);
    assert_eq!(seen.seen()[0].body, Bytes::from_static(b"2"));
    assert!(wait_until(T, || pongs(&a, &w).len() == 1));
    assert_eq!(b.call::<Echo, _>(&echo, |e, _| e.pings), Some(1));
}

#[test]
fn streams_end_with_a_close_notice() {
    let a = rt();
    let echo = a.spawn("echo", Echo::default());
    let closed = |a: &Runtime| a.call::<Echo, _>(&echo, |e, _| e.closed).unwrap();

    // The actor closes the stream: the terminator is written and the notice runs.
    let mut c = Client::connect(a.addr());
    c.write(b"GET /echo/events HTTP/1.1\r\nHost: x\r\n\r\n");
    let head = c.read_head().unwrap();
    assert_eq!(head.status, 200);
    assert!(head.chunked);
    assert_eq!(c.read_chunk().unwrap(), b"hello\n");
    a.call::<Echo, _>(&echo, |e, _| {
        let s = e.stream.as_mut().unwrap();
        s.try_send(Bytes::from_static(b"more")).unwrap();
        e.stream = None;
    })
    .unwrap();
    assert_eq!(c.read_chunk().unwrap(), b"more");
    assert_eq!(c.read_chunk().unwrap(), b"", "last chunk");
    assert!(wait_until(T, || closed(&a) == 1));
    // The connection stays usable after a finished stream.
    c.write(b"GET /echo/state HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.read_response().unwrap().status, 200);

    // The client goes away: the notice runs and the sender sees a closed stream.
    let mut c = Client::connect(a.addr());
    c.write(b"GET /echo/events HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.read_head().unwrap().status, 200);
    assert_eq!(c.read_chunk().unwrap(), b"hello\n");
    drop(c);
    assert!(wait_until(T, || closed(&a) == 2));
    let is_closed = a
        .call::<Echo, _>(&echo, |e, _| e.stream.as_ref().unwrap().is_closed())
        .unwrap();
    assert!(is_closed);
}

#[test]
fn slow_stream_readers_fill_the_bounded_buffer() {
    let a = rt();
    let echo = a.spawn("echo", Echo::default());
    let mut c = Client::connect(a.addr());
    c.write(b"GET /echo/events HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.read_head().unwrap().status, 200);
    // Never read again: with 1 MiB chunks the socket buffers fill, then the
    // four-chunk queue, and `try_send` reports Full instead of growing.
    let full = wait_until(T, || {
        a.call::<Echo, _>(&echo, |e, _| {
            let s = e.stream.as_mut().unwrap();
            matches!(
                s.try_send(Bytes::from(vec![b'x'; 1 << 20])),
                Err(libprocess::http::StreamError::Full)
            )
        })
        .unwrap()
    });
    assert!(full);
}

#[test]
fn bad_input_gets_an_error_status_and_a_closed_connection() {
    let a = Runtime::start(TransportConfig::loopback().worker_threads(1).max_body(1024)).unwrap();
    a.spawn("echo", Echo::default());
    let cases: &[(&[u8], u16)] = &[
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", 400),
        (b"GET nopath HTTP/1.1\r\n\r\n", 400),
        (b"POST /echo/ping HTTP/1.1\r\nLibprocess-From: a@127.0.0.1:1\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n", 400),
        (b"POST /echo/ping HTTP/1.1\r\nLibprocess-From: a@127.0.0.1:1\r\nContent-Length: 5000\r\n\r\n", 413),
        (b"POST /echo/ping HTTP/1.1\r\nLibprocess-From: a@127.0.0.1:1\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n", 413),
    ];
    for (input, status) in cases {
        let mut c = Client::connect(a.addr());
        c.write(input);
        let r = c.read_response();
        if input.starts_with(b"GET nopath") {
            // Well-formed HTTP with a bad path: answered, connection kept.
            assert_eq!(r.unwrap().status, *status);
            continue;
        }
        assert_eq!(
            r.map(|r| r.status),
            Some(*status),
            "{:?}",
            String::from_utf8_lossy(input)
        );
        assert!(
            c.closed_by_peer(),
            "connection closed after {:?}",
            String::from_utf8_lossy(input)
        );
    }
    // The runtime still serves afterwards.
    assert_eq!(get(a.addr(), "/echo/state").status, 200);
}

#[test]
fn messages_without_a_parsable_route_get_500() {
    let a = rt();
    let mut c = Client::connect(a.addr());
    c.write(b"POST /bad%zz/name HTTP/1.1\r\nLibprocess-From: a@127.0.0.1:1\r\n\r\n");
    assert_eq!(c.read_response().unwrap().status, 500);
}

#[test]
fn peer_address_ip_match_is_enforced_when_required() {
    let a = Runtime::start(
        TransportConfig::loopback()
            .worker_threads(1)
            .require_peer_address_ip_match(true),
    )
    .unwrap();
    let w = a.spawn("watcher", Watcher::default());
    let mut c = Client::connect(a.addr());
    let liar = Upid::parse_literal("x@10.9.8.7:1").unwrap();
    c.write(&message_bytes(&liar, &w, "pong", b""));
    assert_eq!(c.read_response().unwrap().status, 400);
    let honest = Upid::parse_literal("x@127.0.0.1:1").unwrap();
    c.write(&message_bytes(&honest, &w, "pong", b""));
    assert_eq!(c.read_response().unwrap().status, 202);
}

#[test]
fn advertised_address_goes_into_pids() {
    let a = Runtime::start(
        TransportConfig::loopback()
            .worker_threads(1)
            .advertise_ip("127.0.0.2".parse().unwrap())
            .advertise_port(4242),
    )
    .unwrap();
    let pid = a.spawn("echo", Echo::default());
    assert_eq!(pid.to_string(), "echo@127.0.0.2:4242");
    assert_ne!(a.bound_addr(), a.addr());
    // Messages addressed to the bound address are still local.
    let w = a.spawn("watcher", Watcher::default());
    a.send(&w, &Upid::new("echo", a.bound_addr()), "ping", Bytes::new());
    assert!(wait_until(T, || a.call::<Echo, _>(&pid, |e, _| e.pings) == Some(1)));
}

#[test]
fn expect_continue_gets_an_interim_response() {
    let a = rt();
    a.spawn("echo", Echo::default());
    let mut c = Client::connect(a.addr());
    c.write(b"POST /echo/state HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    assert_eq!(c.read_head().unwrap().status, 100);
    c.write(b"body");
    assert_eq!(c.read_response().unwrap().status, 200);
}

#[test]
fn pipelined_responses_keep_request_order() {
    let a = rt();
    a.spawn("echo", Echo::default());
    let mut c = Client::connect(a.addr());
    c.write(
        b"GET /echo/slow HTTP/1.1\r\nHost: x\r\n\r\nGET /echo/state HTTP/1.1\r\nHost: x\r\n\r\n\
GET /echo/never HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let first = c.read_response().unwrap();
    assert_eq!((first.status, first.text().as_str()), (200, "slow"));
    assert!(c.read_response().unwrap().text().starts_with("{\"pings\""));
    assert_eq!(
        c.read_response().unwrap().status,
        503,
        "a dropped responder answers 503"
    );
    assert_eq!(c.read_response().unwrap().status, 404);
    assert!(c.closed_by_peer(), "Connection: close is honoured");
}

#[test]
fn libprocess_environment_chooses_the_address() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = |k: &str| match k {
        "LIBPROCESS_IP" => Some("127.0.0.1".to_string()),
        "LIBPROCESS_PORT" => Some(port.to_string()),
        "LIBPROCESS_ADVERTISE_IP" => Some("127.0.0.3".to_string()),
        _ => None,
    };
    let a = Runtime::start(TransportConfig::from_lookup(env).unwrap().worker_threads(1)).unwrap();
    assert_eq!(a.bound_addr().to_string(), format!("127.0.0.1:{port}"));
    assert_eq!(a.addr().to_string(), format!("127.0.0.3:{port}"));
    assert_eq!(
        a.spawn("echo", Echo::default()).to_string(),
        format!("echo@127.0.0.3:{port}")
    );
    // The bound address serves.
    assert_eq!(get(a.bound_addr(), "/echo/state").status, 200);
    // A second runtime cannot take the same port.
    let clash = Runtime::start(TransportConfig::from_lookup(env).unwrap().worker_threads(1));
    assert!(clash.is_err());
}
