//! The registry of admitted agents (upstream `src/master/registrar.cpp`,
//! operations in `registry_operations.cpp`).
//!
//! [`Registrar`] applies one operation at a time to the `Registry` protobuf
//! and says whether it changed anything (upstream operations return
//! `Try<bool>`; `false` means "no mutation", e.g. admitting an agent whose ID
//! is already present). The in-memory registrar (`--registry=in_memory`)
//! applies them at once. [`ReplicatedLogRegistrar`] (`--registry=replicated_log`,
//! the default) applies them in memory too, in order, and hands the actor a
//! [`PersistJob`] that writes the whole registry to the replicated log
//! (`mesos_log::RegistryStore`, `<work_dir>/replicated_log`) off the actor
//! thread (`Cx::blocking`), like upstream's registrar which stores the full
//! `Registry` on every update (`Registrar::update`, state/log.cpp snapshots).

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use mesos_proto::mesos::internal::registry::MinimumCapability;
use mesos_proto::mesos::internal::registry::{Slave, Slaves, UnreachableSlave, UnreachableSlaves};
use mesos_proto::mesos::internal::Registry;
use mesos_proto::mesos::master_info::capability::Type as MasterCap;
use mesos_proto::mesos::{
    DrainConfig, DrainInfo, DrainState, MasterInfo, SlaveId, SlaveInfo, TimeInfo,
};

use crate::error::{Error, Result};

/// An operation on the registry.
#[derive(Clone, Debug)]
pub enum Operation {
    /// A new agent (upstream `AdmitSlave`): no-op if the ID exists.
    AdmitSlave(SlaveInfo),
    /// A known or unknown agent reregistered (upstream `MarkSlaveReachable`):
    /// moves it from unreachable (or nowhere) to the admitted list.
    MarkSlaveReachable(SlaveInfo),
    /// Upstream `MarkSlaveUnreachable`, with the time in nanoseconds.
    MarkSlaveUnreachable(SlaveInfo, i64),
    /// Upstream `RemoveSlave` (agent unregistered or shut down).
    RemoveSlave(SlaveInfo),
    /// Upstream `DrainAgent`: `drain_info` DRAINING with this config and
    /// `deactivated`, on an admitted or unreachable agent; adds the
    /// AGENT_DRAINING minimum capability.
    DrainAgent(SlaveId, DrainConfig),
    /// Upstream `MarkAgentDrained`: DRAINING -> DRAINED (error otherwise).
    MarkAgentDrained(SlaveId),
    /// Upstream `DeactivateAgent`; adds the AGENT_DRAINING minimum capability.
    DeactivateAgent(SlaveId),
    /// Upstream `quota::UpdateQuota` (src/master/quota.cpp): stores each
    /// config by role (a default one, no guarantees and no limits, is
    /// removed), drops the role's legacy `quotas` entry, and keeps the
    /// QUOTA_V2 minimum capability iff any config remains.
    UpdateQuota(Vec<mesos_proto::mesos::quota::QuotaConfig>),
    /// Upstream `weights::UpdateWeights` (src/master/weights.cpp): stores
    /// each role's weight; `false` when nothing changed.
    UpdateWeights(Vec<mesos_proto::mesos::WeightInfo>),
    /// Upstream `MarkSlaveGone`: from admitted or unreachable to `gone`,
    /// with the time in nanoseconds.
    MarkSlaveGone(SlaveId, i64),
    /// Upstream `ReactivateAgent`: clears draining and deactivation; the
    /// last reactivation drops the AGENT_DRAINING minimum capability.
    ReactivateAgent(SlaveId),
    /// Upstream `maintenance::UpdateSchedule`, `StartMaintenance` and
    /// `StopMaintenance` (src/master/maintenance.cpp); see
    /// [`crate::actor::maintenance::apply_to_registry`].
    Maintenance(crate::actor::maintenance::MaintenanceOp),
}

/// Stores the registry.
pub trait Registrar: Send {
    /// Sets `Registry.master` (done at recovery upstream).
    fn recover(&mut self, master: &MasterInfo) -> Result<Registry>;
    /// Applies one operation; `Ok(false)` when nothing changed.
    fn apply(&mut self, op: Operation) -> Result<bool>;
    /// The current registry (`/registrar(1)/registry`).
    fn registry(&self) -> &Registry;
    /// A job that makes the current registry durable, to run off the actor
    /// (`Cx::blocking`); `None` when the registry lives only in memory.
    fn persist(&mut self) -> Option<PersistJob> {
        None
    }
}

