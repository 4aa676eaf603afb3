//! Allocator metrics in the master's `/metrics/snapshot` and `GET_METRICS`
//! (upstream `src/master/allocator/mesos/metrics.cpp`, checked upstream by
//! `HierarchicalAllocatorTest.{AllocationRunsMetric,AllocationRunTimerMetrics,
//! ResourceMetrics,QuotaMetrics,DominantShareMetrics}`), and a comparison of
//! the key names with the real 1.9.0 master of the reference kit (skipped
//! without the kit).

#![allow(deprecated)]

mod support;

use support::durable::TempDir;
use support::kit::{kit_bin, RealMaster};

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, StatusCode};
use libprocess::runtime::sim::Sim;
use libprocess::{Pid, Request};
use mesos_master::Master;
use mesos_proto::mesos::TaskState;
use serde_json::{Map, Value};
use support::*;

fn snapshot(sim: &mut Sim) -> Map<String, Value> {
    let h = sim.http(
        master_addr(),
        Request::new(Method::GET, "/metrics/snapshot"),
    );
    sim.settle();
    let body = h.response().expect("answered").body;
    match serde_json::from_slice(&body).expect("json") {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn num(m: &Map<String, Value>, k: &str) -> f64 {
    m.get(k)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("missing metric {k}; have {:?}", allocator_keys(m)))
}

fn allocator_keys(m: &Map<String, Value>) -> BTreeSet<String> {
    m.keys()
        .filter(|k| k.starts_with("allocator/"))
        .cloned()
        .collect()
}

fn operator_call(sim: &mut Sim, json: &str) -> (StatusCode, String) {
    let mut r = Request::new(Method::POST, "/api/v1");
    r.headers
        .insert("content-type", "application/json".parse().unwrap());
    r.headers
        .insert("accept", "application/json".parse().unwrap());
    r.body = Bytes::from(json.to_string());
    let h = sim.http(master_addr(), r);
    sim.settle();
    let resp = h.response().expect("answered");
    (
        resp.status,
        String::from_utf8_lossy(&resp.body).into_owned(),
    )
}

fn with_agent(seed: u64) -> (Sim, Pid<Master>) {
    let (mut sim, m) = sim_with_master(seed, &[]);
    sim.add_node(agent_addr(1));
    sim.spawn(
        agent_addr(1),
        "slave(1)",
        FakeAgent::new(m.upid.clone(), vec![TaskState::TaskRunning]),
    );
    sim.settle();
    (sim, m)
}

const QUOTA_R1: &str = r#"{"type":"UPDATE_QUOTA","update_quota":{"force":true,"quota_configs":[{"role":"r1","guarantees":{"cpus":{"value":1}}}]}}"#;

/// Runs, timers, resource gauges, dominant shares, offer filters and quota
/// gauges appear under upstream's names and follow allocations.
#[test]
fn allocator_metrics_follow_allocations() {
    let (mut sim, m) = with_agent(4401);
    sim.advance(secs(3));
    let before = snapshot(&mut sim);
    for k in [
        "allocator/mesos/event_queue_dispatches",
        "allocator/event_queue_dispatches",
        "allocator/mesos/allocation_run_ms",
        "allocator/mesos/allocation_run_ms/count",
        "allocator/mesos/allocation_run_ms/p9999",
        "allocator/mesos/allocation_run_latency_ms",
    ] {
        num(&before, k);
    }
    let runs_before = num(&before, "allocator/mesos/allocation_runs");
    assert!(runs_before >= 2.0, "periodic runs counted: {runs_before}");
    assert_eq!(num(&before, "allocator/mesos/resources/cpus/total"), 2.0);
    assert_eq!(num(&before, "allocator/mesos/resources/mem/total"), 1024.0);
    assert_eq!(
        num(
            &before,
            "allocator/mesos/resources/cpus/offered_or_allocated"
        ),
        0.0
    );

    // A framework that keeps its offer: everything is offered to role `*`.
    sim.add_node(sched_addr(1));
    let s = sim.spawn(
        sched_addr(1),
        "scheduler-1",
        FakeScheduler::new(m.upid.clone(), OfferPolicy::Hold),
    );
    sim.settle();
    assert_eq!(sim.actor::<FakeScheduler>(&s.upid).unwrap().offers.len(), 1);
    let held = snapshot(&mut sim);
    assert!(num(&held, "allocator/mesos/allocation_runs") > runs_before);
    assert_eq!(
        num(&held, "allocator/mesos/resources/cpus/offered_or_allocated"),
        2.0
    );
    assert_eq!(
        num(&held, "allocator/mesos/resources/mem/offered_or_allocated"),
        1024.0
    );
    assert_eq!(num(&held, "allocator/mesos/roles/*/shares/dominant"), 1.0);
    assert_eq!(
        num(&held, "allocator/mesos/offer_filters/roles/*/active"),
        0.0
    );

    // Quota gauges appear with a non-default quota.
    let (status, body) = operator_call(&mut sim, QUOTA_R1);
    assert_eq!(status, StatusCode::OK, "{body}");
    let quota = snapshot(&mut sim);
    assert_eq!(
        num(
            &quota,
            "allocator/mesos/quota/roles/r1/resources/cpus/guarantee"
        ),
        1.0
    );
    assert_eq!(
        num(
            &quota,
            "allocator/mesos/quota/roles/r1/resources/cpus/offered_or_allocated"
        ),
        0.0
    );
    assert_eq!(
        num(&quota, "allocator/mesos/offer_filters/roles/r1/active"),
        0.0
    );
}

/// A declined offer leaves a filter behind: the gauge counts it and the
/// resources are no longer offered or allocated.
#[test]
fn offer_filters_active_counts_declines() {
    let (mut sim, m) = with_agent(4402);
    sim.add_node(sched_addr(1));
    let s = sim.spawn(
        sched_addr(1),
        "scheduler-1",
        FakeScheduler::new(m.upid.clone(), OfferPolicy::Decline(3600.0)),
    );
    sim.settle();
    assert!(!sim
        .actor::<FakeScheduler>(&s.upid)
        .unwrap()
        .offers
        .is_empty());
    let after = snapshot(&mut sim);
    assert_eq!(
        num(&after, "allocator/mesos/offer_filters/roles/*/active"),
        1.0
    );
    assert_eq!(
        num(
            &after,
            "allocator/mesos/resources/cpus/offered_or_allocated"
        ),
        0.0
    );
    assert_eq!(num(&after, "allocator/mesos/roles/*/shares/dominant"), 0.0);
}

/// `GET_METRICS` on the operator API carries the same keys as the snapshot.
#[test]
fn get_metrics_carries_allocator_keys() {
    let (mut sim, _m) = with_agent(4403);
    sim.advance(secs(2));
    let (status, body) = operator_call(&mut sim, r#"{"type":"GET_METRICS","get_metrics":{}}"#);
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["type"], "GET_METRICS");
    let metrics = v["get_metrics"]["metrics"].as_array().expect("metrics");
    let get = |name: &str| {
        metrics
            .iter()
            .find(|m| m["name"] == name)
            .and_then(|m| m["value"].as_f64())
    };
    assert_eq!(get("allocator/mesos/resources/cpus/total"), Some(2.0));
    assert!(get("allocator/mesos/allocation_runs").is_some_and(|v| v >= 1.0));
    assert_eq!(get("master/cpus_total"), Some(2.0));
}

// ------------------------------------------------ the real 1.9.0 master

fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n")?;
    if !head.starts_with("HTTP/1.1 200") {
        return None;
    }
    // Bodies of the real master may be chunked.
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut body = String::new();
        let mut r = rest;
        loop {
            let (len, tail) = r.split_once("\r\n")?;
            let n = usize::from_str_radix(len.trim(), 16).ok()?;
            if n == 0 {
                break;
            }
            body.push_str(tail.get(..n)?);
            r = tail.get(n + 2..)?;
        }
        return Some(body);
    }
    Some(rest.to_string())
}

