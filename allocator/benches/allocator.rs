//! Criterion benchmarks modelled on upstream's allocator and sorter benchmarks
//! (`src/tests/hierarchical_allocator_benchmarks.cpp`,
//! `HierarchicalAllocator_BENCHMARK_Test.*` in `hierarchical_allocator_tests.cpp`,
//! `CommonSorterTest.BENCHMARK_FullSort` in `sorter_tests.cpp`).
//!
//! Grids are smaller than upstream's by default to keep `cargo bench` short on
//! a shared machine; the `allocator-bench` binary runs the large sizes.

use std::collections::BTreeSet;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{criterion_group, criterion_main, BatchSize, Bencher, BenchmarkId, Criterion};
use mesos_allocator::bench_support::*;
use mesos_allocator::hierarchical::HierarchicalAllocator;
use mesos_allocator::resources::ResourceQuantities;
use mesos_allocator::sorter::{Sorter, SorterKind};

const AGENT: &str = "cpus:24;mem:4096;disk:4096;ports:[31000-32000]";
const GRID: [(usize, usize); 3] = [(1_000, 50), (5_000, 200), (10_000, 1_000)];

/// Times one allocation cycle at `at_secs` of the allocator `setup` builds
/// (built before and dropped after the timed part).
fn time_cycle<M: Measurement>(
    b: &mut Bencher<'_, M>,
    at_secs: u64,
    setup: impl FnMut() -> HierarchicalAllocator,
) {
    b.iter_batched(
        setup,
        |mut a| {
            let r = a.allocate(Duration::from_secs(at_secs));
            (a, r) // dropped outside the timing
        },
        BatchSize::LargeInput,
    )
}

/// One cold allocation cycle (everything available) and one steady-state
/// cycle after 1% of the offers come back.
fn cycle(c: &mut Criterion) {
    let mut g = c.benchmark_group("Cycle");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    for (agents, frameworks) in GRID {
        let id = format!("{agents}x{frameworks}");
        g.bench_function(BenchmarkId::new("cold", &id), |b| {
            time_cycle(b, 1, || cluster(agents, frameworks, AGENT, false))
        });
        g.bench_function(BenchmarkId::new("steady_1pct", &id), |b| {
            time_cycle(b, 2, || {
                let mut a = cluster(agents, frameworks, AGENT, false);
                let o = offers(&a.allocate(Duration::from_secs(1)));
                let some: Vec<_> = o.into_iter().step_by(100).collect();
                recover_all(&mut a, &some, Duration::from_secs(1));
                a
            })
        });
    }
    g.finish();
}

/// Upstream `DeclineOffers`: every offer declined with a long filter, then a cycle.
fn decline_offers(c: &mut Criterion) {
    let mut g = c.benchmark_group("DeclineOffers");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    for (agents, frameworks) in GRID {
        g.bench_function(
            BenchmarkId::from_parameter(format!("{agents}x{frameworks}")),
            |b| {
                time_cycle(b, 2, || {
                    let mut a = cluster(agents, frameworks, AGENT, false);
                    let o = offers(&a.allocate(Duration::from_secs(1)));
                    decline_all(&mut a, &o, Duration::from_secs(1));
                    a
                })
            },
        );
    }
    g.finish();
}

/// Upstream `SuppressOffers`: frameworks that got offers suppress and decline.
fn suppress_offers(c: &mut Criterion) {
    let mut g = c.benchmark_group("SuppressOffers");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    for (agents, frameworks) in GRID {
        g.bench_function(
            BenchmarkId::from_parameter(format!("{agents}x{frameworks}")),
            |b| {
                time_cycle(b, 2, || {
                    let mut a = cluster(agents, frameworks, AGENT, false);
                    let o = offers(&a.allocate(Duration::from_secs(1)));
                    for (fw, _, _) in &o {
                        a.suppress_offers(fw, &BTreeSet::new())
                            .expect("known framework");
                    }
                    recover_all(&mut a, &o, Duration::from_secs(1));
                    a
                })
            },
        );
    }
    g.finish();
}

/// Upstream `ExtremeSuppressOffers`: every agent mostly used, 99% of the
/// frameworks suppressed; a cycle after the previous offers come back.
fn extreme_suppress_offers(c: &mut Criterion) {
    let mut g = c.benchmark_group("ExtremeSuppressOffers");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    let total = mesos_allocator::Resources::parse(AGENT, "*").expect("valid");
    let used = mesos_allocator::Resources::parse(
        &format!("cpus:16;mem:1024;disk:1024;{}", fragmented_ports(16)),
        "*",
    )
    .expect("valid");
    for (agents, frameworks) in GRID {
        g.bench_function(
            BenchmarkId::from_parameter(format!("{agents}x{frameworks}")),
            |b| {
                time_cycle(b, 2, || {
                    let mut a = cluster_with_used(agents, frameworks, "*", |_| {
                        (total.clone(), used.clone())
                    });
                    for i in 0..frameworks * 99 / 100 {
                        a.suppress_offers(&framework_id(i), &BTreeSet::new())
                            .expect("known framework");
                    }
                    let o = offers(&a.allocate(Duration::from_secs(1)));
                    recover_all(&mut a, &o, Duration::from_secs(1));
                    a
                })
            },
        );
    }
    g.finish();
}

