//! Quota 1.9 on the simulator (upstream src/tests/master_quota_tests.cpp,
//! the UPDATE_QUOTA / GET_QUOTA cases). The error texts were compared with
//! the real 1.9.0 master of the reference kit.

#![allow(deprecated)]

mod support;

use bytes::Bytes;
use http::{Method, StatusCode};
use libprocess::runtime::sim::Sim;
use libprocess::{Pid, Request};
use mesos_master::Master;
use mesos_proto::mesos::TaskState;
use prost::Message;
use support::*;

fn call(sim: &mut Sim, json: &str, protobuf: bool) -> (StatusCode, String) {
    let mut r = Request::new(Method::POST, "/api/v1");
    if protobuf {
        let c: mesos_proto::mesos::v1::master::Call =
            mesos_proto::json::from_json(json).expect("valid call json");
        r.headers
            .insert("content-type", "application/x-protobuf".parse().unwrap());
        r.body = Bytes::from(c.encode_to_vec());
    } else {
        r.headers
            .insert("content-type", "application/json".parse().unwrap());
        r.body = Bytes::from(json.to_string());
    }
    r.headers
        .insert("accept", "application/json".parse().unwrap());
    let h = sim.http(master_addr(), r);
    sim.settle();
    let resp = h.response().expect("answered");
    (
        resp.status,
        String::from_utf8_lossy(&resp.body).into_owned(),
    )
}

