//! The v0 `/state` body for a large cluster (1k agents, 100 frameworks,
//! 10k tasks, some offers): the former `serde_json::Value` tree against the
//! streaming writer the endpoint now uses. The state is built directly
//! through `MasterState`'s public API; the master's own header fields are a
//! few hundred bytes and left out.

#![allow(deprecated)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use libprocess::Upid;
use mesos_master::http::{json_writer, model};
use mesos_master::state::{Agent, Connection, Framework, MasterState};
use mesos_proto::mesos::value::{Range, Ranges, Scalar, Type as ValueType};
use mesos_proto::mesos::{
    Attribute, FrameworkId, FrameworkInfo, Offer, OfferId, Resource, SlaveId, SlaveInfo, TaskInfo,
    TaskState, TaskStatus,
};

const AGENTS: usize = 1000;
const FRAMEWORKS: usize = 100;
const TASKS_PER_FRAMEWORK: usize = 100;

fn scalar(name: &str, v: f64) -> Resource {
    Resource {
        name: name.into(),
        r#type: ValueType::Scalar as i32,
        scalar: Some(Scalar { value: v }),
        role: Some("*".into()),
        ..Default::default()
    }
}

fn ports() -> Resource {
    Resource {
        name: "ports".into(),
        r#type: ValueType::Ranges as i32,
        ranges: Some(Ranges {
            range: vec![Range {
                begin: 31000,
                end: 32000,
            }],
        }),
        role: Some("*".into()),
        ..Default::default()
    }
}

fn cluster() -> MasterState {
    let mut s = MasterState::new("bench-master");
    let mut agent_ids = Vec::with_capacity(AGENTS);
    for i in 0..AGENTS {
        let id = s.new_agent_id();
        let info = SlaveInfo {
            hostname: format!("agent-{i}.example.com"),
            port: Some(5051),
            id: Some(id.clone()),
            resources: vec![
                scalar("cpus", 16.0),
                scalar("mem", 65536.0),
                scalar("disk", 1e6),
                ports(),
            ],
            attributes: vec![Attribute {
                name: "rack".into(),
                r#type: ValueType::Text as i32,
                text: Some(mesos_proto::mesos::value::Text {
                    value: format!("rack-{}", i % 40),
                }),
                ..Default::default()
            }],
            ..Default::default()
        };
        let pid: Upid = format!("slave(1)@10.0.{}.{}:5051", i / 250, i % 250)
            .parse()
            .expect("pid");
        s.agents.insert(
            id.value.clone(),
            Agent::new(info, pid, "1.9.0".into(), vec![1, 2, 3], 1.7e9 + i as f64),
        );
        agent_ids.push(id);
    }
    for f in 0..FRAMEWORKS {
        let fid = s.new_framework_id();
        let info = FrameworkInfo {
            user: "root".into(),
            name: format!("framework-{f}"),
            id: Some(fid.clone()),
            role: Some("*".into()),
            hostname: Some("scheduler.example.com".into()),
            ..Default::default()
        };
        let pid: Upid = format!("scheduler-{f}@10.1.0.1:4000").parse().expect("pid");
        s.frameworks.insert(
            fid.value.clone(),
            Framework::new(info, Connection::Pid(pid), 1.7e9),
        );
        for t in 0..TASKS_PER_FRAMEWORK {
            let agent = &agent_ids[(f * TASKS_PER_FRAMEWORK + t) % AGENTS];
            let task = TaskInfo {
                name: format!("task-{f}-{t}"),
                task_id: mesos_proto::mesos::TaskId {
                    value: format!("task-{f}-{t}"),
                },
                slave_id: agent.clone(),
                resources: vec![scalar("cpus", 0.1), scalar("mem", 32.0)],
                ..Default::default()
            };
            s.add_task(&fid.value, &task, Some("root".into()));
            let fw = s.frameworks.get_mut(&fid.value).expect("framework");
            let tk = fw.tasks.get_mut(&task.task_id.value).expect("task");
            tk.state = TaskState::TaskRunning as i32;
            tk.statuses.push(TaskStatus {
                task_id: task.task_id.clone(),
                state: TaskState::TaskRunning as i32,
                timestamp: Some(1.7e9 + t as f64 / 7.0),
                ..Default::default()
            });
        }
        // One outstanding offer per framework.
        let agent = agent_ids[f * 7 % AGENTS].clone();
        let oid: OfferId = s.new_offer_id();
        let offer = Offer {
            id: oid.clone(),
            framework_id: FrameworkId {
                value: fid.value.clone(),
            },
            slave_id: SlaveId {
                value: agent.value.clone(),
            },
            hostname: "agent".into(),
            resources: vec![scalar("cpus", 1.0), scalar("mem", 128.0)],
            ..Default::default()
        };
        s.add_offer(offer);
    }
    s
}

fn bench(c: &mut Criterion) {
    let s = cluster();
    let usage = s.usage();
    let value = || {
        let slaves: Vec<_> = s
            .agents
            .values()
            .map(|a| model::agent(&s, &usage, a, false))
            .collect();
        let frameworks: Vec<_> = s
            .frameworks
            .values()
            .map(|f| model::framework(&s, &usage, f))
            .collect();
        serde_json::json!({ "slaves": slaves, "frameworks": frameworks }).to_string()
    };
    let stream = || {
        let mut out = Vec::with_capacity(1 << 20);
        let mut o = json_writer::Obj::new(&mut out);
        let mut a = json_writer::Arr::new(o.key("slaves"));
        for ag in s.agents.values() {
            model::write_agent(a.item(), &s, &usage, ag, false);
        }
        a.end();
        let mut a = json_writer::Arr::new(o.key("frameworks"));
        for f in s.frameworks.values() {
            model::write_framework(a.item(), &s, &usage, f);
        }
        a.end();
        o.end();
        json_writer::into_string(out)
    };
    let reference = value();
    assert_eq!(reference, stream(), "the two paths print the same bytes");
    let mut g = c.benchmark_group("master_state_json_1k_agents_10k_tasks");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(reference.len() as u64));
    g.bench_function("value_tree", |b| b.iter(|| black_box(value())));
    g.bench_function("streaming", |b| b.iter(|| black_box(stream())));
    g.bench_function("usage_only", |b| b.iter(|| black_box(s.usage())));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
