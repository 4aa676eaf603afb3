//! The key-value state the registrar keeps in the log (`src/state/log.cpp`,
//! `include/mesos/state/state.hpp`).
//!
//! Every change is one appended `mesos.internal.state.Operation`: `SNAPSHOT` (the whole
//! `Entry{name, uuid, value}`), `EXPUNGE` (a name), or `DIFF` (an svndiff against the
//! previous value; written only when `diffs_between_snapshots > 0`, which the master
//! never configures). Replaying the log from its beginning rebuilds the latest entry per
//! name; after each store the log is truncated up to the oldest live snapshot.
//! Stores are compare-and-swap on the entry's uuid.

use std::collections::BTreeMap;
use std::path::Path;

use bytes::Bytes;
use mesos_proto::mesos::internal::state::{operation, Entry, Operation};
use prost::Message;

use crate::error::{Error, Result};
use crate::log::{Log, LogEntry};

/// How many times an operation re-elects the writer after losing an election.
/// Upstream retries forever; with quorum 1 only a concurrent writer on the same
/// replica could make us lose, which this process cannot have.
const MAX_ELECTIONS: usize = 8;

#[derive(Clone, Debug)]
struct Snapshot {
    position: u64,
    entry: Entry,
}

/// `LogStorage`: `get`/`set`/`expunge`/`names` over a [`Log`].
#[derive(Debug)]
pub struct LogStorage {
    log: Log,
    /// Whether the writer is elected and the log replayed up to its end.
    started: bool,
    /// The last position applied to `snapshots`.
    index: Option<u64>,
    /// Where the log begins (cached for truncations).
    truncated: Option<u64>,
    snapshots: BTreeMap<String, Snapshot>,
}

impl LogStorage {
    /// State over an already recovered log.
    pub fn new(log: Log) -> Self {
        Self {
            log,
            started: false,
            index: None,
            truncated: None,
            snapshots: BTreeMap::new(),
        }
    }

    /// The underlying log.
    pub fn log(&mut self) -> &mut Log {
        &mut self.log
    }

    /// Elects the writer and replays what it has not applied yet (`LogStorageProcess::start`).
    fn start(&mut self) -> Result<()> {
        if self.started {
            return Ok(());
        }
        for _ in 0..MAX_ELECTIONS {
            let Some(position) = self.log.start_writer()? else {
                tracing::debug!("Writer failed to get elected, retrying");
                continue;
            };
            let from = match self.index {
                Some(index) => index,
                None => {
                    let beginning = self.log.beginning();
                    self.truncated = Some(beginning);
                    beginning
                }
            };
            let entries = self.log.read(from, position)?;
            self.apply(&entries)?;
            self.started = true;
            return Ok(());
        }
        Err(Error::NotElected(format!(
            "writer lost {MAX_ELECTIONS} elections in a row"
        )))
    }

    /// Applies replayed operations in order (`LogStorageProcess::apply`).
    fn apply(&mut self, entries: &[LogEntry]) -> Result<()> {
        for entry in entries {
            if self.index.is_some_and(|index| index >= entry.position) {
                continue;
            }
            let operation =
                Operation::decode(entry.data.as_ref()).map_err(|source| Error::Decode {
                    what: format!("Operation at log position {}", entry.position),
                    source,
                })?;
            match operation::Type::try_from(operation.r#type) {
                Ok(operation::Type::Snapshot) => {
                    let snapshot = operation.snapshot.ok_or_else(|| {
                        Error::Replay(format!("SNAPSHOT without entry at {}", entry.position))
                    })?;
                    self.snapshots.insert(
                        snapshot.entry.name.clone(),
                        Snapshot {
                            position: entry.position,
                            entry: snapshot.entry,
                        },
                    );
                }
                Ok(operation::Type::Diff) => {
                    let diff = operation.diff.ok_or_else(|| {
                        Error::Replay(format!("DIFF without entry at {}", entry.position))
                    })?;
                    let name = diff.entry.name.clone();
                    let snapshot = self.snapshots.get_mut(&name).ok_or_else(|| {
                        Error::Replay(format!("DIFF for '{name}' without a snapshot"))
                    })?;
                    let value = crate::svndiff::apply(&snapshot.entry.value, &diff.entry.value)
                        .map_err(|e| Error::Replay(format!("failed to apply the diff: {e}")))?;
                    // The snapshot keeps its position: the truncation point stays the
                    // full value the diffs apply to.
                    snapshot.entry = Entry {
                        name: diff.entry.name,
                        uuid: diff.entry.uuid,
                        value: Bytes::from(value),
                    };
                }
                Ok(operation::Type::Expunge) => {
                    let expunge = operation.expunge.ok_or_else(|| {
                        Error::Replay(format!("EXPUNGE without name at {}", entry.position))
                    })?;
                    self.snapshots.remove(&expunge.name);
                }
                Err(_) => {
                    return Err(Error::Replay(format!(
                        "unknown operation {} at {}",
                        operation.r#type, entry.position
                    )))
                }
            }
            self.index = Some(entry.position);
        }
        Ok(())
    }

    /// Appends one operation, re-electing once if the writer lost its leadership.
    /// `None` mirrors upstream's "position is none": the caller reports failure.
    fn append(&mut self, operation: &Operation) -> Result<Option<u64>> {
        let bytes = operation.encode_to_vec();
        let position = self.log.append(bytes)?;
        if position.is_none() {
            // Upstream resets 'starting' so the next call re-elects and replays.
            self.started = false;
        }
        Ok(position)
    }

