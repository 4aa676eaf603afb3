//! HTTP through the simulator: routing to `/<id>/<endpoint>`, delegate
//! routing, deferred answers, streams with a bounded buffer and close notices.

mod sim_support;

use bytes::Bytes;
use http::{Method, StatusCode};
use libprocess::http::{Request, StreamError};
use libprocess::runtime::sim::{Sim, SimConfig};
use libprocess::Upid;
use sim_support::*;

fn get(path: &str) -> Request {
    Request::new(Method::GET, path)
}

fn body(sim: &mut Sim, path: &str) -> (StatusCode, String) {
    let h = sim.http(a1(), get(path));
    sim.settle();
    let r = h.response().expect("answered");
    (r.status, String::from_utf8_lossy(&r.body).into_owned())
}

fn setup() -> (Sim, Upid) {
    let mut sim = Sim::with_config(SimConfig::from_env(3));
    sim.add_node(a1());
    let c = sim.spawn(a1(), "counter", Counter::new(ms(1000), 100));
    (sim, c.upid)
}

#[test]
fn routes_by_process_id_and_endpoint() {
    let (mut sim, _) = setup();
    sim.advance(ms(2000));
    let (status, b) = body(&mut sim, "/counter/count?q=a%20b");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        b,
        r#"{"ticks":2,"endpoint":"count","path":"/counter/count","q":"a b"}"#
    );
    let mut post = Request::new(Method::POST, "/counter/echo");
    post.body = Bytes::from_static(b"payload");
    let h = sim.http(a1(), post);
    sim.settle();
    assert_eq!(h.response().unwrap().body, "payload");
    // Unknown endpoint and unknown process: 404 without a delegate.
    assert_eq!(body(&mut sim, "/counter/nope").0, StatusCode::NOT_FOUND);
    assert_eq!(body(&mut sim, "/nobody/count").0, StatusCode::NOT_FOUND);
    assert_eq!(body(&mut sim, "/").0, StatusCode::NOT_FOUND);
    // A percent-encoded process id.
    sim.spawn(a1(), "slave(1)", Counter::new(ms(1000), 0));
    let (status, b) = body(&mut sim, "/slave%281%29/count");
    assert_eq!(status, StatusCode::OK);
    assert!(b.contains(r#""ticks":0"#), "{b}");
}

#[test]
fn unknown_first_segments_go_to_the_delegate() {
    let (mut sim, _) = setup();
    sim.set_delegate(a1(), "counter");
    let (status, b) = body(&mut sim, "/count");
    assert_eq!(status, StatusCode::OK);
    assert!(b.contains(r#""path":"/counter/count""#), "{b}");
    // A known process id is still routed to that process.
    sim.spawn(a1(), "other", Counter::new(ms(1000), 0));
    let (_, b) = body(&mut sim, "/other/count");
    assert!(b.contains(r#""path":"/other/count""#), "{b}");
    // The root goes to the delegate's own root: no route there.
    assert_eq!(body(&mut sim, "/").0, StatusCode::NOT_FOUND);
}

#[test]
fn deferred_answers_arrive_when_the_actor_answers() {
    let (mut sim, _) = setup();
    let h = sim.http(a1(), get("/counter/later"));
    sim.settle();
    assert!(h.response().is_none());
    assert!(!h.is_finished());
    sim.advance(ms(1000));
    let r = h.response().unwrap();
    assert_eq!(r.body, r#"{"tick":1}"#);
}

#[test]
fn a_stream_has_a_bounded_buffer_and_tells_the_actor_when_the_client_leaves() {
    let (mut sim, c) = setup();
    let h = sim.http(a1(), get("/counter/stream"));
    sim.settle();
    assert!(h.is_streaming());
    assert_eq!(h.status(), Some(StatusCode::OK));
    sim.advance(ms(1000));
    assert_eq!(h.buffered(), 2);
    // Full: the third tick's chunk did not fit.
    sim.advance(ms(1000));
    assert_eq!(
        h.take_chunks(),
        vec![
            Bytes::from_static(b"hello\n"),
            Bytes::from_static(b"tick 1\n")
        ]
    );
    sim.dispatch(
        &libprocess::Pid::<Counter>::new(c.clone()),
        |a: &mut Counter, _cx| {
            let s = a.stream.as_mut().unwrap();
            assert_eq!(s.try_send("a"), Ok(()));
            assert_eq!(s.try_send("b"), Ok(()));
            assert_eq!(s.try_send("c"), Err(StreamError::Full));
        },
    );
    sim.settle();
    assert_eq!(h.stream_body(), "hello\ntick 1\nab");
    // The client goes away: the close notice runs on the actor now.
    sim.advance(ms(500));
    h.close();
    sim.settle();
    let a = sim.actor::<Counter>(&c).unwrap();
    assert_eq!(a.notices, vec![at_ms(2500)]);
    assert!(a.stream.is_none());
}

#[test]
fn the_server_closing_a_stream_ends_it_and_notifies_once() {
    let (mut sim, c) = setup();
    let h = sim.http(a1(), get("/counter/stream"));
    sim.settle();
    sim.dispatch(
        &libprocess::Pid::<Counter>::new(c.clone()),
        |a: &mut Counter, _cx| {
            let mut s = a.stream.take().unwrap();
            s.close();
            assert_eq!(s.try_send("late"), Err(StreamError::Closed));
        },
    );
    sim.settle();
    assert!(h.stream_ended());
    assert!(h.is_finished());
    h.close();
    sim.settle();
    assert_eq!(sim.actor::<Counter>(&c).unwrap().notices.len(), 1);
}

#[test]
fn a_crashed_node_resets_its_connections() {
    let (mut sim, c) = setup();
    sim.add_node(a2());
    let pending = sim.http(a1(), get("/counter/later"));
    let stream = sim.http(a1(), get("/counter/stream"));
    sim.settle();
    sim.crash_node(a1());
    sim.settle();
    assert_eq!(pending.failure().as_deref(), Some("connection reset"));
    assert!(pending.response().is_none(), "no 503 from a dead process");
    assert_eq!(stream.failure().as_deref(), Some("connection reset"));
    stream.close();
    sim.settle();
    let refused = sim.http(a1(), get("/counter/count"));
    sim.settle();
    assert_eq!(refused.failure().as_deref(), Some("connection refused"));
    assert!(!sim.is_alive(&c));
}

#[test]
fn a_terminated_streaming_actor_ends_its_stream() {
    let (mut sim, c) = setup();
    let h = sim.http(a1(), get("/counter/stream"));
    sim.settle();
    sim.terminate(&c);
    sim.settle();
    assert!(h.stream_ended());
    // A new actor under the same id never gets the dead one's notice.
    let c2 = sim.spawn(a1(), "counter", Counter::new(ms(1000), 0));
    h.close();
    sim.settle();
    assert!(sim.actor::<Counter>(&c2.upid).unwrap().notices.is_empty());
}

#[test]
fn a_client_on_another_node_is_cut_by_partitions_and_crashes() {
    let (mut sim, c) = setup();
    sim.add_node(a2());
    sim.add_node(a3());
    let stream = sim.http_from(a2(), a1(), get("/counter/stream"));
    sim.settle();
    assert!(stream.is_streaming());
    // A partition resets the connection; the actor hears its client left.
    sim.advance(ms(100));
    sim.partition(a1(), a2());
    sim.settle();
    assert_eq!(stream.failure().as_deref(), Some("connection reset"));
    assert_eq!(sim.actor::<Counter>(&c).unwrap().notices, vec![at_ms(100)]);
    // While partitioned, new connections are refused.
    let refused = sim.http_from(a2(), a1(), get("/counter/count"));
    sim.settle();
    assert_eq!(refused.failure().as_deref(), Some("connection refused"));
    sim.heal(a1(), a2());
    let ok = sim.http_from(a2(), a1(), get("/counter/count"));
    sim.settle();
    assert_eq!(ok.status(), Some(StatusCode::OK));
    // The client's node crashing closes its stream too.
    let again = sim.http_from(a3(), a1(), get("/counter/stream"));
    sim.settle();
    sim.advance(ms(50));
    sim.crash_node(a3());
    sim.settle();
    assert_eq!(again.failure().as_deref(), Some("connection reset"));
    assert_eq!(
        sim.actor::<Counter>(&c).unwrap().notices,
        vec![at_ms(100), at_ms(150)]
    );
}