/// Writes one registry snapshot; blocking (fsyncs).
pub type PersistJob = Box<dyn FnOnce() -> Result<()> + Send>;

/// Upstream `Master::_recover` (master.cpp): a registry written by a master
/// that required capabilities this one lacks must not be used (e.g. a newer
/// master's registry); the master exits instead.
pub fn check_minimum_capabilities(registry: &Registry) -> Result<()> {
    let ours: Vec<i32> = crate::actor::master_capabilities()
        .iter()
        .filter_map(|c| c.r#type)
        .collect();
    let missing: Vec<String> = registry
        .minimum_capabilities
        .iter()
        .filter(|c| {
            MasterCap::from_str_name(&c.capability).is_none_or(|t| !ours.contains(&(t as i32)))
        })
        .map(|c| c.capability.clone())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::Registrar(format!(
            "Master is missing the following minimum capabilities: {}. See the following documentation for steps to safely recover from this state: http://mesos.apache.org/documentation/latest/downgrades",
            missing.join(", ")
        )))
    }
}

/// `--registry=in_memory`.
#[derive(Debug, Default)]
pub struct InMemoryRegistrar {
    registry: Registry,
    known: KnownIds,
}

impl InMemoryRegistrar {
    pub fn new() -> InMemoryRegistrar {
        InMemoryRegistrar::default()
    }
}

fn slave_id(info: &SlaveInfo) -> Result<&SlaveId> {
    info.id
        .as_ref()
        .ok_or_else(|| Error::Registrar("SlaveInfo without an ID".into()))
}

impl Registrar for InMemoryRegistrar {
    fn recover(&mut self, master: &MasterInfo) -> Result<Registry> {
        self.registry.master = Some(mesos_proto::mesos::internal::registry::Master {
            info: master.clone(),
        });
        Ok(self.registry.clone())
    }

    fn apply(&mut self, op: Operation) -> Result<bool> {
        self.known.apply(&mut self.registry, op)
    }

    fn registry(&self) -> &Registry {
        &self.registry
    }
}

/// The agent IDs of a registry's admitted and unreachable lists, so that
/// admitting an agent is not a scan of every agent (a burst of 50k
/// registrations made that quadratic). Built on first use, kept up to date
/// by admissions and dropped by every other operation (rebuilt when next
/// needed), so it can never disagree with the registry.
#[derive(Debug, Default)]
struct KnownIds(Option<HashSet<String>>);

impl KnownIds {
    fn apply(&mut self, registry: &mut Registry, op: Operation) -> Result<bool> {
        let Operation::AdmitSlave(info) = op else {
            self.0 = None;
            return apply_to(registry, op);
        };
        let id = slave_id(&info)?.value.clone();
        let ids = self.0.get_or_insert_with(|| {
            let admitted = registry.slaves.iter().flat_map(|s| &s.slaves);
            let unreachable = registry.unreachable.iter().flat_map(|u| &u.slaves);
            admitted
                .filter_map(|s| s.info.id.as_ref().map(|i| i.value.clone()))
                .chain(unreachable.map(|u| u.id.value.clone()))
                .collect()
        });
        // Upstream `AdmitSlave`: no mutation when the ID is known.
        if !ids.insert(id) {
            return Ok(false);
        }
        // As `apply_to`, which makes both lists present.
        registry
            .unreachable
            .get_or_insert_with(UnreachableSlaves::default);
        registry
            .slaves
            .get_or_insert_with(Slaves::default)
            .slaves
            .push(Slave {
                info,
                ..Default::default()
            });
        Ok(true)
    }
}

