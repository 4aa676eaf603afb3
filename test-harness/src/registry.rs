//! A registrar on the simulated disk: every operation is applied in memory
//! (the master's own [`InMemoryRegistrar`]) and the whole `Registry` is then
//! written synced, as upstream's replicated-log registrar persists before it
//! answers (src/master/registrar.cpp). A restarted master node reads it back:
//! admitted, unreachable and gone agents, drain and deactivation state,
//! quota configs and weights all survive, as with upstream's durable
//! registry.

use bytes::Bytes;
use libprocess::runtime::sim::Disk;
use mesos_master::registrar::{InMemoryRegistrar, Operation, Registrar};
use mesos_proto::mesos::internal::Registry;
use mesos_proto::mesos::{DrainState, MasterInfo, SlaveId, SlaveInfo};
use prost::Message as _;

const PATH: &str = "registry/registry.pb";

pub struct DiskRegistrar {
    inner: InMemoryRegistrar,
    stored: Registry,
    disk: Disk,
}

impl DiskRegistrar {
    pub fn new(disk: Disk) -> DiskRegistrar {
        let stored = disk
            .read(PATH)
            .and_then(|b| Registry::decode(b).ok())
            .unwrap_or_default();
        DiskRegistrar {
            inner: InMemoryRegistrar::new(),
            stored,
            disk,
        }
    }

    /// What a previous incarnation left on disk (read at construction).
    pub fn stored(&self) -> &Registry {
        &self.stored
    }

    fn write_to_disk(&self) {
        self.disk
            .write_synced(PATH, Bytes::from(self.inner.registry().encode_to_vec()));
    }

    /// Rebuilds the stored registry in the in-memory copy through the
    /// registrar's own operations (the in-memory registrar cannot be
    /// seeded directly).
    fn replay(&mut self) -> mesos_master::Result<()> {
        let stored = self.stored.clone();
        let flags = |inner: &mut InMemoryRegistrar,
                     id: &SlaveId,
                     drain: &Option<mesos_proto::mesos::DrainInfo>,
                     deactivated: Option<bool>|
         -> mesos_master::Result<()> {
            if let Some(d) = drain {
                inner.apply(Operation::DrainAgent(id.clone(), d.config))?;
                if d.state == DrainState::Drained as i32 {
                    inner.apply(Operation::MarkAgentDrained(id.clone()))?;
                }
            } else if deactivated == Some(true) {
                inner.apply(Operation::DeactivateAgent(id.clone()))?;
            }
            Ok(())
        };
        if let Some(slaves) = &stored.slaves {
            for s in &slaves.slaves {
                self.inner.apply(Operation::AdmitSlave(s.info.clone()))?;
                if let Some(id) = &s.info.id {
                    flags(&mut self.inner, id, &s.drain_info, s.deactivated)?;
                }
            }
        }
        if let Some(unreachable) = &stored.unreachable {
            for u in &unreachable.slaves {
                // The registry keeps only the ID of an unreachable agent.
                let info = SlaveInfo {
                    id: Some(u.id.clone()),
                    ..Default::default()
                };
                self.inner.apply(Operation::AdmitSlave(info.clone()))?;
                self.inner.apply(Operation::MarkSlaveUnreachable(
                    info,
                    u.timestamp.nanoseconds,
                ))?;
                flags(&mut self.inner, &u.id, &u.drain_info, u.deactivated)?;
            }
        }
        if let Some(gone) = &stored.gone {
            for g in &gone.slaves {
                let info = SlaveInfo {
                    id: Some(g.id.clone()),
                    ..Default::default()
                };
                self.inner.apply(Operation::AdmitSlave(info))?;
                self.inner.apply(Operation::MarkSlaveGone(
                    g.id.clone(),
                    g.timestamp.nanoseconds,
                ))?;
            }
        }
        if !stored.quota_configs.is_empty() {
            self.inner
                .apply(Operation::UpdateQuota(stored.quota_configs.clone()))?;
        }
        if !stored.weights.is_empty() {
            let w = stored.weights.iter().map(|w| w.info.clone()).collect();
            self.inner.apply(Operation::UpdateWeights(w))?;
        }
        Ok(())
    }
}

impl Registrar for DiskRegistrar {
    fn recover(&mut self, master: &MasterInfo) -> mesos_master::Result<Registry> {
        self.replay()?;
        let r = self.inner.recover(master)?;
        self.write_to_disk();
        Ok(r)
    }

    fn apply(&mut self, op: Operation) -> mesos_master::Result<bool> {
        let changed = self.inner.apply(op)?;
        if changed {
            self.write_to_disk();
        }
        Ok(changed)
    }

    fn registry(&self) -> &Registry {
        self.inner.registry()
    }
}
