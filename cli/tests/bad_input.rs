//! Hostile input over a real socket: mutated v1 calls (JSON and protobuf) to a
//! running `mesos-local` (master + agent in one process), for the scheduler
//! API, the master's and the agent's operator API and the executor API, plus
//! malformed HTTP. Every request must get an answer below 500 (upstream gives
//! 400/404/405/406/413/415 for these), and the process must keep serving: the
//! framework subscribed at the start still gets heartbeats' worth of service,
//! `/health` answers and the agent stays registered.
//!
//! The mutations come from a seeded generator: a failure prints the case, and
//! `MESOS_FUZZ_SEED` replays it.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{first_agent_id, free_port, http_get, start_mesos_local, subscribe_v1};
use mesos_proto::json::from_json;
use prost::Message;

/// xorshift64*: enough randomness for mutations, and reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Tokens spliced into JSON: wrong types, extremes, escapes, enum names.
const TOKENS: &[&str] = &[
    "null",
    "-1",
    "0",
    "1e400",
    "-9223372036854775809",
    "18446744073709551616",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "[]",
    "{}",
    "[[[[[[[[[[]]]]]]]]]]",
    "true",
    "\"SUBSCRIBE\"",
    "\"ACCEPT\"",
    "\"LAUNCH_GROUP\"",
    "\"NaN\"",
    "\"Infinity\"",
    "{\"value\":\"\"}",
    "{\"value\":\"../../etc\"}",
    "\"\u{10FFFF}\"",
];

fn mutate_json(rng: &mut Rng, seed: &str) -> Vec<u8> {
    let mut b = seed.as_bytes().to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(b.len() + 1).min(b.len());
        match rng.below(6) {
            0 if !b.is_empty() => {
                let i = at.min(b.len() - 1);
                b[i] ^= 1 << rng.below(8);
            }
            1 => {
                let end = (at + rng.below(16)).min(b.len());
                b.drain(at..end);
            }
            2 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                b.splice(at..at, t.bytes());
            }
            3 => {
                // Replace the value after a colon with a token.
                if let Some(colon) = b[at..].iter().position(|&c| c == b':') {
                    let start = at + colon + 1;
                    let end = b[start..]
                        .iter()
                        .position(|&c| c == b',' || c == b'}')
                        .map_or(b.len(), |e| start + e);
                    let t = TOKENS[rng.below(TOKENS.len())];
                    b.splice(start..end, t.bytes());
                }
            }
            4 => b.truncate(at),
            _ => {
                let end = (at + rng.below(32)).min(b.len());
                let dup = b[at..end].to_vec();
                b.splice(at..at, dup);
            }
        }
    }
    b
}

fn mutate_bytes(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(b.len() + 1).min(b.len());
        match rng.below(4) {
            0 if !b.is_empty() => {
                let i = at.min(b.len() - 1);
                b[i] = rng.next() as u8;
            }
            1 => b.truncate(at),
            2 => {
                let n = rng.below(8);
                let junk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                b.splice(at..at, junk);
            }
            _ => {
                // A varint that claims a huge length.
                b.splice(at..at, [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]);
            }
        }
    }
    b
}

/// One request on a fresh connection; the status code, or `None` when the
/// server closed the connection without answering. Streams (a SUBSCRIBE that
/// survived mutation) are read only up to their status line.
fn request(port: u16, path: &str, content_type: &str, headers: &str, body: &[u8]) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\nAccept: {content_type}\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    // A server that refuses a large body answers and closes before it has
    // all been sent: the answer still counts.
    let _ = s.write_all(body);
    status_of(&mut s)
}

fn status_of(s: &mut TcpStream) -> Option<u16> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(2).any(|w| w == b"\r\n") {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&buf);
    line.split_whitespace().nth(1)?.parse().ok()
}

