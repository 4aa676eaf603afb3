//! A replica as a libprocess actor, `log-replica(N)` (`ReplicaProcess` in
//! `src/log/replica.cpp`), and a [`KvStore`] on the simulator's disk.
//!
//! The actor answers the four replica messages of `mesos.internal.log` exactly as
//! upstream installs them: `PromiseRequest` → `PromiseResponse`, `WriteRequest` →
//! `WriteResponse`, `RecoverRequest` → `RecoverResponse` (each sent back to the
//! requester, which is what libprocess' `reply()` does), and `LearnedMessage` (no
//! reply). Requests a replica declines to answer (a storage error, a write to a
//! learned position) get no reply, as upstream.

use libprocess::runtime::sim::Disk;
use libprocess::{Actor, Cx, Routes, Upid};
use mesos_proto::mesos::internal::log::{
    LearnedMessage, PromiseRequest, RecoverRequest, WriteRequest,
};

use crate::error::Result;
use crate::replica::Replica;
use crate::storage::KvStore;

/// The process id prefix upstream generates replica ids from (`log-replica(N)`).
pub const REPLICA_ID_PREFIX: &str = "log-replica";

/// A replica actor.
#[derive(Debug)]
pub struct ReplicaActor {
    replica: Replica,
}

impl ReplicaActor {
    /// Wraps a restored replica.
    pub fn new(replica: Replica) -> Self {
        Self { replica }
    }

    /// The replica (for inspection in tests and tools).
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// Mutable access, e.g. to mark a fresh replica VOTING as `mesos-log initialize` does.
    pub fn replica_mut(&mut self) -> &mut Replica {
        &mut self.replica
    }

    /// `ReplicaProcess::promise`.
    fn promise(&mut self, cx: &mut Cx<'_, Self>, from: Upid, request: PromiseRequest) {
        tracing::debug!("Replica received promise request from {from}");
        if let Some(response) = self.replica.promise(&request) {
            cx.send(&from, &response);
        }
    }

    /// `ReplicaProcess::write`.
    fn write(&mut self, cx: &mut Cx<'_, Self>, from: Upid, request: WriteRequest) {
        tracing::debug!(
            "Replica received write request for position {} from {from}",
            request.position
        );
        if let Some(response) = self.replica.write(&request) {
            cx.send(&from, &response);
        }
    }

    /// `ReplicaProcess::recover`.
    fn recover(&mut self, cx: &mut Cx<'_, Self>, from: Upid, _request: RecoverRequest) {
        let response = self.replica.recover();
        cx.send(&from, &response);
    }

    /// `ReplicaProcess::learned`.
    fn learned(&mut self, _cx: &mut Cx<'_, Self>, from: Upid, message: LearnedMessage) {
        tracing::debug!(
            "Replica received learned notice for position {} from {from}",
            message.action.position
        );
        if let Err(e) = self.replica.learned(&message.action) {
            tracing::error!("Error writing to log: {e}");
        }
    }
}

impl Actor for ReplicaActor {
    fn install(r: &mut Routes<Self>) {
        r.message::<PromiseRequest>(Self::promise);
        r.message::<WriteRequest>(Self::write);
        r.message::<RecoverRequest>(Self::recover);
        r.message::<LearnedMessage>(Self::learned);
    }
}

/// A [`KvStore`] on a simulated node's [`Disk`]: one file per key under `prefix`.
/// Synced puts survive a node crash; the truncation deletes (unsynced, as upstream's
/// batch delete) may not, which recovery must tolerate.
#[derive(Clone, Debug)]
pub struct SimDiskKv {
    disk: Disk,
    prefix: String,
}

impl SimDiskKv {
    /// Keys live at `<prefix>/<key>`.
    pub fn new(disk: Disk, prefix: impl Into<String>) -> Self {
        Self {
            disk,
            prefix: prefix.into(),
        }
    }

    fn path(&self, key: &[u8]) -> String {
        format!("{}/{}", self.prefix, String::from_utf8_lossy(key))
    }
}

impl KvStore for SimDiskKv {
    fn scan(&mut self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let dir = format!("{}/", self.prefix);
        let mut out = Vec::new();
        for path in self.disk.list(&dir) {
            if let Some(value) = self.disk.read(&path) {
                out.push((path.as_bytes()[dir.len()..].to_vec(), value.to_vec()));
            }
        }
        out.sort();
        Ok(out)
    }

    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.disk.read(&self.path(key)).map(|v| v.to_vec()))
    }

    fn put(&mut self, key: &[u8], value: &[u8], sync: bool) -> Result<()> {
        let path = self.path(key);
        if sync {
            self.disk.write_synced(&path, value.to_vec());
        } else {
            self.disk.write(&path, value.to_vec());
        }
        Ok(())
    }

    fn delete_batch(&mut self, keys: Vec<Vec<u8>>) -> Result<()> {
        for key in keys {
            self.disk.remove(&self.path(&key));
        }
        Ok(())
    }
}
