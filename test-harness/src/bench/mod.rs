//! `mesos-bench`: drives a master over the real libprocess wire with
//! synthetic agents ([`ModelAgent`], many per tokio-runtime port, each its
//! own `slave(N)`), driver-protocol frameworks ([`DriverScheduler`]) and
//! operator pollers, and reports what upstream's master benchmarks report
//! (src/tests/master_benchmarks.cpp: registration, reregistration after
//! failover, GET_STATE latency, task launch).
//!
//! Several libprocess runtimes (ports) share one tokio runtime: the master
//! tracks agents by pid (id + address), and a broken socket makes upstream's
//! master mark every pid at that address `exited`, so agents are spread
//! over a few ports to keep a single connection from carrying them all.

pub mod allocation;
pub mod http_client;
pub mod master_proc;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use libprocess::runtime::tokio::Runtime;
use libprocess::transport::TransportConfig;
use libprocess::Upid;

use crate::model::agent::{AgentProbe, AgentSpec, ModelAgent, TaskBehavior};
use crate::model::scheduler::{DriverScheduler, SchedulerSpec};
use crate::{Error, Result};
use master_proc::MasterProc;

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    pub agents: usize,
    pub frameworks: usize,
    pub tasks_per_framework: usize,
    /// Libprocess runtimes (ports) the agents are spread over.
    pub agent_ports: usize,
    /// GET_STATE (and /master/state) calls, per poller.
    pub polls: usize,
    pub pollers: usize,
    /// Restart the master and time the agents' reregistration.
    pub failover: bool,
    /// Give up on a phase after this long.
    pub timeout: Duration,
    pub worker_threads: usize,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            agents: 50,
            frameworks: 2,
            tasks_per_framework: 10,
            agent_ports: 4,
            polls: 5,
            pollers: 1,
            failover: false,
            timeout: Duration::from_secs(300),
            worker_threads: 2,
        }
    }
}

/// Percentiles of a sample, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    pub fn of(mut ms: Vec<f64>) -> Percentiles {
        if ms.is_empty() {
            return Percentiles::default();
        }
        ms.sort_by(|a, b| a.total_cmp(b));
        let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
        Percentiles {
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max: ms[ms.len() - 1],
        }
    }
}

/// The figures of one run.
#[derive(Clone, Debug, Default)]
pub struct BenchResult {
    pub agents_registered: usize,
    pub registration: Option<Duration>,
    pub rss_after_registration_kb: Option<u64>,
    pub rss_after_tasks_kb: Option<u64>,
    pub tasks_running: usize,
    pub launch_elapsed: Option<Duration>,
    pub offers: u64,
    pub launch_latency: Percentiles,
    pub get_state: Percentiles,
    pub v0_state: Percentiles,
    pub get_state_bytes: usize,
    pub failover: Option<Duration>,
}

impl BenchResult {
    pub fn tasks_per_sec(&self) -> Option<f64> {
        self.launch_elapsed
            .map(|d| self.tasks_running as f64 / d.as_secs_f64().max(1e-9))
    }

    pub fn offers_per_sec(&self) -> Option<f64> {
        self.launch_elapsed
            .map(|d| self.offers as f64 / d.as_secs_f64().max(1e-9))
    }

    pub fn agents_per_sec(&self) -> Option<f64> {
        self.registration
            .map(|d| self.agents_registered as f64 / d.as_secs_f64().max(1e-9))
    }
}

pub(crate) fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    f()
}

/// The bench's side of the wire: model agents on `cfg.agent_ports`
/// loopback runtimes and schedulers on one more, all on one tokio runtime.
pub(crate) struct Peers {
    pub(crate) agent_rts: Vec<Runtime>,
    pub(crate) sched_rt: Runtime,
    pub(crate) master_pid: Upid,
    pub(crate) probe: Arc<AgentProbe>,
    pub(crate) tokio_rt: tokio::runtime::Runtime,
}

