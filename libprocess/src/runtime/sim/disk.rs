//! A per-node in-memory disk for the simulator: a map from path to bytes
//! where only synced writes survive a crash of the node.
//!
//! Mirrors what upstream relies on from a real file system: checkpoints are
//! written to a temporary file, fsync'd and renamed (stout/os/write.hpp,
//! src/slave/state.hpp `checkpoint`), and the replicated log writes with
//! `sync = true` (src/log/leveldb.cpp). Anything not synced may be lost when
//! the machine dies; here it always is, so tests see the worst case.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

#[derive(Debug, Default)]
struct DiskState {
    /// What survives a crash.
    durable: BTreeMap<String, Bytes>,
    /// Writes since the last sync of each path; `None` = removed.
    pending: BTreeMap<String, Option<Bytes>>,
    /// Bumped at each crash of the node, so handles held by the dead
    /// incarnation stop touching the disk.
    generation: u64,
}

/// A handle on one node's simulated disk. Cheap to clone. A handle taken
/// before a crash of its node goes stale: its writes are ignored and its
/// reads see nothing (the process that held it is dead).
#[derive(Clone, Debug)]
pub struct Disk {
    state: Arc<Mutex<DiskState>>,
    generation: u64,
}

impl Disk {
    pub(crate) fn new() -> Disk {
        Disk {
            state: Arc::new(Mutex::new(DiskState::default())),
            generation: 0,
        }
    }

    fn lock(&self) -> Option<MutexGuard<'_, DiskState>> {
        let g = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if g.generation == self.generation {
            Some(g)
        } else {
            tracing::debug!("ignoring disk access through a handle from before a crash");
            None
        }
    }

    /// A fresh handle for the current incarnation of the node.
    pub(crate) fn current(&self) -> Disk {
        let generation = self
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .generation;
        Disk {
            state: self.state.clone(),
            generation,
        }
    }

    /// The node crashed: unsynced writes are lost and old handles go stale.
    pub(crate) fn crash(&self) {
        let mut g = self.state.lock().unwrap_or_else(|e| e.into_inner());
        g.pending.clear();
        g.generation += 1;
    }

    /// Writes `bytes` at `path` without syncing: lost if the node crashes
    /// before [`Disk::sync`].
    pub fn write(&self, path: &str, bytes: impl Into<Bytes>) {
        if let Some(mut g) = self.lock() {
            g.pending.insert(path.to_string(), Some(bytes.into()));
        }
    }

    /// Writes and syncs `path` (write + fsync).
    pub fn write_synced(&self, path: &str, bytes: impl Into<Bytes>) {
        if let Some(mut g) = self.lock() {
            g.pending.remove(path);
            g.durable.insert(path.to_string(), bytes.into());
        }
    }

    /// Removes `path` (unsynced until [`Disk::sync`]).
    pub fn remove(&self, path: &str) {
        if let Some(mut g) = self.lock() {
            g.pending.insert(path.to_string(), None);
        }
    }

    /// Moves `from` to `to`, as rename(2); unsynced until both paths are
    /// synced (or [`Disk::sync_all`]). Returns false if `from` does not exist.
    pub fn rename(&self, from: &str, to: &str) -> bool {
        let Some(mut g) = self.lock() else {
            return false;
        };
        let Some(bytes) = read_locked(&g, from) else {
            return false;
        };
        g.pending.insert(from.to_string(), None);
        g.pending.insert(to.to_string(), Some(bytes));
        true
    }

    /// Makes the current content of `path` (or its removal) durable.
    pub fn sync(&self, path: &str) {
        if let Some(mut g) = self.lock() {
            if let Some(v) = g.pending.remove(path) {
                match v {
                    Some(b) => g.durable.insert(path.to_string(), b),
                    None => g.durable.remove(path),
                };
            }
        }
    }

    /// Makes every pending write durable.
    pub fn sync_all(&self) {
        if let Some(mut g) = self.lock() {
            let pending = std::mem::take(&mut g.pending);
            for (path, v) in pending {
                match v {
                    Some(b) => g.durable.insert(path, b),
                    None => g.durable.remove(&path),
                };
            }
        }
    }

    /// The current content of `path` (synced or not).
    pub fn read(&self, path: &str) -> Option<Bytes> {
        self.lock().and_then(|g| read_locked(&g, path))
    }

    pub fn exists(&self, path: &str) -> bool {
        self.read(path).is_some()
    }

    /// Paths starting with `prefix`, in order.
    pub fn list(&self, prefix: &str) -> Vec<String> {
        let Some(g) = self.lock() else {
            return Vec::new();
        };
        let mut out: Vec<String> = g
            .durable
            .keys()
            .filter(|k| k.starts_with(prefix) && !matches!(g.pending.get(*k), Some(None)))
            .cloned()
            .collect();
        out.extend(
            g.pending
                .iter()
                .filter(|(k, v)| {
                    k.starts_with(prefix) && v.is_some() && !g.durable.contains_key(*k)
                })
                .map(|(k, _)| k.clone()),
        );
        out.sort();
        out
    }

    /// Whether `path` has writes that a crash would lose.
    pub fn is_dirty(&self, path: &str) -> bool {
        self.lock().is_some_and(|g| g.pending.contains_key(path))
    }
}

fn read_locked(g: &DiskState, path: &str) -> Option<Bytes> {
    match g.pending.get(path) {
        Some(v) => v.clone(),
        None => g.durable.get(path).cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_synced_writes_survive_a_crash() {
        let d = Disk::new();
        d.write_synced("a", "1");
        d.write("b", "2");
        d.write("c", "3");
        d.sync("c");
        d.write("a", "changed");
        assert_eq!(d.list(""), vec!["a", "b", "c"]);
        d.crash();
        assert_eq!(d.read("a"), None, "stale handle sees nothing");
        let d = d.current();
        assert_eq!(d.read("a").unwrap(), "1");
        assert_eq!(d.read("b"), None);
        assert_eq!(d.read("c").unwrap(), "3");
    }

    #[test]
    fn rename_is_durable_only_after_sync() {
        let d = Disk::new();
        d.write("meta/x.tmp", "v");
        d.sync("meta/x.tmp");
        assert!(d.rename("meta/x.tmp", "meta/x"));
        assert_eq!(d.list("meta/"), vec!["meta/x"]);
        d.crash();
        let d = d.current();
        assert_eq!(d.list("meta/"), vec!["meta/x.tmp"]);
        assert!(d.rename("meta/x.tmp", "meta/x"));
        d.sync_all();
        d.crash();
        let d = d.current();
        assert_eq!(d.list("meta/"), vec!["meta/x"]);
        assert!(!d.rename("nope", "x"));
    }

    #[test]
    fn stale_handles_cannot_write() {
        let d = Disk::new();
        let old = d.current();
        d.crash();
        old.write_synced("x", "1");
        assert!(!d.current().exists("x"));
    }
}
