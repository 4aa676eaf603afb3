//! JSON serialization of a large GET_STATE response (what the master does for operator
//! API clients), JSON parsing, and encode/decode/required-check costs of typical
//! messages.
//!
//! The GET_STATE fixture is the real 1.9.0 master's response from
//! `tests/golden/operator/GET_STATE.pb`, with its tasks, agents, frameworks and
//! executors replicated to cluster-sized counts.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use mesos_proto::json::{bytes_to_json, from_json, to_json, write_dynamic};
use mesos_proto::mesos::internal::{StatusUpdate, StatusUpdateMessage};
use mesos_proto::mesos::v1::master::Response;
use mesos_proto::pool::message_descriptor;
use mesos_proto::recordio;
use mesos_proto::required::{check_initialized, decode_checked};
use prost::Message;
use prost_reflect::DynamicMessage;

const TASKS: usize = 5000;
const AGENTS: usize = 200;
const FRAMEWORKS: usize = 50;

fn golden(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/operator")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn replicate<T: Clone>(v: &mut Vec<T>, n: usize, rename: impl Fn(&mut T, usize)) {
    let proto = v.clone();
    v.clear();
    for i in 0..n {
        let mut x = proto[i % proto.len()].clone();
        rename(&mut x, i);
        v.push(x);
    }
}

/// A GET_STATE response the size of a busy cluster.
fn large_state() -> Response {
    let mut r = Response::decode(golden("GET_STATE.pb").as_slice()).unwrap();
    let s = r.get_state.as_mut().unwrap();
    let tasks = s.get_tasks.as_mut().unwrap();
    replicate(&mut tasks.tasks, TASKS, |t, i| {
        t.task_id.value = format!("task-{i}")
    });
    let agents = s.get_agents.as_mut().unwrap();
    replicate(&mut agents.agents, AGENTS, |a, i| {
        a.agent_info.hostname = format!("agent-{i}.example")
    });
    let fw = s.get_frameworks.as_mut().unwrap();
    replicate(&mut fw.frameworks, FRAMEWORKS, |f, i| {
        f.framework_info.name = format!("framework-{i}")
    });
    let ex = s.get_executors.as_mut().unwrap();
    if !ex.executors.is_empty() {
        replicate(&mut ex.executors, TASKS, |_, _| {});
    }
    r
}

fn status_update() -> StatusUpdateMessage {
    use mesos_proto::mesos::{FrameworkId, SlaveId, TaskId, TaskState, TaskStatus};
    StatusUpdateMessage {
        update: StatusUpdate {
            framework_id: FrameworkId {
                value: "f05596d5-49b2-43e8-a99d-a7cbe8f40c28-0000".into(),
            },
            slave_id: Some(SlaveId {
                value: "f05596d5-49b2-43e8-a99d-a7cbe8f40c28-S0".into(),
            }),
            status: TaskStatus {
                task_id: TaskId {
                    value: "golden-json-1".into(),
                },
                state: TaskState::TaskRunning as i32,
                message: Some("running".into()),
                timestamp: Some(1795601433.680905),
                uuid: Some(vec![7u8; 16].into()),
                ..Default::default()
            },
            timestamp: 1795601433.680905,
            uuid: Some(vec![7u8; 16].into()),
            ..Default::default()
        },
        pid: Some("slave(1)@127.0.0.1:5051".into()),
    }
}

fn bench_state_json(c: &mut Criterion) {
    let state = large_state();
    let bytes = state.encode_to_vec();
    let desc = message_descriptor::<Response>().unwrap();
    let dynamic = DynamicMessage::decode(desc.clone(), bytes.as_slice()).unwrap();
    let json = to_json(&state).unwrap();
    println!(
        "GET_STATE fixture: {TASKS} tasks, {AGENTS} agents, {FRAMEWORKS} frameworks; \
         {} bytes protobuf, {} bytes JSON",
        bytes.len(),
        json.len()
    );

    let mut g = c.benchmark_group("get_state");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(json.len() as u64));
    g.bench_function("to_json (prost encode + wire transcode)", |b| {
        b.iter(|| to_json(black_box(&state)).unwrap())
    });
    g.bench_function("bytes_to_json (wire transcode)", |b| {
        b.iter(|| bytes_to_json(&desc, black_box(&bytes)).unwrap())
    });
    g.bench_function("write_dynamic (DynamicMessage already decoded)", |b| {
        b.iter(|| {
            let mut out = String::with_capacity(json.len());
            write_dynamic(black_box(&dynamic), &mut out).unwrap();
            out
        })
    });
    g.bench_function("serde_json::to_string of a Value (reference)", |b| {
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        b.iter(|| serde_json::to_string(black_box(&v)).unwrap())
    });
    g.bench_function("from_json", |b| {
        b.iter(|| from_json::<Response>(black_box(&json)).unwrap())
    });
    g.bench_function("prost encode", |b| {
        b.iter(|| black_box(&state).encode_to_vec())
    });
    g.bench_function("prost decode", |b| {
        b.iter(|| Response::decode(black_box(bytes.as_slice())).unwrap())
    });
    g.bench_function("check_initialized", |b| {
        b.iter(|| check_initialized(&desc, black_box(&bytes)).unwrap())
    });
    g.finish();
}

fn bench_small(c: &mut Criterion) {
    let update = status_update();
    let bytes = update.encode_to_vec();
    let desc = message_descriptor::<StatusUpdateMessage>().unwrap();
    let mut g = c.benchmark_group("status_update_message");
    g.bench_function("encode", |b| b.iter(|| black_box(&update).encode_to_vec()));
    g.bench_function("decode", |b| {
        b.iter(|| StatusUpdateMessage::decode(black_box(bytes.as_slice())).unwrap())
    });
    g.bench_function("check_initialized", |b| {
        b.iter(|| check_initialized(&desc, black_box(&bytes)).unwrap())
    });
    g.bench_function("decode_checked", |b| {
        b.iter(|| decode_checked::<StatusUpdateMessage>(black_box(&bytes)).unwrap())
    });
    g.bench_function("to_json", |b| {
        b.iter(|| to_json(black_box(&update)).unwrap())
    });
    let json = to_json(&update).unwrap();
    g.bench_function("from_json", |b| {
        b.iter(|| from_json::<StatusUpdateMessage>(black_box(&json)).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("recordio");
    let record = vec![b'x'; 1000];
    let mut stream = Vec::new();
    for _ in 0..1000 {
        recordio::encode_into(&record, &mut stream);
    }
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.bench_function("decode 1000 x 1 KB in 4 KB chunks", |b| {
        b.iter_batched(
            recordio::Decoder::default,
            |mut d| {
                let mut n = 0;
                for chunk in stream.chunks(4096) {
                    n += d.decode(chunk).unwrap().len();
                }
                n
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench_state_json, bench_small);
criterion_main!(benches);