impl Peers {
    pub(crate) fn start(cfg: &BenchConfig, master: SocketAddr) -> Result<Peers> {
        let tokio_rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cfg.worker_threads.max(1))
            .enable_all()
            .build()?;
        let tc = TransportConfig {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            ..TransportConfig::default()
        };
        let mut agent_rts = Vec::new();
        for _ in 0..cfg.agent_ports.max(1) {
            agent_rts.push(Runtime::start_on(tokio_rt.handle().clone(), tc.clone())?);
        }
        let sched_rt = Runtime::start_on(tokio_rt.handle().clone(), tc)?;
        Ok(Peers {
            agent_rts,
            sched_rt,
            master_pid: Upid::new("master", master),
            probe: Arc::new(AgentProbe::default()),
            tokio_rt,
        })
    }

    /// Spawns `cfg.agents` model agents: how many registered, and the time
    /// until all did (`None` if not all within `cfg.timeout`).
    pub(crate) fn register_agents(&self, cfg: &BenchConfig) -> (usize, Option<Duration>) {
        let start = Instant::now();
        for i in 0..cfg.agents {
            let spec = AgentSpec {
                hostname: format!("bench-agent-{i}"),
                ..AgentSpec::default()
            };
            let a =
                ModelAgent::new(self.master_pid.clone(), spec, None).with_probe(self.probe.clone());
            self.agent_rts[i % self.agent_rts.len()].spawn(&format!("slave({})", i + 1), a);
        }
        let registered = || self.probe.registered.load(Ordering::Relaxed) as usize;
        let all = wait_until(cfg.timeout, || registered() >= cfg.agents);
        (registered(), all.then(|| start.elapsed()))
    }

    pub(crate) fn shutdown(self) {
        for rt in self.agent_rts {
            rt.shutdown();
        }
        self.sched_rt.shutdown();
        self.tokio_rt.shutdown_timeout(Duration::from_secs(2));
    }
}

