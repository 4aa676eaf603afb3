//! A small mesos-bench run against our master (in-process on the tokio
//! runtime, real sockets on loopback): 50 synthetic agents over several
//! ports, 2 driver frameworks whose tasks reach TASK_RUNNING, and operator
//! polls. Figures are not asserted (benchmarks are not tests).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use libprocess::runtime::tokio::Runtime;
use libprocess::transport::TransportConfig;
use mesos_master::{Master, MasterFlags};
use mesos_test_harness::bench::{run, scenario};

#[test]
fn mesos_bench_smoke_against_our_master() {
    let tc = TransportConfig {
        ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port: 0,
        worker_threads: Some(2),
        ..TransportConfig::default()
    };
    let rt = Runtime::start(tc).expect("runtime");
    rt.set_delegate(Some("master"));
    let flags = MasterFlags::load(
        vec!["--registry=in_memory".to_string()],
        Vec::<(String, String)>::new(),
    )
    .expect("flags");
    rt.spawn(
        "master",
        Master::new(flags, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "127.0.0.1"),
    );
    let mut cfg = scenario("smoke").expect("smoke scenario");
    cfg.timeout = Duration::from_secs(60);
    let r = run(&cfg, rt.addr(), None).expect("bench run");
    assert_eq!(r.agents_registered, 50);
    assert!(r.registration.is_some());
    assert_eq!(r.tasks_running, 10, "every task reached TASK_RUNNING");
    assert!(r.offers >= 1);
    assert!(r.launch_latency.p50 > 0.0);
    assert!(r.get_state.p50 > 0.0, "GET_STATE answered");
    assert!(r.get_state_bytes > 1000);
    // And the master agrees.
    let agents = rt
        .call::<Master, usize>(&rt.pid("master"), |m, _| m.state().agents.len())
        .unwrap();
    assert_eq!(agents, 50);
    rt.shutdown();
}

/// The decline-offers scenario against our master: frameworks decline with
/// no filter, so each periodic run (1 s) re-offers every agent, and the
/// bench samples `allocator/mesos/allocation_run_ms` from /metrics/snapshot.
#[test]
fn decline_bench_samples_allocation_runs_of_our_master() {
    use mesos_test_harness::bench::allocation::{run_decline, DeclineConfig, RUNS, RUN_MS};
    use mesos_test_harness::bench::BenchConfig;

    let tc = TransportConfig {
        ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port: 0,
        worker_threads: Some(2),
        ..TransportConfig::default()
    };
    let rt = Runtime::start(tc).expect("runtime");
    rt.set_delegate(Some("master"));
    let flags = MasterFlags::load(
        vec!["--registry=in_memory".to_string()],
        Vec::<(String, String)>::new(),
    )
    .expect("flags");
    rt.spawn(
        "master",
        Master::new(flags, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "127.0.0.1"),
    );
    let cfg = BenchConfig {
        agents: 20,
        frameworks: 2,
        tasks_per_framework: 0,
        agent_ports: 2,
        polls: 0,
        timeout: Duration::from_secs(60),
        ..BenchConfig::default()
    };
    let d = DeclineConfig {
        warmup: Duration::from_millis(1500),
        measure: Duration::from_secs(5),
        ..DeclineConfig::default()
    };
    let r = run_decline(&cfg, &d, rt.addr(), None).expect("bench run");
    assert_eq!(r.agents_registered, 20);
    assert_eq!(r.frameworks_subscribed, 2);
    assert!(r.runs_in_window >= 2, "periodic runs: {}", r.runs_in_window);
    assert!(!r.runs_ms.is_empty(), "some run sampled");
    assert!(r.runs_ms.len() as u64 <= r.runs_in_window);
    assert!(r.runs_ms.iter().all(|ms| *ms >= 0.0));
    // Declined without a filter: every run re-offers every agent (one run's
    // offers may straddle the window's edges).
    assert!(
        r.offers_in_window >= 20 * (r.runs_in_window - 1),
        "{} offers in {} runs",
        r.offers_in_window,
        r.runs_in_window
    );
    assert!(r.master_stats.contains_key(RUNS));
    assert!(r.master_stats.contains_key(&format!("{RUN_MS}/count")));
    rt.shutdown();
}
