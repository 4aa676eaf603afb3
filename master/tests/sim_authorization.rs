//! The local authorizer (`--acls`) enforced by the master on the simulator,
//! after upstream src/tests/master_authorization_tests.cpp
//! (MasterAuthorizationTest.UnauthorizedTask, .FrameworkRoleAuthorization,
//! TeardownEndpoint*/Teardown*, and the operator calls' 403s in
//! src/tests/api_tests.cpp).

#![allow(deprecated)]

mod support;

use bytes::Bytes;
use http::{Method, StatusCode};
use libprocess::runtime::sim::Sim;
use libprocess::{Pid, Request};
use mesos_master::{Master, MasterFlags};
use mesos_proto::mesos::task_status::Reason;
use mesos_proto::mesos::TaskState;
use support::*;

const OPS: &str = "Basic b3BzOnMx"; // ops:s1
const DEV: &str = "Basic ZGV2OnMy"; // dev:s2

/// Registering agents and frameworks is allowed to anyone; what else a
/// test allows comes in `rest` (JSON members of `mesos.ACLs`).
fn acls(rest: &str) -> String {
    format!(
        r#"{{"permissive": false,
            "register_agents": [{{"principals": {{"type": "ANY"}}, "agents": {{"type": "ANY"}}}}],
            "register_frameworks": [{{"principals": {{"type": "ANY"}}, "roles": {{"values": ["*", "dev"]}}}}],
            "run_tasks": [{{"principals": {{"type": "ANY"}}, "users": {{"type": "ANY"}}}}]{rest}}}"#
    )
}

/// Each test (seed) writes its own file: tests run in parallel.
fn credentials(seed: u64) -> String {
    let dir = std::env::temp_dir().join(format!("mesos-authz-sim-{}-{seed}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("credentials");
    std::fs::write(
        &path,
        r#"{"credentials":[{"principal":"ops","secret":"s1"},{"principal":"dev","secret":"s2"}]}"#,
    )
    .unwrap();
    path.display().to_string()
}

fn sim(seed: u64, acls: &str) -> (Sim, Pid<Master>) {
    sim_with_master(
        seed,
        &[
            &format!("--acls={acls}"),
            "--authenticate_http_readwrite=true",
            &format!("--credentials={}", credentials(seed)),
        ],
    )
}

fn scheduler(
    sim: &mut Sim,
    m: &Pid<Master>,
    info: impl FnOnce(&mut FakeScheduler),
    policy: OfferPolicy,
) -> Pid<FakeScheduler> {
    sim.add_node(sched_addr(1));
    let mut s = FakeScheduler::new(m.upid.clone(), policy);
    s.info.principal = Some("fw".into());
    info(&mut s);
    sim.spawn(sched_addr(1), "scheduler-1", s)
}

fn fs<'s>(sim: &'s Sim, p: &Pid<FakeScheduler>) -> &'s FakeScheduler {
    sim.actor::<FakeScheduler>(&p.upid).expect("alive")
}

fn operator(sim: &mut Sim, auth: Option<&str>, json: &str) -> (StatusCode, Bytes) {
    let mut r = Request::new(Method::POST, "/api/v1");
    r.headers
        .insert("content-type", "application/json".parse().unwrap());
    r.headers
        .insert("accept", "application/json".parse().unwrap());
    if let Some(a) = auth {
        r.headers.insert("authorization", a.parse().unwrap());
    }
    r.body = Bytes::from(json.to_string());
    let h = sim.http(master_addr(), r);
    sim.settle();
    let resp = h.response().expect("answered");
    (resp.status, resp.body)
}

