//! The set of replicas a proposer talks to (`src/log/network.hpp`).
//!
//! Upstream's `Network` broadcasts protobuf requests to `log-replica(N)` processes
//! (found through ZooKeeper, or a fixed set) and collects the replies as futures. This
//! in-process network holds the replicas themselves and answers a broadcast
//! synchronously, in replica order; a replica marked down answers nothing, like one
//! that is unreachable. With one replica (the master without ZooKeeper, quorum 1) it
//! is exactly upstream's setup where the network contains only the local replica.

use std::collections::BTreeSet;

use mesos_proto::mesos::internal::log::{
    Action, PromiseRequest, PromiseResponse, RecoverResponse, WriteRequest, WriteResponse,
};

use crate::replica::Replica;

/// Replicas reachable from a proposer; one of them is the proposer's own.
#[derive(Debug)]
pub struct LocalNetwork {
    replicas: Vec<Replica>,
    local: usize,
    down: BTreeSet<usize>,
}

impl LocalNetwork {
    /// A network of just the local replica.
    pub fn single(replica: Replica) -> Self {
        Self::new(vec![replica], 0)
    }

    /// A network of several replicas; `local` indexes the proposer's own.
    ///
    /// # Panics
    /// If `local` is out of range (a programming error).
    pub fn new(replicas: Vec<Replica>, local: usize) -> Self {
        assert!(local < replicas.len(), "local replica index out of range");
        Self {
            replicas,
            local,
            down: BTreeSet::new(),
        }
    }

    /// Number of replicas (reachable or not).
    pub fn len(&self) -> usize {
        self.replicas.len()
    }

    /// Whether the network has no replica (never true: there is a local one).
    pub fn is_empty(&self) -> bool {
        self.replicas.is_empty()
    }

    /// The proposer's own replica.
    pub fn local(&mut self) -> &mut Replica {
        &mut self.replicas[self.local]
    }

    /// The proposer's own replica, read-only.
    pub fn local_ref(&self) -> &Replica {
        &self.replicas[self.local]
    }

    /// Replica `index`, for tests and tools.
    pub fn replica(&mut self, index: usize) -> Option<&mut Replica> {
        self.replicas.get_mut(index)
    }

    /// Makes replica `index` unreachable (or reachable again).
    pub fn set_down(&mut self, index: usize, down: bool) {
        if down {
            self.down.insert(index);
        } else {
            self.down.remove(&index);
        }
    }

    /// Number of reachable replicas (what `Network::watch` counts).
    pub fn reachable(&self) -> usize {
        self.replicas.len() - self.down.len()
    }

    fn up(&mut self) -> impl Iterator<Item = &mut Replica> + '_ {
        let down = &self.down;
        self.replicas
            .iter_mut()
            .enumerate()
            .filter(move |(i, _)| !down.contains(i))
            .map(|(_, r)| r)
    }

    /// Broadcasts a promise request; the replies of the replicas that answered.
    pub fn promise(&mut self, request: &PromiseRequest) -> Vec<PromiseResponse> {
        self.up().filter_map(|r| r.promise(request)).collect()
    }

    /// Broadcasts a write request.
    pub fn write(&mut self, request: &WriteRequest) -> Vec<WriteResponse> {
        self.up().filter_map(|r| r.write(request)).collect()
    }

    /// Broadcasts a learned action (fire and forget, as upstream).
    pub fn learned(&mut self, action: &Action) {
        for replica in self.up() {
            if let Err(e) = replica.learned(action) {
                tracing::error!("Error writing to log: {e}");
            }
        }
    }

    /// Broadcasts a recover request.
    pub fn recover(&mut self) -> Vec<RecoverResponse> {
        self.up().map(|r| r.recover()).collect()
    }
}
