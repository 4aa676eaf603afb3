//! A replica's durable storage, in upstream's LevelDB layout (`src/log/leveldb.cpp`).
//!
//! Layout of the LevelDB database at `<work_dir>/replicated_log`:
//! - key `encode(0, false)` = `"0000000000"`: a `Record{type=METADATA}` holding the
//!   replica's status and highest implicit promise (old replicas may hold a
//!   deprecated `Record{type=PROMISE}` there instead);
//! - key `encode(position)` = position + 1 as 10-digit zero-padded decimal: a
//!   `Record{type=ACTION}`;
//! - every put is synced; a learned TRUNCATE (or learned tombstone NOP) deletes the
//!   keys of truncated positions in one unsynced batch, best effort.
//!
//! [`RecordStorage`] holds that logic over a [`KvStore`]; [`LevelDb`] is the real
//! database (rusty-leveldb, format-compatible with the LevelDB 1.19 that Mesos
//! bundles, snappy-compressed tables as upstream writes them) and [`MemKv`] an
//! in-memory map for tests and the simulator.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use mesos_proto::mesos::internal::log::{action, metadata, record, Action, Metadata, Record};
use prost::Message;

use crate::error::{Error, Result};
use crate::intervals::IntervalSet;

/// The key LevelDB stores `position` under.
///
/// Upstream formats `position + 1` (or `position` itself when `adjust` is false, for
/// the metadata key) with `"%.*d", 10` — a C `int` conversion of a 64-bit argument.
/// On x86-64 the callee reads the low 32 bits as a signed int, so positions at or past
/// 2^31 - 1 wrap; we reproduce that exactly (no registry gets near it: the master
/// truncates the log after each snapshot, but positions keep growing by one per write).
pub fn encode_key(position: u64, adjust: bool) -> String {
    let value = if adjust {
        position.wrapping_add(1)
    } else {
        position
    };
    let as_int = value as u32 as i32;
    if as_int >= 0 {
        format!("{as_int:010}")
    } else {
        // `%.10d` puts the sign before the 10 digits of precision.
        format!("-{:010}", as_int.unsigned_abs())
    }
}

/// The key of the metadata record (`encode(0, false)` upstream).
pub fn metadata_key() -> String {
    encode_key(0, false)
}

/// What a replica recovers from its storage (`Storage::State` upstream).
#[derive(Clone, Debug, PartialEq)]
pub struct StorageState {
    /// Status and highest implicit promise.
    pub metadata: Metadata,
    /// Beginning position of the log (after learned truncations).
    pub begin: u64,
    /// Ending position of the log (highest position with a record).
    pub end: u64,
    /// Positions whose action is learned.
    pub learned: IntervalSet,
    /// Positions with an action that is not learned yet.
    pub unlearned: IntervalSet,
}

/// A fresh replica's metadata: EMPTY, nothing promised (the proto defaults).
pub fn empty_metadata() -> Metadata {
    Metadata {
        status: metadata::Status::Empty as i32,
        promised: 0,
    }
}

/// Whether an action is learned (`has_learned() && learned()`).
pub fn is_learned(action: &Action) -> bool {
    action.learned == Some(true)
}

/// The type of an action, if set and known.
pub fn action_type(action: &Action) -> Option<action::Type> {
    action.r#type.and_then(|t| action::Type::try_from(t).ok())
}

/// Whether an action is a truncation tombstone (a NOP with `tombstone = true`).
pub fn is_tombstone(action: &Action) -> bool {
    action_type(action) == Some(action::Type::Nop)
        && action.nop.as_ref().and_then(|n| n.tombstone) == Some(true)
}

/// A replica's storage (`src/log/storage.hpp`).
pub trait Storage: Send {
    /// Reads everything back after a (re)start.
    fn restore(&mut self) -> Result<StorageState>;
    /// Durably replaces the metadata record.
    fn persist_metadata(&mut self, metadata: &Metadata) -> Result<()>;
    /// Durably writes the action at its position (and drops truncated positions).
    fn persist_action(&mut self, action: &Action) -> Result<()>;
    /// Reads the action stored at `position`.
    fn read(&mut self, position: u64) -> Result<Action>;
}