#[test]
fn teardown_needs_a_principal_allowed_for_the_frameworks_principal() {
    let (mut sim, m) = sim(
        1,
        &acls(
            r#", "teardown_frameworks": [
                {"principals": {"values": ["ops"]}, "framework_principals": {"values": ["fw"]}}]"#,
        ),
    );
    let s = scheduler(&mut sim, &m, |_| {}, OfferPolicy::Hold);
    sim.settle();
    let fid = fs(&sim, &s).framework_id.clone().expect("registered").value;
    let call =
        format!(r#"{{"type":"TEARDOWN","teardown":{{"framework_id":{{"value":"{fid}"}}}}}}"#);

    let (st, body) = operator(&mut sim, Some(DEV), &call);
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(
        &body[..],
        b"403 Forbidden.",
        "libprocess's Forbidden() body"
    );
    assert!(master_of(&sim, &m).state().frameworks.contains_key(&fid));
    // No credentials at all is the authenticator's 401, not a 403.
    assert_eq!(operator(&mut sim, None, &call).0, StatusCode::UNAUTHORIZED);

    // The legacy endpoint is authorized the same way.
    let mut r = Request::new(Method::POST, "/master/teardown");
    r.headers.insert("authorization", DEV.parse().unwrap());
    r.body = Bytes::from(format!("frameworkId={fid}"));
    let h = sim.http(master_addr(), r);
    sim.settle();
    assert_eq!(h.response().unwrap().status, StatusCode::FORBIDDEN);

    assert_eq!(operator(&mut sim, Some(OPS), &call).0, StatusCode::OK);
    assert!(!master_of(&sim, &m).state().frameworks.contains_key(&fid));
    // Unknown framework: the handler's 400 comes before authorization.
    assert_eq!(
        operator(&mut sim, Some(DEV), &call).0,
        StatusCode::BAD_REQUEST
    );
}

#[test]
fn a_framework_is_refused_roles_its_principal_may_not_use() {
    let (mut sim, m) = sim(2, &acls(""));
    let s = scheduler(
        &mut sim,
        &m,
        |s| s.info.role = Some("prod".into()),
        OfferPolicy::Hold,
    );
    sim.settle();
    let f = fs(&sim, &s);
    assert_eq!(f.registered, 0);
    assert_eq!(
        f.errors,
        vec!["Not authorized to use roles '{ prod }'".to_string()]
    );
    assert!(master_of(&sim, &m).state().frameworks.is_empty());
}

#[test]
fn a_framework_is_allowed_its_permitted_role() {
    let (mut sim, m) = sim(3, &acls(""));
    let s = scheduler(
        &mut sim,
        &m,
        |s| s.info.role = Some("dev".into()),
        OfferPolicy::Hold,
    );
    sim.settle();
    assert_eq!(fs(&sim, &s).registered, 1);
    assert!(fs(&sim, &s).errors.is_empty());
    assert_eq!(master_of(&sim, &m).state().frameworks.len(), 1);
}

#[test]
fn a_task_for_a_user_the_principal_may_not_run_as_is_a_task_error() {
    let acls = r#"{"permissive": false,
        "register_agents": [{"principals": {"type": "ANY"}, "agents": {"type": "ANY"}}],
        "register_frameworks": [{"principals": {"type": "ANY"}, "roles": {"type": "ANY"}}],
        "run_tasks": [{"principals": {"values": ["fw"]}, "users": {"values": ["nobody"]}}]}"#;
    let (mut sim, m) = sim(4, acls);
    sim.add_node(agent_addr(1));
    let ag = sim.spawn(
        agent_addr(1),
        "slave(1)",
        FakeAgent::new(m.upid.clone(), vec![TaskState::TaskRunning]),
    );
    let s = scheduler(
        &mut sim,
        &m,
        |_| {},
        OfferPolicy::LaunchOnce(vec![scalar("cpus", 0.5), scalar("mem", 64.0)]),
    );
    sim.settle();
    let f = fs(&sim, &s);
    // The framework's user is "tester", which "fw" may not run as.
    assert_eq!(f.states(), vec![TaskState::TaskError]);
    let status = &f.updates[0].update.status;
    assert_eq!(status.reason, Some(Reason::TaskUnauthorized as i32));
    assert_eq!(
        status.message.as_deref(),
        Some("Not authorized to launch as user 'tester'")
    );
    // Nothing reached the agent.
    assert!(sim
        .actor::<FakeAgent>(&ag.upid)
        .unwrap()
        .run_tasks
        .is_empty());
}

