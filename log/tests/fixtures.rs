//! Logs written by a real Mesos 1.9.0 master (`mesos-ref-local` with
//! `--registry=replicated_log`, one agent), read back with our storage.
//! `real-1.9.0-logonly`: the first run, everything still in LevelDB's write-ahead log.
//! `real-1.9.0-compacted`: after a restart, which compacted into a snappy `.ldb` table.

mod common;

use common::{copy_dir, fixture, TempDir};
use mesos_log::replica::Status;
use mesos_log::storage::{LevelDbStorage, Storage};
use mesos_log::{RegistryStore, Replica};

const AGENT_ID: &str = "e7a379a1-d639-494c-8ace-7df0bec5efa4-S0";

fn open_copy(name: &str) -> (TempDir, std::path::PathBuf) {
    let tmp = TempDir::new(name);
    let dir = tmp.path().join("replicated_log");
    copy_dir(&fixture(name), &dir);
    (tmp, dir)
}

#[test]
fn storage_restores_a_real_masters_log() {
    for name in ["real-1.9.0-logonly", "real-1.9.0-compacted"] {
        let (_tmp, dir) = open_copy(name);
        let mut storage = LevelDbStorage::open(&dir).unwrap();
        let state = storage.restore().unwrap();
        assert_eq!(state.metadata.status, Status::Voting as i32, "{name}");
        assert!(state.metadata.promised >= 1, "{name}");
        assert!(state.end >= 2, "{name}: {state:?}");
        assert!(state.unlearned.is_empty(), "{name}: {state:?}");
        let replica = Replica::open(storage).unwrap();
        assert_eq!(replica.status(), Status::Voting);
    }
}

#[test]
fn registry_store_finds_the_real_agent() {
    for name in ["real-1.9.0-logonly", "real-1.9.0-compacted"] {
        let (_tmp, dir) = open_copy(name);
        let mut store = RegistryStore::open_log_dir(&dir, false).unwrap();
        let registry = store.load().unwrap().expect("a registry");
        let agents = registry.slaves.expect("slaves").slaves;
        assert_eq!(agents.len(), 1, "{name}");
        let info = &agents[0].info;
        assert_eq!(info.hostname, "localhost");
        assert_eq!(info.id.as_ref().unwrap().value, AGENT_ID);
        assert_eq!(
            registry.master.unwrap().info.hostname.as_deref(),
            Some("localhost")
        );
    }
}

#[test]
fn we_can_keep_writing_a_real_masters_log() {
    let (_tmp, dir) = open_copy("real-1.9.0-compacted");
    {
        let mut store = RegistryStore::open_log_dir(&dir, false).unwrap();
        let mut registry = store.load().unwrap().unwrap();
        registry.minimum_capabilities.clear();
        registry.slaves.as_mut().unwrap().slaves[0].info.hostname = "rewritten".into();
        store.save(&registry).unwrap();
    }
    let mut store = RegistryStore::open_log_dir(&dir, false).unwrap();
    let registry = store.load().unwrap().unwrap();
    assert_eq!(
        registry.slaves.unwrap().slaves[0].info.hostname,
        "rewritten"
    );
}