/// Upstream `ResourceLabels`: each agent holds two labelled dynamic
/// reservations (12 labels, one unique per agent) in use by a framework of
/// `role1`; every offer is declined with a long filter, then a cycle.
fn resource_labels(c: &mut Criterion) {
    let mut g = c.benchmark_group("ResourceLabels");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    let unreserved =
        mesos_allocator::Resources::parse("cpus:8;mem:4096;disk:4096;ports:[31000-32000]", "*")
            .expect("valid");
    let allocation = mesos_allocator::Resources::parse(
        &format!("mem:2014;disk:1024;{}", fragmented_ports(16)),
        "*",
    )
    .expect("valid");
    let agent = |i: usize| {
        let labels = |unique: &'static str| {
            let mut l: Vec<(&str, String)> = vec![("key", "value".to_string()); 11];
            l.push((unique, format!("value_{i}")));
            l
        };
        let reserved1 = dynamically_reserved("cpus:8", "role1", &labels("unique_key_1"));
        let reserved2 = dynamically_reserved("cpus:8", "role1", &labels("unique_key_2"));
        let reserved = &reserved1 + &reserved2;
        (&unreserved + &reserved, &allocation + &reserved)
    };
    for (agents, frameworks) in GRID {
        g.bench_function(
            BenchmarkId::from_parameter(format!("{agents}x{frameworks}")),
            |b| {
                time_cycle(b, 2, || {
                    let mut a = cluster_with_used(agents, frameworks, "role1", agent);
                    let o = offers(&a.allocate(Duration::from_secs(1)));
                    decline_all(&mut a, &o, Duration::from_secs(1));
                    a
                })
            },
        );
    }
    g.finish();
}

/// Upstream `AddAndUpdateSlave`: add agents, then update every agent's total.
fn add_and_update_slave(c: &mut Criterion) {
    let mut g = c.benchmark_group("AddAndUpdateSlave");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    let small = "cpus:2;mem:1024;disk:4096;ports:[31000-32000]";
    let bigger =
        mesos_allocator::Resources::parse("cpus:4;mem:1024;disk:4096;ports:[31000-32000]", "*")
            .expect("valid");
    for (agents, frameworks) in GRID {
        g.bench_function(
            BenchmarkId::new("add", format!("{agents}x{frameworks}")),
            |b| b.iter_with_large_drop(|| cluster(agents, frameworks, small, false)),
        );
        g.bench_function(
            BenchmarkId::new("update", format!("{agents}x{frameworks}")),
            |b| {
                b.iter_batched(
                    || cluster(agents, frameworks, small, false),
                    |mut a| {
                        for i in 0..agents {
                            let id = agent_id(i);
                            a.update_slave(&id, &slave_info(&id), Some(&bigger), None)
                                .expect("known agent");
                        }
                        a
                    },
                    BatchSize::LargeInput,
                )
            },
        );
    }
    g.finish();
}