#[test]
fn operator_calls_answer_403_to_principals_not_allowed() {
    let (mut sim, _m) = sim(
        5,
        &acls(
            r#", "deactivate_agents": [{"principals": {"values": ["ops"]}, "agents": {"type": "ANY"}}],
                 "update_weights": [{"principals": {"values": ["ops"]}, "roles": {"values": ["dev/%"]}}],
                 "update_quotas": [{"principals": {"values": ["ops"]}, "roles": {"type": "ANY"}}]"#,
        ),
    );
    let deactivate =
        r#"{"type":"DEACTIVATE_AGENT","deactivate_agent":{"agent_id":{"value":"nope"}}}"#;
    assert_eq!(
        operator(&mut sim, Some(DEV), deactivate).0,
        StatusCode::FORBIDDEN
    );
    // Allowed: the handler answers (the agent is unknown).
    assert_eq!(
        operator(&mut sim, Some(OPS), deactivate).0,
        StatusCode::BAD_REQUEST
    );
    // No drain_agents ACL and `permissive: false`.
    let drain = r#"{"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":"nope"}}}"#;
    assert_eq!(
        operator(&mut sim, Some(OPS), drain).0,
        StatusCode::FORBIDDEN
    );

    let weights = |role: &str| {
        format!(
            r#"{{"type":"UPDATE_WEIGHTS","update_weights":{{"weight_infos":[{{"role":"{role}","weight":2.0}}]}}}}"#
        )
    };
    assert_eq!(
        operator(&mut sim, Some(OPS), &weights("dev/a")).0,
        StatusCode::OK
    );
    assert_eq!(
        operator(&mut sim, Some(OPS), &weights("dev")).0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        operator(&mut sim, Some(DEV), &weights("dev/a")).0,
        StatusCode::FORBIDDEN
    );

    let quota = r#"{"type":"UPDATE_QUOTA","update_quota":{"force":true,"quota_configs":[{"role":"dev","limits":{"cpus":{"value":1}}}]}}"#;
    assert_eq!(
        operator(&mut sim, Some(DEV), quota).0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(operator(&mut sim, Some(OPS), quota).0, StatusCode::OK);
    // Validation comes before authorization, as upstream: an invalid
    // request of a principal without the ACL is a 400.
    let bad_weight = r#"{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"dev/a","weight":-1.0}]}}"#;
    assert_eq!(
        operator(&mut sim, Some(DEV), bad_weight).0,
        StatusCode::BAD_REQUEST
    );
    let nested_quota = r#"{"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"dev/a","limits":{"cpus":{"value":1}}}]}}"#;
    assert_eq!(
        operator(&mut sim, Some(DEV), nested_quota).0,
        StatusCode::BAD_REQUEST
    );
    let remove = r#"{"type":"REMOVE_QUOTA","remove_quota":{"role":"prod"}}"#;
    assert_eq!(
        operator(&mut sim, Some(DEV), remove).0,
        StatusCode::BAD_REQUEST
    );
    let remove = r#"{"type":"REMOVE_QUOTA","remove_quota":{"role":"dev"}}"#;
    assert_eq!(
        operator(&mut sim, Some(DEV), remove).0,
        StatusCode::FORBIDDEN
    );
    // No set_log_level ACL and `permissive: false`.
    let level = r#"{"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":1,"duration":{"nanoseconds":1000000000}}}"#;
    assert_eq!(
        operator(&mut sim, Some(OPS), level).0,
        StatusCode::FORBIDDEN
    );
}

#[test]
fn without_acls_everything_is_allowed() {
    let (mut sim, m) = sim_with_master(6, &[]);
    sim.add_node(sched_addr(1));
    let mut s = FakeScheduler::new(m.upid.clone(), OfferPolicy::Hold);
    s.info.role = Some("prod".into());
    let p = sim.spawn(sched_addr(1), "scheduler-1", s);
    sim.settle();
    assert_eq!(fs(&sim, &p).registered, 1);
}

#[test]
fn invalid_acls_refuse_the_flags() {
    let bad = r#"--acls={"drain_agents": [{"principals": {"type": "ANY"}, "agents": {"values": ["a"]}}]}"#;
    let Err(e) = MasterFlags::load(
        vec!["--registry=in_memory".to_string(), bad.to_string()],
        Vec::<(String, String)>::new(),
    ) else {
        panic!("invalid ACLs accepted");
    };
    assert!(
        e.to_string().contains(
            "Could not create 'local' authorizer: ACL.DrainAgent type must be either NONE or ANY"
        ),
        "{e}"
    );
}

#[test]
fn operator_reservations_are_authorized_after_validation() {
    let (mut sim, m) = sim(
        7,
        &acls(
            r#", "reserve_resources": [{"principals": {"values": ["ops"]}, "roles": {"values": ["dev"]}}]"#,
        ),
    );
    sim.add_node(agent_addr(1));
    sim.spawn(
        agent_addr(1),
        "slave(1)",
        FakeAgent::new(m.upid.clone(), vec![]),
    );
    sim.settle();
    let agent = master_of(&sim, &m)
        .state()
        .agents
        .keys()
        .next()
        .expect("agent registered")
        .clone();
    let reserve = |agent: &str, principal: &str| {
        format!(
            r#"{{"type":"RESERVE_RESOURCES","reserve_resources":{{"agent_id":{{"value":"{agent}"}},"resources":[
                {{"name":"cpus","type":"SCALAR","scalar":{{"value":1}},
                  "reservations":[{{"type":"DYNAMIC","role":"dev","principal":"{principal}"}}]}}]}}}}"#
        )
    };
    // Unknown agent: the 400 comes first, as upstream.
    assert_eq!(
        operator(&mut sim, Some(DEV), &reserve("nope", "dev")).0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        operator(&mut sim, Some(DEV), &reserve(&agent, "dev")).0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        operator(&mut sim, Some(OPS), &reserve(&agent, "ops")).0,
        StatusCode::ACCEPTED
    );
}

