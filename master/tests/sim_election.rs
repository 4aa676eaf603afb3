//! A contending master (`--zk`) on the simulator: a follower drops
//! messages and redirects leader-only HTTP endpoints; being detected as the
//! leader recovers it (upstream `Master::detected`, `Master::Http::redirect`).

mod support;

use http::{Method, StatusCode};
use libprocess::runtime::sim::Sim;
use libprocess::{Pid, Request};
use mesos_master::{Master, MasterFlags};
use mesos_proto::mesos::MasterInfo;
use support::*;

fn contending_master() -> (Sim, Pid<Master>) {
    let mut sim = Sim::with_config(libprocess::runtime::sim::SimConfig::from_env(7));
    sim.add_node(master_addr());
    sim.set_delegate(master_addr(), "master");
    let flags = MasterFlags::load(
        vec!["--registry=in_memory".to_string()],
        Vec::<(String, String)>::new(),
    )
    .expect("flags");
    let m = sim.spawn(
        master_addr(),
        "master",
        Master::new(flags, MASTER_ID, "master-host").contending(),
    );
    sim.settle();
    (sim, m)
}

fn get(sim: &mut Sim, path: &str) -> (StatusCode, String, String) {
    let mut r = Request::new(Method::GET, path);
    if let Some((_, q)) = path.split_once('?') {
        r.path = path.split('?').next().unwrap().to_string();
        r.query = q
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    }
    let h = sim.http(master_addr(), r);
    sim.settle();
    let resp = h.response().expect("answered");
    let loc = resp
        .headers
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (
        resp.status,
        loc,
        String::from_utf8_lossy(&resp.body).into_owned(),
    )
}

fn elected_metric(sim: &mut Sim) -> f64 {
    let (_, _, body) = get(sim, "/metrics/snapshot");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["master/elected"].as_f64().unwrap()
}

#[test]
fn follower_redirects_drops_and_leads_when_detected() {
    let (mut sim, m) = contending_master();
    assert!(!master_of(&sim, &m).elected());
    assert_eq!(elected_metric(&mut sim), 0.0);

    // No leader known yet: 503.
    let (st, _, body) = get(&mut sim, "/master/state");
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("No leader elected"), "{body}");
    // Local endpoints still answer.
    assert_eq!(get(&mut sim, "/master/health").0, StatusCode::OK);

    // Another master leads.
    let other = MasterInfo {
        id: "other".into(),
        ip: 0,
        port: 6060,
        hostname: Some("leader.example".into()),
        pid: Some("master@10.0.0.9:6060".into()),
        ..Default::default()
    };
    sim.dispatch(&m, move |m: &mut Master, cx| m.detected(cx, Some(other)));
    sim.settle();
    let (st, loc, _) = get(&mut sim, "/master/state?jsonp=cb");
    assert_eq!(st, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(loc, "//leader.example:6060/master/state?jsonp=cb");
    let (st, loc, _) = get(&mut sim, "/master/redirect");
    assert_eq!(
        (st, loc.as_str()),
        (StatusCode::TEMPORARY_REDIRECT, "//leader.example:6060")
    );
    assert_eq!(get(&mut sim, "/master/redirect/x").0, StatusCode::NOT_FOUND);

    // An agent registering with a follower is ignored.
    sim.add_node(agent_addr(1));
    sim.spawn(
        agent_addr(1),
        "slave(1)",
        FakeAgent::new(m.upid.clone(), vec![]),
    );
    sim.settle();
    assert!(master_of(&sim, &m).state().agents.is_empty());
    let (_, _, body) = get(&mut sim, "/metrics/snapshot");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["master/dropped_messages"].as_f64(), Some(1.0));

    // This master is detected as the leader: it recovers and accepts agents.
    let me = master_of(&sim, &m).info().clone();
    sim.dispatch(&m, move |m: &mut Master, cx| m.detected(cx, Some(me)));
    sim.settle();
    assert!(master_of(&sim, &m).elected());
    assert_eq!(elected_metric(&mut sim), 1.0);
    sim.add_node(agent_addr(2));
    let a = sim.spawn(
        agent_addr(2),
        "slave(1)",
        FakeAgent::new(m.upid.clone(), vec![]),
    );
    sim.settle();
    assert!(sim.actor::<FakeAgent>(&a.upid).unwrap().id.is_some());
    assert_eq!(master_of(&sim, &m).state().agents.len(), 1);
    let (st, loc, _) = get(&mut sim, "/master/redirect");
    assert_eq!(st, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(loc, "//master-host:5050");
}
