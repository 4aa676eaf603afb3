//! The replicated log as the master uses it: recovery, a writer (coordinator) and a
//! reader (`src/log/log.cpp`, `coordinator.cpp`, `recover.cpp`).
//!
//! Upstream spreads this over `LogProcess`, `LogReaderProcess`, `LogWriterProcess`,
//! `CoordinatorProcess` and `RecoverProcess` exchanging futures; here one [`Log`] owns
//! the [`LocalNetwork`] and runs each step to completion. For the master without
//! ZooKeeper (quorum 1, one replica under `<work_dir>/replicated_log`) every step is
//! local and synchronous, and what lands on disk is byte-for-byte what upstream writes.

use std::path::Path;

use bytes::Bytes;
use mesos_proto::mesos::internal::log::{action, write_response, Action};

use crate::consensus;
use crate::error::{Error, Result};
use crate::network::LocalNetwork;
use crate::replica::{Replica, Status};
use crate::storage::{action_type, is_learned, LevelDbStorage};

/// How many times recovery re-runs the recover protocol before giving up (upstream
/// retries forever every 0.5-1 s; with a fixed in-process network nothing changes
/// between rounds, so a couple of rounds are enough to pass EMPTY -> STARTING -> VOTING).
const MAX_RECOVER_ROUNDS: usize = 8;

/// One appended entry as the reader returns it (`Log::Entry`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Its position in the log.
    pub position: u64,
    /// The appended bytes.
    pub data: Bytes,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CoordinatorState {
    Initial,
    Elected,
}

/// The proposer (`CoordinatorProcess`): elected once, then appends and truncates at
/// consecutive positions.
#[derive(Debug)]
struct Coordinator {
    state: CoordinatorState,
    /// The proposal number this coordinator uses.
    proposal: u64,
    /// The next position to write.
    index: u64,
}

impl Coordinator {
    fn new() -> Self {
        Self {
            state: CoordinatorState::Initial,
            proposal: 0,
            index: 0,
        }
    }

    /// `CoordinatorProcess::elect`: implicit promise with a proposal above anything the
    /// local replica promised, then fill every missing position up to the end.
    /// Returns the last position (`None` when another proposer holds a higher proposal
    /// or the replicas are not voting; the caller may retry).
    fn elect(&mut self, quorum: usize, network: &mut LocalNetwork) -> Result<Option<u64>> {
        if self.state == CoordinatorState::Elected {
            return Ok(Some(self.index - 1));
        }
        self.proposal = self.proposal.max(network.local_ref().promised()) + 1;
        let response = consensus::promise(quorum, network, self.proposal, None)?;
        if !response.okay {
            if response.r#type
                != Some(mesos_proto::mesos::internal::log::promise_response::Type::Ignored as i32)
            {
                self.proposal = self.proposal.max(response.proposal);
            }
            return Ok(None);
        }
        let end = response.position.unwrap_or(0);
        let missing = network.local_ref().missing_range(0, end);
        tracing::info!("Coordinator attempting to fill missing positions");
        consensus::catchup(quorum, network, self.proposal + 1, &missing)?;
        self.index = end
            .checked_add(1)
            .ok_or_else(|| Error::NotElected("end position out of range".into()))?;
        self.state = CoordinatorState::Elected;
        Ok(Some(end))
    }

    /// `CoordinatorProcess::write`: write phase, then learn phase, at `index`.
    fn write(
        &mut self,
        quorum: usize,
        network: &mut LocalNetwork,
        mut action: Action,
    ) -> Result<Option<u64>> {
        if self.state != CoordinatorState::Elected {
            return Ok(None);
        }
        action.position = self.index;
        action.promised = self.proposal;
        action.performed = Some(self.proposal);
        tracing::debug!(
            "Coordinator attempting to write {:?} action at position {}",
            action_type(&action),
            action.position
        );
        let response = match consensus::write(quorum, network, self.proposal, &action) {
            Ok(r) => r,
            Err(e) => {
                self.state = CoordinatorState::Initial;
                return Err(e);
            }
        };
        if !response.okay {
            if response.r#type != Some(write_response::Type::Ignored as i32) {
                self.proposal = self.proposal.max(response.proposal);
            }
            return Ok(None);
        }
        consensus::learn(network, &action);
        if network.local_ref().missing(action.position) {
            // Upstream CHECK-fails: the local replica must have learned what it wrote.
            self.state = CoordinatorState::Initial;
            return Err(Error::NotElected(format!(
                "local replica is missing position {} after the write",
                action.position
            )));
        }
        let position = self.index;
        self.index = self.index.saturating_add(1);
        Ok(Some(position))
    }
}