/// Applies one operation to a registry (upstream `registry_operations.cpp`).
fn apply_to(registry: &mut Registry, op: Operation) -> Result<bool> {
    {
        let slaves = &mut registry.slaves.get_or_insert_with(Slaves::default).slaves;
        let unreachable = &mut registry
            .unreachable
            .get_or_insert_with(UnreachableSlaves::default)
            .slaves;
        match op {
            Operation::AdmitSlave(info) => {
                let id = slave_id(&info)?.clone();
                let known = slaves.iter().any(|s| s.info.id.as_ref() == Some(&id))
                    || unreachable.iter().any(|s| s.id == id);
                if known {
                    return Ok(false);
                }
                slaves.push(Slave {
                    info,
                    ..Default::default()
                });
                Ok(true)
            }
            Operation::MarkSlaveReachable(info) => {
                let id = slave_id(&info)?.clone();
                // Draining and deactivation survive unreachability
                // (upstream `MarkSlaveReachable` copies them back).
                let carried = unreachable
                    .iter()
                    .find(|s| s.id == id)
                    .map(|u| (u.drain_info, u.deactivated));
                unreachable.retain(|s| s.id != id);
                if let Some(s) = slaves.iter_mut().find(|s| s.info.id.as_ref() == Some(&id)) {
                    let changed = s.info != info;
                    s.info = info;
                    return Ok(changed);
                }
                let (drain_info, deactivated) = carried.unwrap_or_default();
                slaves.push(Slave {
                    info,
                    drain_info,
                    deactivated,
                });
                Ok(true)
            }
            Operation::MarkSlaveUnreachable(info, nanos) => {
                let id = slave_id(&info)?.clone();
                let Some(pos) = slaves.iter().position(|s| s.info.id.as_ref() == Some(&id)) else {
                    return Ok(false);
                };
                let old = slaves.remove(pos);
                unreachable.push(UnreachableSlave {
                    id,
                    timestamp: TimeInfo { nanoseconds: nanos },
                    drain_info: old.drain_info,
                    deactivated: old.deactivated,
                });
                Ok(true)
            }
            Operation::RemoveSlave(info) => {
                let id = slave_id(&info)?.clone();
                let before = slaves.len();
                slaves.retain(|s| s.info.id.as_ref() != Some(&id));
                Ok(slaves.len() != before)
            }
            Operation::UpdateQuota(configs) => {
                for config in configs {
                    let pos = registry
                        .quota_configs
                        .iter()
                        .position(|c| c.role == config.role);
                    let default = config.guarantees.is_empty() && config.limits.is_empty();
                    match (pos, default) {
                        (Some(i), true) => {
                            registry.quota_configs.remove(i);
                        }
                        (None, true) => {}
                        (Some(i), false) => registry.quota_configs[i] = config.clone(),
                        (None, false) => registry.quota_configs.push(config.clone()),
                    }
                    registry
                        .quotas
                        .retain(|q| q.info.role.as_deref() != Some(config.role.as_str()));
                }
                if registry.quota_configs.is_empty() {
                    let name = MasterCap::QuotaV2.as_str_name();
                    registry
                        .minimum_capabilities
                        .retain(|c| c.capability != name);
                } else {
                    add_minimum_capability(registry, MasterCap::QuotaV2);
                }
                Ok(true)
            }
            Operation::UpdateWeights(infos) => {
                let mut mutated = false;
                for info in infos {
                    match registry
                        .weights
                        .iter_mut()
                        .find(|w| w.info.role == info.role)
                    {
                        Some(w) if w.info.weight != info.weight => {
                            w.info = info;
                            mutated = true;
                        }
                        Some(_) => {}
                        None => {
                            registry
                                .weights
                                .push(mesos_proto::mesos::internal::registry::Weight { info });
                            mutated = true;
                        }
                    }
                }
                Ok(mutated)
            }
            Operation::MarkSlaveGone(id, nanos) => {
                let before = slaves.len() + unreachable.len();
                slaves.retain(|s| s.info.id.as_ref() != Some(&id));
                unreachable.retain(|s| s.id != id);
                if slaves.len() + unreachable.len() == before {
                    return Ok(false);
                }
                registry
                    .gone
                    .get_or_insert_with(Default::default)
                    .slaves
                    .push(mesos_proto::mesos::internal::registry::GoneSlave {
                        id,
                        timestamp: TimeInfo { nanoseconds: nanos },
                    });
                Ok(true)
            }
            Operation::DrainAgent(id, config) => {
                let info = DrainInfo {
                    state: DrainState::Draining as i32,
                    config,
                };
                let found = set_agent_flags(slaves, unreachable, &id, |d, deact| {
                    *d = Some(info);
                    *deact = Some(true);
                });
                if found {
                    add_minimum_capability(registry, MasterCap::AgentDraining);
                }
                Ok(found)
            }
            Operation::DeactivateAgent(id) => {
                let found = set_agent_flags(slaves, unreachable, &id, |_, deact| {
                    *deact = Some(true);
                });
                if found {
                    add_minimum_capability(registry, MasterCap::AgentDraining);
                }
                Ok(found)
            }
            Operation::MarkAgentDrained(id) => {
                let mut not_draining = false;
                let found = set_agent_flags(slaves, unreachable, &id, |d, _| match d {
                    Some(d) if d.state == DrainState::Draining as i32 => {
                        d.state = DrainState::Drained as i32;
                    }
                    _ => not_draining = true,
                });
                if not_draining {
                    return Err(Error::Registrar(format!(
                        "Agent {} is not DRAINING",
                        id.value
                    )));
                }
                Ok(found)
            }
            Operation::Maintenance(op) => {
                Ok(crate::actor::maintenance::apply_to_registry(registry, op))
            }
            Operation::ReactivateAgent(id) => {
                let found = set_agent_flags(slaves, unreachable, &id, |d, deact| {
                    *d = None;
                    *deact = None;
                });
                let still_deactivated = slaves.iter().any(|s| s.deactivated == Some(true))
                    || unreachable.iter().any(|s| s.deactivated == Some(true));
                if found && !still_deactivated {
                    let name = MasterCap::AgentDraining.as_str_name();
                    registry
                        .minimum_capabilities
                        .retain(|c| c.capability != name);
                }
                Ok(found)
            }
        }
    }
}

