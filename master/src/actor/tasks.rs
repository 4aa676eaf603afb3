//! Task launch (ACCEPT / LaunchTasksMessage), status updates and their
//! acknowledgements, kill, reconciliation and framework <-> executor
//! messages (upstream master.cpp:3676, 4315-5900, 6451-7040, 8942-9064,
//! 9280, 9725-10016).

use libprocess::{Cx, Upid};
use mesos_proto::mesos::internal::{
    ExecutorToFrameworkMessage, ExitedExecutorMessage, FrameworkToExecutorMessage, KillTaskMessage,
    LaunchTasksMessage, ReconcileTasksMessage, ResourceVersionUuid, RunTaskGroupMessage,
    RunTaskMessage, ShutdownExecutorMessage, StatusUpdate, StatusUpdateAcknowledgementMessage,
    StatusUpdateMessage,
};
use mesos_proto::mesos::offer::operation::{Launch, Type as OpType};
use mesos_proto::mesos::offer::Operation;
use mesos_proto::mesos::scheduler::call::{self, Accept, Acknowledge, Kill, Reconcile};
use mesos_proto::mesos::task_status::{Reason, Source};
use mesos_proto::mesos::{
    executor_info, resource, ExecutorId, FrameworkId, Resource, SlaveId, TaskId, TaskInfo,
    TaskState, TaskStatus,
};

use super::{Master, ToFramework};
use crate::resources::{downgrade, upgrade, Resources};
use crate::state::{is_terminal, state_name};

/// Renders a status UUID as upstream's `id::UUID` does (canonical hex).
pub fn uuid_text(bytes: &[u8]) -> String {
    uuid::Uuid::from_slice(bytes)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| "(invalid)".into())
}

/// Resources as the task carries them to the agent: upgraded, with the
/// offer's allocation role (upstream `injectAllocationInfo`).
fn allocated(rs: &[Resource], role: &str) -> Vec<Resource> {
    rs.iter()
        .cloned()
        .map(|mut r| {
            upgrade(&mut r);
            r.allocation_info = Some(resource::AllocationInfo {
                role: Some(role.to_string()),
            });
            r
        })
        .collect()
}