/// A replicated log: the local replica, its peers, and the writer/reader operations.
#[derive(Debug)]
pub struct Log {
    network: LocalNetwork,
    quorum: usize,
    coordinator: Option<Coordinator>,
    /// Set when a write failed (not merely lost an election), as `LogWriterProcess::error`.
    writer_error: Option<String>,
}

impl Log {
    /// Opens the single-replica log the master uses without ZooKeeper: LevelDB at
    /// `path` (i.e. `<work_dir>/replicated_log`), quorum 1, and recovers it.
    /// `auto_initialize` is `--log_auto_initialize` (default true upstream).
    pub fn open(path: impl AsRef<Path>, auto_initialize: bool) -> Result<Self> {
        let path = path.as_ref();
        std::fs::create_dir_all(path)
            .map_err(|e| Error::LevelDb(format!("creating {}: {e}", path.display())))?;
        let replica = Replica::open(LevelDbStorage::open(path)?)?;
        Self::recover(
            LocalNetwork::single(replica),
            1,
            auto_initialize,
            &path.display().to_string(),
        )
    }

    /// Recovers a log over any network (`log::recover` / `RecoverProcess`): a VOTING
    /// replica is ready; an EMPTY one is initialized when `auto_initialize` and every
    /// replica is EMPTY or STARTING; a RECOVERING one catches up from a quorum of
    /// VOTING replicas.
    pub fn recover(
        mut network: LocalNetwork,
        quorum: usize,
        auto_initialize: bool,
        name: &str,
    ) -> Result<Self> {
        let cluster_size = 2 * quorum - 1;
        for _ in 0..MAX_RECOVER_ROUNDS {
            let status = network.local_ref().status();
            tracing::info!("Replica is in {} status", status.as_str_name());
            if status == Status::Voting {
                return Ok(Self {
                    network,
                    quorum,
                    coordinator: None,
                    writer_error: None,
                });
            }
            // The recover protocol (RecoverProtocolProcess::received).
            let responses = network.recover();
            let count = |s: Status| responses.iter().filter(|r| r.status == s as i32).count();
            let voting: Vec<_> = responses
                .iter()
                .filter(|r| r.status == Status::Voting as i32)
                .collect();
            if voting.len() >= quorum {
                let begin = voting.iter().filter_map(|r| r.begin).min().unwrap_or(0);
                let end = voting.iter().filter_map(|r| r.end).max().unwrap_or(0);
                network.local().update(Status::Recovering)?;
                tracing::info!("Starting catch-up from position {begin} to {end}");
                let positions = crate::intervals::IntervalSet::closed(begin, end);
                consensus::catchup(quorum, &mut network, 0, &positions)?;
                network.local().update(Status::Voting)?;
                tracing::info!("Successfully joined the Paxos group");
                continue;
            }
            match status {
                Status::Empty if !auto_initialize => {
                    if count(Status::Empty) >= cluster_size {
                        tracing::warn!(
                            "Replicated log has not been initialized. Did you forget to \
                             manually initialize the log (i.e., mesos-log initialize \
                             --path=<PATH>)?"
                        );
                    }
                    return Err(Error::NotInitialized(name.to_string()));
                }
                Status::Empty if count(Status::Empty) + count(Status::Starting) >= cluster_size => {
                    network.local().update(Status::Starting)?;
                }
                Status::Starting
                    if count(Status::Starting) + count(Status::Voting) >= cluster_size =>
                {
                    network.local().update(Status::Voting)?;
                    tracing::info!("Successfully joined the Paxos group");
                }
                _ => {
                    return Err(Error::Recovery(format!(
                        "replica is {} and {} of {} replicas answered; a quorum of {quorum} \
                         VOTING replicas is needed",
                        status.as_str_name(),
                        responses.len(),
                        network.len()
                    )))
                }
            }
        }
        Err(Error::Recovery("recovery did not converge".into()))
    }

