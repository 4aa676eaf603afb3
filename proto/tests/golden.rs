//! Golden tests against a real Mesos 1.9.0 master (captures made by
//! `tests/golden/capture.py`, see its header).
//!
//! Operator calls (master and agent `/api/v1`, and the master's `SUBSCRIBE` event
//! stream's first event) were captured twice from the same, unchanging state: once as
//! JSON and once as protobuf. So our JSON for the protobuf bytes must be upstream's JSON:
//! byte for byte, except that upstream prints map fields in hash order, which we cannot
//! (and do not want to) reproduce; for the two captures holding maps
//! (`offer_filters`) map entries are sorted on both sides before the byte comparison,
//! everything else (field order, number and string spelling) still compared verbatim.
//!
//! Scheduler events come from two subscriptions (one JSON, one protobuf), so they are
//! different events: the JSON ones must survive parse + print byte for byte, the
//! protobuf ones decode/print/parse consistently and have the same shape as their JSON
//! counterparts.

mod common;

use mesos_proto::json::{from_json, to_json};
use mesos_proto::mesos::v1::agent::Response as AgentResponse;
use mesos_proto::mesos::v1::master::{Event as MasterEvent, Response};
use mesos_proto::mesos::v1::scheduler::Event;
use mesos_proto::pool::message_descriptor;
use mesos_proto::recordio::Decoder;
use mesos_proto::required::{check_initialized, decode_checked};
use prost::Message;
use prost_reflect::DynamicMessage;

use common::{assert_same, assert_same_message, canonical, golden_dir, key_paths, strip_defaults};

const CALLS: [&str; 6] = [
    "GET_STATE",
    "GET_AGENTS",
    "GET_FRAMEWORKS",
    "GET_FLAGS",
    "GET_VERSION",
    "GET_TASKS",
];
/// Captures that contain map fields (printed in hash order upstream).
const WITH_MAPS: [&str; 2] = ["GET_STATE", "GET_FRAMEWORKS"];
const AGENT_CALLS: [&str; 7] = [
    "GET_STATE",
    "GET_FLAGS",
    "GET_VERSION",
    "GET_FRAMEWORKS",
    "GET_EXECUTORS",
    "GET_TASKS",
    "GET_AGENT",
];