/// Runs the load against the master at `master`; with `proc_`, also reads
/// its RSS and (if asked) restarts it to time the failover.
pub fn run(
    cfg: &BenchConfig,
    master: SocketAddr,
    proc_: Option<&mut MasterProc>,
) -> Result<BenchResult> {
    let peers = Peers::start(cfg, master)?;
    let mut res = BenchResult::default();

    // Phase 1: register every agent.
    (res.agents_registered, res.registration) = peers.register_agents(cfg);
    if let Some(p) = proc_.as_deref() {
        res.rss_after_registration_kb = p.rss_kb();
    }

    // Phase 2: frameworks launch their tasks.
    let mut scheds = Vec::new();
    for f in 0..cfg.frameworks {
        let spec = SchedulerSpec {
            name: format!("bench-fw-{f}"),
            tasks: cfg.tasks_per_framework,
            task_cpus: 0.01,
            task_mem: 1.0,
            behaviors: vec![TaskBehavior::Hang],
            // Spread tasks over agents, as upstream's benchmarks do.
            max_per_offer: 10,
            ..SchedulerSpec::default()
        };
        scheds.push(peers.sched_rt.spawn(
            &format!("scheduler({})", f + 1),
            DriverScheduler::new(peers.master_pid.clone(), spec, None),
        ));
    }
    let want = cfg.frameworks * cfg.tasks_per_framework;
    let running = |scheds: &[Upid]| -> usize {
        scheds
            .iter()
            .map(|p| {
                peers
                    .sched_rt
                    .call::<DriverScheduler, usize>(p, |s, _| s.running_at.len())
                    .unwrap_or(0)
            })
            .sum()
    };
    if want > 0 {
        let end = Instant::now() + cfg.timeout;
        while Instant::now() < end && running(&scheds) < want {
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut lat = Vec::new();
        let (mut first, mut last) = (None, None);
        for p in &scheds {
            let (acc, run, offers) = peers
                .sched_rt
                .call::<DriverScheduler, _>(p, |s, _| {
                    (
                        s.accepted_at.clone(),
                        s.running_at.clone(),
                        s.counters.offers,
                    )
                })
                .unwrap_or_default();
            res.offers += offers;
            for (t, a) in &acc {
                first = Some(first.map_or(*a, |f: libprocess::Time| f.min(*a)));
                if let Some(r) = run.get(t) {
                    last = Some(last.map_or(*r, |l: libprocess::Time| l.max(*r)));
                    lat.push(r.saturating_since(*a).as_secs_f64() * 1000.0);
                }
            }
        }
        res.tasks_running = lat.len();
        res.launch_latency = Percentiles::of(lat);
        if let (Some(f), Some(l)) = (first, last) {
            res.launch_elapsed = Some(l.saturating_since(f));
        }
    }
    if let Some(p) = proc_.as_deref() {
        res.rss_after_tasks_kb = p.rss_kb();
    }

    // Phase 3: operator pollers.
    if cfg.polls > 0 {
        let (v1, v0, bytes) = peers
            .tokio_rt
            .block_on(poll(master, cfg.pollers.max(1), cfg.polls));
        res.get_state = Percentiles::of(v1);
        res.v0_state = Percentiles::of(v0);
        res.get_state_bytes = bytes;
    }

    // Phase 4: master failover.
    if cfg.failover {
        if let Some(p) = proc_ {
            let before = peers.probe.reregistered.load(Ordering::Relaxed) as usize;
            p.kill();
            let t0 = Instant::now();
            p.start()?;
            let ok = wait_until(cfg.timeout, || {
                peers.probe.reregistered.load(Ordering::Relaxed) as usize >= before + cfg.agents
            });
            if ok {
                res.failover = Some(t0.elapsed());
            }
        }
    }

    drop(scheds);
    peers.shutdown();
    Ok(res)
}

async fn poll(master: SocketAddr, pollers: usize, polls: usize) -> (Vec<f64>, Vec<f64>, usize) {
    let mut tasks = Vec::new();
    for _ in 0..pollers {
        tasks.push(tokio::spawn(async move {
            let (mut v1, mut v0, mut bytes) = (Vec::new(), Vec::new(), 0);
            for _ in 0..polls {
                let t = Instant::now();
                if let Ok((200, body)) = http_client::request(
                    master,
                    "POST",
                    "/api/v1",
                    Some(("application/json", br#"{"type":"GET_STATE"}"#.to_vec())),
                )
                .await
                {
                    v1.push(t.elapsed().as_secs_f64() * 1000.0);
                    bytes = body.len();
                }
                let t = Instant::now();
                if let Ok((200, _)) =
                    http_client::request(master, "GET", "/master/state", None).await
                {
                    v0.push(t.elapsed().as_secs_f64() * 1000.0);
                }
            }
            (v1, v0, bytes)
        }));
    }
    let (mut v1, mut v0, mut bytes) = (Vec::new(), Vec::new(), 0);
    for t in tasks {
        if let Ok((a, b, n)) = t.await {
            v1.extend(a);
            v0.extend(b);
            bytes = bytes.max(n);
        }
    }
    (v1, v0, bytes)
}

/// A named scenario mirroring an upstream benchmark.
pub fn scenario(name: &str) -> Option<BenchConfig> {
    let c = |agents, frameworks, tasks, failover| BenchConfig {
        agents,
        frameworks,
        tasks_per_framework: tasks,
        failover,
        agent_ports: (agents / 2000).clamp(2, 16),
        ..BenchConfig::default()
    };
    Some(match name {
        "smoke" => c(50, 2, 5, false),
        // MasterFailover_BENCHMARK_Test.AgentReregistrationDelay.
        "reregistration-2k" => c(2_000, 5, 2_000, true),
        "reregistration-20k" => c(20_000, 1, 20_000, true),
        // MasterStateQuery_BENCHMARK_Test.GetState.
        "get-state-1k" => c(1_000, 1, 1_000, false),
        "get-state-10k" => c(10_000, 1, 10_000, false),
        "get-state-20k" => c(20_000, 1, 20_000, false),
        "get-state-40k" => c(40_000, 1, 40_000, false),
        // Task launch with 1k agents x 20 frameworks.
        "task-launch-1k" => c(1_000, 20, 200, false),
        "registration-50k" => c(50_000, 0, 0, false),
        _ => return None,
    })
}

/// The scenario names [`scenario`] knows.
pub const SCENARIOS: &[&str] = &[
    "smoke",
    "reregistration-2k",
    "reregistration-20k",
    "get-state-1k",
    "get-state-10k",
    "get-state-20k",
    "get-state-40k",
    "task-launch-1k",
    "registration-50k",
];

/// Errors from the bench's HTTP client.
pub(crate) fn http_err(e: impl std::fmt::Display) -> Error {
    Error::Http(e.to_string())
}
