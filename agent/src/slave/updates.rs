//! Status updates: from executors (or the agent itself) through the status
//! update manager to the master, and the master's acknowledgements back
//! (`Slave::statusUpdate`, `_statusUpdate`, `___statusUpdate`, `forward`,
//! `statusUpdateAcknowledgement`, `_statusUpdateAcknowledgement`).

use bytes::Bytes;
use libprocess::{Cx, Upid};
use mesos_proto::mesos::internal as msg;
use mesos_proto::mesos::internal::StatusUpdate;
use mesos_proto::mesos::{task_status, ExecutorId, FrameworkId, TaskId, TaskState, TaskStatus};

use super::{ExecutorState, FrameworkState, Slave, State};
use crate::paths;
use crate::status_update_manager::Forward;

impl Slave {
    /// Builds an update from the agent (`protobuf::createStatusUpdate`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn create_status_update(
        &self,
        cx: &mut Cx<'_, Self>,
        framework_id: &str,
        executor_id: Option<&str>,
        task_id: &str,
        state: TaskState,
        source: task_status::Source,
        reason: Option<task_status::Reason>,
        message: &str,
    ) -> StatusUpdate {
        let uuid = Bytes::copy_from_slice(&super::uuid_bytes(cx));
        let now = cx.wall_secs();
        let mut status = TaskStatus {
            task_id: TaskId {
                value: task_id.to_string(),
            },
            message: Some(message.to_string()),
            slave_id: self.info.id.clone(),
            executor_id: executor_id.map(|e| ExecutorId {
                value: e.to_string(),
            }),
            timestamp: Some(now),
            uuid: Some(uuid.clone()),
            ..Default::default()
        };
        status.set_state(state);
        status.set_source(source);
        if let Some(r) = reason {
            status.set_reason(r);
        }
        StatusUpdate {
            framework_id: FrameworkId {
                value: framework_id.to_string(),
            },
            executor_id: executor_id.map(|e| ExecutorId {
                value: e.to_string(),
            }),
            slave_id: self.info.id.clone(),
            status,
            timestamp: now,
            uuid: Some(uuid),
            latest_state: None,
        }
    }

    /// `StatusUpdateMessage` from an executor driver.
    pub(crate) fn status_update_message(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        m: msg::StatusUpdateMessage,
    ) {
        // The driver names its own pid; acks go there (upstream uses the
        // message's `pid`, defaulting to the sender).
        let pid = m
            .pid
            .as_deref()
            .and_then(|p| Upid::parse(p).ok())
            .unwrap_or(from);
        self.status_update(cx, m.update, Some(pid));
    }

    /// Handles one status update (`Slave::statusUpdate`): validate, stamp
    /// the status, update the task's state, hand it to the status update
    /// manager (checkpointed for checkpointing frameworks), then acknowledge
    /// the executor. `pid == None` means the agent generated the update.
    pub(crate) fn status_update(
        &mut self,
        cx: &mut Cx<'_, Self>,
        mut update: StatusUpdate,
        pid: Option<Upid>,
    ) {
        let Some(uuid) = update.uuid.clone() else {
            tracing::warn!(
                "Ignoring status update for task {} without uuid",
                update.status.task_id.value
            );
            self.metrics.invalid_status_updates += 1;
            return;
        };
        let my_id = self.slave_id().map(str::to_string);
        if update.slave_id.as_ref().map(|s| s.value.clone()) != my_id
            || update.status.slave_id.as_ref().map(|s| s.value.clone()) != my_id
        {
            tracing::warn!(
                "Ignoring status update for task {} with a slave id that is not this agent's",
                update.status.task_id.value
            );
            self.metrics.invalid_status_updates += 1;
            return;
        }
        update.status.uuid = Some(uuid.clone());
        update.status.set_source(if pid.is_none() {
            task_status::Source::Slave
        } else {
            task_status::Source::Executor
        });
        if let Some(eid) = &update.executor_id {
            update.status.executor_id = Some(eid.clone());
        }
        // A draining agent marks kills as caused by draining, and as
        // TASK_GONE_BY_OPERATOR when the drain marks the agent gone.
        if let Some(drain) = &self.drain_config {
            if matches!(
                update.status.state(),
                TaskState::TaskKilling | TaskState::TaskKilled
            ) {
                update.status.set_reason(task_status::Reason::SlaveDraining);
                if drain.mark_gone.unwrap_or(false) {
                    update.status.set_state(TaskState::TaskGoneByOperator);
                }
            }
        }
        let fid = update.framework_id.value.clone();
        let tid = update.status.task_id.value.clone();
        let sid = self.slave_id().unwrap_or_default().to_string();
        let Some(framework) = self.frameworks.get_mut(&fid) else {
            tracing::warn!("Ignoring status update for task {tid} of unknown framework {fid}");
            self.metrics.invalid_status_updates += 1;
            return;
        };
        if framework.state == FrameworkState::Terminating {
            tracing::warn!("Ignoring status update for task {tid} of terminating framework {fid}");
            self.metrics.invalid_status_updates += 1;
            return;
        }
        let checkpoint = framework.checkpoint();
        if framework.is_pending(&tid) {
            // A pending task killed before launch.
            framework.remove_pending_task(&tid);
            self.metrics.valid_status_updates += 1;
            self.hand_to_sum(cx, update, None, pid);
            if self.frameworks.get(&fid).map(|f| f.idle()).unwrap_or(false) {
                self.remove_framework(cx, &fid);
            }
            return;
        }
        let Some(eid) = framework.executor_id_for_task(&tid) else {
            // Unknown task: still forwarded (e.g. TASK_LOST for a task the
            // agent never saw), as upstream does.
            self.metrics.valid_status_updates += 1;
            self.hand_to_sum(cx, update, None, pid);
            return;
        };
        let executor = framework.executors.get_mut(&eid).expect("found above");
        if update.status.source() == task_status::Source::Executor
            && update.status.state() == TaskState::TaskStaging
        {
            tracing::error!(
                "Received TASK_STAGING from executor {eid}, which is not allowed; shutting it down"
            );
            self.shutdown_executor_now(cx, &fid, &eid);
            return;
        }
        self.metrics.valid_status_updates += 1;
        if executor.is_queued(&tid) {
            // Killed while queued: the task never reached the executor.
            executor.dequeue_task(&tid);
        } else if let Err(e) = executor.update_task_state(&update.status) {
            tracing::warn!("Failed to update state of task {tid}: {e}");
        }
        let path = if checkpoint {
            Some(paths::task_updates_path(
                &self.meta,
                &sid,
                &fid,
                &eid,
                &executor.container_id,
                &tid,
            ))
        } else {
            None
        };
        self.hand_to_sum(cx, update, path, pid);
    }

    fn hand_to_sum(
        &mut self,
        cx: &mut Cx<'_, Self>,
        update: StatusUpdate,
        path: Option<std::path::PathBuf>,
        pid: Option<Upid>,
    ) {
        let ack = msg::StatusUpdateAcknowledgementMessage {
            slave_id: update.slave_id.clone().unwrap_or_default(),
            framework_id: update.framework_id.clone(),
            task_id: update.status.task_id.clone(),
            uuid: update.uuid.clone().unwrap_or_default(),
        };
        match self.sum.update(update, path) {
            Ok(Some(f)) => self.forward(cx, f),
            Ok(None) => {}
            Err(e) => {
                // Upstream's `___statusUpdate` then skips the ack so the
                // executor retries.
                tracing::error!("Failed to handle status update: {e}");
                return;
            }
        }
        // The executor learns the agent has the update (`___statusUpdate`).
        match pid {
            // An HTTP executor's update (see `executor_api`).
            Some(pid) if pid == *cx.me() => self.acknowledge_http_executor(
                &ack.framework_id.value,
                &ack.task_id.value,
                ack.uuid,
            ),
            Some(pid) => cx.send(&pid, &ack),
            None => {}
        }
    }

    /// Sends the head of a stream to the master and arms its retry timer.
    pub(crate) fn forward(&mut self, cx: &mut Cx<'_, Self>, f: Forward) {
        let Forward {
            key,
            update,
            generation,
            retry_in,
        } = f;
        cx.delay(retry_in, move |s: &mut Slave, cx| {
            if let Some(next) = s.sum.timeout(&key, generation) {
                tracing::warn!("Resending status update for task {}", next.key.1);
                s.forward(cx, next);
            }
        });
        self.forward_update(cx, update);
    }

    /// `Slave::forward`: stamps the task's latest state and sends
    /// `StatusUpdateMessage{update, pid = agent}` to the master.
    pub(crate) fn forward_update(&mut self, cx: &mut Cx<'_, Self>, mut update: StatusUpdate) {
        if self.state != State::Running {
            tracing::warn!(
                "Dropping status update of task {} sent while not registered (it is resent on registration)",
                update.status.task_id.value
            );
            return;
        }
        update.status.uuid = update.uuid.clone();
        let fid = update.framework_id.value.clone();
        let tid = update.status.task_id.value.clone();
        if let Some(f) = self.frameworks.get_mut(&fid) {
            if let Some(eid) = f.executor_id_for_task(&tid) {
                let e = f.executors.get_mut(&eid).expect("found");
                let task = e
                    .launched_tasks
                    .get_mut(&tid)
                    .or_else(|| e.terminated_tasks.get_mut(&tid));
                if let Some(task) = task {
                    task.status_update_state = Some(update.status.state);
                    task.status_update_uuid = update.uuid.clone();
                    update.latest_state = Some(task.state);
                }
            }
        }
        let Some(master) = self.master.clone() else {
            return;
        };
        tracing::info!(
            "Forwarding the update {} for task {tid} of framework {fid} to {master}",
            update.status.state().as_str_name()
        );
        let m = msg::StatusUpdateMessage {
            update,
            pid: Some(cx.me().to_string()),
        };
        cx.send(&master, &m);
    }

    /// `StatusUpdateAcknowledgementMessage` from the master (or, for
    /// agent-local acks, anyone): advance the stream, complete the task.
    pub(crate) fn status_update_acknowledgement(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        m: msg::StatusUpdateAcknowledgementMessage,
    ) {
        if from.id().starts_with("master") {
            if self.state != State::Running {
                tracing::warn!("Dropping status update acknowledgement from {from} because the agent is not running");
                return;
            }
            if self.master.as_ref().map(|p| p.to_string()) != Some(from.to_string()) {
                tracing::warn!(
                    "Dropping status update acknowledgement from {from}, which is not the master"
                );
                return;
            }
        }
        let fid = m.framework_id.value.clone();
        let tid = m.task_id.value.clone();
        let uuid = m.uuid.clone();
        let acked = match self.sum.acknowledgement(&fid, &tid, &uuid) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(
                    "Failed to handle status update acknowledgement for task {tid}: {e}"
                );
                return;
            }
        };
        if let Some(next) = acked.next {
            self.forward(cx, next);
        }
        let Some(framework) = self.frameworks.get_mut(&fid) else {
            return;
        };
        let Some(eid) = framework.executor_id_for_task(&tid) else {
            return;
        };
        let executor = framework.executors.get_mut(&eid).expect("found");
        if executor.terminated_tasks.contains_key(&tid) && !acked.stream_active {
            executor.complete_task(&tid);
        }
        if executor.state == ExecutorState::Terminated && !executor.incomplete_tasks() {
            self.remove_executor(cx, &fid, &eid);
        }
        if self.frameworks.get(&fid).map(|f| f.idle()).unwrap_or(false) {
            self.remove_framework(cx, &fid);
        }
    }
}
