//! The allocation-cycle scenario of `mesos-bench`: N synthetic agents and M
//! driver frameworks that decline every offer with a short filter, so that
//! every periodic allocation run re-offers (nearly) everything; after a
//! warm-up, the master's own allocation timer is read.
//!
//! Upstream's allocator benchmark this follows is
//! `HierarchicalAllocator_BENCHMARK_Test.DeclineOffers`
//! (src/tests/hierarchical_allocator_tests.cpp), which drives the allocator
//! alone; here the whole master runs, over the wire, so the real 1.9.0
//! master and ours can be measured under the same load. Unlike that test,
//! the frameworks decline with a short `refuse_seconds` (default 0: no
//! filter, see `recoverResources` in
//! src/master/allocator/mesos/hierarchical.cpp), so each run re-offers what
//! was declined since the last one instead of filtering it forever.
//!
//! What is read: `allocator/mesos/allocation_run_ms` (the duration of the
//! last run, upstream's `allocation_run` timer in
//! src/master/allocator/mesos/metrics.cpp) and `allocator/mesos/allocation_runs`,
//! polled every [`DeclineConfig::poll`]; once the run counter has moved and
//! the last run's duration has changed, that duration is one sample (runs
//! that end less than a poll apart are sampled once). The master's own statistics
//! (`/p50`, `/p90`, `/p99`, `/max`, `/count`) cover every run of the last
//! hour, including the many small runs during registration, so they are
//! reported beside, not instead of, the sampled series.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libprocess::Upid;

use super::master_proc::MasterProc;
use super::{http_client, wait_until, BenchConfig, Peers, Percentiles};
use crate::model::scheduler::{DriverScheduler, SchedulerSpec};
use crate::{Error, Result};

/// The metric names read from `/metrics/snapshot` (same on both masters).
pub const RUN_MS: &str = "allocator/mesos/allocation_run_ms";
pub const RUNS: &str = "allocator/mesos/allocation_runs";

/// Knobs of the decline scenario beyond agent and framework counts.
#[derive(Clone, Debug)]
pub struct DeclineConfig {
    /// `Filters.refuse_seconds` of every DECLINE (0: no filter).
    pub refuse_seconds: f64,
    /// Time after the last framework subscribed before sampling starts.
    pub warmup: Duration,
    /// How long runs are sampled.
    pub measure: Duration,
    /// `/metrics/snapshot` polling period (well below the allocation interval).
    pub poll: Duration,
}

impl Default for DeclineConfig {
    fn default() -> Self {
        DeclineConfig {
            refuse_seconds: 0.0,
            warmup: Duration::from_secs(10),
            measure: Duration::from_secs(30),
            poll: Duration::from_millis(100),
        }
    }
}

/// The figures of one decline run.
#[derive(Clone, Debug, Default)]
pub struct DeclineResult {
    pub agents_registered: usize,
    pub frameworks_subscribed: usize,
    pub registration: Option<Duration>,
    /// Durations (ms) of the runs seen during the measurement window.
    pub runs_ms: Vec<f64>,
    /// Runs the master counted during the window (some may not be sampled
    /// if two fell between polls).
    pub runs_in_window: u64,
    /// Offers the frameworks received during the window.
    pub offers_in_window: u64,
    /// The window's length.
    pub window: Duration,
    /// Master process CPU time (user + system) during the window.
    pub master_cpu: Option<Duration>,
    /// Every `allocator/mesos/allocation_run_ms*` key and
    /// `allocator/mesos/allocation_runs` at the end of the window.
    pub master_stats: BTreeMap<String, f64>,
}

impl DeclineResult {
    pub fn sampled(&self) -> Percentiles {
        Percentiles::of(self.runs_ms.clone())
    }

    pub fn mean_ms(&self) -> Option<f64> {
        if self.runs_ms.is_empty() {
            None
        } else {
            Some(self.runs_ms.iter().sum::<f64>() / self.runs_ms.len() as f64)
        }
    }

    /// Offers per allocation run: close to the agent count when every run
    /// re-offers everything.
    pub fn offers_per_run(&self) -> Option<f64> {
        (self.runs_in_window > 0).then(|| self.offers_in_window as f64 / self.runs_in_window as f64)
    }

    /// Master CPU per run (ms): the whole master, i.e. the allocation run
    /// plus offer creation, sending, and handling the declines.
    pub fn master_cpu_per_run_ms(&self) -> Option<f64> {
        let cpu = self.master_cpu?;
        (self.runs_in_window > 0).then(|| cpu.as_secs_f64() * 1000.0 / self.runs_in_window as f64)
    }
}