fn update(configs: &str, force: bool) -> String {
    format!(
        r#"{{"type":"UPDATE_QUOTA","update_quota":{{"force":{force},"quota_configs":[{configs}]}}}}"#
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

fn min_caps(sim: &Sim, m: &Pid<Master>) -> Vec<String> {
    master_of(sim, m)
        .registrar()
        .registry()
        .minimum_capabilities
        .iter()
        .map(|c| c.capability.clone())
        .collect()
}

/// MasterQuotaTest validation cases, JSON and protobuf.
fn validation(protobuf: bool) {
    let (mut sim, m) = with_agent(70);
    let cases = [
        (
            update(r#"{"role":"r1","guarantees":{"cpus":{"value":100}}}"#, false),
            "Invalid QuotaConfig: total quota guarantees 'cpus:100' exceed cluster capacity 'cpus:2; mem:1024' (use 'force' flag to bypass this check)",
        ),
        (
            update(
                r#"{"role":"r1","guarantees":{"cpus":{"value":2}},"limits":{"cpus":{"value":1}}}"#,
                false,
            ),
            "Invalid QuotaConfig: 'QuotaConfig.guarantees' { cpus: 2 } is not contained within the 'QuotaConfig.limits' { cpus: 1 }",
        ),
        (
            update(r#"{"role":"*","limits":{"cpus":{"value":1}}}"#, false),
            "Invalid QuotaConfig: Invalid 'QuotaConfig.role': setting quota for the default '*' role is not supported",
        ),
        (
            update(r#"{"role":"a/b","limits":{"cpus":{"value":1}}}"#, false),
            "Updating quota on nested role 'a/b' is not supported yet",
        ),
        (
            update(r#"{"role":"r1","limits":{"cpus":{"value":-1}}}"#, false),
            "Invalid QuotaConfig: Invalid limit configuration {'cpus': -1}: Negative values not supported",
        ),
        (
            r#"{"type":"UPDATE_QUOTA"}"#.to_string(),
            "Failed to validate master::Call: Expecting 'update_quota' to be present",
        ),
    ];
    for (body, want) in cases {
        let (st, got) = call(&mut sim, &body, protobuf);
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(got, want, "{body}");
    }
    assert!(master_of(&sim, &m).state().quotas.is_empty());
    assert!(min_caps(&sim, &m).is_empty());
    // The overcommit check yields to `force`.
    let (st, _) = call(
        &mut sim,
        &update(r#"{"role":"r1","guarantees":{"cpus":{"value":100}}}"#, true),
        protobuf,
    );
    assert_eq!(st, StatusCode::OK);
}

#[test]
fn master_quota_test_validation_json() {
    validation(false);
}

#[test]
fn master_quota_test_validation_protobuf() {
    validation(true);
}

/// UPDATE_QUOTA then GET_QUOTA and `/quota`: the role's infos (guarantees)
/// and configs (guarantees and limits); the registry keeps the config and
/// QUOTA_V2; resetting to the default removes them from the registry but,
/// as upstream 1.9, the role stays listed with an empty config.
#[test]
fn master_quota_test_update_and_get() {
    let (mut sim, m) = with_agent(71);
    let (st, body) = call(
        &mut sim,
        &update(
            r#"{"role":"r1","guarantees":{"cpus":{"value":0.5}},"limits":{"cpus":{"value":1},"mem":{"value":20}}}"#,
            false,
        ),
        false,
    );
    assert_eq!(st, StatusCode::OK, "{body}");
    let (st, body) = call(&mut sim, r#"{"type":"GET_QUOTA"}"#, false);
    assert_eq!(st, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let status = &v["get_quota"]["status"];
    assert_eq!(status["infos"][0]["role"], "r1");
    assert_eq!(status["infos"][0]["guarantee"][0]["name"], "cpus");
    assert_eq!(status["infos"][0]["guarantee"][0]["scalar"]["value"], 0.5);
    assert_eq!(status["configs"][0]["limits"]["mem"]["value"], 20.0);
    assert_eq!(status["configs"][0]["guarantees"]["cpus"]["value"], 0.5);
    let reg = master_of(&sim, &m).registrar().registry();
    assert_eq!(reg.quota_configs.len(), 1);
    assert_eq!(min_caps(&sim, &m), vec!["QUOTA_V2".to_string()]);

    let h = sim.http(master_addr(), Request::new(Method::GET, "/quota"));
    sim.settle();
    let v: serde_json::Value = serde_json::from_slice(&h.response().unwrap().body).unwrap();
    assert_eq!(v["configs"][0]["role"], "r1");
    assert_eq!(v["infos"][0]["role"], "r1");

    let (st, _) = call(&mut sim, &update(r#"{"role":"r1"}"#, false), false);
    assert_eq!(st, StatusCode::OK);
    assert!(master_of(&sim, &m)
        .registrar()
        .registry()
        .quota_configs
        .is_empty());
    assert!(min_caps(&sim, &m).is_empty());
    let (_, body) = call(&mut sim, r#"{"type":"GET_QUOTA"}"#, false);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["get_quota"]["status"]["configs"][0]["role"], "r1");
    assert!(v["get_quota"]["status"]["configs"][0]
        .get("limits")
        .is_none_or(|l| l.as_object().is_some_and(|o| o.is_empty())));
}

/// MasterQuotaTest limits below consumption: a role using 0.5 cpus cannot
/// be limited to 0.1 cpus unless forced; the forced limit rescinds the
/// role's offers.
#[test]
fn master_quota_test_limit_below_consumption() {
    let (mut sim, m) = with_agent(72);
    sim.add_node(sched_addr(1));
    let mut fs = FakeScheduler::new(
        m.upid.clone(),
        OfferPolicy::LaunchOnce(vec![scalar("cpus", 0.5), scalar("mem", 64.0)]),
    );
    fs.info.role = Some("r1".into());
    let s = sim.spawn(sched_addr(1), "scheduler-1", fs);
    sim.settle();
    sim.advance(secs(2));
    assert_eq!(
        sim.actor::<FakeScheduler>(&s.upid).unwrap().states(),
        vec![TaskState::TaskRunning]
    );
    let limit = r#"{"role":"r1","limits":{"cpus":{"value":0.1}}}"#;
    let (st, body) = call(&mut sim, &update(limit, false), false);
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(
        body.starts_with("Invalid QuotaConfig: Role 'r1' is already consuming '")
            && body.ends_with(
                "'; this is more than the requested limits 'cpus:0.1' (use 'force' flag to bypass this check)"
            ),
        "{body}"
    );
    assert!(body.contains("cpus:0.5"), "{body}");
    let (st, _) = call(&mut sim, &update(limit, true), false);
    assert_eq!(st, StatusCode::OK);
    let st = master_of(&sim, &m).state();
    assert_eq!(st.quotas["r1"].limits["cpus"].value, 0.1);
    assert!(
        st.offers
            .values()
            .all(|o| o.allocation_info.as_ref().and_then(|a| a.role.as_deref()) != Some("r1")),
        "the limited role holds no offers"
    );
}

/// The deprecated SET_QUOTA / REMOVE_QUOTA calls and `POST`/`DELETE
/// /quota` (MasterQuotaTest.SetExistingQuota, RemoveSingleQuota,
/// InsufficientResourcesSingleAgent).
#[test]
fn master_quota_test_set_and_remove_deprecated() {
    let (mut sim, m) = with_agent(73);
    let set = |cpus: f64, force: bool| {
        format!(
            r#"{{"type":"SET_QUOTA","set_quota":{{"quota_request":{{"force":{force},"role":"r1","guarantee":[{{"name":"cpus","type":"SCALAR","scalar":{{"value":{cpus}}}}}]}}}}}}"#
        )
    };
    let (st, body) = call(&mut sim, &set(100.0, false), false);
    assert_eq!(st, StatusCode::CONFLICT);
    assert_eq!(
        body,
        "Quota guarantees overcommit the cluster (use 'force' to bypass this check): Total quota guarantees 'cpus:100' exceed cluster capacity 'cpus:2; mem:1024'"
    );
    let (st, body) = call(&mut sim, &set(1.0, false), true);
    assert_eq!(st, StatusCode::OK, "{body}");
    let q = &master_of(&sim, &m).state().quotas["r1"];
    assert_eq!(q.guarantees["cpus"].value, 1.0);
    assert_eq!(q.limits["cpus"].value, 1.0, "guarantees are limits too");
    let (st, body) = call(&mut sim, &set(1.0, false), false);
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        "Failed to validate set quota request: Cannot set quota for role 'r1' which already has quota"
    );
    let (st, _) = call(
        &mut sim,
        r#"{"type":"REMOVE_QUOTA","remove_quota":{"role":"r1"}}"#,
        false,
    );
    assert_eq!(st, StatusCode::OK);
    assert!(master_of(&sim, &m).state().quotas.is_empty());
    assert!(min_caps(&sim, &m).is_empty());
    let (st, body) = call(
        &mut sim,
        r#"{"type":"REMOVE_QUOTA","remove_quota":{"role":"r1"}}"#,
        false,
    );
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(body, "Failed to remove quota: Role 'r1' has no quota set");

    // The legacy endpoint.
    let mut r = Request::new(Method::POST, "/quota");
    r.body = Bytes::from(
        r#"{"role":"r2","guarantee":[{"name":"mem","type":"SCALAR","scalar":{"value":128}}]}"#,
    );
    let h = sim.http(master_addr(), r);
    sim.settle();
    assert_eq!(h.status(), Some(StatusCode::OK));
    assert_eq!(
        master_of(&sim, &m).state().quotas["r2"].guarantees["mem"].value,
        128.0
    );
    let h = sim.http(master_addr(), Request::new(Method::DELETE, "/quota/r2"));
    sim.settle();
    assert_eq!(h.status(), Some(StatusCode::OK));
    assert!(master_of(&sim, &m).state().quotas.is_empty());
}

/// DynamicWeightsTest: UPDATE_WEIGHTS validation, GET_WEIGHTS, `/weights`
/// GET and PUT; `--weights` is the starting point.
#[test]
fn dynamic_weights_test_update_and_get() {
    let (mut sim, m) = sim_with_master(74, &["--weights=r0=3"]);
    sim.settle();
    let (st, body) = call(&mut sim, r#"{"type":"GET_WEIGHTS"}"#, false);
    assert_eq!(st, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["get_weights"]["weight_infos"][0]["role"], "r0");
    assert_eq!(v["get_weights"]["weight_infos"][0]["weight"], 3.0);

    let (st, body) = call(
        &mut sim,
        r#"{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"r1","weight":0}]}}"#,
        true,
    );
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        "Failed to validate update weights request JSON for role 'r1': Invalid weight '0': Weights must be positive"
    );
    let (st, _) = call(
        &mut sim,
        r#"{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"r1","weight":2.5}]}}"#,
        true,
    );
    assert_eq!(st, StatusCode::OK);
    assert_eq!(master_of(&sim, &m).state().weights["r1"], 2.5);
    assert_eq!(
        master_of(&sim, &m).registrar().registry().weights[0]
            .info
            .weight,
        2.5
    );

    let mut r = Request::new(Method::PUT, "/weights");
    r.body = Bytes::from(r#"[{"role":"r2","weight":4}]"#);
    let h = sim.http(master_addr(), r);
    sim.settle();
    assert_eq!(h.status(), Some(StatusCode::OK));
    let h = sim.http(master_addr(), Request::new(Method::GET, "/weights"));
    sim.settle();
    let v: serde_json::Value = serde_json::from_slice(&h.response().unwrap().body).unwrap();
    let roles: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, vec!["r0", "r1", "r2"]);
}

/// RoleTest / `/roles` and GET_ROLES: a role with quota, a weight and a
/// running task reports its guarantee, limit, consumption and allocation.
#[test]
fn roles_report_quota_weight_and_consumption() {
    let (mut sim, m) = with_agent(75);
    let (st, _) = call(
        &mut sim,
        &update(
            r#"{"role":"r1","guarantees":{"cpus":{"value":0.5}},"limits":{"cpus":{"value":1.5}}}"#,
            false,
        ),
        false,
    );
    assert_eq!(st, StatusCode::OK);
    let (st, _) = call(
        &mut sim,
        r#"{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"r1","weight":2}]}}"#,
        false,
    );
    assert_eq!(st, StatusCode::OK);
    sim.add_node(sched_addr(1));
    let mut fs = FakeScheduler::new(
        m.upid.clone(),
        OfferPolicy::LaunchOnce(vec![scalar("cpus", 0.5), scalar("mem", 64.0)]),
    );
    fs.info.role = Some("r1".into());
    sim.spawn(sched_addr(1), "scheduler-1", fs);
    sim.settle();
    sim.advance(secs(2));

    let h = sim.http(master_addr(), Request::new(Method::GET, "/roles"));
    sim.settle();
    let v: serde_json::Value = serde_json::from_slice(&h.response().unwrap().body).unwrap();
    let r = v["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "r1")
        .expect("r1 listed");
    assert_eq!(r["weight"], 2.0);
    assert_eq!(r["quota"]["guarantee"]["cpus"], 0.5);
    assert_eq!(r["quota"]["limit"]["cpus"], 1.5);
    assert!(
        r["quota"]["consumed"]["cpus"].as_f64().unwrap() >= 0.5,
        "{r}"
    );
    assert_eq!(r["allocated"]["cpus"], 0.5, "{r}");
    assert_eq!(r["frameworks"].as_array().unwrap().len(), 1);

    let (st, body) = call(&mut sim, r#"{"type":"GET_ROLES"}"#, false);
    assert_eq!(st, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let r = &v["get_roles"]["roles"][0];
    assert_eq!(r["name"], "r1");
    assert_eq!(r["weight"], 2.0);
    assert_eq!(r["frameworks"].as_array().unwrap().len(), 1);
}
