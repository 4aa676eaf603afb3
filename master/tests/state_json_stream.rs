//! The streamed v0 endpoints (`/state`, `/slaves`, `/frameworks`, `/tasks`,
//! `/state-summary`) print exactly the bytes the `serde_json::Value` builders
//! print, for a rich state built on the simulator: several agents (one
//! draining, one deactivated, one with a dynamic reservation), frameworks
//! (one multi-role with escapes in its strings) with tasks in several states,
//! completed tasks and held offers.

#![allow(deprecated)]

mod support;

use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use libprocess::runtime::sim::Sim;
use libprocess::{Pid, Request};
use mesos_master::Master;
use mesos_proto::mesos::framework_info::{capability::Type as FwCap, Capability};
use mesos_proto::mesos::slave_info::capability::Type as AgentCap;
use mesos_proto::mesos::TaskState;
use serde_json::Value;
use support::*;

fn operator(sim: &mut Sim, json: &str) -> StatusCode {
    let mut r = Request::new(Method::POST, "/api/v1");
    r.headers
        .insert("content-type", "application/json".parse().unwrap());
    r.headers
        .insert("accept", "application/json".parse().unwrap());
    r.body = Bytes::from(json.to_string());
    let h = sim.http(master_addr(), r);
    sim.settle();
    h.response().expect("answered").status
}

fn get(sim: &mut Sim, path: &str) -> String {
    let h = sim.http(master_addr(), Request::new(Method::GET, path));
    sim.settle();
    let resp = h.response().expect("answered");
    assert_eq!(resp.status, StatusCode::OK, "{path}");
    String::from_utf8(resp.body.to_vec()).expect("utf-8")
}

fn rich_cluster() -> (Sim, Pid<Master>, Vec<String>) {
    let (mut sim, m) = sim_with_master(11, &["--cluster=c\"l\u{e9}\\ster"]);
    let scripts = [
        vec![TaskState::TaskRunning, TaskState::TaskFinished],
        vec![TaskState::TaskRunning],
        vec![TaskState::TaskRunning, TaskState::TaskFailed],
        vec![],
    ];
    let mut agents = vec![];
    for (i, script) in scripts.into_iter().enumerate() {
        let n = i as u8 + 1;
        sim.add_node(agent_addr(n));
        let mut fa = FakeAgent::new(m.upid.clone(), script);
        fa.cpus = 4.0 + f64::from(n) / 3.0;
        fa.capabilities = vec![AgentCap::AgentDraining as i32, AgentCap::MultiRole as i32];
        agents.push(sim.spawn(agent_addr(n), "slave(1)", fa));
    }
    let mut launchers = vec![];
    for n in 1..=4u8 {
        let policy = if n == 4 {
            OfferPolicy::Hold
        } else {
            OfferPolicy::LaunchOnce(vec![
                scalar("cpus", 0.25 * f64::from(n)),
                scalar("mem", 64.0),
            ])
        };
        let mut fs = FakeScheduler::new(m.upid.clone(), policy);
        fs.info.name = format!("fw \"{n}\" \u{2603}\n\t<&>");
        fs.info.webui_url = Some(format!("http://ui/{n}"));
        fs.info.principal = Some(format!("principal-{n}"));
        fs.info.checkpoint = Some(n % 2 == 0);
        fs.info.failover_timeout = Some(0.1 * f64::from(n));
        if n == 2 {
            fs.info.roles = vec!["analytics".into(), "web".into()];
            fs.info.capabilities = vec![Capability {
                r#type: Some(FwCap::MultiRole as i32),
            }];
        }
        if n == 4 {
            // The offer holder comes last so that it does not starve the
            // launchers.
            let all_launched = sim.run_until(
                |sim| {
                    launchers.iter().all(|p: &Pid<FakeScheduler>| {
                        sim.actor::<FakeScheduler>(&p.upid)
                            .is_some_and(|f| f.launched)
                    })
                },
                Duration::from_secs(120),
            );
            assert!(all_launched, "every launcher launched its task");
        }
        sim.add_node(sched_addr(n));
        launchers.push(sim.spawn(sched_addr(n), &format!("scheduler-{n}"), fs));
    }
    sim.advance(Duration::from_secs(30));
    sim.settle();
    let ids: Vec<String> = agents
        .iter()
        .map(|a| {
            sim.actor::<FakeAgent>(&a.upid)
                .and_then(|fa| fa.id.clone())
                .expect("agent registered")
        })
        .collect();
    let drain = format!(
        r#"{{"type":"DRAIN_AGENT","drain_agent":{{"agent_id":{{"value":"{}"}},"max_grace_period":{{"seconds":5}}}}}}"#,
        ids[2]
    );
    assert_eq!(operator(&mut sim, &drain), StatusCode::OK);
    let deactivate = format!(
        r#"{{"type":"DEACTIVATE_AGENT","deactivate_agent":{{"agent_id":{{"value":"{}"}}}}}}"#,
        ids[3]
    );
    assert_eq!(operator(&mut sim, &deactivate), StatusCode::OK);
    let reserve = format!(
        r#"{{"type":"RESERVE_RESOURCES","reserve_resources":{{"agent_id":{{"value":"{}"}},"resources":[{{"name":"cpus","type":"SCALAR","scalar":{{"value":1.5}},"reservations":[{{"type":"DYNAMIC","role":"analytics","principal":"ops"}}]}}]}}}}"#,
        ids[1]
    );
    let st = operator(&mut sim, &reserve);
    assert!(st.is_success(), "reserve: {st}");
    (sim, m, ids)
}