/// Runs `f` on the drain info and deactivation flag of the agent with this
/// ID, admitted or unreachable; `false` if it is in neither list.
fn set_agent_flags(
    slaves: &mut [Slave],
    unreachable: &mut [UnreachableSlave],
    id: &SlaveId,
    mut f: impl FnMut(&mut Option<DrainInfo>, &mut Option<bool>),
) -> bool {
    if let Some(s) = slaves.iter_mut().find(|s| s.info.id.as_ref() == Some(id)) {
        f(&mut s.drain_info, &mut s.deactivated);
        return true;
    }
    if let Some(u) = unreachable.iter_mut().find(|u| &u.id == id) {
        f(&mut u.drain_info, &mut u.deactivated);
        return true;
    }
    false
}

/// Upstream `protobuf::master::addMinimumCapability`: once, by name.
fn add_minimum_capability(registry: &mut Registry, cap: MasterCap) {
    let name = cap.as_str_name();
    if !registry
        .minimum_capabilities
        .iter()
        .any(|c| c.capability == name)
    {
        registry.minimum_capabilities.push(MinimumCapability {
            capability: name.to_string(),
        });
    }
}

/// The durable side of [`ReplicatedLogRegistrar`], shared with its jobs.
struct Durable {
    store: mesos_log::RegistryStore,
    /// The newest snapshot version written; older jobs are skipped.
    saved: u64,
}

/// `--registry=replicated_log`: the registry in upstream's replicated-log
/// LevelDB format under `<work_dir>/replicated_log`, readable by a real
/// 1.9 master.
pub struct ReplicatedLogRegistrar {
    registry: Registry,
    known: KnownIds,
    version: u64,
    durable: Arc<Mutex<Durable>>,
}

impl std::fmt::Debug for ReplicatedLogRegistrar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicatedLogRegistrar")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl ReplicatedLogRegistrar {
    /// Opens (and with `auto_initialize`, initializes: `--log_auto_initialize`)
    /// the log under `work_dir` and reads the stored registry. Blocking: call
    /// before the master actor starts.
    pub fn open(work_dir: impl AsRef<Path>, auto_initialize: bool) -> Result<Self> {
        let mut store = mesos_log::RegistryStore::open(work_dir, auto_initialize)
            .map_err(|e| Error::Registrar(format!("Failed to open the replicated log: {e}")))?;
        let registry = store
            .load()
            .map_err(|e| Error::Registrar(format!("Failed to read the registry: {e}")))?
            .unwrap_or_default();
        Ok(ReplicatedLogRegistrar {
            registry,
            known: KnownIds::default(),
            version: 0,
            durable: Arc::new(Mutex::new(Durable { store, saved: 0 })),
        })
    }
}

impl Registrar for ReplicatedLogRegistrar {
    fn recover(&mut self, master: &MasterInfo) -> Result<Registry> {
        self.registry.master = Some(mesos_proto::mesos::internal::registry::Master {
            info: master.clone(),
        });
        Ok(self.registry.clone())
    }