/// The key-value operations [`RecordStorage`] needs from a database.
pub trait KvStore: Send {
    /// Every key and value, in key order.
    fn scan(&mut self) -> Result<Vec<(Vec<u8>, Vec<u8>)>>;
    /// The value at `key`.
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Writes one value; `sync` asks for it to be on disk before returning.
    fn put(&mut self, key: &[u8], value: &[u8], sync: bool) -> Result<()>;
    /// Deletes keys in one atomic, unsynced batch (absent keys are ignored).
    fn delete_batch(&mut self, keys: Vec<Vec<u8>>) -> Result<()>;
}

/// Upstream's `LevelDBStorage` logic over any [`KvStore`].
pub struct RecordStorage<K: KvStore> {
    kv: K,
    /// The lowest position still present in the database, so a truncation can delete
    /// `[first, to)` without iterating (upstream caches the same).
    first: Option<u64>,
}

/// The storage the master uses: upstream's layout in a real LevelDB.
pub type LevelDbStorage = RecordStorage<LevelDb>;

impl LevelDbStorage {
    /// Opens (creating if missing) the LevelDB at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self::new(LevelDb::open(path)?))
    }
}

impl<K: KvStore> RecordStorage<K> {
    /// Wraps a key-value store.
    pub fn new(kv: K) -> Self {
        Self { kv, first: None }
    }

    /// The underlying store.
    pub fn kv(&mut self) -> &mut K {
        &mut self.kv
    }
}

fn decode_record(key: &[u8], value: &[u8]) -> Result<Record> {
    Record::decode(value).map_err(|source| Error::Decode {
        what: format!("Record at key {}", String::from_utf8_lossy(key)),
        source,
    })
}

fn min_opt(a: Option<u64>, b: u64) -> Option<u64> {
    Some(a.map_or(b, |a| a.min(b)))
}

impl<K: KvStore> Storage for RecordStorage<K> {
    fn restore(&mut self) -> Result<StorageState> {
        // Mirrors LevelDBStorage::restore: walk every key in order and rebuild the
        // metadata, the learned/unlearned sets and [begin, end].
        let mut state = StorageState {
            metadata: empty_metadata(),
            begin: 0,
            end: 0,
            learned: IntervalSet::new(),
            unlearned: IntervalSet::new(),
        };
        for (key, value) in self.kv.scan()? {
            let record = decode_record(&key, &value)?;
            match record::Type::try_from(record.r#type) {
                Ok(record::Type::Metadata) => {
                    state.metadata = record.metadata.ok_or_else(|| {
                        Error::BadRecord("METADATA record without metadata".into())
                    })?;
                }
                Ok(record::Type::Promise) => {
                    // A replica from before the metadata record existed: it has no
                    // catch-up logic and is obviously not empty, so it is VOTING.
                    let promise = record
                        .promise
                        .ok_or_else(|| Error::BadRecord("PROMISE record without promise".into()))?;
                    state.metadata.status = metadata::Status::Voting as i32;
                    state.metadata.promised = promise.proposal;
                }
                Ok(record::Type::Action) => {
                    let action = record
                        .action
                        .ok_or_else(|| Error::BadRecord("ACTION record without action".into()))?;
                    let position = action.position;
                    if is_learned(&action) {
                        state.learned.insert(position);
                        state.unlearned.remove(position);
                        if action_type(&action) == Some(action::Type::Truncate) {
                            let to = action.truncate.as_ref().map_or(0, |t| t.to);
                            state.begin = state.begin.max(to);
                        } else if is_tombstone(&action) {
                            state.begin = state.begin.max(position.saturating_add(1));
                        }
                    } else {
                        state.learned.remove(position);
                        state.unlearned.insert(position);
                    }
                    state.end = state.end.max(position);
                    self.first = min_opt(self.first, position);
                }
                Err(_) => {
                    return Err(Error::BadRecord(format!(
                        "unknown record type {} at key {}",
                        record.r#type,
                        String::from_utf8_lossy(&key)
                    )))
                }
            }
        }
        Ok(state)
    }

    fn persist_metadata(&mut self, metadata: &Metadata) -> Result<()> {
        let record = Record {
            r#type: record::Type::Metadata as i32,
            metadata: Some(*metadata),
            ..Default::default()
        };
        self.kv
            .put(metadata_key().as_bytes(), &record.encode_to_vec(), true)
    }