fn scheduler_seeds(fid: &str, agent: &str) -> Vec<String> {
    let f = format!(r#""framework_id":{{"value":"{fid}"}}"#);
    vec![
        format!(r#"{{{f},"type":"DECLINE","decline":{{"offer_ids":[{{"value":"nope-O1"}}],"filters":{{"refuse_seconds":5.0}}}}}}"#),
        format!(r#"{{{f},"type":"ACCEPT","accept":{{"offer_ids":[{{"value":"x-O7"}}],"operations":[{{"type":"LAUNCH","launch":{{"task_infos":[{{"name":"t","task_id":{{"value":"t1"}},"agent_id":{{"value":"{agent}"}},"resources":[{{"name":"cpus","type":"SCALAR","scalar":{{"value":0.1}}}}],"command":{{"value":"true"}}}}]}}}}]}}}}"#),
        format!(r#"{{{f},"type":"ACCEPT","accept":{{"offer_ids":[],"operations":[{{"type":"RESERVE","reserve":{{"resources":[{{"name":"mem","type":"SCALAR","scalar":{{"value":-3}},"reservations":[{{"type":"DYNAMIC","role":"r"}}]}}]}}}},{{"type":"LAUNCH_GROUP","launch_group":{{"executor":{{"type":"DEFAULT","executor_id":{{"value":"e"}}}},"task_group":{{"tasks":[]}}}}}}]}}}}"#),
        format!(r#"{{{f},"type":"KILL","kill":{{"task_id":{{"value":"t1"}},"agent_id":{{"value":"{agent}"}},"kill_policy":{{"grace_period":{{"nanoseconds":-1}}}}}}}}"#),
        format!(r#"{{{f},"type":"ACKNOWLEDGE","acknowledge":{{"agent_id":{{"value":"{agent}"}},"task_id":{{"value":"t1"}},"uuid":"AAAAAAAAAAAAAAAAAAAAAA=="}}}}"#),
        format!(r#"{{{f},"type":"RECONCILE","reconcile":{{"tasks":[{{"task_id":{{"value":"t1"}},"agent_id":{{"value":"{agent}"}}}}]}}}}"#),
        format!(r#"{{{f},"type":"MESSAGE","message":{{"agent_id":{{"value":"{agent}"}},"executor_id":{{"value":"e"}},"data":"aGVsbG8="}}}}"#),
        format!(r#"{{{f},"type":"REVIVE","revive":{{"roles":["*","a/b"]}}}}"#),
        format!(r#"{{{f},"type":"SUPPRESS","suppress":{{"roles":["*"]}}}}"#),
        format!(r#"{{{f},"type":"UPDATE_FRAMEWORK","update_framework":{{"framework_info":{{"id":{{"value":"{fid}"}},"user":"root","name":"fuzz2","roles":["*","x"],"capabilities":[{{"type":"MULTI_ROLE"}}]}}}}}}"#),
        format!(r#"{{{f},"type":"REQUEST","request":{{"requests":[{{"agent_id":{{"value":"{agent}"}}}}]}}}}"#),
        format!(r#"{{{f},"type":"ACCEPT_INVERSE_OFFERS","accept_inverse_offers":{{"inverse_offer_ids":[{{"value":"i"}}]}}}}"#),
        format!(r#"{{{f},"type":"RECONCILE_OPERATIONS","reconcile_operations":{{"operations":[]}}}}"#),
        r#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"","name":"","roles":["*","*"],"role":"x","capabilities":[{"type":"MULTI_ROLE"}]}}}"#.to_string(),
    ]
}

fn operator_seeds(agent: &str) -> Vec<String> {
    vec![
        r#"{"type":"GET_STATE"}"#.to_string(),
        r#"{"type":"GET_METRICS","get_metrics":{"timeout":{"nanoseconds":1000000}}}"#.to_string(),
        r#"{"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":3,"duration":{"nanoseconds":1000000000}}}"#.to_string(),
        r#"{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"r","weight":2.5}]}}"#.to_string(),
        r#"{"type":"UPDATE_QUOTA","update_quota":{"force":false,"quota_configs":[{"role":"r","limits":{"cpus":{"value":1.5}},"guarantees":{"mem":{"value":10}}}]}}"#.to_string(),
        format!(r#"{{"type":"DRAIN_AGENT","drain_agent":{{"agent_id":{{"value":"{agent}"}},"max_grace_period":{{"nanoseconds":1}}}}}}"#),
        r#"{"type":"DEACTIVATE_AGENT","deactivate_agent":{"agent_id":{"value":"nope-S9"}}}"#.to_string(),
        r#"{"type":"REACTIVATE_AGENT","reactivate_agent":{"agent_id":{"value":"nope-S9"}}}"#.to_string(),
        r#"{"type":"MARK_AGENT_GONE","mark_agent_gone":{"agent_id":{"value":"nope-S9"}}}"#.to_string(),
        r#"{"type":"TEARDOWN","teardown":{"framework_id":{"value":"nope-0001"}}}"#.to_string(),
        r#"{"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{"schedule":{"windows":[{"machine_ids":[{"hostname":"h"}],"unavailability":{"start":{"nanoseconds":0}}}]}}}"#.to_string(),
        r#"{"type":"READ_FILE","read_file":{"path":"/master/log/../../etc/passwd","offset":0,"length":10}}"#.to_string(),
        format!(r#"{{"type":"RESERVE_RESOURCES","reserve_resources":{{"agent_id":{{"value":"{agent}"}},"resources":[{{"name":"cpus","type":"SCALAR","scalar":{{"value":0.5}},"reservations":[{{"type":"DYNAMIC","role":"r","principal":"p"}}]}}]}}}}"#),
        format!(r#"{{"type":"CREATE_VOLUMES","create_volumes":{{"agent_id":{{"value":"{agent}"}},"volumes":[{{"name":"disk","type":"SCALAR","scalar":{{"value":8}},"reservations":[{{"type":"DYNAMIC","role":"r"}}],"disk":{{"persistence":{{"id":"v"}},"volume":{{"container_path":"../x","mode":"RW"}}}}}}]}}}}"#),
        r#"{"type":"SET_QUOTA","set_quota":{"quota_request":{"role":"r","guarantee":[{"name":"cpus","type":"SCALAR","scalar":{"value":100000}}]}}}"#.to_string(),
    ]
}

fn agent_seeds() -> Vec<String> {
    vec![
        r#"{"type":"GET_STATE"}"#.to_string(),
        r#"{"type":"GET_CONTAINERS","get_containers":{"show_nested":true,"show_standalone":true}}"#.to_string(),
        r#"{"type":"SET_LOGGING_LEVEL","set_logging_level":{"level":0,"duration":{"nanoseconds":1}}}"#.to_string(),
        r#"{"type":"READ_FILE","read_file":{"path":"/../../etc/passwd","offset":0,"length":10}}"#.to_string(),
        r#"{"type":"KILL_NESTED_CONTAINER","kill_nested_container":{"container_id":{"value":"c","parent":{"value":"p"}},"signal":9}}"#.to_string(),
        r#"{"type":"LAUNCH_NESTED_CONTAINER","launch_nested_container":{"container_id":{"value":"c","parent":{"value":"p"}},"command":{"value":"true"}}}"#.to_string(),
        r#"{"type":"WAIT_CONTAINER","wait_container":{"container_id":{"value":"../c","parent":{"value":"p"}}}}"#.to_string(),
        r#"{"type":"LIST_FILES","list_files":{"path":"/slave/log/%2e%2e"}}"#.to_string(),
    ]
}

#[test]
fn mutated_calls_get_4xx_answers_and_the_cluster_keeps_serving() {
    let seed: u64 = std::env::var("MESOS_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_0190);
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("mesos-fuzz-test-{port}"));
    let _ = std::fs::remove_dir_all(&dir);
    let _local = start_mesos_local(port, &dir, 1, "cpus:2;mem:1024;disk:1024");
    let agent = first_agent_id(port).expect("the agent registers");
    let (_stream, stream_id, fid) = subscribe_v1(port);
    let stream_header = format!("Mesos-Stream-Id: {stream_id}\r\n");

    let mut rng = Rng(seed | 1);
    let mut failures = Vec::new();
    let mut check = |what: String, status: Option<u16>| match status {
        Some(s) if s < 500 => {}
        other => failures.push(format!("{what}: {other:?}")),
    };

    let targets: [(&str, &str, Vec<String>, bool); 3] = [
        (
            "/api/v1/scheduler",
            "scheduler",
            scheduler_seeds(&fid, &agent),
            true,
        ),
        ("/api/v1", "master", operator_seeds(&agent), false),
        ("/slave(1)/api/v1", "agent", agent_seeds(), false),
    ];
    for (path, which, seeds, needs_stream) in &targets {
        let headers = if *needs_stream {
            stream_header.as_str()
        } else {
            ""
        };
        for case in 0..150 {
            let seed_json = &seeds[case % seeds.len()];
            let body = mutate_json(&mut rng, seed_json);
            let status = request(port, path, "application/json", headers, &body);
            check(
                format!(
                    "{which} JSON case {case}: {}",
                    String::from_utf8_lossy(&body)
                ),
                status,
            );
        }
        for case in 0..60 {
            let seed_json = &seeds[case % seeds.len()];
            let encoded = match *which {
                "scheduler" => from_json::<mesos_proto::mesos::v1::scheduler::Call>(seed_json)
                    .map(|c| c.encode_to_vec()),
                "master" => from_json::<mesos_proto::mesos::v1::master::Call>(seed_json)
                    .map(|c| c.encode_to_vec()),
                _ => from_json::<mesos_proto::mesos::v1::agent::Call>(seed_json)
                    .map(|c| c.encode_to_vec()),
            }
            .unwrap_or_default();
            let body = mutate_bytes(&mut rng, &encoded);
            let status = request(port, path, "application/x-protobuf", headers, &body);
            check(format!("{which} protobuf case {case}: {body:02x?}"), status);
        }
    }

    // Malformed HTTP around valid paths.
    let oversized = vec![b'{'; 70 * 1024 * 1024];
    check(
        "a 70 MB body".to_string(),
        request(port, "/api/v1", "application/json", "", &oversized),
    );
    for (what, raw) in [
        ("no content type", "POST /api/v1 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}".to_string()),
        ("unknown media type", "POST /api/v1 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: 2\r\n\r\n{}".to_string()),
        ("GET on a POST endpoint", "GET /api/v1/scheduler HTTP/1.1\r\nHost: x\r\n\r\n".to_string()),
        ("a 100 KB header", format!("GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n", "a".repeat(100 * 1024))),
        ("a percent-encoded path", "GET /%2e%2e/%2fmaster%00/state HTTP/1.1\r\nHost: x\r\n\r\n".to_string()),
    ] {
        let status = TcpStream::connect(("127.0.0.1", port)).ok().and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
            s.write_all(raw.as_bytes()).ok()?;
            status_of(&mut s)
        });
        check(what.to_string(), status);
    }

    assert!(
        failures.is_empty(),
        "seed {seed}: {} requests got no answer below 500:\n{}",
        failures.len(),
        failures
            .iter()
            .map(|f| f.chars().take(400).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Still serving, with the agent registered and the framework known.
    let (status, _) = http_get(port, "/health").expect("master answers after the run");
    assert_eq!(status, 200);
    let (_, frameworks) = http_get(port, "/master/frameworks").expect("frameworks");
    assert!(
        frameworks.contains(&fid),
        "the subscribed framework is gone"
    );
    let (_, slaves) = http_get(port, "/master/slaves").expect("slaves");
    assert!(slaves.contains(&agent), "the agent is gone");
    let _ = std::fs::remove_dir_all(&dir);
}