fn check(old: Value, new: String, what: &str) {
    assert_eq!(old.to_string(), new, "{what}: streamed bytes differ");
}

#[test]
fn streamed_v0_endpoints_match_value_builders() {
    let (mut sim, m, ids) = rich_cluster();
    let master = master_of(&sim, &m);

    // The state really is rich, so the comparison covers every branch
    // that matters.
    let st = master.state();
    assert_eq!(st.agents.len(), 4);
    assert!(st.frameworks.len() >= 4);
    assert!(st.frameworks.values().any(|f| !f.tasks.is_empty()));
    assert!(st
        .frameworks
        .values()
        .any(|f| !f.completed_tasks.is_empty()));
    assert!(st.frameworks.values().any(|f| !f.offers.is_empty()));
    assert!(st.draining.contains_key(&ids[2]));
    assert!(st.deactivated.contains(&ids[3]));
    assert!(
        master
            .slaves_json(None)
            .to_string()
            .contains("\"reserved_resources_full\":{\"analytics\""),
        "the reservation shows"
    );

    check(master.state_json(), master.state_json_bytes(), "/state");
    check(
        master.slaves_json(None),
        master.slaves_json_bytes(None),
        "/slaves",
    );
    check(
        master.slaves_json(Some(&ids[1])),
        master.slaves_json_bytes(Some(&ids[1])),
        "/slaves?slave_id",
    );
    check(
        master.frameworks_json(None),
        master.frameworks_json_bytes(None),
        "/frameworks",
    );
    let fid = st.frameworks.keys().nth(1).cloned().expect("framework");
    check(
        master.frameworks_json(Some(&fid)),
        master.frameworks_json_bytes(Some(&fid)),
        "/frameworks?framework_id",
    );
    check(
        master.tasks_json(100, 0),
        master.tasks_json_bytes(100, 0),
        "/tasks",
    );
    check(
        master.tasks_json(2, 1),
        master.tasks_json_bytes(2, 1),
        "/tasks paged",
    );
    check(
        master.state_summary_json(),
        master.state_summary_json_bytes(),
        "/state-summary",
    );

    // The endpoints serve the streamed bytes, and they parse.
    let expected_state = master.state_json().to_string();
    let expected_summary = master.state_summary_json().to_string();
    let state = get(&mut sim, "/master/state");
    assert_eq!(state, expected_state);
    let v: Value = serde_json::from_str(&state).expect("valid JSON");
    assert_eq!(v["slaves"].as_array().map(Vec::len), Some(4));
    assert!(state.contains("drain_info"));
    assert!(state.contains("\"roles\":[\"analytics\",\"web\"]"));
    assert_eq!(get(&mut sim, "/master/state-summary"), expected_summary);
}
