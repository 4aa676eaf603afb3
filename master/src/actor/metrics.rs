//! Master counters for `/metrics/snapshot` (names from
//! `src/master/metrics.cpp`); gauges are computed from the state when the
//! snapshot is taken.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::state::{is_terminal, state_name, MasterState};

/// Counters the master bumps as messages arrive.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    pub messages_register_slave: u64,
    pub messages_authenticate: u64,
    pub messages_reregister_slave: u64,
    pub messages_unregister_slave: u64,
    pub messages_register_framework: u64,
    pub messages_reregister_framework: u64,
    pub messages_unregister_framework: u64,
    pub messages_deactivate_framework: u64,
    pub messages_launch_tasks: u64,
    pub messages_decline_offers: u64,
    pub messages_revive_offers: u64,
    pub messages_suppress_offers: u64,
    pub messages_kill_task: u64,
    pub messages_status_update: u64,
    pub messages_status_update_acknowledgement: u64,
    pub messages_reconcile_tasks: u64,
    pub messages_framework_to_executor: u64,
    pub messages_executor_to_framework: u64,
    pub valid_status_updates: u64,
    pub invalid_status_updates: u64,
    pub valid_status_update_acknowledgements: u64,
    pub invalid_status_update_acknowledgements: u64,
    pub valid_framework_to_executor_messages: u64,
    pub invalid_framework_to_executor_messages: u64,
    pub dropped_messages: u64,
    pub slave_registrations: u64,
    pub slave_reregistrations: u64,
    pub slave_removals: u64,
    pub slave_unreachable_scheduled: u64,
    pub slave_unreachable_completed: u64,
    pub slave_unreachable_canceled: u64,
    pub tasks_error: u64,
    pub tasks_dropped: u64,
    pub tasks_lost: u64,
    pub invalid_scheduler_calls: u64,
    /// Terminal task counts by state name, kept after tasks are forgotten.
    pub terminal_tasks: BTreeMap<&'static str, u64>,
}

