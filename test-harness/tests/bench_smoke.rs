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
