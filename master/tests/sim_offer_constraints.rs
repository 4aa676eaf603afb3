//! Offer constraints on the simulator (beyond 1.9: upstream 1.11,
//! `UpdateFrameworkTest.OfferConstraints` and
//! `UpdateFrameworkTest.OfferConstraintsForUnsubscribedRole` in
//! src/tests/master/update_framework_tests.cpp). A v1 HTTP framework
//! subscribes with constraints, sees only the matching agent, changes them
//! with UPDATE_FRAMEWORK and then sees the other one.

mod support;

use std::collections::BTreeSet;

use bytes::Bytes;
use http::{Method, StatusCode};
use libprocess::runtime::sim::{ResponseHandle, Sim};
use libprocess::{Pid, Request};
use mesos_master::Master;
use mesos_proto::mesos::TaskState;
use prost::Message;
use serde_json::{json, Value};
use support::*;

fn post(body: &str, stream_id: Option<&str>) -> Request {
    let mut r = Request::new(Method::POST, "/api/v1/scheduler");
    r.headers
        .insert("content-type", "application/json".parse().unwrap());
    if let Some(s) = stream_id {
        r.headers.insert("mesos-stream-id", s.parse().unwrap());
    }
    r.body = Bytes::from(body.to_string());
    r
}

fn records(body: &[u8]) -> Vec<Value> {
    let mut d = mesos_proto::recordio::Decoder::new(1 << 22);
    d.decode(body)
        .expect("recordio")
        .into_iter()
        .map(|r| serde_json::from_slice(&r).expect("json event"))
        .collect()
}

/// Starts an agent announcing `attributes` (`--attributes` syntax) and
/// returns its agent ID once registered.
fn agent(sim: &mut Sim, m: &Pid<Master>, n: u8, attributes: &str) -> String {
    sim.add_node(agent_addr(n));
    let mut fake = FakeAgent::new(m.upid.clone(), vec![TaskState::TaskRunning]);
    fake.attributes = stout::parsers::parse_attributes(attributes).unwrap();
    // MULTI_ROLE frameworks are offered MULTI_ROLE agents only.
    fake.capabilities = vec![mesos_proto::mesos::slave_info::capability::Type::MultiRole as i32];
    let p = sim.spawn(agent_addr(n), "slave(1)", fake);
    sim.settle();
    sim.actor::<FakeAgent>(&p.upid)
        .and_then(|a| a.id.clone())
        .expect("agent registered")
}

/// One role, one group, one constraint on the `rack` attribute.
fn rack(role: &str, predicate: Value) -> Value {
    json!({"role_constraints": {role: {"groups": [{"attribute_constraints": [
        {"selector": {"attribute_name": "rack"}, "predicate": predicate}
    ]}]}}})
}

fn framework_info(fid: Option<&str>) -> Value {
    let mut info = json!({
        "user": "u", "name": "constrained",
        "roles": ["web"], "capabilities": [{"type": "MULTI_ROLE"}]
    });
    if let Some(f) = fid {
        info["id"] = json!({"value": f});
    }
    info
}