    fn apply(&mut self, op: Operation) -> Result<bool> {
        self.known.apply(&mut self.registry, op)
    }

    fn registry(&self) -> &Registry {
        &self.registry
    }

    fn persist(&mut self) -> Option<PersistJob> {
        self.version += 1;
        let version = self.version;
        let snapshot = self.registry.clone();
        let durable = Arc::clone(&self.durable);
        Some(Box::new(move || {
            // A poisoned lock only means an earlier job panicked; the
            // store itself is still consistent (each save is one write).
            let mut d = durable.lock().unwrap_or_else(|p| p.into_inner());
            // Jobs may finish out of order; every snapshot holds all the
            // earlier operations, so an older one must not overwrite a newer.
            if d.saved >= version {
                return Ok(());
            }
            d.store
                .save(&snapshot)
                .map_err(|e| Error::Registrar(format!("Failed to update the registry: {e}")))?;
            d.saved = version;
            Ok(())
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str) -> SlaveInfo {
        SlaveInfo {
            hostname: "h".into(),
            id: Some(SlaveId { value: id.into() }),
            ..Default::default()
        }
    }

    #[test]
    fn admit_is_idempotent_per_id() {
        let mut r = InMemoryRegistrar::new();
        assert!(r.apply(Operation::AdmitSlave(info("S0"))).unwrap());
        assert!(!r.apply(Operation::AdmitSlave(info("S0"))).unwrap());
        assert_eq!(r.registry().slaves.as_ref().unwrap().slaves.len(), 1);
    }

    #[test]
    fn admission_index_follows_every_other_operation() {
        let mut r = InMemoryRegistrar::new();
        for i in 0..3 {
            assert!(r
                .apply(Operation::AdmitSlave(info(&format!("S{i}"))))
                .unwrap());
        }
        // Removing drops the index; the ID may be admitted again.
        assert!(r.apply(Operation::RemoveSlave(info("S1"))).unwrap());
        assert!(r.apply(Operation::AdmitSlave(info("S1"))).unwrap());
        assert!(!r.apply(Operation::AdmitSlave(info("S2"))).unwrap());
        // An unreachable agent is known too.
        assert!(r
            .apply(Operation::MarkSlaveUnreachable(info("S0"), 1))
            .unwrap());
        assert!(!r.apply(Operation::AdmitSlave(info("S0"))).unwrap());
        // Without an ID: an error, nothing recorded.
        assert!(r
            .apply(Operation::AdmitSlave(SlaveInfo::default()))
            .is_err());
        let ids: Vec<_> = r
            .registry()
            .slaves
            .as_ref()
            .unwrap()
            .slaves
            .iter()
            .map(|s| s.info.id.as_ref().unwrap().value.clone())
            .collect();
        assert_eq!(ids, ["S2", "S1"]);
        // The fast path leaves the registry as `apply_to` would: both lists.
        let mut fresh = InMemoryRegistrar::new();
        fresh.apply(Operation::AdmitSlave(info("S9"))).unwrap();
        let mut slow = Registry::default();
        apply_to(&mut slow, Operation::AdmitSlave(info("S9"))).unwrap();
        assert_eq!(fresh.registry(), &slow);
    }

    #[test]
    fn unreachable_then_reachable_moves_between_lists() {
        let mut r = InMemoryRegistrar::new();
        r.apply(Operation::AdmitSlave(info("S0"))).unwrap();
        assert!(r
            .apply(Operation::MarkSlaveUnreachable(info("S0"), 7))
            .unwrap());
        assert!(r.registry().slaves.as_ref().unwrap().slaves.is_empty());
        assert_eq!(r.registry().unreachable.as_ref().unwrap().slaves.len(), 1);
        assert!(!r.apply(Operation::AdmitSlave(info("S0"))).unwrap());
        assert!(r.apply(Operation::MarkSlaveReachable(info("S0"))).unwrap());
        assert!(r.registry().unreachable.as_ref().unwrap().slaves.is_empty());
        assert!(r.apply(Operation::RemoveSlave(info("S0"))).unwrap());
        assert!(!r.apply(Operation::RemoveSlave(info("S0"))).unwrap());
    }

    #[test]
    fn an_info_without_id_is_an_error() {
        let mut r = InMemoryRegistrar::new();
        let mut i = info("x");
        i.id = None;
        assert!(r.apply(Operation::AdmitSlave(i)).is_err());
    }
}