impl Metrics {
    /// The `/metrics/snapshot` object for the master's keys.
    pub fn snapshot(&self, state: &MasterState, uptime: f64) -> Map<String, Value> {
        let mut m = Map::new();
        let mut put = |k: &str, v: f64| {
            m.insert(format!("master/{k}"), Value::from(v));
        };
        put("uptime_secs", uptime);
        put("elected", 1.0);
        let agents = state.agents.values();
        let connected = agents.clone().filter(|a| a.connected).count();
        let active = agents.clone().filter(|a| a.active).count();
        put("slaves_connected", connected as f64);
        put(
            "slaves_disconnected",
            (state.agents.len() - connected) as f64,
        );
        put("slaves_active", active as f64);
        put("slaves_inactive", (state.agents.len() - active) as f64);
        put("slaves_unreachable", state.unreachable.len() as f64);
        let fws = state.frameworks.values();
        put(
            "frameworks_connected",
            fws.clone().filter(|f| f.connected()).count() as f64,
        );
        put(
            "frameworks_disconnected",
            fws.clone().filter(|f| !f.connected()).count() as f64,
        );
        put(
            "frameworks_active",
            fws.clone().filter(|f| f.active()).count() as f64,
        );
        put(
            "frameworks_inactive",
            fws.clone().filter(|f| !f.active()).count() as f64,
        );
        put("outstanding_offers", state.offers.len() as f64);

        let mut live: BTreeMap<&'static str, u64> = BTreeMap::new();
        for f in state.frameworks.values() {
            for t in f.tasks.values().filter(|t| !is_terminal(t.state)) {
                *live.entry(state_name(t.state)).or_default() += 1;
            }
        }
        for (k, name) in [
            ("tasks_staging", "TASK_STAGING"),
            ("tasks_starting", "TASK_STARTING"),
            ("tasks_running", "TASK_RUNNING"),
            ("tasks_killing", "TASK_KILLING"),
            ("tasks_unreachable", "TASK_UNREACHABLE"),
        ] {
            put(k, *live.get(name).unwrap_or(&0) as f64);
        }
        for (k, name) in [
            ("tasks_finished", "TASK_FINISHED"),
            ("tasks_failed", "TASK_FAILED"),
            ("tasks_killed", "TASK_KILLED"),
            ("tasks_lost", "TASK_LOST"),
            ("tasks_error", "TASK_ERROR"),
            ("tasks_dropped", "TASK_DROPPED"),
            ("tasks_gone", "TASK_GONE"),
            ("tasks_gone_by_operator", "TASK_GONE_BY_OPERATOR"),
        ] {
            put(k, *self.terminal_tasks.get(name).unwrap_or(&0) as f64);
        }

        let mut total = crate::resources::Resources::new();
        let mut used = crate::resources::Resources::new();
        let usage = state.usage();
        for a in state.agents.values() {
            total.add_all(&a.total);
            used.add_all(usage.used_on(a.id()));
            used.add_all(usage.offered_on(a.id()));
        }
        for n in ["cpus", "mem", "disk", "gpus"] {
            let t = total.scalar(n);
            let u = used.scalar(n);
            put(&format!("{n}_total"), t);
            put(&format!("{n}_used"), u);
            put(&format!("{n}_percent"), if t > 0.0 { u / t } else { 0.0 });
        }

        for (k, v) in [
            ("messages_register_slave", self.messages_register_slave),
            ("messages_authenticate", self.messages_authenticate),
            ("messages_reregister_slave", self.messages_reregister_slave),
            ("messages_unregister_slave", self.messages_unregister_slave),
            (
                "messages_register_framework",
                self.messages_register_framework,
            ),
            (
                "messages_reregister_framework",
                self.messages_reregister_framework,
            ),
            (
                "messages_unregister_framework",
                self.messages_unregister_framework,
            ),
            (
                "messages_deactivate_framework",
                self.messages_deactivate_framework,
            ),
            ("messages_launch_tasks", self.messages_launch_tasks),
            ("messages_decline_offers", self.messages_decline_offers),
            ("messages_revive_offers", self.messages_revive_offers),
            ("messages_suppress_offers", self.messages_suppress_offers),
            ("messages_kill_task", self.messages_kill_task),
            ("messages_status_update", self.messages_status_update),
            (
                "messages_status_update_acknowledgement",
                self.messages_status_update_acknowledgement,
            ),
            ("messages_reconcile_tasks", self.messages_reconcile_tasks),
            (
                "messages_framework_to_executor",
                self.messages_framework_to_executor,
            ),
            (
                "messages_executor_to_framework",
                self.messages_executor_to_framework,
            ),
            ("valid_status_updates", self.valid_status_updates),
            ("invalid_status_updates", self.invalid_status_updates),
            (
                "valid_status_update_acknowledgements",
                self.valid_status_update_acknowledgements,
            ),
            (
                "invalid_status_update_acknowledgements",
                self.invalid_status_update_acknowledgements,
            ),
            (
                "valid_framework_to_executor_messages",
                self.valid_framework_to_executor_messages,
            ),
            (
                "invalid_framework_to_executor_messages",
                self.invalid_framework_to_executor_messages,
            ),
            ("dropped_messages", self.dropped_messages),
            ("slave_registrations", self.slave_registrations),
            ("slave_reregistrations", self.slave_reregistrations),
            ("slave_removals", self.slave_removals),
            (
                "slave_unreachable_scheduled",
                self.slave_unreachable_scheduled,
            ),
            (
                "slave_unreachable_completed",
                self.slave_unreachable_completed,
            ),
            (
                "slave_unreachable_canceled",
                self.slave_unreachable_canceled,
            ),
            ("invalid_scheduler_calls", self.invalid_scheduler_calls),
        ] {
            put(k, v as f64);
        }
        put("event_queue_messages", 0.0);
        put("event_queue_dispatches", 0.0);
        put("event_queue_http_requests", 0.0);
        m
    }

    /// [`Metrics::snapshot`] plus the allocator's keys (`allocator/mesos/...`,
    /// upstream `src/master/allocator/mesos/metrics.cpp`): upstream serves
    /// both from the one process-wide metrics registry.
    pub fn snapshot_with_allocator(
        &self,
        state: &MasterState,
        uptime: f64,
        allocator: &dyn crate::allocator::Allocator,
    ) -> Map<String, Value> {
        let mut m = self.snapshot(state, uptime);
        for (k, v) in allocator.metrics_snapshot() {
            m.insert(k, Value::from(v));
        }
        m
    }

    /// Counts a task that reached a terminal state.
    pub fn task_terminal(&mut self, state: i32) {
        *self.terminal_tasks.entry(state_name(state)).or_default() += 1;
    }
}