/// Agent IDs of every OFFERS event in `events`.
fn offered_agents(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["type"] == "OFFERS")
        .flat_map(|e| {
            e["offers"]["offers"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|o| o["agent_id"]["value"].as_str().unwrap_or("").to_string())
        .collect()
}

fn get_json(sim: &mut Sim, path: &str) -> Value {
    let h = sim.http(master_addr(), Request::new(Method::GET, path));
    sim.settle();
    let r = h.response().expect("response");
    assert_eq!(r.status, StatusCode::OK, "{path}");
    serde_json::from_slice(&r.body).expect("json")
}

struct Subscribed {
    handle: ResponseHandle,
    stream_id: String,
    framework_id: String,
}

fn subscribe(sim: &mut Sim, constraints: Value) -> Subscribed {
    let sub = json!({"type": "SUBSCRIBE", "subscribe": {
        "framework_info": framework_info(None),
        "offer_constraints": constraints,
    }});
    let handle = sim.http(master_addr(), post(&sub.to_string(), None));
    sim.settle();
    assert_eq!(handle.status(), Some(StatusCode::OK));
    let stream_id = handle
        .head()
        .unwrap()
        .headers
        .get("mesos-stream-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let events = records(&handle.stream_body());
    assert_eq!(events[0]["type"], "SUBSCRIBED", "{events:?}");
    let framework_id = events[0]["subscribed"]["framework_id"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    Subscribed {
        handle,
        stream_id,
        framework_id,
    }
}

fn update_framework(sim: &mut Sim, s: &Subscribed, constraints: Value) -> (StatusCode, String) {
    let call = json!({
        "type": "UPDATE_FRAMEWORK",
        "framework_id": {"value": s.framework_id},
        "update_framework": {
            "framework_info": framework_info(Some(&s.framework_id)),
            "offer_constraints": constraints,
        }
    });
    let h = sim.http(master_addr(), post(&call.to_string(), Some(&s.stream_id)));
    sim.settle();
    let r = h.response().expect("response");
    (r.status, String::from_utf8_lossy(&r.body).into_owned())
}

/// UpdateFrameworkTest.OfferConstraints, with two agents: only the agent
/// matching the constraints is offered, before and after UPDATE_FRAMEWORK
/// changes them; `/frameworks` and `/state` report the constraints in force.
#[test]
fn update_framework_test_offer_constraints() {
    let (mut sim, m) = sim_with_master(41, &[]);
    let r1 = agent(&mut sim, &m, 1, "rack:r1;zone:a");
    let r2 = agent(&mut sim, &m, 2, "rack:r2;zone:a");

    let initial = rack("web", json!({"text_equals": {"value": "r1"}}));
    let s = subscribe(&mut sim, initial.clone());
    for _ in 0..3 {
        sim.advance(secs(1));
    }
    let seen = offered_agents(&records(&s.handle.stream_body()));
    assert_eq!(seen, vec![r1.clone()], "only the r1 agent is offered");

    // Constrain to racks matching `r[2-9]`: the r2 agent is offered next.
    // (The r1 offer already made stays outstanding, as upstream.)
    let updated = rack("web", json!({"text_matches": {"regex": "r[2-9]"}}));
    let (status, body) = update_framework(&mut sim, &s, updated.clone());
    assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
    for _ in 0..3 {
        sim.advance(secs(1));
    }
    let seen = offered_agents(&records(&s.handle.stream_body()));
    assert_eq!(seen, vec![r1.clone(), r2.clone()]);

    // The constraints in force, as upstream's `FullFrameworkWriter` prints them.
    let frameworks = get_json(&mut sim, "/master/frameworks");
    assert_eq!(frameworks["frameworks"][0]["offer_constraints"], updated);
    let state = get_json(&mut sim, "/master/state");
    assert_eq!(state["frameworks"][0]["offer_constraints"], updated);
    // And in the operator API's GET_FRAMEWORKS (`Framework.offer_constraints`).
    let mut r = Request::new(Method::POST, "/api/v1");
    r.headers
        .insert("content-type", "application/json".parse().unwrap());
    r.headers
        .insert("accept", "application/json".parse().unwrap());
    r.body = Bytes::from(r#"{"type":"GET_FRAMEWORKS"}"#);
    let h = sim.http(master_addr(), r);
    sim.settle();
    let resp: Value = serde_json::from_slice(&h.response().expect("response").body).unwrap();
    assert_eq!(
        resp["get_frameworks"]["frameworks"][0]["offer_constraints"],
        updated
    );

    // Invalid updates are refused as a whole with upstream's 400 reasons.
    let (status, body) = update_framework(&mut sim, &s, rack("ops", json!({"exists": {}})));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        "'UpdateFramework' call is not valid: Offer constraints specify \
         `role_constraints` for a role 'ops'not contained in the set of roles"
    );
    let (status, body) = update_framework(
        &mut sim,
        &s,
        rack("web", json!({"text_matches": {"regex": "r[2-"}})),
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.starts_with(
            "'UpdateFramework' call is not valid: Offer constraints are not valid: \
             A role web has an invalid 'AttributeConstraint': \
             Failed to construct regex from pattern 'r[2-': "
        ),
        "{body}"
    );
    let (status, body) = update_framework(
        &mut sim,
        &s,
        rack("web", json!({"text_matches": {"regex": "(a+){50}"}})),
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("is too complex: program size of"), "{body}");
    let frameworks = get_json(&mut sim, "/master/frameworks");
    assert_eq!(frameworks["frameworks"][0]["offer_constraints"], updated);

    // An update without constraints lifts them (upstream replaces the
    // allocator options as a whole) and the field disappears from the JSON.
    let call = json!({
        "type": "UPDATE_FRAMEWORK",
        "framework_id": {"value": s.framework_id},
        "update_framework": {"framework_info": framework_info(Some(&s.framework_id))}
    });
    let h = sim.http(master_addr(), post(&call.to_string(), Some(&s.stream_id)));
    sim.settle();
    assert_eq!(h.status(), Some(StatusCode::OK));
    let frameworks = get_json(&mut sim, "/master/frameworks");
    assert!(frameworks["frameworks"][0]
        .get("offer_constraints")
        .is_none());
}

/// UpdateFrameworkTest.OfferConstraintsForUnsubscribedRole, at SUBSCRIBE:
/// the subscription is refused with an ERROR event carrying upstream's
/// reason, and no framework is added.
#[test]
fn subscribe_with_constraints_for_unsubscribed_role_is_refused() {
    let (mut sim, m) = sim_with_master(42, &[]);
    agent(&mut sim, &m, 1, "rack:r1");
    let sub = json!({"type": "SUBSCRIBE", "subscribe": {
        "framework_info": framework_info(None),
        "offer_constraints": rack("ops", json!({"exists": {}})),
    }});
    let h = sim.http(master_addr(), post(&sub.to_string(), None));
    sim.settle();
    assert_eq!(h.status(), Some(StatusCode::OK));
    let events = records(&h.stream_body());
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["type"], "ERROR");
    assert_eq!(
        events[0]["error"]["message"],
        "Offer constraints specify `role_constraints` for a role 'ops'not contained in \
         the set of roles"
    );
    assert!(h.stream_ended());
    let frameworks = get_json(&mut sim, "/master/frameworks");
    assert_eq!(frameworks["frameworks"], json!([]));

    // Bad regex at SUBSCRIBE: the same path.
    let sub = json!({"type": "SUBSCRIBE", "subscribe": {
        "framework_info": framework_info(None),
        "offer_constraints": rack("web", json!({"text_not_matches": {"regex": "("}})),
    }});
    let h = sim.http(master_addr(), post(&sub.to_string(), None));
    sim.settle();
    let events = records(&h.stream_body());
    assert_eq!(events[0]["type"], "ERROR");
    assert!(events[0]["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Offer constraints are not valid: A role web has an invalid"));
}

/// A protobuf v1 SUBSCRIBE with suppressed roles and offer constraints:
/// both reach the master although their tags differ from the v0 message
/// (upstream's `devolve` moves them by hand). `web` is suppressed, `batch`
/// only takes the r2 agent.
#[test]
fn protobuf_subscribe_carries_suppressed_roles_and_constraints() {
    use mesos_proto::mesos::v1::scheduler::{call, Call};
    let (mut sim, m) = sim_with_master(43, &[]);
    let _r1 = agent(&mut sim, &m, 1, "rack:r1");
    let r2 = agent(&mut sim, &m, 2, "rack:r2");
    let constraints: mesos_proto::mesos::v1::scheduler::OfferConstraints =
        mesos_proto::json::from_json(
            &rack("batch", json!({"text_not_equals": {"value": "r1"}})).to_string(),
        )
        .unwrap();
    let call = Call {
        r#type: Some(call::Type::Subscribe as i32),
        subscribe: Some(call::Subscribe {
            framework_info: mesos_proto::json::from_json(
                &json!({"user": "u", "name": "pb", "roles": ["web", "batch"],
                        "capabilities": [{"type": "MULTI_ROLE"}]})
                .to_string(),
            )
            .unwrap(),
            suppressed_roles: vec!["web".into()],
            offer_constraints: Some(constraints),
        }),
        ..Default::default()
    };
    let mut r = Request::new(Method::POST, "/api/v1/scheduler");
    r.headers
        .insert("content-type", "application/x-protobuf".parse().unwrap());
    r.headers
        .insert("accept", "application/json".parse().unwrap());
    r.body = Bytes::from(call.encode_to_vec());
    let h = sim.http(master_addr(), r);
    sim.settle();
    sim.advance(secs(1));
    let events = records(&h.stream_body());
    assert_eq!(events[0]["type"], "SUBSCRIBED", "{events:?}");
    let offers: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "OFFERS")
        .flat_map(|e| e["offers"]["offers"].as_array().unwrap())
        .collect();
    let got: BTreeSet<(String, String)> = offers
        .iter()
        .map(|o| {
            (
                o["allocation_info"]["role"].as_str().unwrap().to_string(),
                o["agent_id"]["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(got, BTreeSet::from([("batch".to_string(), r2)]));
    let frameworks = get_json(&mut sim, "/master/frameworks");
    assert_eq!(
        frameworks["frameworks"][0]["offer_constraints"],
        rack("batch", json!({"text_not_equals": {"value": "r1"}}))
    );
}

/// `--offer_constraints_re2_max_mem` / `--offer_constraints_re2_max_program_size`
/// set the regex limits: `(a+){50}` (103 states) is too complex under the
/// defaults and accepted with roomier flags.
#[test]
fn regex_limits_come_from_the_master_flags() {
    let complex = rack("web", json!({"text_matches": {"regex": "r(a+){50}"}}));
    for (flags, accepted) in [
        (vec![], false),
        (
            vec![
                "--offer_constraints_re2_max_mem=1MB",
                "--offer_constraints_re2_max_program_size=1000",
            ],
            true,
        ),
    ] {
        let (mut sim, _m) = sim_with_master(44, &flags);
        let sub = json!({"type": "SUBSCRIBE", "subscribe": {
            "framework_info": framework_info(None),
            "offer_constraints": complex.clone(),
        }});
        let h = sim.http(master_addr(), post(&sub.to_string(), None));
        sim.settle();
        let events = records(&h.stream_body());
        let first = events[0]["type"].as_str().unwrap().to_string();
        assert_eq!(first == "SUBSCRIBED", accepted, "{flags:?}: {events:?}");
        if !accepted {
            assert!(events[0]["error"]["message"]
                .as_str()
                .unwrap()
                .contains("is too complex: program size of 104 is larger than maximum of 100"));
        }
    }
    let bad = mesos_master::MasterFlags::load(
        vec!["--offer_constraints_re2_max_mem=lots".to_string()],
        Vec::<(String, String)>::new(),
    );
    assert!(bad.is_err());
}

/// The driver (v0 `Call` over libprocess): a (re)SUBSCRIBE with constraints is
/// applied, and a refused UPDATE_FRAMEWORK comes back as a
/// `FrameworkErrorMessage` carrying upstream's 400 body.
#[test]
fn driver_subscribe_and_update_framework_with_constraints() {
    use mesos_proto::mesos::scheduler::call::{Type as CallType, UpdateFramework};
    use mesos_proto::mesos::scheduler::OfferConstraints;
    let (mut sim, m) = sim_with_master(45, &[]);
    let r1 = agent(&mut sim, &m, 1, "rack:r1");
    let _r2 = agent(&mut sim, &m, 2, "rack:r2");
    let equals_r1: OfferConstraints = mesos_proto::json::from_json(
        &rack("*", json!({"text_equals": {"value": "r1"}})).to_string(),
    )
    .unwrap();
    sim.add_node(sched_addr(1));
    let mut fake = FakeScheduler::new(m.upid.clone(), OfferPolicy::Hold);
    fake.info.capabilities = vec![mesos_proto::mesos::framework_info::Capability {
        r#type: Some(mesos_proto::mesos::framework_info::capability::Type::MultiRole as i32),
    }];
    fake.info.roles = vec!["*".into()];
    #[allow(deprecated)]
    {
        fake.info.role = None;
    }
    let s = sim.spawn(sched_addr(1), "scheduler-1", fake);
    // The fake subscribes on start (without constraints) and holds its
    // offers; it then resubscribes (failover) with the constraints, which
    // replace the allocator's view and drop the old offers.
    sim.settle();
    let fid = sim
        .actor::<FakeScheduler>(&s.upid)
        .unwrap()
        .framework_id
        .clone()
        .expect("subscribed");
    let constraints = equals_r1.clone();
    let resubscribe_id = fid.clone();
    sim.dispatch(&s, move |f: &mut FakeScheduler, cx| {
        f.offers.clear();
        let mut info = f.info.clone();
        info.id = Some(resubscribe_id.clone());
        let mut c = f.call(CallType::Subscribe);
        c.framework_id = Some(resubscribe_id);
        c.subscribe = Some(mesos_proto::mesos::scheduler::call::Subscribe {
            framework_info: info,
            force: Some(true),
            offer_constraints: Some(constraints),
            ..Default::default()
        });
        f.send_call(cx, c);
    });
    sim.settle();
    sim.advance(secs(2));
    let f = sim.actor::<FakeScheduler>(&s.upid).unwrap();
    let agents: Vec<String> = f.offers.iter().map(|o| o.slave_id.value.clone()).collect();
    assert_eq!(agents, vec![r1]);
    assert!(f.errors.is_empty(), "{:?}", f.errors);

    let bad: OfferConstraints =
        mesos_proto::json::from_json(&rack("ops", json!({"exists": {}})).to_string()).unwrap();
    sim.dispatch(&s, move |f: &mut FakeScheduler, cx| {
        let mut info = f.info.clone();
        info.id = Some(fid.clone());
        let mut c = f.call(CallType::UpdateFramework);
        c.framework_id = Some(fid);
        c.update_framework = Some(UpdateFramework {
            framework_info: info,
            offer_constraints: Some(bad),
            ..Default::default()
        });
        f.send_call(cx, c);
    });
    sim.settle();
    assert_eq!(
        sim.actor::<FakeScheduler>(&s.upid).unwrap().errors,
        vec![
            "'UpdateFramework' call is not valid: Offer constraints specify \
             `role_constraints` for a role 'ops'not contained in the set of roles"
                .to_string()
        ]
    );
}
