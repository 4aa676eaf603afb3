//! Allocator metrics (mirrors `src/master/allocator/mesos/metrics.{hpp,cpp}`,
//! the DRF sorter's `sorter/drf/metrics.cpp` and the gauges behind them in
//! `hierarchical.cpp`: `_resources_total`, `_resources_offered_or_allocated`,
//! `_quota_allocated`, `_offer_filters_active`).
//!
//! The allocator is a pure state machine, so it does not time itself: the
//! caller measures a cycle and hands the duration to
//! [`HierarchicalAllocator::record_allocation_run`]. Gauges are computed from
//! the state when [`HierarchicalAllocator::metrics_snapshot`] is called, the
//! way upstream's pull gauges are evaluated at snapshot time.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use super::types::Time;
use super::HierarchicalAllocator;
use crate::resources::{resource as r, roles, values};

/// Upstream keeps timer samples for one hour (`Hours(1)` in `Metrics::Metrics`).
const TIMER_WINDOW: Duration = Duration::from_secs(3600);
/// Upstream's `TimeSeries` default capacity.
const TIMER_CAPACITY: usize = 1000;

/// A libprocess `Timer<Milliseconds>`: the last value plus a windowed series
/// that yields `Statistics` (`/count`, `/min`, `/max`, `/p50`, ...).
#[derive(Clone, Debug, Default)]
pub(crate) struct Timer {
    last: Option<f64>,
    samples: VecDeque<(Time, f64)>,
}

impl Timer {
    fn push(&mut self, value: Duration, now: Time) {
        let ms = value.as_secs_f64() * 1e3;
        self.last = Some(ms);
        self.samples.push_back((now, ms));
        self.truncate(now);
    }

    fn truncate(&mut self, now: Time) {
        // Upstream sparsifies a full series (keeps every other sample);
        // dropping the oldest keeps the recent picture, which is what the
        // percentiles are read for.
        while self.samples.len() > TIMER_CAPACITY {
            self.samples.pop_front();
        }
        while self
            .samples
            .front()
            .is_some_and(|(t, _)| now.saturating_sub(*t) > TIMER_WINDOW)
        {
            self.samples.pop_front();
        }
    }

    /// Adds `name` (the last value, absent before the first sample, as
    /// upstream's failed `value()` future) and, with at least two samples in
    /// the window, the statistics keys of `MetricsProcess::__snapshot`.
    /// The window ends at the latest sample (runs come every
    /// `--allocation_interval`), so no clock is read here.
    fn snapshot(&self, name: &str, out: &mut BTreeMap<String, f64>) {
        if let Some(v) = self.last {
            out.insert(name.to_string(), v);
        }
        let mut values: Vec<f64> = self.samples.iter().map(|(_, v)| *v).collect();
        if values.len() < 2 {
            return;
        }
        values.sort_by(f64::total_cmp);
        let mut put = |suffix: &str, v: f64| {
            out.insert(format!("{name}/{suffix}"), v);
        };
        put("count", values.len() as f64);
        put("min", values[0]);
        put("max", values[values.len() - 1]);
        for (suffix, p) in [
            ("p50", 0.5),
            ("p90", 0.9),
            ("p95", 0.95),
            ("p99", 0.99),
            ("p999", 0.999),
            ("p9999", 0.9999),
        ] {
            put(suffix, percentile(&values, p));
        }
    }
}

/// Linear interpolation between the closest ranks (upstream
/// `Statistics::percentile`); `values` is sorted and has at least 2 entries.
fn percentile(values: &[f64], p: f64) -> f64 {
    let position = p * (values.len() - 1) as f64;
    let index = position.floor() as usize;
    if index + 1 >= values.len() {
        return values[values.len() - 1];
    }
    let delta = position - index as f64;
    values[index] + delta * (values[index + 1] - values[index])
}

/// Counters and timers of one allocator (upstream `Metrics` members).
#[derive(Clone, Debug, Default)]
pub(crate) struct Metrics {
    /// `allocation_runs`: cycles performed (not counting paused ones).
    pub allocation_runs: u64,
    allocation_run: Timer,
    allocation_run_latency: Timer,
}

/// Upstream installs the resource gauges for these names only.
const RESOURCE_GAUGES: [&str; 3] = ["cpus", "mem", "disk"];

impl HierarchicalAllocator {
    /// Records how long one cycle took and how long it waited to start
    /// (upstream's `allocation_run` and `allocation_run_latency` timers).
    /// `now` is the time the cycle ran at (the allocator's clock, as passed
    /// to [`HierarchicalAllocator::allocate`]), which places the sample in
    /// the one-hour window. The caller measures: the allocator reads no clock.
    pub fn record_allocation_run(&mut self, run: Duration, latency: Duration, now: Time) {
        self.metrics.allocation_run.push(run, now);
        self.metrics.allocation_run_latency.push(latency, now);
    }

    /// Number of allocation cycles run so far (`allocator/mesos/allocation_runs`).
    pub fn allocation_runs(&self) -> u64 {
        self.metrics.allocation_runs
    }

