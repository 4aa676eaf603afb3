//! A registrar on the simulated disk: every operation is applied in memory
//! (the master's own [`InMemoryRegistrar`]) and the whole `Registry` is then
//! written synced, as upstream's replicated-log registrar persists before it
//! answers (src/master/registrar.cpp). A restarted master node reads it back.

use bytes::Bytes;
use libprocess::runtime::sim::Disk;
use mesos_master::registrar::{InMemoryRegistrar, Operation, Registrar};
use mesos_proto::mesos::internal::Registry;
use mesos_proto::mesos::MasterInfo;
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
}

impl Registrar for DiskRegistrar {
    fn recover(&mut self, master: &MasterInfo) -> mesos_master::Result<Registry> {
        // Replay the stored agent lists into the in-memory copy.
        if let Some(slaves) = &self.stored.slaves {
            for s in &slaves.slaves {
                self.inner.apply(Operation::AdmitSlave(s.info.clone()))?;
            }
        }
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