    fn persist_action(&mut self, action: &Action) -> Result<()> {
        let record = Record {
            r#type: record::Type::Action as i32,
            action: Some(action.clone()),
            ..Default::default()
        };
        let position = action.position;
        self.kv.put(
            encode_key(position, true).as_bytes(),
            &record.encode_to_vec(),
            true,
        )?;
        self.first = min_opt(self.first, position);

        // A learned TRUNCATE drops [first, to); a learned tombstone drops
        // [first, position) and stays itself so recovery sees the truncation.
        let truncate_to = if is_learned(action) {
            if action_type(action) == Some(action::Type::Truncate) {
                action.truncate.as_ref().map(|t| t.to)
            } else if is_tombstone(action) {
                Some(position)
            } else {
                None
            }
        } else {
            None
        };
        if let (Some(to), Some(first)) = (truncate_to, self.first) {
            if first < to {
                let keys = (first..to)
                    .map(|p| encode_key(p, true).into_bytes())
                    .collect();
                // Upstream ignores a failed delete: it can always be retried by the
                // next truncation (the positions are below `begin` either way).
                match self.kv.delete_batch(keys) {
                    Ok(()) => self.first = Some(to),
                    Err(e) => tracing::warn!("ignoring leveldb batch delete failure: {e}"),
                }
            }
        }
        Ok(())
    }

    fn read(&mut self, position: u64) -> Result<Action> {
        let key = encode_key(position, true);
        let value = self
            .kv
            .get(key.as_bytes())?
            .ok_or_else(|| Error::LevelDb(format!("NotFound: key {key}")))?;
        let record = decode_record(key.as_bytes(), &value)?;
        if record.r#type != record::Type::Action as i32 {
            return Err(Error::BadRecord(format!("key {key} is not an action")));
        }
        record
            .action
            .ok_or_else(|| Error::BadRecord(format!("ACTION record without action at {key}")))
    }
}

/// An in-memory [`KvStore`]. Clones share the map, so "restarting" a replica on the
/// same `MemKv` sees everything written before (every write counts as synced).
#[derive(Clone, Default)]
pub struct MemKv {
    map: Arc<Mutex<BTreeMap<Vec<u8>, Vec<u8>>>>,
}

impl MemKv {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Vec<u8>, Vec<u8>>> {
        // A poisoned map is still a valid map: the writer panicked between writes.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every key currently stored.
    pub fn keys(&self) -> Vec<Vec<u8>> {
        self.lock().keys().cloned().collect()
    }
}

impl KvStore for MemKv {
    fn scan(&mut self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(self
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.lock().get(key).cloned())
    }

    fn put(&mut self, key: &[u8], value: &[u8], _sync: bool) -> Result<()> {
        self.lock().insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    fn delete_batch(&mut self, keys: Vec<Vec<u8>>) -> Result<()> {
        let mut map = self.lock();
        for key in keys {
            map.remove(&key);
        }
        Ok(())
    }
}

type Reply<T> = mpsc::Sender<Result<T>>;

enum Command {
    Scan(Reply<Vec<(Vec<u8>, Vec<u8>)>>),
    Get(Vec<u8>, Reply<Option<Vec<u8>>>),
    Put(Vec<u8>, Vec<u8>, bool, Reply<()>),
    Delete(Vec<Vec<u8>>, Reply<()>),
}

/// A LevelDB database (rusty-leveldb) owned by a dedicated thread.
///
/// rusty-leveldb's `DB` is `!Send` (it shares `Rc`s internally), while actors and the
/// registrar need `Send` storage; the thread owns the database and this handle
/// forwards each call to it. Dropping the handle closes the database (and releases
/// its `LOCK`), as deleting upstream's `leveldb::DB*` does.
pub struct LevelDb {
    path: PathBuf,
    commands: Option<mpsc::Sender<Command>>,
    thread: Option<JoinHandle<()>>,
}

/// A file rusty-leveldb writes, made durable where upstream's LevelDB calls `Sync()`.
///
/// rusty-leveldb's "sync" write only calls `Write::flush`, which for a plain `File` does
/// nothing, and it never fsyncs tables or the MANIFEST. Upstream relies on
/// `WriteOptions::sync = true` reaching the disk (LevelDB fdatasyncs the log), so:
/// write-ahead `.log` files fsync on `flush` (exactly the synced writes); every other
/// file (tables, MANIFEST, the CURRENT temp file) fsyncs after each write and on drop.
struct DurableFile {
    file: std::fs::File,
    sync_every_write: bool,
}

impl std::io::Write for DurableFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        if self.sync_every_write {
            self.file.sync_data()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.sync_data()
    }
}

impl Drop for DurableFile {
    fn drop(&mut self) {
        if self.sync_every_write {
            let _ = self.file.sync_data();
        }
    }
}

/// rusty-leveldb's POSIX environment with [`DurableFile`] writers.
struct DurableEnv {
    inner: rusty_leveldb::PosixDiskEnv,
}

impl DurableEnv {
    fn writer(&self, path: &Path, append: bool) -> rusty_leveldb::Result<Box<dyn std::io::Write>> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(path)
            .map_err(|e| {
                rusty_leveldb::Status::new(
                    rusty_leveldb::StatusCode::IOError,
                    &format!("open {}: {e}", path.display()),
                )
            })?;
        let is_log = path.extension().is_some_and(|ext| ext == "log");
        Ok(Box::new(DurableFile {
            file,
            sync_every_write: !is_log,
        }))
    }
}