#[test]
fn update_framework_to_a_refused_role_is_an_error() {
    let (mut sim, m) = sim(8, &acls(""));
    let s = scheduler(
        &mut sim,
        &m,
        |s| s.info.role = Some("dev".into()),
        OfferPolicy::Hold,
    );
    sim.settle();
    let fid = fs(&sim, &s).framework_id.clone().expect("registered");
    sim.dispatch(&s, move |f: &mut FakeScheduler, cx| {
        let mut info = f.info.clone();
        info.id = Some(fid);
        info.role = Some("prod".into());
        let mut c = f.call(mesos_proto::mesos::scheduler::call::Type::UpdateFramework);
        c.update_framework = Some(mesos_proto::mesos::scheduler::call::UpdateFramework {
            framework_info: info,
            suppressed_roles: vec![],
            ..Default::default()
        });
        f.send_call(cx, c);
    });
    sim.settle();
    assert_eq!(
        fs(&sim, &s).errors,
        vec!["Not authorized to use roles '{ prod }'".to_string()]
    );
    let st = master_of(&sim, &m).state();
    let fw = st.frameworks.values().next().expect("still registered");
    assert_eq!(fw.info.role.as_deref(), Some("dev"));
}

/// A framework with role `dev` reserves 1 cpu of its offer (pre-refinement
/// format, as a driver without RESERVATION_REFINEMENT sends it); whether
/// the agent's total resources then hold a `dev` reservation.
fn framework_reserves(seed: u64, acls: &str) -> bool {
    use mesos_proto::mesos::{offer, resource, scheduler::call, Resource};
    let (mut sim, m) = sim(seed, acls);
    sim.add_node(agent_addr(1));
    sim.spawn(
        agent_addr(1),
        "slave(1)",
        FakeAgent::new(m.upid.clone(), vec![]),
    );
    let s = scheduler(
        &mut sim,
        &m,
        |s| s.info.role = Some("dev".into()),
        OfferPolicy::Hold,
    );
    sim.settle();
    let offer = fs(&sim, &s).offers.first().cloned().expect("offered");
    let mut cpu = scalar("cpus", 1.0);
    cpu.role = Some("dev".into());
    cpu.reservation = Some(resource::ReservationInfo {
        principal: Some("fw".into()),
        ..Default::default()
    });
    sim.dispatch(&s, move |f: &mut FakeScheduler, cx| {
        let mut c = f.call(mesos_proto::mesos::scheduler::call::Type::Accept);
        c.accept = Some(call::Accept {
            offer_ids: vec![offer.id.clone()],
            operations: vec![offer::Operation {
                r#type: Some(offer::operation::Type::Reserve as i32),
                reserve: Some(offer::operation::Reserve {
                    resources: vec![cpu],
                }),
                ..Default::default()
            }],
            filters: None,
        });
        f.send_call(cx, c);
    });
    sim.settle();
    let st = master_of(&sim, &m).state();
    let agent = st.agents.values().next().expect("agent");
    let reserved = agent.total.iter().any(|r: &Resource| {
        r.reservations
            .last()
            .and_then(|x| x.role.as_deref())
            .or(r.role.as_deref())
            == Some("dev")
    });
    reserved
}