/// Reads the allocator timer keys from `/metrics/snapshot`.
pub async fn read_run_metrics(master: SocketAddr) -> Result<BTreeMap<String, f64>> {
    let (status, body) = http_client::request(master, "GET", "/metrics/snapshot", None).await?;
    if status != 200 {
        return Err(Error::Http(format!("/metrics/snapshot answered {status}")));
    }
    let v: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| Error::BadResponse(format!("/metrics/snapshot: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| Error::BadResponse("/metrics/snapshot is not an object".into()))?;
    Ok(obj
        .iter()
        .filter(|(k, _)| k.starts_with(RUN_MS) || k.as_str() == RUNS)
        .filter_map(|(k, v)| v.as_f64().map(|f| (k.clone(), f)))
        .collect())
}

/// Registers `cfg.agents` agents and `cfg.frameworks` declining frameworks
/// with the master at `master`, waits `d.warmup`, then samples allocation
/// runs for `d.measure`. With `proc_`, also reads the master's CPU time.
pub fn run_decline(
    cfg: &BenchConfig,
    d: &DeclineConfig,
    master: SocketAddr,
    proc_: Option<&MasterProc>,
) -> Result<DeclineResult> {
    let peers = Peers::start(cfg, master)?;
    let mut res = DeclineResult::default();
    (res.agents_registered, res.registration) = peers.register_agents(cfg);

    let mut scheds = Vec::new();
    for f in 0..cfg.frameworks {
        let spec = SchedulerSpec {
            name: format!("bench-decliner-{f}"),
            tasks: 0,
            decline_refuse_seconds: Some(d.refuse_seconds),
            ..SchedulerSpec::default()
        };
        scheds.push(peers.sched_rt.spawn(
            &format!("scheduler({})", f + 1),
            DriverScheduler::new(peers.master_pid.clone(), spec, None),
        ));
    }
    let subscribed = |scheds: &[Upid]| -> usize {
        scheds
            .iter()
            .filter(|p| {
                peers
                    .sched_rt
                    .call::<DriverScheduler, bool>(p, |s, _| s.connected)
                    .unwrap_or(false)
            })
            .count()
    };
    let offers = |scheds: &[Upid]| -> u64 {
        scheds
            .iter()
            .map(|p| {
                peers
                    .sched_rt
                    .call::<DriverScheduler, u64>(p, |s, _| s.counters.offers)
                    .unwrap_or(0)
            })
            .sum()
    };
    wait_until(cfg.timeout, || subscribed(&scheds) >= cfg.frameworks);
    res.frameworks_subscribed = subscribed(&scheds);

    std::thread::sleep(d.warmup);

    let first = peers.tokio_rt.block_on(read_run_metrics(master))?;
    let runs0 = first.get(RUNS).copied().unwrap_or(0.0);
    let offers0 = offers(&scheds);
    let cpu0 = proc_.and_then(|p| p.cpu_time());
    let t0 = Instant::now();
    let mut last_runs = runs0;
    let mut last_ms = first.get(RUN_MS).copied();
    let mut last = first;
    while t0.elapsed() < d.measure {
        std::thread::sleep(d.poll);
        let m = match peers.tokio_rt.block_on(read_run_metrics(master)) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("Reading /metrics/snapshot failed: {e}");
                continue;
            }
        };
        // A run is sampled once the counter has moved *and* the duration
        // has changed: upstream bumps the counter when a run starts and
        // serves /metrics/snapshot from another process, so a poll can land
        // mid-run and still see the previous run's duration.
        let runs = m.get(RUNS).copied().unwrap_or(last_runs);
        let v = m.get(RUN_MS).copied();
        if runs > last_runs && v.is_some() && v != last_ms {
            res.runs_ms.extend(v);
            last_runs = runs;
            last_ms = v;
        }
        res.runs_in_window = (runs - runs0).max(0.0) as u64;
        last = m;
    }
    res.window = t0.elapsed();
    res.master_cpu = match (cpu0, proc_.and_then(|p| p.cpu_time())) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    res.offers_in_window = offers(&scheds).saturating_sub(offers0);
    res.master_stats = last;

    drop(scheds);
    peers.shutdown();
    Ok(res)
}

/// A named decline scenario: (agents, frameworks).
pub fn decline_scenario(name: &str) -> Option<BenchConfig> {
    let (agents, frameworks) = match name {
        "decline-offers-1k" => (1_000, 50),
        "decline-offers-5k" => (5_000, 200),
        "decline-offers-10k" => (10_000, 1_000),
        _ => return None,
    };
    Some(BenchConfig {
        agents,
        frameworks,
        tasks_per_framework: 0,
        agent_ports: (agents / 2000).clamp(2, 16),
        polls: 0,
        ..BenchConfig::default()
    })
}

/// The decline scenario names.
pub const DECLINE_SCENARIOS: &[&str] = &[
    "decline-offers-1k",
    "decline-offers-5k",
    "decline-offers-10k",
];