fn real_snapshot(port: u16) -> Option<Map<String, Value>> {
    match serde_json::from_str(&http(port, "GET", "/metrics/snapshot", None)?).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// Polls the real master until `ready` holds on its snapshot.
fn wait_real(
    port: u16,
    what: &str,
    ready: impl Fn(&Map<String, Value>) -> bool,
) -> Map<String, Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(m) = real_snapshot(port) {
            if ready(&m) {
                return m;
            }
        }
        assert!(
            Instant::now() < deadline,
            "real master: timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Same scenario on both masters (one agent, no framework, periodic runs,
/// then a quota guarantee for `r1`): the `allocator/` key names must agree.
#[test]
fn allocator_metric_names_match_real_master() {
    let Some(bin) = kit_bin() else { return };
    let work = TempDir::new("alloc-metrics-ref");
    let real_master = RealMaster::start(
        &bin,
        1,
        &[format!("--work_dir={}", work.0.join("w").display())],
        &[],
        &work.0.join("master.log"),
    );
    let port = real_master.port();
    wait_real(port, "agent and two allocation runs", |m| {
        m.get("master/slaves_active").and_then(Value::as_f64) == Some(1.0)
            && m.contains_key("allocator/mesos/allocation_run_ms/count")
    });
    http(port, "POST", "/api/v1", Some(QUOTA_R1)).expect("UPDATE_QUOTA accepted");
    let real = wait_real(port, "quota gauges", |m| {
        m.contains_key("allocator/mesos/quota/roles/r1/resources/cpus/guarantee")
    });

    let (mut sim, _m) = with_agent(4404);
    sim.advance(secs(3));
    let (status, body) = operator_call(&mut sim, QUOTA_R1);
    assert_eq!(status, StatusCode::OK, "{body}");
    let ours = snapshot(&mut sim);

    let real_keys = allocator_keys(&real);
    let our_keys = allocator_keys(&ours);
    let missing: Vec<_> = real_keys.difference(&our_keys).collect();
    let extra: Vec<_> = our_keys.difference(&real_keys).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "allocator keys differ from the real 1.9.0 master:\n missing: {missing:?}\n extra: {extra:?}"
    );
    assert!(real_keys.len() > 20, "compared {} keys", real_keys.len());
    // Values that do not depend on timing agree too (the real event queue
    // holds the snapshot's own dispatches, so its size is not compared).
    for k in [
        "allocator/mesos/quota/roles/r1/resources/cpus/guarantee",
        "allocator/mesos/quota/roles/r1/resources/cpus/offered_or_allocated",
        "allocator/mesos/offer_filters/roles/r1/active",
        "allocator/mesos/resources/cpus/offered_or_allocated",
    ] {
        assert_eq!(real[k], ours[k], "{k}");
    }
    // Kept on failure: the real master's log is in there.
}