#[test]
fn a_framework_reservation_needs_the_reserve_acl() {
    let allowed = acls(
        r#", "reserve_resources": [{"principals": {"values": ["fw"]}, "roles": {"values": ["dev"]}}]"#,
    );
    assert!(framework_reserves(9, &allowed));
    let denied = acls(
        r#", "reserve_resources": [{"principals": {"values": ["ops"]}, "roles": {"values": ["dev"]}}]"#,
    );
    assert!(!framework_reserves(10, &denied), "the RESERVE was dropped");
}

#[test]
fn state_shows_only_the_frameworks_the_principal_may_view() {
    let (mut sim, m) = sim(
        11,
        &acls(
            r#", "view_frameworks": [{"principals": {"type": "ANY"}, "users": {"values": ["tester"]}}],
                 "view_tasks": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}],
                 "view_executors": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}]"#,
        ),
    );
    for (n, user) in [(1u8, "tester"), (2, "other")] {
        sim.add_node(sched_addr(n));
        let mut s = FakeScheduler::new(m.upid.clone(), OfferPolicy::Hold);
        s.info.principal = Some("fw".into());
        s.info.user = user.into();
        sim.spawn(sched_addr(n), &format!("scheduler-{n}"), s);
    }
    sim.settle();
    assert_eq!(master_of(&sim, &m).state().frameworks.len(), 2);
    for path in ["/master/state", "/master/frameworks"] {
        let h = sim.http(master_addr(), Request::new(Method::GET, path));
        sim.settle();
        let v: serde_json::Value = serde_json::from_slice(&h.response().unwrap().body).unwrap();
        let users: Vec<&str> = v["frameworks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["user"].as_str().unwrap())
            .collect();
        assert_eq!(users, vec!["tester"], "{path}");
        // No view_flags ACL and `permissive: false`.
        assert!(v.get("flags").is_none(), "{path}");
    }
    for (call, pointer) in [
        ("GET_FRAMEWORKS", "/get_frameworks/frameworks"),
        ("GET_STATE", "/get_state/get_frameworks/frameworks"),
    ] {
        let (st, body) = operator(&mut sim, Some(OPS), &format!(r#"{{"type":"{call}"}}"#));
        assert_eq!(st, StatusCode::OK);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let users: Vec<&str> = v
            .pointer(pointer)
            .and_then(|f| f.as_array())
            .unwrap()
            .iter()
            .map(|f| f["framework_info"]["user"].as_str().unwrap())
            .collect();
        assert_eq!(users, vec!["tester"], "{call}");
    }
}

#[test]
fn tasks_endpoint_hides_tasks_the_principal_may_not_view() {
    let run = |seed: u64, view_tasks: &str| -> (usize, usize) {
        let (mut sim, m) = sim(
            seed,
            &acls(&format!(
                r#", "view_frameworks": [{{"principals": {{"type": "ANY"}}, "users": {{"type": "ANY"}}}}],
                     "view_tasks": [{{"principals": {{"type": "ANY"}}, "users": {view_tasks}}}]"#
            )),
        );
        sim.add_node(agent_addr(1));
        sim.spawn(
            agent_addr(1),
            "slave(1)",
            FakeAgent::new(m.upid.clone(), vec![TaskState::TaskRunning]),
        );
        scheduler(
            &mut sim,
            &m,
            |_| {},
            OfferPolicy::LaunchOnce(vec![scalar("cpus", 0.5), scalar("mem", 64.0)]),
        );
        sim.settle();
        let known: usize = master_of(&sim, &m)
            .state()
            .frameworks
            .values()
            .map(|f| f.tasks.len())
            .sum();
        let h = sim.http(master_addr(), Request::new(Method::GET, "/master/tasks"));
        sim.settle();
        let v: serde_json::Value = serde_json::from_slice(&h.response().unwrap().body).unwrap();
        (known, v["tasks"].as_array().unwrap().len())
    };
    assert_eq!(run(12, r#"{"type": "ANY"}"#), (1, 1));
    assert_eq!(run(13, r#"{"type": "NONE"}"#), (1, 0));
}

#[test]
fn weights_quota_and_roles_show_only_what_the_principal_may_view() {
    let (mut sim, _m) = sim(
        14,
        &acls(
            r#", "update_weights": [{"principals": {"values": ["ops"]}, "roles": {"type": "ANY"}}],
                 "update_quotas": [{"principals": {"values": ["ops"]}, "roles": {"type": "ANY"}}],
                 "view_roles": [{"principals": {"type": "ANY"}, "roles": {"values": ["dev"]}}],
                 "get_quotas": [{"principals": {"type": "ANY"}, "roles": {"values": ["prod"]}}]"#,
        ),
    );
    let weights = r#"{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"dev","weight":2.0},{"role":"prod","weight":3.0}]}}"#;
    assert_eq!(operator(&mut sim, Some(OPS), weights).0, StatusCode::OK);
    let quota = r#"{"type":"UPDATE_QUOTA","update_quota":{"force":true,"quota_configs":[
        {"role":"dev","limits":{"cpus":{"value":1}}},{"role":"prod","limits":{"cpus":{"value":1}}}]}}"#;
    assert_eq!(operator(&mut sim, Some(OPS), quota).0, StatusCode::OK);

    let roles_of = |v: &serde_json::Value, key: &str| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|w| w[key].as_str().unwrap().to_string())
            .collect()
    };
    let (_, body) = operator(&mut sim, Some(OPS), r#"{"type":"GET_WEIGHTS"}"#);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(roles_of(&v["get_weights"]["weight_infos"], "role"), ["dev"]);
    let (_, body) = operator(&mut sim, Some(OPS), r#"{"type":"GET_QUOTA"}"#);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        roles_of(&v["get_quota"]["status"]["configs"], "role"),
        ["prod"]
    );

    for (path, pointer, key, want) in [
        ("/master/weights", "", "role", "dev"),
        ("/master/quota", "/configs", "role", "prod"),
    ] {
        // Both are endpoints of the read-write realm.
        let mut r = Request::new(Method::GET, path);
        r.headers.insert("authorization", OPS.parse().unwrap());
        let h = sim.http(master_addr(), r);
        sim.settle();
        let v: serde_json::Value = serde_json::from_slice(&h.response().unwrap().body).unwrap();
        assert_eq!(roles_of(v.pointer(pointer).unwrap(), key), [want], "{path}");
    }
    let h = sim.http(master_addr(), Request::new(Method::GET, "/master/roles"));
    sim.settle();
    let v: serde_json::Value = serde_json::from_slice(&h.response().unwrap().body).unwrap();
    let names = roles_of(&v["roles"], "name");
    assert!(
        names.iter().all(|n| n == "dev") && !names.is_empty(),
        "{names:?}"
    );
}

#[test]
fn maintenance_schedule_is_empty_for_a_principal_without_get_acl() {
    let run = |seed: u64, get: &str| -> usize {
        let (mut sim, _m) = sim(
            seed,
            &acls(&format!(
                r#", "update_maintenance_schedules": [{{"principals": {{"values": ["ops"]}}, "machines": {{"type": "ANY"}}}}],
                     "get_maintenance_schedules": [{{"principals": {{"values": ["{get}"]}}, "machines": {{"type": "ANY"}}}}]"#
            )),
        );
        let update = r#"{"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{"schedule":{"windows":[
            {"machine_ids":[{"hostname":"h1","ip":"10.0.0.9"}],"unavailability":{"start":{"nanoseconds":1000000000}}}]}}}"#;
        assert_eq!(operator(&mut sim, Some(OPS), update).0, StatusCode::OK);
        assert_eq!(
            operator(&mut sim, Some(DEV), update).0,
            StatusCode::FORBIDDEN
        );
        let (st, body) = operator(
            &mut sim,
            Some(OPS),
            r#"{"type":"GET_MAINTENANCE_SCHEDULE"}"#,
        );
        assert_eq!(st, StatusCode::OK);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        v.pointer("/get_maintenance_schedule/schedule/windows")
            .and_then(|w| w.as_array())
            .map_or(0, Vec::len)
    };
    assert_eq!(run(15, "ops"), 1);
    assert_eq!(run(16, "dev"), 0);
}

