//! One replica of the replicated log: the acceptor/learner side of Paxos
//! (`src/log/replica.cpp`).
//!
//! The replica is a plain state machine over a [`Storage`]: each protocol request
//! (`PromiseRequest`, `WriteRequest`, `RecoverRequest`, `LearnedMessage`) is one method
//! that persists what it must and returns the response upstream's `ReplicaProcess`
//! would `reply()` with (`None` where upstream logs an error and does not reply).
//! The single-replica [`crate::log::Log`] calls these methods directly; a
//! `log-replica(N)` actor answering the same messages over libprocess only has to
//! decode, call, and reply.

use mesos_proto::mesos::internal::log::{
    action, metadata, promise_response, write_response, Action, Metadata, PromiseRequest,
    PromiseResponse, RecoverResponse, WriteRequest, WriteResponse,
};

use crate::error::{Error, Result};
use crate::intervals::IntervalSet;
use crate::storage::{action_type, is_learned, is_tombstone, Storage};

/// The replica's status (`Metadata::Status`).
pub type Status = metadata::Status;

/// A replica: cached metadata, `[begin, end]`, holes and unlearned positions, and the
/// storage they are persisted to.
pub struct Replica {
    storage: Box<dyn Storage>,
    metadata: Metadata,
    begin: u64,
    end: u64,
    holes: IntervalSet,
    unlearned: IntervalSet,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("status", &self.status())
            .field("promised", &self.metadata.promised)
            .field("begin", &self.begin)
            .field("end", &self.end)
            .field("holes", &self.holes)
            .field("unlearned", &self.unlearned)
            .finish()
    }
}

impl Replica {
    /// Restores a replica from its storage (`ReplicaProcess::restore`). Upstream exits
    /// the process when this fails; we return the error.
    pub fn open(storage: impl Storage + 'static) -> Result<Self> {
        let mut storage: Box<dyn Storage> = Box::new(storage);
        let state = storage.restore()?;
        // Holes: positions in [begin, end] that are neither learned nor unlearned. A
        // brand new log has begin = end = 0 and position 0 is a hole, which the first
        // elected coordinator fills with a NOP.
        let mut holes = IntervalSet::closed(state.begin, state.end);
        holes.subtract(&state.learned);
        holes.subtract(&state.unlearned);
        tracing::info!(
            "Replica recovered with log positions {} -> {} with {} holes and {} unlearned",
            state.begin,
            state.end,
            holes.intervals(),
            state.unlearned.intervals()
        );
        Ok(Self {
            storage,
            metadata: state.metadata,
            begin: state.begin,
            end: state.end,
            holes,
            unlearned: state.unlearned,
        })
    }

    /// The action at `position`: `None` when nothing is known there (a hole or past
    /// the end), an error for a truncated position or a storage failure.
    pub fn read(&mut self, position: u64) -> Result<Option<Action>> {
        if position < self.begin {
            return Err(Error::BadRange(format!(
                "attempted to read truncated position {position}"
            )));
        }
        if self.end < position || self.holes.contains(position) {
            return Ok(None);
        }
        self.storage.read(position).map(Some)
    }

    /// Every known action in `[from, to]` (holes skipped), as `ReplicaProcess::read`.
    pub fn read_range(&mut self, from: u64, to: u64) -> Result<Vec<Action>> {
        if to < from {
            return Err(Error::BadRange("to < from".into()));
        }
        if from < self.begin {
            return Err(Error::BadRange("truncated position".into()));
        }
        if self.end < to {
            return Err(Error::BadRange("past end of log".into()));
        }
        let mut actions = Vec::new();
        for position in from..=to {
            if let Some(action) = self.read(position)? {
                actions.push(action);
            }
        }
        Ok(actions)
    }

    /// Whether `position` is unlearned or unknown (truncated positions count as learned).
    pub fn missing(&self, position: u64) -> bool {
        if position < self.begin {
            false
        } else if position > self.end {
            true
        } else {
            self.unlearned.contains(position) || self.holes.contains(position)
        }
    }

    /// The missing positions within `[from, to]`.
    pub fn missing_range(&self, from: u64, to: u64) -> IntervalSet {
        if from > to {
            return IntervalSet::new();
        }
        let mut positions = self.unlearned.clone();
        positions.union_with(&self.holes);
        if to > self.end {
            positions.insert_range(self.end + 1, to);
        }
        positions.intersect_range(from, to);
        positions
    }

    /// Beginning position of the log (after learned truncations).
    pub fn beginning(&self) -> u64 {
        self.begin
    }

