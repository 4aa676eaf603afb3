//! What a registrar pays per registry update and per recovery: `RegistryStore::save`
//! (append a SNAPSHOT + learn it + truncate + learn it: four synced LevelDB puts) and
//! opening + `load` (restore the replica, elect, replay), for registries of 100 and 1000
//! agents, on the real filesystem under the temp dir.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use mesos_log::RegistryStore;
use mesos_proto::mesos::internal::{registry, Registry};
use mesos_proto::mesos::{SlaveId, SlaveInfo};

fn registry_of(agents: usize) -> Registry {
    Registry {
        slaves: Some(registry::Slaves {
            slaves: (0..agents)
                .map(|i| registry::Slave {
                    info: SlaveInfo {
                        hostname: format!("agent-{i}.example.com"),
                        port: Some(5051),
                        id: Some(SlaveId {
                            value: format!("a9f4c1de-7b3e-4c55-9d7a-1f2e3d4c5b6a-S{i}"),
                        }),
                        ..Default::default()
                    },
                    ..Default::default()
                })
                .collect(),
        }),
        ..Default::default()
    }
}

fn bench(c: &mut Criterion) {
    let root = std::env::temp_dir().join(format!("mesos-log-bench-{}", std::process::id()));
    let mut group = c.benchmark_group("registry_store");
    group.sample_size(20);
    for agents in [100, 1000] {
        let registry = registry_of(agents);
        let dir = root.join(format!("save-{agents}"));
        let mut store = RegistryStore::open(&dir, true).expect("open");
        store.load().expect("load");
        group.bench_with_input(BenchmarkId::new("save", agents), &registry, |b, r| {
            b.iter(|| store.save(r).expect("save"))
        });
        drop(store);
        // Recovery cost of a log holding one saved registry (not the bench's history).
        let dir = root.join(format!("load-{agents}"));
        RegistryStore::open(&dir, true)
            .and_then(|mut s| s.save(&registry))
            .expect("save once");
        group.bench_with_input(BenchmarkId::new("open_and_load", agents), &dir, |b, d| {
            b.iter(|| {
                let mut store = RegistryStore::open(d, false).expect("open");
                store.load().expect("load").expect("registry")
            })
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&root);
}

criterion_group!(benches, bench);
criterion_main!(benches);
