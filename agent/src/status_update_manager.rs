//! The task status update manager, as upstream's
//! `src/slave/task_status_update_manager.cpp` and the generic stream logic of
//! `src/status_update_manager/status_update_manager_process.hpp`:
//!
//! - one stream per (framework, task); updates are checkpointed to
//!   `task.updates` (`StatusUpdateRecord` UPDATE) before they are forwarded;
//! - only the head of a stream is in flight; it is re-sent with exponential
//!   backoff from 10 s up to 10 min until the master acknowledges it;
//! - an acknowledgement must name the head's uuid; it is checkpointed (ACK
//!   record), pops the head and releases the next update; acknowledging a
//!   terminal update ends the stream;
//! - duplicates (already received or acknowledged uuids) are ignored;
//! - while the agent is disconnected the manager is paused: nothing is sent,
//!   and `resume` re-sends every stream's head.
//!
//! The manager is pure state plus file appends: it returns what to forward
//! and the agent actor sends it and arms the retry timers, so the simulator
//! drives it exactly.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use mesos_proto::mesos::internal::{status_update_record, StatusUpdate, StatusUpdateRecord};
use mesos_proto::mesos::TaskState;

use crate::checkpoint;
use crate::Error;

/// `STATUS_UPDATE_RETRY_INTERVAL_MIN` (src/slave/constants.hpp).
pub const RETRY_INTERVAL_MIN: Duration = Duration::from_secs(10);
/// `STATUS_UPDATE_RETRY_INTERVAL_MAX` (src/slave/constants.hpp).
pub const RETRY_INTERVAL_MAX: Duration = Duration::from_secs(600);

/// (framework id, task id).
pub type StreamKey = (String, String);

/// Whether a task state is terminal (`protobuf::isTerminalState`).
pub fn is_terminal(state: TaskState) -> bool {
    matches!(
        state,
        TaskState::TaskFinished
            | TaskState::TaskFailed
            | TaskState::TaskKilled
            | TaskState::TaskLost
            | TaskState::TaskError
            | TaskState::TaskDropped
            | TaskState::TaskGone
            | TaskState::TaskGoneByOperator
    )
}

/// An update to send to the master now, with the retry timer to arm.
#[derive(Clone, Debug, PartialEq)]
pub struct Forward {
    pub key: StreamKey,
    pub update: StatusUpdate,
    /// Identifies the timer; a timeout with an older generation is stale.
    pub generation: u64,
    pub retry_in: Duration,
}

/// What an acknowledgement did.
#[derive(Clone, Debug, PartialEq)]
pub struct Acked {
    /// `false` once a terminal update was acknowledged (upstream's future
    /// value: the stream is finished).
    pub stream_active: bool,
    /// The next pending update, to forward now.
    pub next: Option<Forward>,
}

#[derive(Debug, Default)]
struct Stream {
    path: Option<PathBuf>,
    received: BTreeSet<Bytes>,
    acknowledged: BTreeSet<Bytes>,
    pending: VecDeque<StatusUpdate>,
    terminated: bool,
    generation: u64,
    backoff: Duration,
}

/// What a checkpointed stream replays to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecoveredStream {
    /// Every update, in order.
    pub updates: Vec<StatusUpdate>,
    /// Acknowledged uuids.
    pub acks: Vec<Bytes>,
    /// A terminal update was acknowledged.
    pub terminated: bool,
}

/// Replays `task.updates` records (UPDATE and ACK) into a stream state.
pub fn replay(records: &[StatusUpdateRecord]) -> RecoveredStream {
    let mut out = RecoveredStream::default();
    let mut pending: VecDeque<StatusUpdate> = VecDeque::new();
    for r in records {
        match r.r#type() {
            status_update_record::Type::Update => {
                if let Some(u) = &r.update {
                    out.updates.push(u.clone());
                    pending.push_back(u.clone());
                }
            }
            status_update_record::Type::Ack => {
                if let Some(uuid) = &r.uuid {
                    out.acks.push(uuid.clone());
                    if let Some(head) = pending.pop_front() {
                        if is_terminal(head.status.state()) {
                            out.terminated = true;
                        }
                    }
                }
            }
        }
    }
    out
}

/// The task status update manager.
#[derive(Debug, Default)]
pub struct TaskStatusUpdateManager {
    streams: BTreeMap<StreamKey, Stream>,
    paused: bool,
}

fn uuid_of(u: &StatusUpdate) -> Option<Bytes> {
    u.uuid.clone()
}

