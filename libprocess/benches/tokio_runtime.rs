//! Message throughput of the tokio runtime: between two local actors
//! (mailbox dispatch only) and between two runtimes over loopback (encode,
//! one persistent socket, decode, 202s read and discarded).

use std::sync::mpsc::{sync_channel, SyncSender};
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use libprocess::runtime::tokio::Runtime;
use libprocess::transport::TransportConfig;
use libprocess::{Actor, Cx, Routes, Upid};

const N: usize = 100_000;
const BURST: usize = 1_000;

#[derive(Default)]
struct Counter {
    seen: usize,
    target: usize,
    done: Option<SyncSender<()>>,
}

impl Actor for Counter {
    fn install(r: &mut Routes<Self>) {
        r.raw("m", Counter::m);
    }
}

impl Counter {
    fn m(&mut self, _cx: &mut Cx<'_, Self>, _from: Upid, _body: Bytes) {
        self.seen += 1;
        if self.seen == self.target {
            if let Some(d) = self.done.take() {
                let _ = d.send(());
            }
        }
    }
}

struct Sender {
    to: Upid,
    body: Bytes,
}

impl Actor for Sender {
    fn install(_r: &mut Routes<Self>) {}
}

impl Sender {
    /// Sends `left` messages in bursts, yielding between bursts as a busy
    /// actor would.
    fn burst(&mut self, cx: &mut Cx<'_, Self>, left: usize) {
        let n = left.min(BURST);
        for _ in 0..n {
            cx.send_raw(&self.to, "m", self.body.clone());
        }
        if left > n {
            let me = cx.pid();
            cx.dispatch(&me, move |a, cx| a.burst(cx, left - n));
        }
    }
}

fn run(
    sender_rt: &Runtime,
    sender: &Upid,
    counter_rt: &Runtime,
    counter: &Upid,
    n: usize,
) -> Duration {
    let (tx, rx) = sync_channel(1);
    counter_rt
        .call::<Counter, _>(counter, move |c, _| {
            c.target = c.seen + n;
            c.done = Some(tx);
        })
        .unwrap();
    let start = Instant::now();
    sender_rt.dispatch::<Sender>(sender, move |a, cx| a.burst(cx, n));
    rx.recv_timeout(Duration::from_secs(60))
        .expect("all messages arrive");
    start.elapsed()
}

fn local(c: &mut Criterion) {
    let mut g = c.benchmark_group("tokio_local");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(20);
    for threads in [1usize, 2] {
        let rt = Runtime::start(TransportConfig::loopback().worker_threads(threads)).unwrap();
        let counter = rt.spawn("counter", Counter::default());
        let sender = rt.spawn(
            "sender",
            Sender {
                to: counter.clone(),
                body: Bytes::from_static(&[1; 64]),
            },
        );
        g.bench_function(format!("two_actors_64B_{threads}_workers"), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| run(&rt, &sender, &rt, &counter, N))
                    .sum()
            })
        });
    }
    g.finish();
}

fn remote(c: &mut Criterion) {
    let a = Runtime::start(TransportConfig::loopback().worker_threads(2)).unwrap();
    let b = Runtime::start(TransportConfig::loopback().worker_threads(2)).unwrap();
    let counter = b.spawn("counter", Counter::default());
    let mut g = c.benchmark_group("tokio_remote");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(10);
    for size in [64usize, 1024] {
        let sender = a.spawn(
            &format!("sender-{size}"),
            Sender {
                to: counter.clone(),
                body: Bytes::from(vec![1u8; size]),
            },
        );
        // Linking makes the socket persistent, as between master and agent.
        let to = counter.clone();
        a.call::<Sender, _>(&sender, move |_, cx| cx.link(&to))
            .unwrap();
        g.bench_function(format!("loopback_{size}B"), |bch| {
            bch.iter_custom(|iters| (0..iters).map(|_| run(&a, &sender, &b, &counter, N)).sum())
        });
    }
    g.finish();
}

criterion_group!(benches, local, remote);
criterion_main!(benches);