impl rusty_leveldb::env::Env for DurableEnv {
    fn open_sequential_file(&self, p: &Path) -> rusty_leveldb::Result<Box<dyn std::io::Read>> {
        self.inner.open_sequential_file(p)
    }
    fn open_random_access_file(
        &self,
        p: &Path,
    ) -> rusty_leveldb::Result<Box<dyn rusty_leveldb::env::RandomAccess>> {
        self.inner.open_random_access_file(p)
    }
    fn open_writable_file(&self, p: &Path) -> rusty_leveldb::Result<Box<dyn std::io::Write>> {
        self.writer(p, false)
    }
    fn open_appendable_file(&self, p: &Path) -> rusty_leveldb::Result<Box<dyn std::io::Write>> {
        self.writer(p, true)
    }
    fn exists(&self, p: &Path) -> rusty_leveldb::Result<bool> {
        self.inner.exists(p)
    }
    fn children(&self, p: &Path) -> rusty_leveldb::Result<Vec<PathBuf>> {
        self.inner.children(p)
    }
    fn size_of(&self, p: &Path) -> rusty_leveldb::Result<usize> {
        self.inner.size_of(p)
    }
    fn delete(&self, p: &Path) -> rusty_leveldb::Result<()> {
        self.inner.delete(p)
    }
    fn mkdir(&self, p: &Path) -> rusty_leveldb::Result<()> {
        self.inner.mkdir(p)
    }
    fn rmdir(&self, p: &Path) -> rusty_leveldb::Result<()> {
        self.inner.rmdir(p)
    }
    fn rename(&self, a: &Path, b: &Path) -> rusty_leveldb::Result<()> {
        self.inner.rename(a, b)
    }
    fn lock(&self, p: &Path) -> rusty_leveldb::Result<rusty_leveldb::env::FileLock> {
        self.inner.lock(p)
    }
    fn unlock(&self, l: rusty_leveldb::env::FileLock) -> rusty_leveldb::Result<()> {
        self.inner.unlock(l)
    }
    fn new_logger(&self, p: &Path) -> rusty_leveldb::Result<rusty_leveldb::env::Logger> {
        self.inner.new_logger(p)
    }
    fn micros(&self) -> u64 {
        self.inner.micros()
    }
    fn sleep_for(&self, micros: u32) {
        self.inner.sleep_for(micros)
    }
}

fn leveldb_options() -> rusty_leveldb::Options {
    use rusty_leveldb::CompressorId;
    // Upstream opens with default leveldb::Options plus create_if_missing: bytewise
    // comparator, and snappy compression *if* its LevelDB was built with snappy. The
    // real 1.9.0 and 1.8.1 builds we test against were not (their tables hold
    // uncompressed blocks and they fail on snappy blocks with "corrupted compressed block
    // contents"), so we write uncompressed blocks, which every LevelDB build reads;
    // reading still handles snappy blocks from builds that have it. Upstream sets no
    // filter policy, so the bloom filter blocks rusty-leveldb adds are ignored by C++.
    rusty_leveldb::Options {
        create_if_missing: true,
        compressor: rusty_leveldb::compressor::NoneCompressor::ID,
        env: std::rc::Rc::new(Box::new(DurableEnv {
            inner: rusty_leveldb::PosixDiskEnv::new(),
        })),
        ..Default::default()
    }
}