impl TaskStatusUpdateManager {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn paused(&self) -> bool {
        self.paused
    }

    /// Number of live streams.
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// Unacknowledged updates of a task, head first.
    pub fn pending(&self, framework_id: &str, task_id: &str) -> Vec<StatusUpdate> {
        self.streams
            .get(&(framework_id.to_string(), task_id.to_string()))
            .map(|s| s.pending.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether the update's uuid was already received on its stream.
    pub fn knows(&self, update: &StatusUpdate) -> bool {
        let key = key_of(update);
        match (self.streams.get(&key), update.uuid.as_ref()) {
            (Some(s), Some(u)) => s.received.contains(u) || s.acknowledged.contains(u),
            _ => false,
        }
    }

    fn forward_head(&mut self, key: &StreamKey) -> Option<Forward> {
        if self.paused {
            return None;
        }
        let s = self.streams.get_mut(key)?;
        let head = s.pending.front()?.clone();
        s.generation += 1;
        s.backoff = RETRY_INTERVAL_MIN;
        Some(Forward {
            key: key.clone(),
            update: head,
            generation: s.generation,
            retry_in: RETRY_INTERVAL_MIN,
        })
    }

    /// Handles a new update (`TaskStatusUpdateManager::update`). `path` is
    /// the `task.updates` file for checkpointing frameworks. Returns the
    /// update to forward now, if it became the stream's head.
    pub fn update(
        &mut self,
        update: StatusUpdate,
        path: Option<PathBuf>,
    ) -> Result<Option<Forward>, Error> {
        let uuid = uuid_of(&update)
            .ok_or_else(|| Error::StatusUpdate("status update is missing 'uuid'".into()))?;
        let key = key_of(&update);
        let s = self.streams.entry(key.clone()).or_insert_with(|| Stream {
            path: path.clone(),
            ..Default::default()
        });
        if s.acknowledged.contains(&uuid) || s.received.contains(&uuid) {
            tracing::warn!(
                "Ignoring duplicate status update {} for task {}",
                uuid_string(&uuid),
                key.1
            );
            return Ok(None);
        }
        if let Some(p) = &s.path {
            let record = StatusUpdateRecord {
                r#type: status_update_record::Type::Update as i32,
                update: Some(update.clone()),
                uuid: None,
            };
            checkpoint::append_message(p, &record)?;
        }
        s.received.insert(uuid);
        s.pending.push_back(update);
        if s.pending.len() == 1 {
            return Ok(self.forward_head(&key));
        }
        Ok(None)
    }

    /// Handles the master's acknowledgement of `uuid`
    /// (`TaskStatusUpdateManager::acknowledgement`).
    pub fn acknowledgement(
        &mut self,
        framework_id: &str,
        task_id: &str,
        uuid: &Bytes,
    ) -> Result<Acked, Error> {
        let key = (framework_id.to_string(), task_id.to_string());
        let s = self.streams.get_mut(&key).ok_or_else(|| {
            Error::StatusUpdate(format!(
                "cannot find the status update stream for task {task_id}"
            ))
        })?;
        if s.acknowledged.contains(uuid) {
            return Err(Error::StatusUpdate(
                "Duplicate status update acknowledgement".into(),
            ));
        }
        let head = s.pending.front().ok_or_else(|| {
            Error::StatusUpdate(format!(
                "Unexpected acknowledgement (UUID: {}) for task {task_id}",
                uuid_string(uuid)
            ))
        })?;
        if head.uuid.as_ref() != Some(uuid) {
            return Err(Error::StatusUpdate(format!(
                "Unexpected status update acknowledgement (received {}, expecting {}) for task {task_id}",
                uuid_string(uuid),
                head.uuid.as_ref().map(uuid_string).unwrap_or_default()
            )));
        }
        if let Some(p) = &s.path {
            let record = StatusUpdateRecord {
                r#type: status_update_record::Type::Ack as i32,
                update: None,
                uuid: Some(uuid.clone()),
            };
            checkpoint::append_message(p, &record)?;
        }
        let head = s.pending.pop_front().expect("head checked above");
        s.acknowledged.insert(uuid.clone());
        s.generation += 1; // Cancels the pending retry.
        if is_terminal(head.status.state()) {
            s.terminated = true;
        }
        if s.terminated {
            if !s.pending.is_empty() {
                tracing::warn!(
                    "Acknowledged a terminal status update for task {task_id} but updates are still pending"
                );
            }
            self.streams.remove(&key);
            return Ok(Acked {
                stream_active: false,
                next: None,
            });
        }
        Ok(Acked {
            stream_active: true,
            next: self.forward_head(&key),
        })
    }

    /// A retry timer fired: re-send the head with doubled backoff if the
    /// timer is still current.
    pub fn timeout(&mut self, key: &StreamKey, generation: u64) -> Option<Forward> {
        if self.paused {
            return None;
        }
        let s = self.streams.get_mut(key)?;
        if s.generation != generation {
            return None;
        }
        let head = s.pending.front()?.clone();
        s.backoff = (s.backoff * 2).min(RETRY_INTERVAL_MAX);
        s.generation += 1;
        Some(Forward {
            key: key.clone(),
            update: head,
            generation: s.generation,
            retry_in: s.backoff,
        })
    }

    /// Stops forwarding (agent disconnected from the master).
    pub fn pause(&mut self) {
        self.paused = true;
    }

    /// Resumes and re-sends every stream's head.
    pub fn resume(&mut self) -> Vec<Forward> {
        self.paused = false;
        let keys: Vec<StreamKey> = self.streams.keys().cloned().collect();
        keys.iter().filter_map(|k| self.forward_head(k)).collect()
    }

    /// Rebuilds a stream from its checkpointed records (agent recovery).
    /// Returns the replayed state; a terminated stream is not kept.
    pub fn recover(
        &mut self,
        framework_id: &str,
        task_id: &str,
        records: &[StatusUpdateRecord],
        path: PathBuf,
    ) -> RecoveredStream {
        let replayed = replay(records);
        if replayed.terminated {
            return replayed;
        }
        let mut s = Stream {
            path: Some(path),
            ..Default::default()
        };
        let mut pending: VecDeque<StatusUpdate> = VecDeque::new();
        for r in records {
            match r.r#type() {
                status_update_record::Type::Update => {
                    if let Some(u) = &r.update {
                        if let Some(uuid) = &u.uuid {
                            s.received.insert(uuid.clone());
                        }
                        pending.push_back(u.clone());
                    }
                }
                status_update_record::Type::Ack => {
                    if let Some(uuid) = &r.uuid {
                        s.acknowledged.insert(uuid.clone());
                        pending.pop_front();
                    }
                }
            }
        }
        s.pending = pending;
        self.streams
            .insert((framework_id.to_string(), task_id.to_string()), s);
        replayed
    }

    /// Drops every stream of a framework (`cleanup(frameworkId)`).
    pub fn cleanup(&mut self, framework_id: &str) {
        self.streams.retain(|(f, _), _| f != framework_id);
    }
}

fn key_of(update: &StatusUpdate) -> StreamKey {
    (
        update.framework_id.value.clone(),
        update.status.task_id.value.clone(),
    )
}

/// A uuid's text form (for logs), or hex if it is not 16 bytes.
pub fn uuid_string(b: &Bytes) -> String {
    match uuid::Uuid::from_slice(b) {
        Ok(u) => u.to_string(),
        Err(_) => b.iter().map(|x| format!("{x:02x}")).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_proto::mesos::{FrameworkId, TaskId, TaskStatus};

    fn upd(task: &str, state: TaskState, n: u8) -> StatusUpdate {
        let uuid = Bytes::from(vec![n; 16]);
        let mut status = TaskStatus {
            task_id: TaskId { value: task.into() },
            uuid: Some(uuid.clone()),
            ..Default::default()
        };
        status.set_state(state);
        StatusUpdate {
            framework_id: FrameworkId { value: "F".into() },
            status,
            timestamp: 1.0,
            uuid: Some(uuid),
            ..Default::default()
        }
    }

    #[test]
    fn one_in_flight_per_task_and_acks_release_the_next() {
        let mut m = TaskStatusUpdateManager::new();
        let a = upd("t", TaskState::TaskRunning, 1);
        let b = upd("t", TaskState::TaskFinished, 2);
        let f = m
            .update(a.clone(), None)
            .unwrap()
            .expect("head is forwarded");
        assert_eq!(f.update, a);
        assert_eq!(f.retry_in, RETRY_INTERVAL_MIN);
        assert_eq!(m.update(b.clone(), None).unwrap(), None, "b waits behind a");
        // An ack for b (not the head) is rejected.
        assert!(m
            .acknowledgement("F", "t", b.uuid.as_ref().unwrap())
            .is_err());
        let acked = m
            .acknowledgement("F", "t", a.uuid.as_ref().unwrap())
            .unwrap();
        assert!(acked.stream_active);
        assert_eq!(acked.next.unwrap().update, b);
        // Duplicate ack of a.
        assert!(m
            .acknowledgement("F", "t", a.uuid.as_ref().unwrap())
            .is_err());
        let done = m
            .acknowledgement("F", "t", b.uuid.as_ref().unwrap())
            .unwrap();
        assert!(!done.stream_active);
        assert!(m.is_empty());
    }

    #[test]
    fn duplicates_are_ignored() {
        let mut m = TaskStatusUpdateManager::new();
        let a = upd("t", TaskState::TaskRunning, 1);
        assert!(m.update(a.clone(), None).unwrap().is_some());
        assert_eq!(m.update(a.clone(), None).unwrap(), None);
        assert_eq!(m.pending("F", "t").len(), 1);
        assert!(m.knows(&a));
        let mut no_uuid = a;
        no_uuid.uuid = None;
        assert!(m.update(no_uuid, None).is_err());
    }

    #[test]
    fn retries_back_off_exponentially_up_to_ten_minutes() {
        let mut m = TaskStatusUpdateManager::new();
        let a = upd("t", TaskState::TaskRunning, 1);
        let mut f = m.update(a, None).unwrap().unwrap();
        let mut seen = vec![f.retry_in.as_secs()];
        for _ in 0..8 {
            f = m.timeout(&f.key, f.generation).expect("still pending");
            seen.push(f.retry_in.as_secs());
        }
        assert_eq!(seen, vec![10, 20, 40, 80, 160, 320, 600, 600, 600]);
        // A stale timer does nothing.
        assert!(m.timeout(&f.key, f.generation - 1).is_none());
    }

    #[test]
    fn paused_manager_holds_updates_and_resume_resends_heads() {
        let mut m = TaskStatusUpdateManager::new();
        m.pause();
        assert_eq!(
            m.update(upd("t1", TaskState::TaskRunning, 1), None)
                .unwrap(),
            None
        );
        assert_eq!(
            m.update(upd("t2", TaskState::TaskRunning, 2), None)
                .unwrap(),
            None
        );
        let f = m
            .update(upd("t1", TaskState::TaskFinished, 3), None)
            .unwrap();
        assert_eq!(f, None);
        let resent = m.resume();
        let tasks: Vec<_> = resent.iter().map(|f| f.key.1.as_str()).collect();
        assert_eq!(tasks, vec!["t1", "t2"]);
        assert_eq!(resent[0].update.status.state(), TaskState::TaskRunning);
        // A timeout while paused sends nothing.
        m.pause();
        assert!(m.timeout(&resent[0].key, resent[0].generation).is_none());
    }

    #[test]
    fn checkpointed_stream_recovers_pending_and_terminal_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("task.updates");
        let mut m = TaskStatusUpdateManager::new();
        let a = upd("t", TaskState::TaskRunning, 1);
        let b = upd("t", TaskState::TaskFinished, 2);
        m.update(a.clone(), Some(path.clone())).unwrap();
        m.update(b.clone(), Some(path.clone())).unwrap();
        m.acknowledgement("F", "t", a.uuid.as_ref().unwrap())
            .unwrap();

        let records: Vec<StatusUpdateRecord> = checkpoint::read_messages(&path, true).unwrap();
        assert_eq!(records.len(), 3);
        let mut r = TaskStatusUpdateManager::new();
        r.pause();
        let state = r.recover("F", "t", &records, path.clone());
        assert!(!state.terminated);
        assert_eq!(state.updates.len(), 2);
        assert_eq!(r.pending("F", "t"), vec![b.clone()]);
        assert!(r.knows(&a) && r.knows(&b));
        let resent = r.resume();
        assert_eq!(resent.len(), 1);
        assert_eq!(resent[0].update, b);

        // Acknowledge the terminal update: replay says terminated.
        r.acknowledgement("F", "t", b.uuid.as_ref().unwrap())
            .unwrap();
        let records: Vec<StatusUpdateRecord> = checkpoint::read_messages(&path, true).unwrap();
        let mut r2 = TaskStatusUpdateManager::new();
        assert!(r2.recover("F", "t", &records, path).terminated);
        assert!(r2.is_empty());
    }

    #[test]
    fn cleanup_drops_framework_streams() {
        let mut m = TaskStatusUpdateManager::new();
        m.update(upd("t", TaskState::TaskRunning, 1), None).unwrap();
        m.cleanup("other");
        assert_eq!(m.len(), 1);
        m.cleanup("F");
        assert!(m.is_empty());
    }
}