    /// Last written position.
    pub fn ending(&self) -> u64 {
        self.end
    }

    /// Current status.
    pub fn status(&self) -> Status {
        Status::try_from(self.metadata.status).unwrap_or(Status::Empty)
    }

    /// Highest implicit promise given.
    pub fn promised(&self) -> u64 {
        self.metadata.promised
    }

    /// Persists a new status (`ReplicaProcess::update`).
    pub fn update(&mut self, status: Status) -> Result<()> {
        let metadata = Metadata {
            status: status as i32,
            promised: self.promised(),
        };
        self.storage.persist_metadata(&metadata)?;
        tracing::info!("Persisted replica status to {}", status.as_str_name());
        self.metadata.status = status as i32;
        Ok(())
    }

    fn update_promised(&mut self, promised: u64) -> Result<()> {
        let metadata = Metadata {
            status: self.metadata.status,
            promised,
        };
        self.storage.persist_metadata(&metadata)?;
        tracing::info!("Persisted promised to {promised}");
        self.metadata.promised = promised;
        Ok(())
    }

    /// Handles a `PromiseRequest` (`ReplicaProcess::promise`): with a position it is an
    /// explicit promise for that position, without one an implicit promise for every
    /// position past the end.
    pub fn promise(&mut self, request: &PromiseRequest) -> Option<PromiseResponse> {
        use promise_response::Type;
        let respond = |r#type: Type, proposal: u64| PromiseResponse {
            okay: r#type == Type::Accept,
            r#type: Some(r#type as i32),
            proposal,
            position: None,
            action: None,
        };

        // Not a voting member yet: say so, so the proposer can retry promptly.
        if self.status() != Status::Voting {
            tracing::info!(
                "Replica ignoring promise request as it is in {} status",
                self.status().as_str_name()
            );
            return Some(respond(Type::Ignored, request.proposal));
        }

        let Some(position) = request.position else {
            // Implicit promise: only once per proposal number.
            if request.proposal <= self.promised() {
                return Some(respond(Type::Reject, self.promised()));
            }
            if let Err(e) = self.update_promised(request.proposal) {
                tracing::error!("Error writing to log: {e}");
                return None;
            }
            let mut response = respond(Type::Accept, request.proposal);
            response.position = Some(self.end);
            return Some(response);
        };

        // A truncated position: answer with a learned tombstone NOP so the proposer
        // learns it instead of running a round this replica would never accept.
        if position < self.begin {
            let mut response = respond(Type::Accept, request.proposal);
            response.action = Some(Action {
                position,
                promised: self.promised(),
                performed: Some(self.promised()),
                learned: Some(true),
                r#type: Some(action::Type::Nop as i32),
                nop: Some(action::Nop {
                    tombstone: Some(true),
                }),
                ..Default::default()
            });
            return Some(response);
        }

