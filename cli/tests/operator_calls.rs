//! Operator calls and legacy endpoints that act on the cluster, against a
//! running `mesos-local`: logging level, metrics, TEARDOWN (v1 and the
//! form-encoded `/master/teardown`), MARK_AGENT_GONE and `/master/redirect`,
//! with upstream's answers for unknown ids.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{
    first_agent_id, free_port, http_call, http_get, http_post_json, start_mesos_local,
    subscribe_v1, wait_until,
};
use serde_json::Value;

fn v1(port: u16, call: &str) -> (u16, String) {
    http_post_json(port, "/api/v1", call).expect("an answer")
}

#[test]
fn operator_calls_act_on_frameworks_agents_and_logging() {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("mesos-operator-calls-{port}"));
    let _ = std::fs::remove_dir_all(&dir);
    let _local = start_mesos_local(port, &dir, 1, "cpus:2;mem:1024;disk:1024");
    let agent = first_agent_id(port).expect("the agent registers");
    let (_stream, _, fid) = subscribe_v1(port);

    // Logging level: raised for a second, then back to 0.
    let level = |port| {
        let (_, body) = v1(port, r#"{"type":"GET_LOGGING_LEVEL"}"#);
        let v: Value = serde_json::from_str(&body).unwrap();
        v["get_logging_level"]["level"].as_u64().unwrap()
    };
    assert_eq!(level(port), 0);
    let (status, _) = v1(
        port,
        r#"{"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":2,"duration":{"nanoseconds":1000000000}}}"#,
    );
    assert_eq!(status, 200);
    assert_eq!(level(port), 2);
    wait_until(Duration::from_secs(20), || (level(port) == 0).then_some(()))
        .expect("the level reverts after its duration");
    let (status, body) = v1(port, r#"{"type":"SET_LOGGING_LEVEL"}"#);
    assert_eq!(status, 400, "{body}");

    // Metrics: the master's counters, with the subscribed framework.
    let (status, body) = v1(port, r#"{"type":"GET_METRICS","get_metrics":{}}"#);
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    let metric = |name: &str| {
        v["get_metrics"]["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .map(|m| m["value"].as_f64().unwrap_or(0.0))
    };
    assert_eq!(metric("master/frameworks_active"), Some(1.0));
    assert_eq!(metric("master/slaves_active"), Some(1.0));

    // TEARDOWN: unknown ids are a 400, the legacy form works.
    let (status, body) = v1(
        port,
        r#"{"type":"TEARDOWN","teardown":{"framework_id":{"value":"nope-0000"}}}"#,
    );
    assert_eq!(
        (status, body.as_str()),
        (400, "No framework found with specified ID")
    );
    let (status, body) = http_call(port, "POST", "/master/teardown", "").unwrap();
    assert_eq!(status, 400, "{body}");
    let (status, _) = http_call(port, "GET", "/master/teardown", "").unwrap();
    assert_eq!(status, 405);
    let (status, body) = http_call(
        port,
        "POST",
        "/master/teardown",
        &format!("frameworkId={fid}"),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let (_, frameworks) = http_get(port, "/master/frameworks").unwrap();
    let frameworks: Value = serde_json::from_str(&frameworks).unwrap();
    assert!(frameworks["frameworks"].as_array().unwrap().is_empty());
    assert_eq!(frameworks["completed_frameworks"][0]["id"], fid.as_str());

    // MARK_AGENT_GONE: 404 for an unknown agent, then the agent goes, and a
    // second call is fine.
    let gone = |id: &str| {
        v1(
            port,
            &format!(
                r#"{{"type":"MARK_AGENT_GONE","mark_agent_gone":{{"agent_id":{{"value":"{id}"}}}}}}"#
            ),
        )
    };
    assert_eq!(gone("nope-S1").0, 404);
    assert_eq!(gone(&agent).0, 200);
    let (_, slaves) = http_get(port, "/master/slaves").unwrap();
    assert!(!slaves.contains(&agent), "{slaves}");
    assert_eq!(gone(&agent).0, 200);
    let (_, metrics) = http_get(port, "/metrics/snapshot").unwrap();
    let metrics: Value = serde_json::from_str(&metrics).unwrap();
    assert_eq!(metrics["master/slaves_active"], 0.0);

    // `/master/redirect` points at this, the leading master, by hostname.
    let (_, state) = http_get(port, "/master/state").unwrap();
    let state: Value = serde_json::from_str(&state).unwrap();
    let host = state["hostname"].as_str().unwrap().to_ascii_lowercase();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /master/redirect HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 307"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains(&format!("location: //{host}:{port}\r\n")),
        "{answer}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
