//! The replicated log end to end on LevelDB and in memory: initialization, the exact
//! records upstream writes, restart, a torn write, compare-and-swap, several replicas.

mod common;

use bytes::Bytes;
use common::TempDir;
use mesos_log::network::LocalNetwork;
use mesos_log::storage::{KvStore, LevelDb, MemKv, RecordStorage, Storage};
use mesos_log::{Error, Log, LogStorage, RegistryStore, Replica, State, Status};
use mesos_proto::mesos::internal::log::{action, record, Record};
use mesos_proto::mesos::internal::{registry, Registry};
use mesos_proto::mesos::{SlaveId, SlaveInfo};
use prost::Message;

fn registry_with_agent(hostname: &str, padding: usize) -> Registry {
    Registry {
        slaves: Some(registry::Slaves {
            slaves: vec![registry::Slave {
                info: SlaveInfo {
                    hostname: hostname.into(),
                    id: Some(SlaveId {
                        value: "agent-S0".into(),
                    }),
                    ..Default::default()
                },
                ..Default::default()
            }],
        }),
        minimum_capabilities: vec![registry::MinimumCapability {
            capability: "x".repeat(padding),
        }],
        ..Default::default()
    }
}

fn records(dir: &std::path::Path) -> Vec<(String, Record)> {
    let mut db = LevelDb::open(dir).unwrap();
    db.scan()
        .unwrap()
        .into_iter()
        .map(|(k, v)| {
            (
                String::from_utf8(k).unwrap(),
                Record::decode(v.as_slice()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn fresh_log_auto_initializes_and_writes_what_upstream_writes() {
    let tmp = TempDir::new("fresh");
    let dir = tmp.path().join("replicated_log");
    {
        let mut log = Log::open(&dir, true).unwrap();
        assert_eq!(log.network().local().status(), Status::Voting);
        assert_eq!(log.start_writer().unwrap(), Some(0));
        assert_eq!(log.append(Bytes::from_static(b"one")).unwrap(), Some(1));
        assert_eq!(log.append(Bytes::from_static(b"two")).unwrap(), Some(2));
        let entries = log.read(0, 2).unwrap();
        assert_eq!(
            entries.iter().map(|e| e.position).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(entries[1].data, "two");
    }
    // The same layout the real master left in tests/fixtures (see fixtures.rs): the
    // metadata, a learned NOP filled at position 0 with proposal 2 (coordinator
    // proposal + 1), appends learned with proposal 1.
    let recs = records(&dir);
    let keys: Vec<&str> = recs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        ["0000000000", "0000000001", "0000000002", "0000000003"]
    );
    let metadata = recs[0].1.metadata.unwrap();
    assert_eq!(
        (metadata.status, metadata.promised),
        (Status::Voting as i32, 1)
    );
    let nop = recs[1].1.action.clone().unwrap();
    assert_eq!(recs[1].1.r#type, record::Type::Action as i32);
    assert_eq!(
        (
            nop.position,
            nop.promised,
            nop.performed,
            nop.learned,
            nop.r#type
        ),
        (0, 2, Some(2), Some(true), Some(action::Type::Nop as i32))
    );
    let append = recs[2].1.action.clone().unwrap();
    assert_eq!(
        (
            append.position,
            append.promised,
            append.performed,
            append.learned
        ),
        (1, 1, Some(1), Some(true))
    );

    // A restart recovers (VOTING, no holes) and the next writer continues after 2.
    let mut log = Log::open(&dir, false).unwrap();
    assert_eq!(log.start_writer().unwrap(), Some(2));
    assert_eq!(log.append(Bytes::from_static(b"three")).unwrap(), Some(3));
    assert_eq!(log.network().local().promised(), 2);
}

#[test]
fn empty_log_without_auto_initialize_needs_the_initialize_tool() {
    let tmp = TempDir::new("noinit");
    let dir = tmp.path().join("replicated_log");
    std::fs::create_dir_all(&dir).unwrap();
    match Log::open(&dir, false) {
        Err(Error::NotInitialized(_)) => {}
        other => panic!("expected NotInitialized, got {other:?}"),
    }
    mesos_log::log::initialize(&dir).unwrap();
    assert!(mesos_log::log::initialize(&dir).is_err(), "only once");
    let mut log = Log::open(&dir, false).unwrap();
    assert_eq!(log.start_writer().unwrap(), Some(0));
}

#[test]
fn registry_survives_restarts_and_the_log_stays_truncated() {
    let tmp = TempDir::new("restart");
    for round in 0..5 {
        let mut store = RegistryStore::open(tmp.path(), true).unwrap();
        let loaded = store.load().unwrap();
        if round == 0 {
            assert!(loaded.is_none());
        } else {
            let host = &loaded.unwrap().slaves.unwrap().slaves[0].info.hostname;
            assert_eq!(host, &format!("host-{}", round - 1));
        }
        store
            .save(&registry_with_agent(&format!("host-{round}"), 10))
            .unwrap();
    }
    // Each save appends a snapshot and truncates below it: only the metadata, the
    // live snapshot, the truncate action (and the tombstone-free tail) remain.
    let recs = records(&mesos_log::log_path(tmp.path()));
    assert!(recs.len() <= 4, "log not truncated: {} records", recs.len());
    let mut log = Log::open(mesos_log::log_path(tmp.path()), false).unwrap();
    assert!(log.beginning() > 0);
    assert!(
        log.read(0, 0).is_err(),
        "truncated positions are unreadable"
    );
}

#[test]
fn compare_and_swap_semantics() {
    let tmp = TempDir::new("cas");
    let mut state = State::open(tmp.path().join("replicated_log"), true).unwrap();
    let fresh = state.fetch("key").unwrap();
    assert!(fresh.value().is_empty());
    assert_eq!(fresh.uuid().len(), 16);

    // An absent entry accepts any version.
    let v1 = state.store(&fresh.mutate("one")).unwrap().expect("stored");
    assert_ne!(v1.uuid(), fresh.uuid(), "each store gets a new uuid");
    let v2 = state.store(&v1.mutate("two")).unwrap().expect("stored");
    // A stale version loses, whatever it carries.
    assert!(state.store(&v1.mutate("stale")).unwrap().is_none());
    assert!(state.store(&fresh.mutate("stale")).unwrap().is_none());
    assert_eq!(state.fetch("key").unwrap().value(), "two");

    assert!(!state.expunge(&v1).unwrap(), "stale expunge refused");
    assert_eq!(state.names().unwrap(), vec!["key".to_string()]);
    assert!(state.expunge(&v2).unwrap());
    assert!(state.names().unwrap().is_empty());
    assert!(state.fetch("key").unwrap().value().is_empty());

    // The registry store turns a lost CAS into an error.
    let mut store = RegistryStore::new(state);
    assert!(store.load().unwrap().is_none());
    store.save(&registry_with_agent("a", 1)).unwrap();
    let mut other = store.state().fetch(mesos_log::REGISTRY_KEY).unwrap();
    other = store
        .state()
        .store(&other.mutate(Registry::default().encode_to_vec()))
        .unwrap()
        .unwrap();
    assert!(!other.uuid().is_empty());
    match store.save(&registry_with_agent("b", 1)) {
        Err(Error::VersionMismatch(_)) => {}
        other => panic!("expected a version mismatch, got {other:?}"),
    }
}

fn log_file(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .max()
        .expect("a leveldb .log file")
}

#[test]
fn a_torn_write_recovers_to_the_last_complete_or_accepted_value() {
    // Capture the on-disk files after save(A) and after save(B) while the database
    // is open (what a crash leaves: every put was synced), then tear B's records.
    let tmp = TempDir::new("torn");
    let dir = tmp.path().join("replicated_log");
    let after_a = tmp.path().join("after-a");
    let after_b = tmp.path().join("after-b");
    {
        let mut store = RegistryStore::open_log_dir(&dir, true).unwrap();
        store.save(&registry_with_agent("A", 4000)).unwrap();
        common::copy_dir(&dir, &after_a);
        store.save(&registry_with_agent("B", 4000)).unwrap();
        common::copy_dir(&dir, &after_b);
    }
    let size_a = std::fs::metadata(log_file(&after_a)).unwrap().len();
    let size_b = std::fs::metadata(log_file(&after_b)).unwrap().len();
    assert!(
        size_b > size_a + 8000,
        "B's records follow A's in the same log file"
    );

    let host_after_tear = |cut: u64| {
        let crashed = tmp.path().join(format!("crashed-{cut}"));
        common::copy_dir(&after_b, &crashed);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(log_file(&crashed))
            .unwrap();
        file.set_len(cut).unwrap();
        let _ = std::fs::remove_file(crashed.join("LOCK"));
        let mut store = RegistryStore::open_log_dir(&crashed, false).unwrap();
        let host = store.load().unwrap().unwrap().slaves.unwrap().slaves[0]
            .info
            .hostname
            .clone();
        // The log is writable again after the crash.
        store.save(&registry_with_agent("C", 1)).unwrap();
        host
    };
    // Torn inside B's first (unlearned) write: B never happened.
    assert_eq!(host_after_tear(size_a + 20), "A");
    // Torn after B's write was accepted but before it was learned: the new writer's
    // election finds the accepted value and completes it, as Paxos must.
    assert_eq!(host_after_tear(size_a + (size_b - size_a) / 2), "B");
}

fn voting_mem_replica(kv: &MemKv) -> Replica {
    let mut replica = Replica::open(RecordStorage::new(kv.clone())).unwrap();
    if replica.status() != Status::Voting {
        replica.update(Status::Voting).unwrap();
    }
    replica
}

#[test]
fn three_replicas_quorum_two_tolerate_one_down_and_catch_up() {
    let kvs: Vec<MemKv> = (0..3).map(|_| MemKv::new()).collect();
    let replicas = kvs.iter().map(voting_mem_replica).collect();
    let mut log = Log::recover(LocalNetwork::new(replicas, 0), 2, false, "mem").unwrap();
    assert_eq!(log.start_writer().unwrap(), Some(0));
    assert_eq!(log.append("a").unwrap(), Some(1));
    log.network().set_down(2, true);
    assert_eq!(log.append("b").unwrap(), Some(2));
    log.network().set_down(1, true);
    assert!(
        log.append("c").is_err(),
        "one of three replicas is no quorum"
    );
    drop(log);

    // Replica 2 missed "b"; elected as the new proposer, it fills position 2 from
    // the others (the accepted value wins over a NOP).
    let replicas = kvs.iter().map(voting_mem_replica).collect();
    let mut log = Log::recover(LocalNetwork::new(replicas, 2), 2, false, "mem").unwrap();
    assert!(log.network().local().missing(2));
    let end = log.start_writer().unwrap().expect("elected");
    assert!(end >= 2);
    let data: Vec<Bytes> = log
        .read(1, 2)
        .unwrap()
        .into_iter()
        .map(|e| e.data)
        .collect();
    assert_eq!(data, vec![Bytes::from("a"), Bytes::from("b")]);
}

#[test]
fn an_empty_replica_recovers_from_voting_peers() {
    let kvs: Vec<MemKv> = (0..3).map(|_| MemKv::new()).collect();
    {
        let replicas = kvs[..2].iter().map(voting_mem_replica).collect();
        let mut log = Log::recover(LocalNetwork::new(replicas, 0), 2, false, "mem").unwrap();
        log.start_writer().unwrap().unwrap();
        log.append("x").unwrap().unwrap();
        log.append("y").unwrap().unwrap();
    }
    // Replica 2 is EMPTY: the recover protocol sees a quorum of VOTING peers, goes
    // RECOVERING, catches up [begin, end] and becomes VOTING.
    let mut replicas: Vec<Replica> = kvs[..2].iter().map(voting_mem_replica).collect();
    replicas.push(Replica::open(RecordStorage::new(kvs[2].clone())).unwrap());
    let mut log = Log::recover(LocalNetwork::new(replicas, 2), 2, false, "mem").unwrap();
    assert_eq!(log.network().local().status(), Status::Voting);
    let data: Vec<Bytes> = log
        .read(0, 2)
        .unwrap()
        .into_iter()
        .map(|e| e.data)
        .collect();
    assert_eq!(data, vec![Bytes::from("x"), Bytes::from("y")]);
    let mut storage = RecordStorage::new(kvs[2].clone());
    assert_eq!(storage.restore().unwrap().end, 2);
}

#[test]
fn log_storage_replays_snapshots_and_expunges_after_restart() {
    let kv = MemKv::new();
    let open = || {
        let replica = voting_mem_replica(&kv);
        State::new(LogStorage::new(
            Log::recover(LocalNetwork::single(replica), 1, false, "mem").unwrap(),
        ))
    };
    {
        let mut state = open();
        for name in ["a", "b", "c"] {
            let v = state.fetch(name).unwrap();
            state
                .store(&v.mutate(name.to_uppercase()))
                .unwrap()
                .unwrap();
        }
        let b = state.fetch("b").unwrap();
        assert!(state.expunge(&b).unwrap());
        let a = state.fetch("a").unwrap();
        state.store(&a.mutate("A2")).unwrap().unwrap();
    }
    let mut state = open();
    assert_eq!(
        state.names().unwrap(),
        vec!["a".to_string(), "c".to_string()]
    );
    assert_eq!(state.fetch("a").unwrap().value(), "A2");
    assert_eq!(state.fetch("c").unwrap().value(), "C");
}

#[test]
fn the_store_can_live_inside_an_actor() {
    // Actors must be Send; rusty-leveldb's DB is not, so the storage runs it on its
    // own thread. This fails to compile if that ever regresses.
    fn assert_send<T: Send>() {}
    assert_send::<RegistryStore>();
    assert_send::<State>();
    assert_send::<Log>();
    assert_send::<Replica>();
}

fn varint(b: &[u8], i: &mut usize) -> u64 {
    let (mut value, mut shift) = (0u64, 0);
    loop {
        let byte = b[*i];
        *i += 1;
        value |= u64::from(byte & 0x7f) << shift;
        shift += 7;
        if byte < 0x80 {
            return value;
        }
    }
}

/// The compression type bytes of a table's index block and first data block.
fn table_block_types(table: &[u8]) -> (u8, u8) {
    let footer = &table[table.len() - 48..];
    let mut i = 0;
    let _metaindex = (varint(footer, &mut i), varint(footer, &mut i));
    let (index_offset, index_size) = (
        varint(footer, &mut i) as usize,
        varint(footer, &mut i) as usize,
    );
    let index = &table[index_offset..index_offset + index_size];
    let mut j = 0;
    let (_shared, non_shared, _value_len) = (
        varint(index, &mut j),
        varint(index, &mut j),
        varint(index, &mut j),
    );
    j += non_shared as usize;
    let (data_offset, data_size) = (
        varint(index, &mut j) as usize,
        varint(index, &mut j) as usize,
    );
    (
        table[index_offset + index_size],
        table[data_offset + data_size],
    )
}

#[test]
fn tables_we_write_are_uncompressed_like_the_real_masters() {
    // The real 1.9.0/1.8.1 masters' LevelDB has no snappy: it writes type-0 blocks and
    // rejects snappy ones. Reopening compacts (as upstream does on open) into a table.
    let tmp = TempDir::new("tables");
    let dir = tmp.path().join("replicated_log");
    RegistryStore::open_log_dir(&dir, true)
        .unwrap()
        .save(&registry_with_agent("a", 3000))
        .unwrap();
    drop(RegistryStore::open_log_dir(&dir, false).unwrap());
    let table = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "ldb"))
        .expect("a table after reopening");
    assert_eq!(table_block_types(&std::fs::read(table).unwrap()), (0, 0));
    // The real master's compacted fixture has the same block types.
    let real = common::fixture("real-1.9.0-compacted").join("000011.ldb");
    assert_eq!(table_block_types(&std::fs::read(real).unwrap()), (0, 0));
}

#[test]
fn snappy_tables_from_a_snappy_build_are_read() {
    use mesos_log::storage::metadata_key;
    use mesos_proto::mesos::internal::log::Metadata;
    use rusty_leveldb::CompressorId;
    let tmp = TempDir::new("snappy");
    let dir = tmp.path().join("replicated_log");
    {
        let options = rusty_leveldb::Options {
            compressor: rusty_leveldb::compressor::SnappyCompressor::ID,
            ..Default::default()
        };
        let mut db = rusty_leveldb::DB::open(&dir, options).unwrap();
        let record = Record {
            r#type: record::Type::Metadata as i32,
            metadata: Some(Metadata {
                status: Status::Voting as i32,
                promised: 9,
            }),
            ..Default::default()
        };
        db.put(metadata_key().as_bytes(), &record.encode_to_vec())
            .unwrap();
        db.compact_range(b"", b"\xff").unwrap();
        db.close().unwrap();
    }
    let table = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "ldb"))
        .expect("a table");
    // The index block is snappy-compressed too (so its first data handle is unreadable
    // without decompressing); its type byte is enough.
    let table = std::fs::read(table).unwrap();
    let footer = &table[table.len() - 48..];
    let mut i = 0;
    let _metaindex = (varint(footer, &mut i), varint(footer, &mut i));
    let (index_offset, index_size) = (
        varint(footer, &mut i) as usize,
        varint(footer, &mut i) as usize,
    );
    assert_eq!(table[index_offset + index_size], 1, "snappy");
    let state = mesos_log::LevelDbStorage::open(&dir)
        .unwrap()
        .restore()
        .unwrap();
    assert_eq!(state.metadata.promised, 9);
}
