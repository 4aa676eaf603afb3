//! Registry recovery and persistence (upstream `Master::_recover` and
//! `Master::recoveredSlavesTimeout`, src/master/master.cpp).

use libprocess::Cx;
use mesos_proto::mesos::SlaveInfo;

use super::Master;
use crate::registrar::Operation;
use crate::state::UnreachableAgent;

/// Registry recovery (upstream `Master::_recover` and
/// `Master::recoveredSlavesTimeout`, master.cpp).
impl Master {
    /// Writes the registry off the actor thread. A failed write is fatal, as
    /// upstream's registrar failure aborts the master ("Registrar failed"):
    /// continuing would hand out state the registry does not hold.
    pub(crate) fn persist_registry(&mut self, cx: &mut Cx<'_, Self>) {
        if let Some(job) = self.registrar.persist() {
            cx.blocking(job, |_m: &mut Master, cx, r| {
                if let Err(e) = r {
                    tracing::error!("Registrar failed: {e}; terminating the master");
                    cx.terminate();
                }
            });
        }
    }

    /// Takes the agents of a recovered registry: admitted ones must
    /// reregister within `--agent_reregister_timeout`, unreachable ones are
    pub(crate) fn recover_agents(
        &mut self,
        cx: &mut Cx<'_, Self>,
        registry: &mesos_proto::mesos::internal::Registry,
    ) {
        if let Some(slaves) = &registry.slaves {
            for s in &slaves.slaves {
                if let Some(id) = &s.info.id {
                    self.state
                        .recovered
                        .insert(id.value.clone(), s.info.clone());
                    self.recover_drain_state(&id.value, &s.drain_info, s.deactivated);
                }
            }
        }
        if let Some(unreachable) = &registry.unreachable {
            for u in &unreachable.slaves {
                self.recover_drain_state(&u.id.value, &u.drain_info, u.deactivated);
                let info = SlaveInfo {
                    id: Some(u.id.clone()),
                    ..Default::default()
                };
                self.state.unreachable.insert(
                    u.id.value.clone(),
                    UnreachableAgent {
                        info,
                        since: u.timestamp.nanoseconds as f64 / 1e9,
                    },
                );
            }
        }
        if let Some(gone) = &registry.gone {
            for g in &gone.slaves {
                self.state
                    .gone
                    .insert(g.id.value.clone(), g.timestamp.nanoseconds as f64 / 1e9);
            }
        }
        let timeout = self.flags.agent_reregister_timeout();
        tracing::info!(
            "Recovered {} agents from the registry; allowing {:?} for agents to reregister",
            self.state.recovered.len(),
            timeout
        );
        if self.state.recovered.is_empty() {
            return;
        }
        let expected = self.state.recovered.len();
        cx.delay(timeout, move |m: &mut Master, cx| {
            m.recovered_agents_timeout(cx, expected)
        });
    }

    fn recover_drain_state(
        &mut self,
        id: &str,
        drain_info: &Option<mesos_proto::mesos::DrainInfo>,
        deactivated: Option<bool>,
    ) {
        if let Some(d) = drain_info {
            self.state.draining.insert(id.to_string(), *d);
        }
        if deactivated == Some(true) {
            self.state.deactivated.insert(id.to_string());
        }
    }

    /// Recovered agents that did not reregister in time are marked
    /// unreachable, unless more than `--recovery_agent_removal_limit` of them
    /// are missing, in which case upstream exits the master.
    fn recovered_agents_timeout(&mut self, cx: &mut Cx<'_, Self>, expected: usize) {
        if self.state.recovered.is_empty() {
            return;
        }
        let limit = self
            .flags
            .get("recovery_agent_removal_limit")
            .and_then(|v| v.trim_end_matches('%').parse::<f64>().ok())
            .unwrap_or(100.0)
            / 100.0;
        let missing = self.state.recovered.len() as f64 / expected.max(1) as f64;
        if missing > limit {
            tracing::error!(
                "Post-recovery agent removal limit exceeded! After {:?} there were {} ({}%) agents recovered from the registry that did not reregister: {:?}. The configured removal limit is {}%",
                self.flags.agent_reregister_timeout(),
                self.state.recovered.len(),
                missing * 100.0,
                self.state.recovered.keys().collect::<Vec<_>>(),
                limit * 100.0
            );
            cx.terminate();
            return;
        }
        let now = Self::now_secs(cx);
        let recovered = std::mem::take(&mut self.state.recovered);
        for (id, info) in recovered {
            tracing::warn!(
                "Agent {id} ({}) did not reregister within {:?} after master failover; marking it unreachable",
                info.hostname,
                self.flags.agent_reregister_timeout()
            );
            match self.registrar.apply(Operation::MarkSlaveUnreachable(
                info.clone(),
                (now * 1e9) as i64,
            )) {
                Ok(_) => {
                    self.state
                        .unreachable
                        .insert(id, UnreachableAgent { info, since: now });
                }
                Err(e) => tracing::error!("Failed to mark agent {id} unreachable: {e}"),
            }
        }
        self.persist_registry(cx);
    }
}