fn read(rel: &str) -> Vec<u8> {
    let p = golden_dir().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn stripped<M: Message + prost::Name>(m: &M) -> DynamicMessage {
    let desc = message_descriptor::<M>().unwrap();
    let mut d = DynamicMessage::decode(desc, m.encode_to_vec().as_slice()).unwrap();
    strip_defaults(&mut d);
    d
}

/// Checks one capture pair (the same object as JSON and as protobuf) of type `M`:
/// our JSON of the protobuf is upstream's JSON (byte for byte; map entries sorted
/// first if the capture holds maps), the protobuf passes the required check, and
/// upstream's JSON parses to the same message and prints back unchanged.
fn check_pair<M: Message + Default + prost::Name>(name: &str, upstream: &str, pb: &[u8]) {
    let desc = message_descriptor::<M>().unwrap();
    let decoded = decode_checked::<M>(pb).unwrap();
    check_initialized(&desc, pb).unwrap();
    let ours = to_json(&decoded).unwrap();
    if upstream.contains("\"offer_filters\"") {
        assert_same(
            &canonical(&ours, &desc),
            &canonical(upstream, &desc),
            &format!("{name} (map entries sorted on both sides)"),
        );
    } else {
        assert_same(&ours, upstream, name);
    }
    let parsed: M = from_json(upstream).unwrap();
    // Upstream prints unset fields that have explicit defaults; parsing them back sets
    // them. Apart from that the messages must be identical.
    assert_same_message(&stripped(&parsed), &stripped(&decoded), name);
    assert_same(
        &canonical(&to_json(&parsed).unwrap(), &desc),
        &canonical(upstream, &desc),
        &format!("{name}: JSON -> protobuf -> JSON"),
    );
}

fn pair(dir: &str, call: &str) -> (String, Vec<u8>) {
    let json = String::from_utf8(read(&format!("{dir}/{call}.json"))).unwrap();
    (json, read(&format!("{dir}/{call}.pb")))
}

#[test]
fn master_operator_responses_match_upstream_both_ways() {
    for call in CALLS {
        let (json, pb) = pair("operator", call);
        check_pair::<Response>(&format!("master {call}"), &json, &pb);
    }
    // The captures that hold maps really do (so the sorted comparison is exercised).
    for call in WITH_MAPS {
        assert!(pair("operator", call).0.contains("\"offer_filters\""));
    }
}

#[test]
fn agent_operator_responses_match_upstream_both_ways() {
    for call in AGENT_CALLS {
        let (json, pb) = pair("agent", call);
        check_pair::<AgentResponse>(&format!("agent {call}"), &json, &pb);
    }
}

#[test]
fn operator_subscribed_event_matches_upstream_both_ways() {
    // Two subscriptions to an unchanged master: the same SUBSCRIBED event (whole state).
    let json = records("operator/SUBSCRIBE.json.recordio");
    let pb = records("operator/SUBSCRIBE.pb.recordio");
    assert_eq!((json.len(), pb.len()), (1, 1));
    let text = std::str::from_utf8(&json[0]).unwrap();
    assert!(text.starts_with("{\"type\":\"SUBSCRIBED\""));
    check_pair::<MasterEvent>("operator SUBSCRIBED", text, &pb[0]);
}

#[test]
fn rapidjson_double_spelling_is_reproduced() {
    // The JSON framework was subscribed with failover_timeout 0.1 + 0.2; rapidjson's
    // Grisu2 prints it with a trailing 7, not the shortest round-trip (…04).
    let upstream = String::from_utf8(read("operator/GET_FRAMEWORKS.json")).unwrap();
    assert!(upstream.contains("\"failover_timeout\":0.30000000000000007"));
    let response = Response::decode(read("operator/GET_FRAMEWORKS.pb").as_slice()).unwrap();
    let ours = to_json(&response).unwrap();
    for needle in [
        "\"failover_timeout\":0.30000000000000007",
        "\"failover_timeout\":3600.0",
        "\"value\":0.000001",
        "\"value\":1.5e-7",
        "\"value\":2.5e-300",
        "\"value\":100000000000000.0",
    ] {
        assert!(upstream.contains(needle), "upstream lacks {needle}");
        assert!(ours.contains(needle), "ours lacks {needle}");
    }
}

fn records(rel: &str) -> Vec<bytes::Bytes> {
    let data = read(rel);
    let mut d = Decoder::default();
    let out = d.decode(&data).unwrap();
    d.finish().unwrap();
    out
}

fn event_type(e: &Event) -> String {
    let v = mesos_proto::json::to_json_value(e).unwrap();
    v["type"].as_str().unwrap().to_owned()
}

#[test]
fn json_scheduler_events_round_trip_byte_for_byte() {
    let records = records("scheduler/events.json.recordio");
    let mut types = Vec::new();
    let desc = message_descriptor::<Event>().unwrap();
    for r in &records {
        let text = std::str::from_utf8(r).unwrap();
        let event: Event = from_json(text).unwrap();
        types.push(event_type(&event));
        let ours = to_json(&event).unwrap();
        assert_same(
            &canonical(&ours, &desc),
            &canonical(text, &desc),
            "event (canonical)",
        );
        assert_same(&ours, text, "event");
    }
    for t in ["SUBSCRIBED", "OFFERS", "UPDATE"] {
        assert!(types.iter().any(|x| x == t), "no {t} event in {types:?}");
    }
}

#[test]
fn protobuf_scheduler_events_match_the_json_stream() {
    let pb_records = records("scheduler/events.pb.recordio");
    let json_records = records("scheduler/events.json.recordio");
    let json_events: Vec<serde_json::Value> = json_records
        .iter()
        .map(|r| serde_json::from_slice(r).unwrap())
        .collect();
    let mut seen = Vec::new();
    for r in &pb_records {
        let event = decode_checked::<Event>(r).unwrap();
        let text = to_json(&event).unwrap();
        // Print, parse back: the same event.
        let back: Event = from_json(&text).unwrap();
        assert_same_message(&stripped(&back), &stripped(&event), "event");
        let t = event_type(&event);
        // The JSON stream's first event of the same type has the same shape.
        let ours: serde_json::Value = serde_json::from_str(&text).unwrap();
        if let Some(theirs) = json_events.iter().find(|e| e["type"] == t.as_str()) {
            if t == "SUBSCRIBED" || t == "HEARTBEAT" {
                assert_eq!(key_paths(&ours), key_paths(theirs), "{t} shape differs");
            }
        }
        seen.push(t);
    }
    for t in ["SUBSCRIBED", "OFFERS", "UPDATE"] {
        assert!(seen.iter().any(|x| x == t), "no {t} event in {seen:?}");
    }
}

#[test]
fn recordio_stream_decodes_identically_in_any_chunking() {
    let data = read("scheduler/events.json.recordio");
    let whole = records("scheduler/events.json.recordio");
    for chunk in [1, 2, 3, 7, 64, 1000] {
        let mut d = Decoder::default();
        let mut got = Vec::new();
        for c in data.chunks(chunk) {
            got.extend(d.decode(c).unwrap());
        }
        assert_eq!(got, whole, "chunk size {chunk}");
    }
}