    /// Truncates the log up to the oldest live snapshot (`LogStorageProcess::_truncate`).
    /// Failures are logged and ignored: the next store tries again.
    fn truncate(&mut self) {
        let Some(minimum) = self.snapshots.values().map(|s| s.position).min() else {
            return;
        };
        let truncated = self.truncated.unwrap_or(0);
        if minimum <= truncated {
            return;
        }
        match self.log.truncate(minimum) {
            Ok(Some(position)) => {
                self.truncated = Some(truncated.max(minimum));
                self.index = Some(self.index.map_or(position, |i| i.max(position)));
            }
            Ok(None) => self.started = false,
            Err(e) => tracing::warn!("Failed to truncate the log: {e}"),
        }
    }

    /// The entry stored under `name`, if any (`LogStorage::get`).
    pub fn get(&mut self, name: &str) -> Result<Option<Entry>> {
        self.start()?;
        Ok(self.snapshots.get(name).map(|s| s.entry.clone()))
    }

    /// Stores `entry` if the stored entry's uuid is still `expected_uuid`
    /// (`LogStorage::set`). An absent entry accepts any uuid, as upstream. Returns
    /// whether the store happened.
    pub fn set(&mut self, entry: &Entry, expected_uuid: &[u8]) -> Result<bool> {
        self.start()?;
        if let Some(snapshot) = self.snapshots.get(&entry.name) {
            if snapshot.entry.uuid.as_ref() != expected_uuid {
                return Ok(false);
            }
        }
        let operation = Operation {
            r#type: operation::Type::Snapshot as i32,
            snapshot: Some(operation::Snapshot {
                entry: entry.clone(),
            }),
            ..Default::default()
        };
        let Some(position) = self.append(&operation)? else {
            return Ok(false);
        };
        self.index = Some(self.index.map_or(position, |i| i.max(position)));
        self.snapshots.insert(
            entry.name.clone(),
            Snapshot {
                position,
                entry: entry.clone(),
            },
        );
        self.truncate();
        Ok(true)
    }

    /// Removes `entry` if its uuid still matches the stored one (`LogStorage::expunge`).
    pub fn expunge(&mut self, entry: &Entry) -> Result<bool> {
        self.start()?;
        match self.snapshots.get(&entry.name) {
            Some(snapshot) if snapshot.entry.uuid == entry.uuid => {}
            _ => return Ok(false),
        }
        let operation = Operation {
            r#type: operation::Type::Expunge as i32,
            expunge: Some(operation::Expunge {
                name: entry.name.clone(),
            }),
            ..Default::default()
        };
        if self.append(&operation)?.is_none() {
            return Ok(false);
        }
        self.snapshots.remove(&entry.name);
        self.truncate();
        Ok(true)
    }

    /// Every stored name (`LogStorage::names`).
    pub fn names(&mut self) -> Result<Vec<String>> {
        self.start()?;
        Ok(self.snapshots.keys().cloned().collect())
    }
}

/// A fetched value and the version it was fetched at (`mesos::state::Variable`).
#[derive(Clone, Debug, PartialEq)]
pub struct Variable {
    entry: Entry,
}

impl Variable {
    /// The value.
    pub fn value(&self) -> &Bytes {
        &self.entry.value
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.entry.name
    }

    /// The uuid of the version this variable holds.
    pub fn uuid(&self) -> &Bytes {
        &self.entry.uuid
    }

    /// The same variable (same version) with a new value, to pass to [`State::store`].
    pub fn mutate(&self, value: impl Into<Bytes>) -> Variable {
        let mut entry = self.entry.clone();
        entry.value = value.into();
        Variable { entry }
    }
}

fn random_uuid() -> Bytes {
    Bytes::copy_from_slice(uuid::Uuid::new_v4().as_bytes())
}

/// `mesos::state::State` over a [`LogStorage`]: fetch a variable, store it back
/// compare-and-swap.
#[derive(Debug)]
pub struct State {
    storage: LogStorage,
}

impl State {
    /// State over a log storage.
    pub fn new(storage: LogStorage) -> Self {
        Self { storage }
    }

    /// Opens the master's log at `path` (quorum 1) and wraps it.
    pub fn open(path: impl AsRef<Path>, auto_initialize: bool) -> Result<Self> {
        Ok(Self::new(LogStorage::new(Log::open(
            path,
            auto_initialize,
        )?)))
    }

    /// The storage underneath.
    pub fn storage(&mut self) -> &mut LogStorage {
        &mut self.storage
    }

    /// The variable `name`; a missing one comes back empty with a fresh random uuid
    /// (`State::fetch`).
    pub fn fetch(&mut self, name: &str) -> Result<Variable> {
        let entry = self.storage.get(name)?.unwrap_or_else(|| Entry {
            name: name.to_string(),
            uuid: random_uuid(),
            value: Bytes::new(),
        });
        Ok(Variable { entry })
    }

    /// Stores the variable if nobody stored a newer version since it was fetched;
    /// the stored variable (with a new uuid), or `None` on a version mismatch
    /// (`State::store`).
    pub fn store(&mut self, variable: &Variable) -> Result<Option<Variable>> {
        let entry = Entry {
            name: variable.entry.name.clone(),
            uuid: random_uuid(),
            value: variable.entry.value.clone(),
        };
        if self.storage.set(&entry, &variable.entry.uuid)? {
            Ok(Some(Variable { entry }))
        } else {
            Ok(None)
        }
    }

    /// Removes the variable if it is still the stored version (`State::expunge`).
    pub fn expunge(&mut self, variable: &Variable) -> Result<bool> {
        self.storage.expunge(&variable.entry)
    }

    /// Every stored name.
    pub fn names(&mut self) -> Result<Vec<String>> {
        self.storage.names()
    }
}