        match self.read(position) {
            Err(e) => {
                tracing::error!("Error getting log record at {position}: {e}");
                None
            }
            Ok(None) => {
                // The position is implicitly promised already: never promise it to an
                // equal or lower proposal, or two proposers could both win it.
                if request.proposal <= self.promised() {
                    return Some(respond(Type::Reject, self.promised()));
                }
                let action = Action {
                    position,
                    promised: request.proposal,
                    ..Default::default()
                };
                if !self.persist(&action) {
                    return None;
                }
                let mut response = respond(Type::Accept, request.proposal);
                response.position = Some(position);
                Some(response)
            }
            Ok(Some(mut action)) => {
                if request.proposal <= action.promised {
                    return Some(respond(Type::Reject, action.promised));
                }
                let original = action.clone();
                action.promised = request.proposal;
                if !self.persist(&action) {
                    return None;
                }
                let mut response = respond(Type::Accept, request.proposal);
                response.action = Some(original);
                Some(response)
            }
        }
    }

    /// Handles a `WriteRequest` (`ReplicaProcess::write`).
    pub fn write(&mut self, request: &WriteRequest) -> Option<WriteResponse> {
        use write_response::Type;
        let respond = |r#type: Type, proposal: u64| WriteResponse {
            okay: r#type == Type::Accept,
            r#type: Some(r#type as i32),
            proposal,
            position: request.position,
        };

        if self.status() != Status::Voting {
            tracing::info!(
                "Replica ignoring write request as it is in {} status",
                self.status().as_str_name()
            );
            return Some(respond(Type::Ignored, request.proposal));
        }

        let existing = match self.read(request.position) {
            Err(e) => {
                tracing::error!("Error getting log record at {}: {e}", request.position);
                return None;
            }
            Ok(existing) => existing,
        };
        let promised = existing
            .as_ref()
            .map_or(self.promised(), |action| action.promised);
        if request.proposal < promised {
            return Some(respond(Type::Reject, promised));
        }
        let mut action = match existing {
            // A learned position is never overwritten: the learned message can arrive
            // before the write request (MESOS-1271). Upstream does not reply then.
            Some(action) if is_learned(&action) => return None,
            Some(action) => Action {
                position: action.position,
                promised: action.promised,
                ..Default::default()
            },
            None => Action {
                position: request.position,
                promised: self.promised(),
                ..Default::default()
            },
        };
        action.performed = Some(request.proposal);
        action.learned = request.learned;
        action.r#type = Some(request.r#type);
        match action::Type::try_from(request.r#type) {
            Ok(action::Type::Nop) if request.nop.is_some() => {
                action.nop = Some(action::Nop::default());
            }
            Ok(action::Type::Append) if request.append.is_some() => {
                action.append = request.append.clone();
            }
            Ok(action::Type::Truncate) if request.truncate.is_some() => {
                action.truncate = request.truncate;
            }
            _ => {
                // Upstream CHECK-fails here; a peer's malformed request is dropped.
                tracing::warn!(
                    "Dropping write request for position {} with type {} and no matching body",
                    request.position,
                    request.r#type
                );
                return None;
            }
        }
        if !self.persist(&action) {
            return None;
        }
        Some(respond(Type::Accept, request.proposal))
    }

    /// Handles a `RecoverRequest` (`ReplicaProcess::recover`).
    pub fn recover(&self) -> RecoverResponse {
        let voting = self.status() == Status::Voting;
        RecoverResponse {
            status: self.status() as i32,
            begin: voting.then_some(self.begin),
            end: voting.then_some(self.end),
        }
    }

    /// Handles a `LearnedMessage` (`ReplicaProcess::learned`).
    pub fn learned(&mut self, action: &Action) -> Result<()> {
        if !is_learned(action) {
            // Upstream CHECK-fails; a peer's bad message is dropped.
            tracing::warn!(
                "Dropping learned notice for position {} that is not learned",
                action.position
            );
            return Ok(());
        }
        self.persist_or_err(action)
    }

    fn persist(&mut self, action: &Action) -> bool {
        match self.persist_or_err(action) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!("Error writing to log: {e}");
                false
            }
        }
    }

    /// Persists an action and updates holes, unlearned positions, begin and end
    /// (`ReplicaProcess::persist`).
    fn persist_or_err(&mut self, action: &Action) -> Result<()> {
        self.storage.persist_action(action)?;
        let position = action.position;
        self.holes.remove(position);
        if is_learned(action) {
            self.unlearned.remove(position);
            let truncated_to = if action_type(action) == Some(action::Type::Truncate) {
                action.truncate.as_ref().map(|t| t.to)
            } else if is_tombstone(action) {
                Some(position)
            } else {
                None
            };
            if let Some(to) = truncated_to {
                // Truncated positions are neither holes nor unlearned any more, so no
                // coordinator tries to fill them. Upstream removes the open interval
                // (0, to), which leaves position 0 alone; the begin bump makes that moot.
                if to > 1 {
                    self.holes.remove_range(1, to - 1);
                    self.unlearned.remove_range(1, to - 1);
                }
                let new_begin = if is_tombstone(action) {
                    to.saturating_add(1)
                } else {
                    to
                };
                self.begin = self.begin.max(new_begin);
            }
        } else {
            self.unlearned.insert(position);
        }
        if position > self.end {
            self.holes.insert_range(self.end + 1, position - 1);
        }
        self.end = self.end.max(position);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{MemKv, RecordStorage};

    fn voting(kv: &MemKv) -> Replica {
        let mut replica = Replica::open(RecordStorage::new(kv.clone())).unwrap();
        replica.update(Status::Voting).unwrap();
        replica
    }

    fn write_append(proposal: u64, position: u64, data: &str) -> WriteRequest {
        WriteRequest {
            proposal,
            position,
            learned: None,
            r#type: action::Type::Append as i32,
            append: Some(action::Append {
                bytes: bytes::Bytes::copy_from_slice(data.as_bytes()),
                cksum: None,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn fresh_replica_is_empty_with_a_hole_at_zero() {
        let replica = Replica::open(RecordStorage::new(MemKv::new())).unwrap();
        assert_eq!(replica.status(), Status::Empty);
        assert!(replica.missing(0));
        assert_eq!(
            replica.missing_range(0, 0).positions().collect::<Vec<_>>(),
            vec![0]
        );
    }

    #[test]
    fn non_voting_replica_ignores_promises_and_writes() {
        let mut replica = Replica::open(RecordStorage::new(MemKv::new())).unwrap();
        let response = replica
            .promise(&PromiseRequest {
                proposal: 1,
                position: None,
            })
            .unwrap();
        assert_eq!(
            response.r#type,
            Some(promise_response::Type::Ignored as i32)
        );
        let response = replica.write(&write_append(1, 0, "x")).unwrap();
        assert_eq!(response.r#type, Some(write_response::Type::Ignored as i32));
    }

    #[test]
    fn implicit_promise_only_once_per_proposal() {
        let mut replica = voting(&MemKv::new());
        let req = PromiseRequest {
            proposal: 3,
            position: None,
        };
        let accept = replica.promise(&req).unwrap();
        assert!(accept.okay);
        assert_eq!(accept.position, Some(0));
        let reject = replica.promise(&req).unwrap();
        assert_eq!(reject.r#type, Some(promise_response::Type::Reject as i32));
        assert_eq!(reject.proposal, 3);
    }

    #[test]
    fn write_below_promise_is_rejected_and_learned_is_never_overwritten() {
        let kv = MemKv::new();
        let mut replica = voting(&kv);
        replica
            .promise(&PromiseRequest {
                proposal: 5,
                position: None,
            })
            .unwrap();
        let reject = replica.write(&write_append(4, 1, "old")).unwrap();
        assert!(!reject.okay);
        assert_eq!(reject.proposal, 5);

        let accept = replica.write(&write_append(5, 1, "new")).unwrap();
        assert!(accept.okay);
        assert!(replica.missing(1), "written but not learned yet");
        assert!(replica.missing(0), "position 0 is a hole");

        let mut learned = replica.read(1).unwrap().unwrap();
        learned.learned = Some(true);
        replica.learned(&learned).unwrap();
        assert!(!replica.missing(1));
        assert!(replica.write(&write_append(9, 1, "other")).is_none());
        assert_eq!(
            replica.read(1).unwrap().unwrap().append.unwrap().bytes,
            "new".as_bytes()
        );

        // Everything survives a restart.
        let mut again = Replica::open(RecordStorage::new(kv)).unwrap();
        assert_eq!(again.status(), Status::Voting);
        assert_eq!(again.promised(), 5);
        assert!(!again.missing(1));
        assert!(again.missing(0));
        assert_eq!(again.read_range(0, 1).unwrap().len(), 1);
    }

    #[test]
    fn explicit_promise_on_truncated_position_is_a_learned_tombstone() {
        let mut replica = voting(&MemKv::new());
        let truncate = Action {
            position: 4,
            promised: 1,
            performed: Some(1),
            learned: Some(true),
            r#type: Some(action::Type::Truncate as i32),
            truncate: Some(action::Truncate { to: 3 }),
            ..Default::default()
        };
        replica.learned(&truncate).unwrap();
        assert_eq!(replica.beginning(), 3);
        let response = replica
            .promise(&PromiseRequest {
                proposal: 9,
                position: Some(1),
            })
            .unwrap();
        let action = response.action.unwrap();
        assert!(is_tombstone(&action) && is_learned(&action));
        assert!(replica.read(1).is_err());
        assert!(!replica.missing(2));
        assert!(replica.missing(3), "position 3 is still a hole");
    }

    #[test]
    fn malformed_peer_messages_are_dropped_not_fatal() {
        let mut replica = voting(&MemKv::new());
        // An APPEND without its body (upstream CHECK-fails): no reply, nothing stored.
        let mut request = write_append(1, 0, "x");
        request.append = None;
        assert!(replica.write(&request).is_none());
        assert!(replica.missing(0));
        // A learned notice that is not learned is ignored.
        let unlearned = Action {
            position: 3,
            promised: 1,
            ..Default::default()
        };
        replica.learned(&unlearned).unwrap();
        assert_eq!(replica.ending(), 0);
        // Extreme positions do not overflow.
        let tombstone = Action {
            position: u64::MAX,
            promised: 1,
            performed: Some(1),
            learned: Some(true),
            r#type: Some(action::Type::Nop as i32),
            nop: Some(action::Nop {
                tombstone: Some(true),
            }),
            ..Default::default()
        };
        replica.learned(&tombstone).unwrap();
        assert_eq!(replica.beginning(), u64::MAX);
    }
}