#[test]
fn an_agent_needs_the_register_agents_acl() {
    let registered = |seed: u64, acls: &str| -> bool {
        let (mut sim, m) = sim(seed, acls);
        sim.add_node(agent_addr(1));
        let ag = sim.spawn(
            agent_addr(1),
            "slave(1)",
            FakeAgent::new(m.upid.clone(), vec![]),
        );
        sim.settle();
        let id = sim.actor::<FakeAgent>(&ag.upid).unwrap().id.clone();
        id.is_some() && !master_of(&sim, &m).state().agents.is_empty()
    };
    assert!(registered(17, &acls("")));
    assert!(!registered(18, r#"{"permissive": false}"#));
    assert!(!registered(
        19,
        r#"{"register_agents": [{"principals": {"type": "ANY"}, "agents": {"type": "NONE"}}]}"#
    ));
}

#[test]
fn operator_event_stream_shows_only_viewable_frameworks() {
    let (mut sim, m) = sim(
        20,
        &acls(
            r#", "view_frameworks": [{"principals": {"values": ["ops"]}, "users": {"values": ["tester"]}}]"#,
        ),
    );
    let subscribe = |sim: &mut Sim, auth: &str| {
        let mut r = Request::new(Method::POST, "/api/v1");
        r.headers
            .insert("content-type", "application/json".parse().unwrap());
        r.headers
            .insert("accept", "application/json".parse().unwrap());
        r.headers.insert("authorization", auth.parse().unwrap());
        r.body = Bytes::from(r#"{"type":"SUBSCRIBE"}"#);
        sim.http(master_addr(), r)
    };
    let ops = subscribe(&mut sim, OPS);
    let dev = subscribe(&mut sim, DEV);
    sim.settle();
    for (n, user) in [(1u8, "tester"), (2, "other")] {
        sim.add_node(sched_addr(n));
        let mut s = FakeScheduler::new(m.upid.clone(), OfferPolicy::Hold);
        s.info.principal = Some("fw".into());
        s.info.user = user.into();
        sim.spawn(sched_addr(n), &format!("scheduler-{n}"), s);
    }
    sim.settle();
    let added = |h: &libprocess::runtime::sim::ResponseHandle| -> Vec<String> {
        let mut d = mesos_proto::recordio::Decoder::new(1 << 22);
        d.decode(&h.stream_body())
            .expect("recordio")
            .into_iter()
            .map(|r| serde_json::from_slice::<serde_json::Value>(&r).unwrap())
            .filter(|e| e["type"] == "FRAMEWORK_ADDED")
            .map(|e| {
                e["framework_added"]["framework"]["framework_info"]["user"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(added(&ops), ["tester"]);
    assert!(added(&dev).is_empty());

    // A later subscriber's SUBSCRIBED state is filtered the same way.
    let late = subscribe(&mut sim, OPS);
    sim.settle();
    let mut d = mesos_proto::recordio::Decoder::new(1 << 22);
    let first: serde_json::Value =
        serde_json::from_slice(&d.decode(&late.stream_body()).unwrap()[0]).unwrap();
    let frameworks = first
        .pointer("/subscribed/get_state/get_frameworks/frameworks")
        .and_then(|f| f.as_array())
        .unwrap();
    assert_eq!(frameworks.len(), 1);
    assert_eq!(frameworks[0]["framework_info"]["user"], "tester");
}