fn ldb_err(e: rusty_leveldb::Status) -> Error {
    Error::LevelDb(e.to_string())
}

fn serve(mut db: rusty_leveldb::DB, commands: mpsc::Receiver<Command>) {
    use rusty_leveldb::LdbIterator;
    for command in commands {
        // A dropped reply receiver only means the caller gave up; keep serving.
        match command {
            Command::Scan(reply) => {
                let result = db.new_iter().map_err(ldb_err).map(|mut iter| {
                    let mut out = Vec::new();
                    iter.seek_to_first();
                    while let Some((k, v)) = iter.current() {
                        out.push((k.to_vec(), v.to_vec()));
                        if !iter.advance() {
                            break;
                        }
                    }
                    out
                });
                let _ = reply.send(result);
            }
            Command::Get(key, reply) => {
                let _ = reply.send(Ok(db.get(&key).map(|v| v.to_vec())));
            }
            Command::Put(key, value, sync, reply) => {
                let mut batch = rusty_leveldb::WriteBatch::default();
                batch.put(&key, &value);
                let _ = reply.send(db.write(batch, sync).map_err(ldb_err));
            }
            Command::Delete(keys, reply) => {
                let mut batch = rusty_leveldb::WriteBatch::default();
                for key in &keys {
                    batch.delete(key);
                }
                let _ = reply.send(db.write(batch, false).map_err(ldb_err));
            }
        }
    }
    if let Err(e) = db.close() {
        tracing::warn!("closing leveldb: {e}");
    }
}

impl LevelDb {
    /// Opens (creating if missing) the database at `path` on its own thread.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let (commands, receiver) = mpsc::channel();
        let (opened_tx, opened_rx) = mpsc::channel();
        let db_path = path.clone();
        let thread = std::thread::Builder::new()
            .name("leveldb".into())
            .spawn(
                move || match rusty_leveldb::DB::open(&db_path, leveldb_options()) {
                    Ok(mut db) => {
                        // Upstream compacts the whole database right after opening it
                        // (LevelDBStorage::restore), which also turns the write-ahead log
                        // into a table; it ignores the outcome, and so do we.
                        if let Err(e) = db.compact_range(b"", b"\xff") {
                            tracing::warn!("compacting {}: {e}", db_path.display());
                        }
                        let _ = opened_tx.send(Ok(()));
                        serve(db, receiver);
                    }
                    Err(e) => {
                        let _ = opened_tx.send(Err(ldb_err(e)));
                    }
                },
            )
            .map_err(|e| Error::LevelDb(format!("spawning the leveldb thread: {e}")))?;
        opened_rx.recv().map_err(|_| Error::Closed)??;
        Ok(Self {
            path,
            commands: Some(commands),
            thread: Some(thread),
        })
    }

    /// Where the database lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T> {
        let (tx, rx) = mpsc::channel();
        self.commands
            .as_ref()
            .ok_or(Error::Closed)?
            .send(make(tx))
            .map_err(|_| Error::Closed)?;
        rx.recv().map_err(|_| Error::Closed)?
    }
}