/// Upstream `MultiFrameworkAllocations` (reduced): Marathon-, Jenkins- and
/// Spark-like frameworks on 80 big agents; one cycle, launching what fits and
/// declining the rest.
fn multi_framework_allocations(c: &mut Criterion) {
    let mut g = c.benchmark_group("MultiFrameworkAllocations");
    g.sample_size(10);
    g.bench_function("80_agents_554_frameworks", |b| {
        b.iter_batched(
            || {
                let mut a = cluster(80, 0, "cpus:64;mem:488000", false);
                for i in 0..554 {
                    let role = if i < 4 {
                        format!("marathon{i}")
                    } else if i < 504 {
                        "jenkins".into()
                    } else {
                        "spark".into()
                    };
                    let id = framework_id(i);
                    a.add_framework(
                        &id,
                        &framework_info(&id, &[&role]),
                        &Default::default(),
                        true,
                        &BTreeSet::new(),
                    )
                    .expect("fresh framework");
                }
                a
            },
            |mut a| {
                let mut now = Duration::from_secs(1);
                for _ in 0..5 {
                    let o = offers(&a.allocate(now));
                    decline_all(&mut a, &o, now);
                    now += Duration::from_secs(1);
                }
                a
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// Upstream `LargeAndSmallQuota`: the first cycle with many quota roles.
fn large_and_small_quota_bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("LargeAndSmallQuota");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    for (small, large) in [(25, 5), (250, 50), (2500, 500)] {
        g.bench_function(
            BenchmarkId::from_parameter(format!("{small}+{large}")),
            |b| time_cycle(b, 1, || large_and_small_quota(small, large)),
        );
    }
    g.finish();
}

/// Upstream `BENCHMARK_FullSort`: clients with allocations on many agents, sorted.
fn full_sort(c: &mut Criterion) {
    let mut g = c.benchmark_group("FullSort");
    for kind in [SorterKind::Drf, SorterKind::Random] {
        for clients in [100usize, 1_000] {
            let mut s = Sorter::new(kind, 1);
            s.add_total(&ResourceQuantities::parse("cpus:100000;mem:100000000").expect("valid"));
            for i in 0..clients {
                let id = format!("c{i}");
                s.add(&id);
                s.activate(&id);
                s.allocated(
                    &id,
                    &ResourceQuantities::parse(&format!("cpus:{};mem:{}", i % 17 + 1, i % 31 + 1))
                        .expect("valid"),
                );
            }
            g.bench_function(BenchmarkId::new(format!("{kind:?}"), clients), |b| {
                b.iter(|| s.sort())
            });
        }
    }
    g.finish();
}

/// Upstream `BENCHMARK_HierarchyFullSort`: a role tree (short and wide,
/// medium, tall and thin: about 1,000 clients each) with allocations, sorted.
fn hierarchy_full_sort(c: &mut Criterion) {
    fn build(path: &str, depth: usize, branching: usize, out: &mut Vec<String>) {
        if depth == 0 {
            return;
        }
        for i in 0..branching {
            build(&format!("{path}{i}/"), depth - 1, branching, out);
        }
        let client = path.trim_end_matches('/');
        if !client.is_empty() {
            out.push(client.to_string());
        }
    }
    let mut g = c.benchmark_group("HierarchyFullSort");
    for (height, branching) in [(3usize, 32usize), (7, 3), (10, 2)] {
        let mut clients = Vec::new();
        build("", height, branching, &mut clients);
        let mut s = Sorter::new(SorterKind::Drf, 1);
        s.add_total(&ResourceQuantities::parse("cpus:240000;mem:40960000").expect("valid"));
        for (i, id) in clients.iter().enumerate() {
            s.add(id);
            s.activate(id);
            s.allocated(
                id,
                &ResourceQuantities::parse(&format!("cpus:{};mem:{}", i % 17 + 1, i % 31 + 1))
                    .expect("valid"),
            );
        }
        g.bench_function(
            BenchmarkId::from_parameter(format!("height{height}_branching{branching}")),
            |b| b.iter(|| s.sort()),
        );
    }
    g.finish();
}

/// This thread's CPU time as a criterion measurement: the benches share a
/// 2-core machine with other builds, where wall-clock samples mostly measure
/// time spent descheduled. `iter_batched` runs setup and routine on the
/// bench thread, so only the routine's own CPU time is counted.
struct ThreadCpuTime;

fn thread_cpu_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;
    fn start(&self) -> Duration {
        thread_cpu_now()
    }
    fn end(&self, i: Duration) -> Duration {
        thread_cpu_now().saturating_sub(i)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

/// Prints nanoseconds of CPU time in ms ("cpu-ms").
struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, _typical: f64, values: &mut [f64]) -> &'static str {
        for v in values.iter_mut() {
            *v /= 1e6;
        }
        "cpu-ms"
    }
    fn scale_throughputs(
        &self,
        _typical: f64,
        _throughput: &criterion::Throughput,
        values: &mut [f64],
    ) -> &'static str {
        for v in values.iter_mut() {
            *v /= 1e6;
        }
        "cpu-ms"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

/// The cold cycle of [`cycle`], timed in thread CPU time.
fn cycle_cpu(c: &mut Criterion<ThreadCpuTime>) {
    let mut g = c.benchmark_group("CycleCpu");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    for (agents, frameworks) in GRID {
        g.bench_function(
            BenchmarkId::new("cold", format!("{agents}x{frameworks}")),
            |b| time_cycle(b, 1, || cluster(agents, frameworks, AGENT, false)),
        );
    }
    g.finish();
}

criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = cycle_cpu
}

criterion_group!(
    benches,
    cycle,
    decline_offers,
    suppress_offers,
    extreme_suppress_offers,
    resource_labels,
    add_and_update_slave,
    multi_framework_allocations,
    large_and_small_quota_bench,
    full_sort,
    hierarchy_full_sort
);
criterion_main!(benches, cpu);