impl Master {
    /// A status update the master itself generates (upstream
    /// `protobuf::createStatusUpdate` without a uuid: it needs no ack).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn master_update(
        &mut self,
        cx: &mut Cx<'_, Self>,
        framework_id: &str,
        agent_id: Option<&str>,
        task_id: &str,
        state: TaskState,
        source: Source,
        reason: Reason,
        message: &str,
        executor_id: Option<ExecutorId>,
    ) -> StatusUpdate {
        let now = Self::now_secs(cx);
        let slave_id = agent_id.map(|a| SlaveId {
            value: a.to_string(),
        });
        StatusUpdate {
            framework_id: FrameworkId {
                value: framework_id.to_string(),
            },
            executor_id: executor_id.clone(),
            slave_id: slave_id.clone(),
            status: TaskStatus {
                task_id: TaskId {
                    value: task_id.to_string(),
                },
                state: state as i32,
                message: Some(message.to_string()),
                source: Some(source as i32),
                reason: Some(reason as i32),
                slave_id,
                executor_id,
                timestamp: Some(now),
                ..Default::default()
            },
            timestamp: now,
            uuid: None,
            latest_state: None,
        }
    }

    /// What a master-made update of a known task repeats from the task's
    /// statuses (upstream `getTaskHealth`, `getTaskCheckStatus` from the
    /// last status, `getTaskContainerStatus` from the latest that has one).
    pub(crate) fn add_task_status_extras(status: &mut TaskStatus, task: &mesos_proto::mesos::Task) {
        if let Some(last) = task.statuses.last() {
            status.healthy = last.healthy;
            status.check_status = last.check_status;
        }
        status.container_status = task
            .statuses
            .iter()
            .rev()
            .find_map(|s| s.container_status.clone());
    }

    /// Upstream `Master::forward`: remembers what was sent for the task (so
    /// the acknowledgement can be matched) and sends the update with the pid
    /// the framework should acknowledge to (empty: no ack needed).
    pub(crate) fn forward(
        &mut self,
        cx: &mut Cx<'_, Self>,
        update: StatusUpdate,
        acknowledgee: Option<&Upid>,
        fid: &str,
    ) {
        let st = &update.status;
        let described = format!(
            "{} (Status UUID: {}) for task {} of framework {}",
            state_name(st.state),
            update.uuid.as_deref().map(uuid_text).unwrap_or_default(),
            st.task_id.value,
            fid
        );
        match acknowledgee {
            None => tracing::info!(
                "Sending status update {described}{}",
                st.message
                    .as_deref()
                    .map(|m| format!(" '{m}'"))
                    .unwrap_or_default()
            ),
            Some(_) => tracing::info!("Forwarding status update {described}"),
        }
        if let Some(uuid) = &update.uuid {
            if let Some(task) = self
                .state
                .frameworks
                .get_mut(fid)
                .and_then(|f| f.tasks.get_mut(&st.task_id.value))
            {
                task.status_update_state = Some(st.state);
                task.status_update_uuid = Some(uuid.clone());
            }
        }
        let message = StatusUpdateMessage {
            update,
            pid: Some(acknowledgee.map(|p| p.to_string()).unwrap_or_default()),
        };
        self.send_framework(cx, fid, ToFramework::Update(Box::new(message)));
    }

    /// Sends a master-generated terminal update for a task that never
    /// reached an agent.
    #[allow(clippy::too_many_arguments)]
    fn reject_task(
        &mut self,
        cx: &mut Cx<'_, Self>,
        fid: &str,
        task: &TaskInfo,
        state: TaskState,
        reason: Reason,
        message: &str,
    ) {
        let update = self.master_update(
            cx,
            fid,
            Some(&task.slave_id.value),
            &task.task_id.value,
            state,
            Source::Master,
            reason,
            message,
            None,
        );
        match state {
            TaskState::TaskError => self.metrics.tasks_error += 1,
            TaskState::TaskDropped => self.metrics.tasks_dropped += 1,
            TaskState::TaskLost => self.metrics.tasks_lost += 1,
            _ => {}
        }
        self.metrics.task_terminal(state as i32);
        self.forward(cx, update, None, fid);
    }

    /// ACCEPT (upstream `Master::accept` / `_accept`): LAUNCH, LAUNCH_GROUP
    /// and the speculative RESERVE/UNRESERVE/CREATE/DESTROY (see
    /// `operations.rs`) are carried out in order; others are dropped.
    pub(crate) fn accept(&mut self, cx: &mut Cx<'_, Self>, fid: &str, accept: Accept) {
        for op in &accept.operations {
            if op.r#type == Some(OpType::Launch as i32) {
                if op.launch.as_ref().is_some_and(|l| !l.task_infos.is_empty()) {
                    self.metrics.messages_launch_tasks += 1;
                } else {
                    self.metrics.messages_decline_offers += 1;
                }
            }
        }
        let validation = if accept.offer_ids.is_empty() {
            Err("No offers specified".to_string())
        } else {
            crate::validation::validate_offers(&accept.offer_ids, &self.state, fid)
        };
        let mut offered = Resources::new();
        let mut agent_id = None;
        let mut role = String::from("*");
        for id in &accept.offer_ids {
            let owned = self
                .state
                .offers
                .get(&id.value)
                .is_some_and(|o| o.framework_id.value == fid);
            if !owned {
                tracing::warn!(
                    "Ignoring accept of offer {} since it is no longer valid",
                    id.value
                );
                continue;
            }
            let Some(offer) = self.state.remove_offer(&id.value) else {
                continue;
            };
            if let Some(t) = self.offer_timers.remove(&id.value) {
                cx.cancel(t);
            }
            let res = Resources::from_vec(&offer.resources);
            if validation.is_err() {
                self.allocator
                    .recover_resources(fid, &offer.slave_id.value, &res, None, cx.now());
            } else {
                agent_id = Some(offer.slave_id.value.clone());
                role = offer
                    .allocation_info
                    .as_ref()
                    .and_then(|a| a.role.clone())
                    .unwrap_or_else(|| "*".into());
                offered.add_all(&res);
            }
        }
        let partition_aware = self
            .state
            .frameworks
            .get(fid)
            .is_some_and(|f| f.partition_aware());
        if let Err(e) = validation {
            tracing::warn!(
                "ACCEPT call used invalid offers '[ {} ]': {e}",
                accept
                    .offer_ids
                    .iter()
                    .map(|o| o.value.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let state = if partition_aware {
                TaskState::TaskDropped
            } else {
                TaskState::TaskLost
            };
            for task in launch_tasks_of(&accept.operations) {
                self.reject_task(
                    cx,
                    fid,
                    &task,
                    state,
                    Reason::InvalidOffers,
                    &format!("Task launched with invalid offers: {e}"),
                );
            }
            return;
        }
        let Some(agent_id) = agent_id else { return };
        if !self.state.agents.contains_key(&agent_id) {
            return;
        }

        let mut remaining = offered.clone();
        // Conversions of the speculative operations, for the allocator.
        let mut conversions = Vec::new();
        for op in accept.operations {
            match op.r#type.and_then(|t| OpType::try_from(t).ok()) {
                Some(OpType::Launch) => {
                    let tasks = op.launch.map(|l| l.task_infos).unwrap_or_default();
                    for task in tasks {
                        self.launch_one(cx, fid, &agent_id, &role, task, &mut remaining);
                    }
                }
                Some(OpType::LaunchGroup) => {
                    if let Some(lg) = op.launch_group {
                        self.launch_group(cx, fid, &agent_id, &role, lg, &mut remaining);
                    }
                }
                Some(OpType::Reserve | OpType::Unreserve | OpType::Create | OpType::Destroy) => {
                    self.accept_speculative(
                        cx,
                        fid,
                        &agent_id,
                        &role,
                        op,
                        &mut remaining,
                        &mut conversions,
                    );
                }
                other => {
                    tracing::warn!(
                        "Dropping {} operation from framework {fid}: not supported by this master",
                        other.map(|t| t.as_str_name()).unwrap_or("UNKNOWN")
                    );
                }
            }
        }
        if !conversions.is_empty() {
            if let Err(e) = self
                .allocator
                .update_allocation(fid, &agent_id, &offered, &conversions)
            {
                tracing::error!("Allocator refused updateAllocation: {e}");
            }
        }
        // Upstream `_accept`: what the operations converted is recovered
        // without a filter (so it is offered again at once), the rest of
        // the unused offer is declined with the framework's filter.
        let mut converted = remaining.clone();
        converted.subtract_all(&offered);
        let mut declined = remaining;
        declined.subtract_all(&converted);
        if !converted.is_empty() {
            self.allocator
                .recover_resources(fid, &agent_id, &converted, None, cx.now());
        }
        if !declined.is_empty() {
            let refuse = super::offers::refuse_duration(accept.filters.as_ref());
            self.allocator
                .recover_resources(fid, &agent_id, &declined, Some(refuse), cx.now());
        }
    }

    /// Validates and launches one task of a LAUNCH operation.
    fn launch_one(
        &mut self,
        cx: &mut Cx<'_, Self>,
        fid: &str,
        agent_id: &str,
        role: &str,
        task: TaskInfo,
        remaining: &mut Resources,
    ) {
        // Upstream injects the offer's allocation role into the task's and
        // executor's resources before validating them (`injectAllocationInfo`).
        let mut task = task;
        task.resources = allocated(&task.resources, role);
        if let Some(exec) = task.executor.as_mut() {
            exec.resources = allocated(&exec.resources, role);
        }
        // Upstream `_accept`: RUN_TASK is decided before the validation.
        if let Err(e) = self.authorize_task(fid, &task) {
            self.reject_task(
                cx,
                fid,
                &task,
                TaskState::TaskError,
                Reason::TaskUnauthorized,
                &e,
            );
            return;
        }
        let check = {
            let fw = &self.state.frameworks[fid];
            let agent = &self.state.agents[agent_id];
            crate::validation::validate_task(&task, fw, agent, remaining)
        };
        if let Err(e) = check {
            self.reject_task(
                cx,
                fid,
                &task,
                TaskState::TaskError,
                Reason::TaskInvalid,
                &e,
            );
            return;
        }
        let mut consumed = Resources::from_vec(&task.resources);
        let mut launch_executor = true;
        if let Some(exec) = task.executor.as_mut() {
            if exec.framework_id.is_none() {
                exec.framework_id = Some(FrameworkId {
                    value: fid.to_string(),
                });
            }
            let known = self.state.agents[agent_id]
                .executors
                .get(fid)
                .is_some_and(|m| m.contains_key(&exec.executor_id.value));
            launch_executor = !known;
            if launch_executor {
                consumed.add_all(&Resources::from_vec(&exec.resources));
                self.add_executor(fid, agent_id, exec.clone());
            }
        }
        let user = super::authorization::command_user(&task);
        self.state.add_task(fid, &task, user);
        self.publish_task_added(fid, &task.task_id.value);
        remaining.subtract_all(&consumed);

        let (framework, pid) = {
            let fw = &self.state.frameworks[fid];
            (
                fw.info.clone(),
                fw.pid().map(|p| p.to_string()).unwrap_or_default(),
            )
        };
        let agent = &self.state.agents[agent_id];
        if !agent
            .has_capability(mesos_proto::mesos::slave_info::capability::Type::ReservationRefinement)
        {
            for r in task.resources.iter_mut() {
                downgrade(r);
            }
        }
        tracing::info!(
            "Launching task {} of framework {} with resources {} on agent {} on {}",
            task.task_id.value,
            fid,
            consumed,
            agent.describe(),
            if launch_executor {
                " new executor"
            } else {
                " existing executor"
            }
        );
        let message = RunTaskMessage {
            framework_id: None,
            framework,
            task,
            resource_version_uuids: self.resource_versions(agent_id),
            pid: Some(pid),
            launch_executor: Some(launch_executor),
        };
        let to = agent.pid.clone();
        cx.send(&to, &message);
    }

    /// LAUNCH_GROUP: all tasks valid or none launched (upstream `_accept`).
    fn launch_group(
        &mut self,
        cx: &mut Cx<'_, Self>,
        fid: &str,
        agent_id: &str,
        role: &str,
        lg: mesos_proto::mesos::offer::operation::LaunchGroup,
        remaining: &mut Resources,
    ) {
        let mut executor = lg.executor;
        executor.resources = allocated(&executor.resources, role);
        let mut group = lg.task_group;
        for t in group.tasks.iter_mut() {
            t.resources = allocated(&t.resources, role);
        }
        let tasks = group.tasks.clone();
        // Upstream `_accept`: every task of the group is authorized
        // (RUN_TASK); the last refusal names the group's error.
        let mut refused = None;
        for t in &tasks {
            if self.authorize_task(fid, t).is_err() {
                let user = t
                    .command
                    .as_ref()
                    .and_then(|c| c.user.clone())
                    .unwrap_or_else(|| self.state.frameworks[fid].info.user.clone());
                refused = Some(format!(
                    "Task '{}' is not authorized to launch as user '{user}'",
                    t.task_id.value
                ));
            }
        }
        if let Some(e) = refused {
            for t in &tasks {
                self.reject_task(
                    cx,
                    fid,
                    t,
                    TaskState::TaskError,
                    Reason::TaskGroupUnauthorized,
                    &e,
                );
            }
            return;
        }
        let check = (|| -> Result<(), String> {
            if tasks.is_empty() {
                return Err("Task group has no tasks".into());
            }
            let fw = &self.state.frameworks[fid];
            let agent = &self.state.agents[agent_id];
            let mut total = Resources::new();
            let mut ids = std::collections::BTreeSet::new();
            for t in &tasks {
                // Upstream injects the group's executor into each task
                // (master.cpp `_accept`); a different one is an error.
                if t.executor
                    .as_ref()
                    .is_some_and(|e| e.executor_id != executor.executor_id)
                {
                    return Err(format!(
                        "Task '{}' is invalid: The `ExecutorInfo` of task '{}' is different from executor '{}'",
                        t.task_id.value, t.task_id.value, executor.executor_id.value
                    ));
                }
                if !ids.insert(t.task_id.value.clone()) {
                    return Err(format!("Task has duplicate ID: {}", t.task_id.value));
                }
                // Each task alone is checked as a command-less task.
                let mut probe = t.clone();
                probe.executor = None;
                probe.command.get_or_insert_with(Default::default);
                crate::validation::validate_task(
                    &probe,
                    fw,
                    agent,
                    &Resources::from_vec(remaining.iter().chain(t.resources.iter())),
                )
                .map_err(|e| format!("Task '{}' is invalid: {e}", t.task_id.value))?;
                if t.container.as_ref().is_some_and(|c| {
                    c.r#type == mesos_proto::mesos::container_info::Type::Docker as i32
                }) {
                    return Err(format!(
                        "Task '{}' is invalid: Docker ContainerInfo is not supported on the task",
                        t.task_id.value
                    ));
                }
                total.add_all(&Resources::from_vec(&t.resources));
            }
            // The executor (validation.cpp `group::internal::validateExecutor`),
            // after the tasks as upstream.
            crate::validation::validate_id(&executor.executor_id.value)
                .map_err(|e| format!("Executor has an invalid ExecutorID: {e}"))?;
            if let Some(f) = &executor.framework_id {
                if f.value != fid {
                    return Err(format!(
                        "Executor has an invalid FrameworkID '{}' while framework '{fid}' is expected",
                        f.value
                    ));
                }
            }
            match executor.r#type.map(executor_info::Type::try_from) {
                None => return Err("'ExecutorInfo.type' must be set".into()),
                Some(Ok(executor_info::Type::Default)) => {}
                Some(Ok(executor_info::Type::Custom)) if executor.command.is_some() => {}
                Some(Ok(executor_info::Type::Custom)) => {
                    return Err("'ExecutorInfo.command' must be set".into())
                }
                Some(_) => return Err("Unknown executor type".into()),
            }
            if executor.container.as_ref().is_some_and(|c| {
                c.r#type == mesos_proto::mesos::container_info::Type::Docker as i32
            }) {
                return Err("Docker ContainerInfo is not supported on the executor".into());
            }
            crate::validation::validate_resources(&executor.resources)
                .map_err(|e| format!("Executor uses invalid resources: {e}"))?;
            let eid = &executor.executor_id.value;
            let scalar = |name: &str| {
                executor
                    .resources
                    .iter()
                    .filter(|r| r.name == name)
                    .filter_map(|r| r.scalar.as_ref().map(|s| s.value))
                    .reduce(|a, b| a + b)
            };
            // MIN_CPUS / MIN_MEM (src/master/constants.hpp) and some disk.
            match scalar("cpus") {
                Some(c) if c >= 0.01 => {}
                c => {
                    return Err(format!(
                        "Executor '{eid}' uses less CPUs ({}) than the minimum required (0.01)",
                        c.map(|c| c.to_string()).unwrap_or_else(|| "None".into())
                    ))
                }
            }
            match scalar("mem") {
                Some(m) if m >= 32.0 => {}
                m => {
                    return Err(format!(
                        "Executor '{eid}' uses less memory ({}) than the minimum required (32MB)",
                        m.map(|m| format!("{m}MB")).unwrap_or_else(|| "None".into())
                    ))
                }
            }
            if scalar("disk").is_none() {
                return Err(format!("Executor '{eid}' uses no disk"));
            }
            let known = agent
                .executors
                .get(fid)
                .is_some_and(|m| m.contains_key(&executor.executor_id.value));
            if !known {
                total.add_all(&Resources::from_vec(&executor.resources));
            }
            if !remaining.contains(&total) {
                return Err(format!(
                    "Total resources {total} required by task group and its executor are more than available {remaining}"
                ));
            }
            Ok(())
        })();
        if let Err(e) = check {
            for t in &tasks {
                self.reject_task(
                    cx,
                    fid,
                    t,
                    TaskState::TaskError,
                    Reason::TaskGroupInvalid,
                    &e,
                );
            }
            return;
        }
        if executor.framework_id.is_none() {
            executor.framework_id = Some(FrameworkId {
                value: fid.to_string(),
            });
        }
        let known = self.state.agents[agent_id]
            .executors
            .get(fid)
            .is_some_and(|m| m.contains_key(&executor.executor_id.value));
        let mut consumed = Resources::new();
        if !known {
            consumed.add_all(&Resources::from_vec(&executor.resources));
            self.add_executor(fid, agent_id, executor.clone());
        }
        for t in group.tasks.iter_mut() {
            t.executor = Some(executor.clone());
            consumed.add_all(&Resources::from_vec(&t.resources));
            let user = super::authorization::command_user(t);
            self.state.add_task(fid, t, user);
            self.publish_task_added(fid, &t.task_id.value);
        }
        remaining.subtract_all(&consumed);
        let fw = &self.state.frameworks[fid];
        let agent = &self.state.agents[agent_id];
        tracing::info!(
            "Launching task group {{ {} }} of framework {} with resources {} on agent {} on {}",
            group
                .tasks
                .iter()
                .map(|t| t.task_id.value.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            fid,
            consumed,
            agent.describe(),
            if known {
                " existing executor"
            } else {
                " new executor"
            }
        );
        let message = RunTaskGroupMessage {
            framework: fw.info.clone(),
            executor,
            task_group: group,
            resource_version_uuids: self.resource_versions(agent_id),
            launch_executor: Some(!known),
        };
        let to = agent.pid.clone();
        cx.send(&to, &message);
    }

    fn add_executor(&mut self, fid: &str, agent_id: &str, exec: mesos_proto::mesos::ExecutorInfo) {
        let id = exec.executor_id.value.clone();
        if let Some(a) = self.state.agents.get_mut(agent_id) {
            a.executors
                .entry(fid.to_string())
                .or_default()
                .insert(id.clone(), exec.clone());
        }
        if let Some(f) = self.state.frameworks.get_mut(fid) {
            f.executors
                .entry(agent_id.to_string())
                .or_default()
                .insert(id, exec);
        }
    }

    /// The agent's resource version, which RunTaskMessage echoes so the
    /// agent can refuse tasks launched on a stale view (slave.cpp:2795).
    fn resource_versions(&self, agent_id: &str) -> Vec<ResourceVersionUuid> {
        self.state
            .agents
            .get(agent_id)
            .and_then(|a| a.resource_version.clone())
            .map(|uuid| {
                vec![ResourceVersionUuid {
                    resource_provider_id: None,
                    uuid,
                }]
            })
            .unwrap_or_default()
    }

    /// Legacy `LaunchTasksMessage` (upstream `Master::launchTasks`): an
    /// ACCEPT with one LAUNCH operation.
    pub(crate) fn launch_tasks(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        msg: LaunchTasksMessage,
    ) {
        let fid = msg.framework_id.value.clone();
        if self.state.frameworks.get(&fid).and_then(|f| f.pid()) != Some(&from) {
            tracing::warn!("Ignoring launch tasks message for framework {fid} from {from}");
            return;
        }
        let accept = Accept {
            offer_ids: msg.offer_ids,
            operations: vec![Operation {
                r#type: Some(OpType::Launch as i32),
                launch: Some(Launch {
                    task_infos: msg.tasks,
                }),
                ..Default::default()
            }],
            filters: Some(msg.filters),
        };
        self.accept(cx, &fid, accept);
    }

    /// `StatusUpdateMessage` from an agent (upstream `Master::statusUpdate`).
    pub(crate) fn status_update(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        msg: StatusUpdateMessage,
    ) {
        self.metrics.messages_status_update += 1;
        let update = msg.update;
        let agent_id = update.slave_id.clone().unwrap_or_default().value;
        let Some(agent) = self.state.agents.get(&agent_id) else {
            tracing::warn!(
                "Ignoring status update for task {} from unknown agent {from} with id {agent_id}",
                update.status.task_id.value
            );
            self.metrics.invalid_status_updates += 1;
            return;
        };
        if update.uuid.as_ref().is_none_or(|u| u.len() != 16) {
            tracing::warn!(
                "Ignoring status update from agent {}: invalid UUID",
                agent.describe()
            );
            self.metrics.invalid_status_updates += 1;
            return;
        }
        let ack_pid = msg
            .pid
            .as_deref()
            .and_then(|p| Upid::parse_literal(p).ok())
            .unwrap_or_else(|| from.clone());
        let fid = update.framework_id.value.clone();
        tracing::info!(
            "Status update {} (Status UUID: {}) for task {} of framework {fid} from agent {}",
            state_name(update.status.state),
            update.uuid.as_deref().map(uuid_text).unwrap_or_default(),
            update.status.task_id.value,
            agent.describe()
        );
        let connected = self
            .state
            .frameworks
            .get(&fid)
            .is_some_and(|f| f.connected());
        let mut valid = true;
        if connected {
            self.forward(cx, update.clone(), Some(&ack_pid), &fid);
        } else {
            valid = false;
            tracing::warn!(
                "Received status update for task {} from agent {agent_id} for {} framework",
                update.status.task_id.value,
                if self.state.frameworks.contains_key(&fid) {
                    "a disconnected"
                } else {
                    "an unknown"
                }
            );
        }
        let known = self
            .state
            .frameworks
            .get(&fid)
            .is_some_and(|f| f.tasks.contains_key(&update.status.task_id.value));
        if !known {
            tracing::warn!(
                "Could not lookup task {} for status update from agent {agent_id}",
                update.status.task_id.value
            );
            self.metrics.invalid_status_updates += 1;
            return;
        }
        let updated = self
            .state
            .update_task(&fid, &update.status, update.latest_state);
        self.publish_task_updated(&fid, &update.status);
        if let Some((agent, res)) = updated {
            self.allocator
                .recover_resources(&fid, &agent, &res, None, cx.now());
            let state = self.state.frameworks[&fid].tasks[&update.status.task_id.value].state;
            self.metrics.task_terminal(state);
            self.allocate(cx);
        }
        if valid {
            self.metrics.valid_status_updates += 1;
        } else {
            self.metrics.invalid_status_updates += 1;
        }
    }

    /// ACKNOWLEDGE (upstream `Master::acknowledge`).
    pub(crate) fn acknowledge(&mut self, cx: &mut Cx<'_, Self>, fid: &str, ack: Acknowledge) {
        self.metrics.messages_status_update_acknowledgement += 1;
        let uuid = uuid_text(&ack.uuid);
        let agent_id = ack.slave_id.value.clone();
        let task_id = ack.task_id.value.clone();
        let Some(agent) = self.state.agents.get(&agent_id) else {
            tracing::warn!(
                "Cannot send status update acknowledgement for status {uuid} of task {task_id} of framework {fid} to agent {agent_id} because agent is not registered"
            );
            self.metrics.invalid_status_update_acknowledgements += 1;
            return;
        };
        if !agent.connected {
            tracing::warn!(
                "Cannot send status update acknowledgement for status {uuid} of task {task_id} of framework {fid} to agent {} because agent is disconnected",
                agent.describe()
            );
            self.metrics.invalid_status_update_acknowledgements += 1;
            return;
        }
        tracing::info!(
            "Processing ACKNOWLEDGE call for status {uuid} for task {task_id} of framework {fid} on agent {agent_id}"
        );
        let agent_pid = agent.pid.clone();
        let task = self
            .state
            .frameworks
            .get(fid)
            .and_then(|f| f.tasks.get(&task_id));
        if let Some(task) = task {
            let Some(state) = task.status_update_state else {
                tracing::warn!(
                    "Ignoring status update acknowledgement for status {uuid} of task {task_id} of framework {fid} to agent {agent_id} because the update was not sent by this master"
                );
                self.metrics.invalid_status_update_acknowledgements += 1;
                return;
            };
            if is_terminal(state) && task.status_update_uuid.as_deref() == Some(&ack.uuid[..]) {
                self.state.remove_task(fid, &task_id);
            }
        }
        cx.send(
            &agent_pid,
            &StatusUpdateAcknowledgementMessage {
                slave_id: ack.slave_id,
                framework_id: FrameworkId {
                    value: fid.to_string(),
                },
                task_id: ack.task_id,
                uuid: ack.uuid,
            },
        );
        self.metrics.valid_status_update_acknowledgements += 1;
        self.check_and_transition_draining_agent(cx, &agent_id);
    }

    /// Legacy `StatusUpdateAcknowledgementMessage` from a driver.
    pub(crate) fn status_update_acknowledgement(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        msg: StatusUpdateAcknowledgementMessage,
    ) {
        let fid = msg.framework_id.value.clone();
        if self.state.frameworks.get(&fid).and_then(|f| f.pid()) != Some(&from) {
            tracing::warn!(
                "Ignoring status update acknowledgement for framework {fid} from {from}"
            );
            self.metrics.invalid_status_update_acknowledgements += 1;
            return;
        }
        if msg.uuid.len() != 16 {
            self.metrics.invalid_status_update_acknowledgements += 1;
            return;
        }
        self.acknowledge(
            cx,
            &fid,
            Acknowledge {
                slave_id: msg.slave_id,
                task_id: msg.task_id,
                uuid: msg.uuid,
            },
        );
    }

    /// KILL (upstream `Master::kill`).
    pub(crate) fn kill(&mut self, cx: &mut Cx<'_, Self>, fid: &str, kill: Kill) {
        self.metrics.messages_kill_task += 1;
        let task_id = kill.task_id.value.clone();
        tracing::info!("Processing KILL call for task '{task_id}' of framework {fid}");
        let task = self
            .state
            .frameworks
            .get(fid)
            .and_then(|f| f.tasks.get(&task_id))
            .cloned();
        let Some(task) = task else {
            tracing::warn!("Cannot kill task {task_id} of framework {fid} because it is unknown; performing reconciliation");
            let reconcile = Reconcile {
                tasks: vec![call::reconcile::Task {
                    task_id: kill.task_id,
                    slave_id: kill.slave_id,
                }],
            };
            self.reconcile(cx, fid, reconcile);
            return;
        };
        if let Some(s) = &kill.slave_id {
            if s.value != task.slave_id.value {
                tracing::warn!(
                    "Cannot kill task {task_id} of agent {} of framework {fid} because it belongs to different agent {}",
                    s.value,
                    task.slave_id.value
                );
                return;
            }
        }
        let Some(agent) = self.state.agents.get(&task.slave_id.value) else {
            return;
        };
        if agent.connected {
            tracing::info!(
                "Telling agent {} to kill task {task_id} of framework {fid}",
                agent.describe()
            );
            let to = agent.pid.clone();
            cx.send(
                &to,
                &KillTaskMessage {
                    framework_id: FrameworkId {
                        value: fid.to_string(),
                    },
                    task_id: kill.task_id,
                    kill_policy: kill.kill_policy,
                },
            );
        } else {
            tracing::warn!(
                "Cannot kill task {task_id} of framework {fid} because the agent {} is disconnected. Kill will be retried if the agent reregisters",
                agent.describe()
            );
        }
    }

    /// Legacy `KillTaskMessage` from a driver.
    pub(crate) fn kill_task(&mut self, cx: &mut Cx<'_, Self>, from: Upid, msg: KillTaskMessage) {
        let fid = msg.framework_id.value.clone();
        if self.state.frameworks.get(&fid).and_then(|f| f.pid()) != Some(&from) {
            tracing::warn!(
                "Ignoring kill task message for task {} of framework {fid} from {from}",
                msg.task_id.value
            );
            return;
        }
        self.kill(
            cx,
            &fid,
            Kill {
                task_id: msg.task_id,
                slave_id: None,
                kill_policy: msg.kill_policy,
            },
        );
    }

    /// RECONCILE (upstream `Master::reconcile`): implicit (no tasks) sends
    /// every known task's latest state; explicit answers each task asked for.
    pub(crate) fn reconcile(&mut self, cx: &mut Cx<'_, Self>, fid: &str, reconcile: Reconcile) {
        self.metrics.messages_reconcile_tasks += 1;
        let Some(fw) = self.state.frameworks.get(fid) else {
            return;
        };
        let partition_aware = fw.partition_aware();
        let mut updates = Vec::new();
        let latest = |t: &mesos_proto::mesos::Task| t.status_update_state.unwrap_or(t.state);
        if reconcile.tasks.is_empty() {
            tracing::info!(
                "Performing implicit task state reconciliation for framework {}",
                fw.describe()
            );
            for t in fw.tasks.values() {
                updates.push((
                    Some(t.slave_id.value.clone()),
                    t.task_id.value.clone(),
                    latest(t),
                    "Reconciliation: Latest task state",
                    t.executor_id.clone(),
                ));
            }
        } else {
            tracing::info!(
                "Performing explicit task state reconciliation for {} tasks of framework {}",
                reconcile.tasks.len(),
                fw.describe()
            );
            for rt in &reconcile.tasks {
                let agent = rt.slave_id.as_ref().map(|s| s.value.clone());
                let pick = |aware: TaskState| {
                    if partition_aware {
                        aware
                    } else {
                        TaskState::TaskLost
                    }
                };
                let entry = if let Some(t) = fw.tasks.get(&rt.task_id.value) {
                    (
                        Some(t.slave_id.value.clone()),
                        latest(t),
                        "Reconciliation: Latest task state",
                        t.executor_id.clone(),
                    )
                } else if agent
                    .as_ref()
                    .is_some_and(|a| self.state.agents.contains_key(a))
                {
                    (
                        agent.clone(),
                        pick(TaskState::TaskGone) as i32,
                        "Reconciliation: Task is unknown to the agent",
                        None,
                    )
                } else if agent
                    .as_ref()
                    .is_some_and(|a| self.state.unreachable.contains_key(a))
                {
                    (
                        agent.clone(),
                        pick(TaskState::TaskUnreachable) as i32,
                        "Reconciliation: Task is unreachable",
                        None,
                    )
                } else {
                    (
                        agent.clone(),
                        pick(TaskState::TaskUnknown) as i32,
                        "Reconciliation: Task is unknown",
                        None,
                    )
                };
                updates.push((entry.0, rt.task_id.value.clone(), entry.1, entry.2, entry.3));
            }
        }
        for (agent, task_id, state, message, executor_id) in updates {
            let state = TaskState::try_from(state).unwrap_or(TaskState::TaskLost);
            let mut update = self.master_update(
                cx,
                fid,
                agent.as_deref(),
                &task_id,
                state,
                Source::Master,
                Reason::Reconciliation,
                message,
                executor_id,
            );
            if let Some(t) = self
                .state
                .frameworks
                .get(fid)
                .and_then(|f| f.tasks.get(&task_id))
            {
                Self::add_task_status_extras(&mut update.status, t);
            }
            self.send_framework(
                cx,
                fid,
                ToFramework::Update(Box::new(StatusUpdateMessage { update, pid: None })),
            );
        }
    }

    /// Legacy `ReconcileTasksMessage`.
    pub(crate) fn reconcile_tasks(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        msg: ReconcileTasksMessage,
    ) {
        let fid = msg.framework_id.value.clone();
        if self.state.frameworks.get(&fid).and_then(|f| f.pid()) != Some(&from) {
            tracing::warn!("Ignoring reconcile tasks message for framework {fid} from {from}");
            return;
        }
        let reconcile = Reconcile {
            tasks: msg
                .statuses
                .into_iter()
                .map(|s| call::reconcile::Task {
                    task_id: s.task_id,
                    slave_id: s.slave_id,
                })
                .collect(),
        };
        self.reconcile(cx, &fid, reconcile);
    }

    /// SHUTDOWN of an executor (upstream `Master::shutdown`).
    pub(crate) fn shutdown_executor(
        &mut self,
        cx: &mut Cx<'_, Self>,
        fid: &str,
        s: call::Shutdown,
    ) {
        let Some(agent) = self.state.agents.get(&s.slave_id.value) else {
            tracing::warn!(
                "Cannot shut down executor {} of framework {fid}: agent {} is not registered",
                s.executor_id.value,
                s.slave_id.value
            );
            return;
        };
        tracing::info!(
            "Processing SHUTDOWN call for executor '{}' of framework {fid} on agent {}",
            s.executor_id.value,
            s.slave_id.value
        );
        let to = agent.pid.clone();
        cx.send(
            &to,
            &ShutdownExecutorMessage {
                executor_id: Some(s.executor_id),
                framework_id: Some(FrameworkId {
                    value: fid.to_string(),
                }),
            },
        );
    }

    /// MESSAGE: framework -> executor via the agent (upstream `Master::message`).
    pub(crate) fn framework_message(&mut self, cx: &mut Cx<'_, Self>, fid: &str, m: call::Message) {
        self.metrics.messages_framework_to_executor += 1;
        let Some(agent) = self
            .state
            .agents
            .get(&m.slave_id.value)
            .filter(|a| a.connected)
        else {
            tracing::warn!("Cannot send framework message for framework {fid} to agent {}: agent not connected", m.slave_id.value);
            self.metrics.invalid_framework_to_executor_messages += 1;
            return;
        };
        let to = agent.pid.clone();
        cx.send(
            &to,
            &FrameworkToExecutorMessage {
                slave_id: m.slave_id,
                framework_id: FrameworkId {
                    value: fid.to_string(),
                },
                executor_id: m.executor_id,
                data: m.data,
            },
        );
        self.metrics.valid_framework_to_executor_messages += 1;
    }

    /// Legacy `FrameworkToExecutorMessage` sent to the master.
    pub(crate) fn scheduler_message(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        msg: FrameworkToExecutorMessage,
    ) {
        let fid = msg.framework_id.value.clone();
        if self.state.frameworks.get(&fid).and_then(|f| f.pid()) != Some(&from) {
            tracing::warn!("Ignoring framework message for framework {fid} from {from}");
            self.metrics.invalid_framework_to_executor_messages += 1;
            return;
        }
        self.framework_message(
            cx,
            &fid,
            call::Message {
                slave_id: msg.slave_id,
                executor_id: msg.executor_id,
                data: msg.data,
            },
        );
    }

    /// `ExecutorToFrameworkMessage` relayed by an agent.
    pub(crate) fn executor_message(
        &mut self,
        cx: &mut Cx<'_, Self>,
        _from: Upid,
        msg: ExecutorToFrameworkMessage,
    ) {
        self.metrics.messages_executor_to_framework += 1;
        let fid = msg.framework_id.value.clone();
        if !self
            .state
            .frameworks
            .get(&fid)
            .is_some_and(|f| f.connected())
        {
            tracing::warn!(
                "Not forwarding executor message for framework {fid}: framework is not connected"
            );
            return;
        }
        self.send_framework(cx, &fid, ToFramework::Message(msg));
    }

    /// `ExitedExecutorMessage` (upstream `Master::exitedExecutor`): the
    /// executor's resources are recovered and the framework told.
    pub(crate) fn exited_executor(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        msg: ExitedExecutorMessage,
    ) {
        let agent_id = msg.slave_id.value.clone();
        let fid = msg.framework_id.value.clone();
        let exec_id = msg.executor_id.value.clone();
        if self
            .state
            .agents
            .get(&agent_id)
            .is_none_or(|a| a.pid != from)
        {
            tracing::warn!("Ignoring exited executor '{exec_id}' of framework {fid} on agent {agent_id} from {from}");
            return;
        }
        tracing::info!(
            "Executor '{exec_id}' of framework {fid} on agent {agent_id} exited with status {}",
            msg.status
        );
        self.remove_executor(cx, &agent_id, &fid, &exec_id);
        self.send_framework(cx, &fid, ToFramework::ExitedExecutor(msg));
    }
}

/// Tasks of LAUNCH and LAUNCH_GROUP operations.
fn launch_tasks_of(ops: &[Operation]) -> Vec<TaskInfo> {
    let mut out = Vec::new();
    for op in ops {
        if let Some(l) = &op.launch {
            out.extend(l.task_infos.iter().cloned());
        }
        if let Some(lg) = &op.launch_group {
            out.extend(lg.task_group.tasks.iter().cloned());
        }
    }
    out
}
