//! Container launch latency through the Linux launcher and
//! `mesos-containerizer launch`: launch + wait of `/bin/true` with no
//! isolation, with pid/ipc/mount namespaces + nnp, and with cgroups cpu/mem.
//!
//! Needs root and the helper binary (`cargo build -p mesos-cli --bin
//! mesos-containerizer`, or `MESOS_CONTAINERIZER=<path>`); skips otherwise.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{criterion_group, criterion_main, Criterion};
use mesos_isolators::containerizer::{LaunchRequest, LinuxContainerizer};
use mesos_isolators::IsolatorFlags;

fn helper() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("MESOS_CONTAINERIZER") {
        return Some(PathBuf::from(p));
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug/mesos-containerizer");
    p.exists().then_some(p)
}

fn bench(c: &mut Criterion) {
    let Some(helper) = helper() else {
        eprintln!("SKIP: mesos-containerizer not built");
        return;
    };
    if !mesos_isolators::running_as_root() {
        eprintln!("SKIP: needs root");
        return;
    }
    let dir = std::env::temp_dir().join(format!("mesos-launch-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let n = AtomicU64::new(0);
    let mut group = c.benchmark_group("launch_wait_true");
    group.sample_size(20);
    for (label, isolation) in [
        ("posix", "posix/cpu,posix/mem"),
        (
            "namespaces",
            "filesystem/linux,namespaces/pid,namespaces/ipc,linux/nnp",
        ),
        ("cgroups", "cgroups/cpu,cgroups/mem"),
    ] {
        let flags = IsolatorFlags {
            isolation: isolation.into(),
            runtime_dir: dir.join("runtime"),
            work_dir: dir.join("work"),
            cgroups_root: format!("mesos-bench-{}", std::process::id()),
            ..Default::default()
        };
        let cz = LinuxContainerizer::new(flags, helper.clone()).unwrap();
        group.bench_function(label, |b| {
            b.iter(|| {
                let id = format!("b{}", n.fetch_add(1, Ordering::Relaxed));
                let sandbox = dir.join("sandboxes").join(&id);
                std::fs::create_dir_all(&sandbox).unwrap();
                let req = LaunchRequest::from_parts(
                    &id,
                    "/bin/true",
                    &["true".into()],
                    false,
                    Default::default(),
                    &sandbox,
                    None,
                    vec![
                        mesos_isolators::util::scalar_resource("cpus", 0.1),
                        mesos_isolators::util::scalar_resource("mem", 32.0),
                    ],
                    None,
                );
                cz.launch(&req).unwrap();
                let t = cz.wait(&req.container_id).unwrap();
                assert_eq!(t.status, Some(0));
                let _ = std::fs::remove_dir_all(&sandbox);
            })
        });
    }
    group.finish();
    for h in ["cpu", "cpuacct", "memory"] {
        let _ = std::fs::remove_dir(format!(
            "/sys/fs/cgroup/{h}/mesos-bench-{}",
            std::process::id()
        ));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
