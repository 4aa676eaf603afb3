//! Simulated message throughput: how many libprocess messages per second of
//! real time the deterministic simulator delivers (encode, fault check,
//! heap, filter, decode, handler, trace hash).

use std::net::SocketAddr;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use libprocess::runtime::sim::{Sim, SimConfig};
use libprocess::{Actor, Cx, Routes, Upid};
use mesos_proto::mesos::internal::{PingSlaveMessage, PongSlaveMessage};

struct Ponger;

impl Actor for Ponger {
    fn install(r: &mut Routes<Self>) {
        r.message::<PingSlaveMessage>(|_a, cx, from, _m| cx.send(&from, &PongSlaveMessage {}));
    }
}

struct Pinger {
    target: Upid,
    left: usize,
}

impl Actor for Pinger {
    fn install(r: &mut Routes<Self>) {
        r.message::<PongSlaveMessage>(|a: &mut Pinger, cx: &mut Cx<'_, Pinger>, _from, _m| {
            if a.left > 0 {
                a.left -= 1;
                cx.send(&a.target, &PingSlaveMessage { connected: true });
            }
        });
    }

    fn initialize(&mut self, cx: &mut Cx<'_, Self>) {
        self.left -= 1;
        cx.send(&self.target, &PingSlaveMessage { connected: true });
    }
}

const PAIRS: usize = 100;
const ROUNDS: usize = 100;

fn build(remote: bool, jitter: bool, wire: bool) -> Sim {
    let a: SocketAddr = "10.0.0.1:5050".parse().unwrap();
    let b: SocketAddr = "10.0.0.2:5051".parse().unwrap();
    let mut cfg = SimConfig::new(1);
    cfg.latency = Duration::from_millis(1);
    if jitter {
        cfg.jitter = Duration::from_millis(2);
    }
    cfg.wire = wire;
    let mut sim = Sim::with_config(cfg);
    sim.add_node(a);
    sim.add_node(b);
    let there = if remote { b } else { a };
    for i in 0..PAIRS {
        let ponger = sim.spawn(there, &format!("ponger({i})"), Ponger);
        sim.spawn(
            a,
            &format!("pinger({i})"),
            Pinger {
                target: ponger.upid,
                left: ROUNDS,
            },
        );
    }
    sim
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("sim");
    g.throughput(Throughput::Elements((2 * PAIRS * ROUNDS) as u64));
    g.sample_size(20);
    for (name, remote, jitter, wire) in [
        ("ping_pong_local", false, false, true),
        ("ping_pong_remote", true, false, true),
        ("ping_pong_remote_no_wire", true, false, false),
        ("ping_pong_remote_jitter", true, true, true),
    ] {
        g.bench_function(name, |bch| {
            bch.iter_batched(
                || build(remote, jitter, wire),
                |mut sim| {
                    sim.advance(Duration::from_secs(3600));
                    assert_eq!(sim.stats().delivered, (2 * PAIRS * ROUNDS) as u64);
                    sim
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
