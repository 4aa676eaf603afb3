//! The operator event stream on the simulator (upstream
//! src/tests/api_tests.cpp `MasterAPITest.Subscribe*`,
//! `MasterAPITest.MaxEventStreamSubscribers`).

#![allow(deprecated)]

mod support;

use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use libprocess::runtime::sim::{ResponseHandle, Sim};
use libprocess::Request;
use mesos_proto::mesos::TaskState;
use support::*;

fn subscribe(sim: &mut Sim) -> ResponseHandle {
    let mut r = Request::new(Method::POST, "/api/v1");
    r.headers
        .insert("content-type", "application/json".parse().unwrap());
    r.headers
        .insert("accept", "application/json".parse().unwrap());
    r.body = Bytes::from(r#"{"type":"SUBSCRIBE"}"#);
    let h = sim.http(master_addr(), r);
    sim.settle();
    h
}

fn records(body: &[u8]) -> Vec<serde_json::Value> {
    let mut d = mesos_proto::recordio::Decoder::new(1 << 22);
    d.decode(body)
        .expect("recordio")
        .into_iter()
        .map(|r| serde_json::from_slice(&r).expect("json event"))
        .collect()
}

fn types(events: &[serde_json::Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("").to_string())
        .collect()
}

/// MasterAPITest.Subscribe: SUBSCRIBED with the state and a heartbeat,
/// then AGENT_ADDED, FRAMEWORK_ADDED, TASK_ADDED, TASK_UPDATED as a task
/// runs, HEARTBEAT every 15 s, AGENT_REMOVED when the agent leaves.
#[test]
fn master_api_test_subscribe() {
    let (mut sim, m) = sim_with_master(80, &[]);
    let h = subscribe(&mut sim);
    assert_eq!(h.status(), Some(StatusCode::OK));
    let ev = records(&h.stream_body());
    assert_eq!(types(&ev), vec!["SUBSCRIBED", "HEARTBEAT"]);
    assert_eq!(ev[0]["subscribed"]["heartbeat_interval_seconds"], 15.0);
    assert!(ev[0]["subscribed"]["get_state"].is_object());

    sim.add_node(agent_addr(1));
    let ag = sim.spawn(
        agent_addr(1),
        "slave(1)",
        FakeAgent::new(m.upid.clone(), vec![TaskState::TaskRunning]),
    );
    sim.add_node(sched_addr(1));
    let s = sim.spawn(
        sched_addr(1),
        "scheduler-1",
        FakeScheduler::new(
            m.upid.clone(),
            OfferPolicy::LaunchOnce(vec![scalar("cpus", 0.5), scalar("mem", 64.0)]),
        ),
    );
    sim.settle();
    sim.advance(Duration::from_secs(2));
    let ev = records(&h.stream_body());
    let t = types(&ev);
    for want in [
        "AGENT_ADDED",
        "FRAMEWORK_ADDED",
        "TASK_ADDED",
        "TASK_UPDATED",
    ] {
        assert!(t.iter().any(|x| x == want), "{want} missing from {t:?}");
    }
    let updated = ev.iter().find(|e| e["type"] == "TASK_UPDATED").unwrap();
    assert_eq!(updated["task_updated"]["state"], "TASK_RUNNING");
    assert!(
        ev.iter().find(|e| e["type"] == "AGENT_ADDED").unwrap()["agent_added"]["agent"]
            ["agent_info"]["id"]["value"]
            .is_string()
    );

    sim.advance(Duration::from_secs(15));
    let ev = records(&h.stream_body());
    assert!(types(&ev).iter().filter(|t| *t == "HEARTBEAT").count() >= 2);

    // The scheduler subscribes again with its ID: FRAMEWORK_UPDATED.
    sim.dispatch(&s, |f: &mut FakeScheduler, cx| f.subscribe(cx));
    sim.settle();
    let ev = records(&h.stream_body());
    assert!(
        types(&ev).iter().any(|t| t == "FRAMEWORK_UPDATED"),
        "{:?}",
        types(&ev)
    );

    sim.dispatch(&ag, |a: &mut FakeAgent, cx| {
        let id = a.id.clone().unwrap();
        let master = a.master.clone();
        cx.send(
            &master,
            &mesos_proto::mesos::internal::UnregisterSlaveMessage {
                slave_id: mesos_proto::mesos::SlaveId { value: id },
            },
        );
    });
    sim.settle();
    let ev = records(&h.stream_body());
    assert_eq!(types(&ev).last().map(String::as_str), Some("AGENT_REMOVED"));
}

/// MasterAPITest.MaxEventStreamSubscribers: past the limit the oldest
/// stream is closed.
#[test]
fn master_api_test_max_event_stream_subscribers() {
    let (mut sim, _m) = sim_with_master(81, &["--max_operator_event_stream_subscribers=2"]);
    let a = subscribe(&mut sim);
    let b = subscribe(&mut sim);
    assert!(!a.stream_ended() && !b.stream_ended());
    let c = subscribe(&mut sim);
    assert!(a.stream_ended(), "oldest closed");
    assert!(!b.stream_ended() && !c.stream_ended());
}

/// A subscriber that never reads is dropped once its buffer is full,
/// instead of the master buffering without bound; the others go on.
#[test]
fn operator_slow_subscriber_is_dropped() {
    let (mut sim, _m) = sim_with_master(82, &[]);
    let slow = subscribe(&mut sim);
    let fast = subscribe(&mut sim);
    // 1024 records fill the slow one: heartbeats every 15 s.
    for _ in 0..1100 {
        sim.advance(Duration::from_secs(15));
        fast.take_chunks();
    }
    assert!(slow.stream_ended(), "slow subscriber dropped");
    assert!(!fast.stream_ended());
}