    /// The allocator's keys of `/metrics/snapshot`, with upstream's names.
    pub fn metrics_snapshot(&self) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        let p = "allocator/mesos";
        out.insert(
            format!("{p}/allocation_runs"),
            self.metrics.allocation_runs as f64,
        );
        // Cycles run synchronously in the caller's handler: there is no
        // dispatch queue in front of them.
        out.insert(format!("{p}/event_queue_dispatches"), 0.0);
        out.insert("allocator/event_queue_dispatches".to_string(), 0.0);
        self.metrics
            .allocation_run
            .snapshot(&format!("{p}/allocation_run_ms"), &mut out);
        self.metrics
            .allocation_run_latency
            .snapshot(&format!("{p}/allocation_run_latency_ms"), &mut out);

        let total = self.role_sorter.total();
        let mut allocated = [0i64; RESOURCE_GAUGES.len()];
        for s in self.slaves.iter().flatten() {
            for x in s.allocated.iter_unallocated().filter(|x| r::is_scalar(x)) {
                if let Some(i) = RESOURCE_GAUGES.iter().position(|n| *n == x.name) {
                    allocated[i] += values::to_fixed(r::scalar(x));
                }
            }
        }
        for (i, name) in RESOURCE_GAUGES.iter().enumerate() {
            out.insert(
                format!("{p}/resources/{name}/total"),
                values::from_fixed(total.get_fixed(name)),
            );
            out.insert(
                format!("{p}/resources/{name}/offered_or_allocated"),
                values::from_fixed(allocated[i]),
            );
        }

        for role in self.role_sorter.clients() {
            if let Some(share) = self.role_sorter.share(role) {
                out.insert(format!("{p}/roles/{role}/shares/dominant"), share);
            }
        }

        for (role, quota) in &self.quotas {
            // As upstream: a role at the default quota has no quota gauges.
            if quota.guarantees.is_empty() && quota.limits.is_empty() {
                continue;
            }
            let q = format!("{p}/quota/roles/{role}/resources");
            let mut names: BTreeSet<&str> = BTreeSet::new();
            for (name, v) in quota.guarantees.iter() {
                out.insert(format!("{q}/{name}/guarantee"), values::from_fixed(v));
                names.insert(name);
            }
            for (name, v) in quota.limits.iter() {
                out.insert(format!("{q}/{name}/limit"), values::from_fixed(v));
                names.insert(name);
            }
            let used = self.role_sorter.allocation(role);
            for name in names {
                out.insert(
                    format!("{q}/{name}/offered_or_allocated"),
                    values::from_fixed(used.get_fixed(name)),
                );
            }
        }

        // Upstream registers the gauge for every role of its role tree:
        // roles with frameworks, reservations, a non-default quota or weight
        // (`Role::isEmpty` in hierarchical.hpp), and their ancestors.
        let mut tree: BTreeSet<&str> = BTreeSet::new();
        let quota_roles = self
            .quotas
            .iter()
            .filter(|(_, q)| !q.guarantees.is_empty() || !q.limits.is_empty())
            .map(|(r, _)| r);
        let weighted = self
            .weights
            .iter()
            .filter(|(_, w)| **w != 1.0)
            .map(|(r, _)| r);
        for role in self.roles.keys().chain(quota_roles).chain(weighted) {
            tree.insert(role);
            tree.extend(roles::ancestors(role));
        }
        let mut active: BTreeMap<&str, usize> = tree.iter().map(|r| (*r, 0)).collect();
        for f in self.frameworks.iter().flatten() {
            for (role, by_agent) in &f.offer_filters {
                if let Some(n) = active.get_mut(role.as_str()) {
                    *n += by_agent.values().map(Vec::len).sum::<usize>();
                }
            }
        }
        for (role, n) in active {
            out.insert(format!("{p}/offer_filters/roles/{role}/active"), n as f64);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_statistics_follow_upstream() {
        let mut t = Timer::default();
        let mut out = BTreeMap::new();
        t.snapshot("x_ms", &mut out);
        assert!(out.is_empty(), "no value before the first sample");
        t.push(Duration::from_millis(10), Duration::from_secs(1));
        t.snapshot("x_ms", &mut out);
        assert_eq!(out.len(), 1, "one sample: value only, no statistics");
        for ms in [20, 30, 40] {
            t.push(Duration::from_millis(ms), Duration::from_secs(2));
        }
        out.clear();
        t.snapshot("x_ms", &mut out);
        assert_eq!(out["x_ms"], 40.0);
        assert_eq!(out["x_ms/count"], 4.0);
        assert_eq!(out["x_ms/min"], 10.0);
        assert_eq!(out["x_ms/max"], 40.0);
        assert!((out["x_ms/p50"] - 25.0).abs() < 1e-9);
        assert!((out["x_ms/p90"] - 37.0).abs() < 1e-9);
        // Samples older than the one-hour window leave the statistics.
        out.clear();
        t.push(Duration::from_millis(50), Duration::from_secs(2 + 3600));
        t.snapshot("x_ms", &mut out);
        assert_eq!(out["x_ms/count"], 4.0);
        assert_eq!(out["x_ms/min"], 20.0);
    }
}