    /// The network (for tests and tools).
    pub fn network(&mut self) -> &mut LocalNetwork {
        &mut self.network
    }

    /// `Log::Writer::start`: elects a fresh coordinator. Returns the last position in
    /// the log, or `None` when the election lost (retry later).
    pub fn start_writer(&mut self) -> Result<Option<u64>> {
        self.writer_error = None;
        let mut coordinator = Coordinator::new();
        tracing::info!("Attempting to start the writer");
        let elected = coordinator.elect(self.quorum, &mut self.network)?;
        match elected {
            Some(position) => {
                tracing::info!("Writer started with ending position {position}");
                self.coordinator = Some(coordinator);
            }
            None => {
                tracing::info!("Could not start the writer, but can be retried");
                self.coordinator = None;
            }
        }
        Ok(elected)
    }

    fn write(&mut self, action: Action) -> Result<Option<u64>> {
        if let Some(error) = &self.writer_error {
            return Err(Error::NotElected(error.clone()));
        }
        let coordinator = self
            .coordinator
            .as_mut()
            .ok_or_else(|| Error::NotElected("no election has been performed".into()))?;
        let result = coordinator.write(self.quorum, &mut self.network, action);
        match &result {
            Err(e) => self.writer_error = Some(e.to_string()),
            // A lost write demotes nobody upstream; the state layer re-elects.
            Ok(None) => {}
            Ok(Some(_)) => {}
        }
        result
    }

    /// `Log::Writer::append`: appends `data`; its position, or `None` when this writer
    /// lost its leadership (start a new writer and retry).
    pub fn append(&mut self, data: impl Into<Bytes>) -> Result<Option<u64>> {
        self.write(Action {
            r#type: Some(action::Type::Append as i32),
            append: Some(action::Append {
                bytes: data.into(),
                cksum: None,
            }),
            ..Default::default()
        })
    }

    /// `Log::Writer::truncate`: drops every position before `to`.
    pub fn truncate(&mut self, to: u64) -> Result<Option<u64>> {
        self.write(Action {
            r#type: Some(action::Type::Truncate as i32),
            truncate: Some(action::Truncate { to }),
            ..Default::default()
        })
    }

    /// `Log::Reader::beginning`.
    pub fn beginning(&self) -> u64 {
        self.network.local_ref().beginning()
    }

    /// `Log::Reader::ending`.
    pub fn ending(&self) -> u64 {
        self.network.local_ref().ending()
    }

    /// `Log::Reader::read`: the appended entries in `[from, to]`; fails if the range
    /// holds a truncated, unlearned or missing position.
    pub fn read(&mut self, from: u64, to: u64) -> Result<Vec<LogEntry>> {
        let actions = self.network.local().read_range(from, to)?;
        let mut entries = Vec::new();
        for (expected, action) in (from..).zip(actions) {
            if action.performed.is_none() || !is_learned(&action) {
                return Err(Error::BadRange("includes pending entries".into()));
            }
            if action.position != expected {
                return Err(Error::BadRange("includes missing entries".into()));
            }
            if action_type(&action) == Some(action::Type::Append) {
                if let Some(append) = action.append {
                    entries.push(LogEntry {
                        position: action.position,
                        data: append.bytes,
                    });
                }
            }
        }
        Ok(entries)
    }
}

/// `mesos-log initialize --path=<PATH>` (`src/log/tool/initialize.cpp`): marks an
/// EMPTY replica VOTING; any other status is an error.
pub fn initialize(path: impl AsRef<Path>) -> Result<()> {
    let mut replica = Replica::open(LevelDbStorage::open(path)?)?;
    if replica.status() != Status::Empty {
        return Err(Error::Recovery("the replica is not empty".into()));
    }
    replica.update(Status::Voting)
}