impl Drop for LevelDb {
    fn drop(&mut self) {
        self.commands.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl KvStore for LevelDb {
    fn scan(&mut self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.call(Command::Scan)
    }

    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let key = key.to_vec();
        self.call(|r| Command::Get(key, r))
    }

    fn put(&mut self, key: &[u8], value: &[u8], sync: bool) -> Result<()> {
        let (key, value) = (key.to_vec(), value.to_vec());
        self.call(|r| Command::Put(key, value, sync, r))
    }

    fn delete_batch(&mut self, keys: Vec<Vec<u8>>) -> Result<()> {
        self.call(|r| Command::Delete(keys, r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_proto::mesos::internal::log::Promise;

    #[test]
    fn keys_are_position_plus_one_zero_padded() {
        assert_eq!(metadata_key(), "0000000000");
        assert_eq!(encode_key(0, true), "0000000001");
        assert_eq!(encode_key(9, true), "0000000010");
        assert_eq!(encode_key(1234567, true), "0001234568");
        assert_eq!(encode_key(2_147_483_646, true), "2147483647");
        // The C int conversion wraps past i32::MAX.
        assert_eq!(encode_key(2_147_483_647, true), "-2147483648");
        assert_eq!(encode_key((1 << 32) + 4, true), "0000000005");
        // Bytewise order matches numeric order in the range that matters.
        assert!(encode_key(1, true) < encode_key(2, true));
        assert!(encode_key(9, true) < encode_key(10, true));
        assert!(metadata_key() < encode_key(0, true));
    }

    fn append(position: u64, learned: bool, data: &[u8]) -> Action {
        Action {
            position,
            promised: 1,
            performed: Some(1),
            learned: learned.then_some(true),
            r#type: Some(action::Type::Append as i32),
            append: Some(action::Append {
                bytes: bytes::Bytes::copy_from_slice(data),
                cksum: None,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn records_round_trip_and_restore() {
        let kv = MemKv::new();
        let mut storage = RecordStorage::new(kv.clone());
        let metadata = Metadata {
            status: metadata::Status::Voting as i32,
            promised: 7,
        };
        storage.persist_metadata(&metadata).unwrap();
        storage.persist_action(&append(0, true, b"a")).unwrap();
        storage.persist_action(&append(1, false, b"b")).unwrap();
        storage.persist_action(&append(3, true, b"d")).unwrap();

        assert_eq!(storage.read(1).unwrap(), append(1, false, b"b"));
        assert!(storage.read(2).is_err());

        let state = RecordStorage::new(kv.clone()).restore().unwrap();
        assert_eq!(state.metadata, metadata);
        assert_eq!((state.begin, state.end), (0, 3));
        assert_eq!(state.learned.positions().collect::<Vec<_>>(), vec![0, 3]);
        assert_eq!(state.unlearned.positions().collect::<Vec<_>>(), vec![1]);

        // The stored bytes are exactly a serialized Record under the padded key.
        let raw = kv.clone().get(b"0000000004").unwrap().unwrap();
        let record = Record::decode(raw.as_slice()).unwrap();
        assert_eq!(record.r#type, record::Type::Action as i32);
        assert_eq!(record.action.unwrap(), append(3, true, b"d"));
    }

    #[test]
    fn learned_truncate_deletes_earlier_positions() {
        let kv = MemKv::new();
        let mut storage = RecordStorage::new(kv.clone());
        for p in 0..5 {
            storage.persist_action(&append(p, true, b"x")).unwrap();
        }
        let truncate = Action {
            position: 5,
            promised: 1,
            performed: Some(1),
            learned: Some(true),
            r#type: Some(action::Type::Truncate as i32),
            truncate: Some(action::Truncate { to: 3 }),
            ..Default::default()
        };
        storage.persist_action(&truncate).unwrap();
        let keys: Vec<String> = kv
            .keys()
            .into_iter()
            .map(|k| String::from_utf8(k).unwrap())
            .collect();
        assert_eq!(keys, vec!["0000000004", "0000000005", "0000000006"]);
        let state = RecordStorage::new(kv).restore().unwrap();
        assert_eq!((state.begin, state.end), (3, 5));
    }

    #[test]
    fn deprecated_promise_record_means_voting() {
        let mut kv = MemKv::new();
        let record = Record {
            r#type: record::Type::Promise as i32,
            promise: Some(Promise { proposal: 4 }),
            ..Default::default()
        };
        kv.put(b"0000000000", &record.encode_to_vec(), true)
            .unwrap();
        let state = RecordStorage::new(kv).restore().unwrap();
        assert_eq!(state.metadata.status, metadata::Status::Voting as i32);
        assert_eq!(state.metadata.promised, 4);
    }

    #[test]
    fn garbage_values_are_errors_not_panics() {
        let mut kv = MemKv::new();
        kv.put(b"0000000001", b"\xff\xff\xff", true).unwrap();
        assert!(RecordStorage::new(kv).restore().is_err());
    }
}
