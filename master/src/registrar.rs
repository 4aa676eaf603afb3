//! The registry of admitted agents (upstream `src/master/registrar.cpp`,
//! operations in `registry_operations.cpp`).
//!
//! [`Registrar`] applies one operation at a time to the `Registry` protobuf
//! and says whether it changed anything (upstream operations return
//! `Try<bool>`; `false` means "no mutation", e.g. admitting an agent whose ID
//! is already present). The in-memory registrar (`--registry=in_memory`)
//! applies them at once; a durable one (replicated log) will implement the
//! same trait.

use mesos_proto::mesos::internal::registry::{Slave, Slaves, UnreachableSlave, UnreachableSlaves};
use mesos_proto::mesos::internal::Registry;
use mesos_proto::mesos::{MasterInfo, SlaveId, SlaveInfo, TimeInfo};

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
}

/// Stores the registry.
pub trait Registrar: Send {
    /// Sets `Registry.master` (done at recovery upstream).
    fn recover(&mut self, master: &MasterInfo) -> Result<Registry>;
    /// Applies one operation; `Ok(false)` when nothing changed.
    fn apply(&mut self, op: Operation) -> Result<bool>;
    /// The current registry (`/registrar(1)/registry`).
    fn registry(&self) -> &Registry;
}

/// `--registry=in_memory`.
#[derive(Debug, Default)]
pub struct InMemoryRegistrar {
    registry: Registry,
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
        let slaves = &mut self
            .registry
            .slaves
            .get_or_insert_with(Slaves::default)
            .slaves;
        let unreachable = &mut self
            .registry
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
                unreachable.retain(|s| s.id != id);
                if let Some(s) = slaves.iter_mut().find(|s| s.info.id.as_ref() == Some(&id)) {
                    let changed = s.info != info;
                    s.info = info;
                    return Ok(changed);
                }
                slaves.push(Slave {
                    info,
                    ..Default::default()
                });
                Ok(true)
            }
            Operation::MarkSlaveUnreachable(info, nanos) => {
                let id = slave_id(&info)?.clone();
                let before = slaves.len();
                slaves.retain(|s| s.info.id.as_ref() != Some(&id));
                if slaves.len() == before {
                    return Ok(false);
                }
                unreachable.push(UnreachableSlave {
                    id,
                    timestamp: TimeInfo { nanoseconds: nanos },
                    ..Default::default()
                });
                Ok(true)
            }
            Operation::RemoveSlave(info) => {
                let id = slave_id(&info)?.clone();
                let before = slaves.len();
                slaves.retain(|s| s.info.id.as_ref() != Some(&id));
                Ok(slaves.len() != before)
            }
        }
    }

    fn registry(&self) -> &Registry {
        &self.registry
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
