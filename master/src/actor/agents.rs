//! Agent registration, reregistration, health and removal
//! (upstream `Master::registerSlave` ... `__removeSlave`, master.cpp:7042-8330,
//! 9384-9547, 11604-11980).

use std::collections::{BTreeMap, BTreeSet};

use libprocess::{Cx, Upid};
use mesos_proto::mesos::internal::{
    MasterSlaveConnection, ReconcileTasksMessage, RegisterSlaveMessage, ReregisterSlaveMessage,
    ShutdownFrameworkMessage, ShutdownMessage, SlaveRegisteredMessage, SlaveReregisteredMessage,
    UnregisterSlaveMessage, UpdateSlaveMessage,
};
use mesos_proto::mesos::task_status::{Reason, Source};
use mesos_proto::mesos::{FrameworkId, SlaveInfo, TaskState, TaskStatus};

use super::{Master, ToFramework};
use crate::observer::SlaveObserver;
use crate::registrar::Operation;
use crate::resources::Resources;
use crate::state::{Agent, Connection, Framework, FrameworkState, UnreachableAgent};

/// Parses `major.minor.patch` leniently (missing parts are 0).
fn version_at_least(version: &str, min: (u64, u64, u64)) -> bool {
    let mut parts = version
        .split(['.', '-'])
        .map(|p| p.parse::<u64>().unwrap_or(0));
    let v = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    v >= min
}

impl Master {
    fn connection(&self) -> MasterSlaveConnection {
        let total = self.flags.agent_ping_timeout().as_secs_f64()
            * self.flags.max_agent_ping_timeouts().unwrap_or(5) as f64;
        MasterSlaveConnection {
            total_ping_timeout_seconds: Some(total),
        }
    }

    /// Checks common to registration and reregistration (upstream
    /// `validation::master::message::registerSlave` and the version check of
    /// `_registerSlave`). An agent that is too old is told to shut down.
    fn check_agent(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: &Upid,
        info: &SlaveInfo,
        version: Option<&str>,
    ) -> bool {
        if let Err(e) = crate::validation::validate_resources(&info.resources) {
            tracing::warn!(
                "Dropping registration of agent at {from} because it sent an invalid registration: {e}"
            );
            return false;
        }
        match version {
            Some(v) if version_at_least(v, (1, 0, 0)) => true,
            v => {
                let message = format!(
                    "Agent version {} is less than minimum 1.0.0",
                    v.unwrap_or("(unknown)")
                );
                tracing::warn!("Refusing registration of agent at {from}: {message}");
                cx.send(
                    from,
                    &ShutdownMessage {
                        message: Some(message),
                    },
                );
                false
            }
        }
    }

    /// Upstream `Master::registerSlave` / `__registerSlave`.
    pub(crate) fn register_slave(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        msg: RegisterSlaveMessage,
    ) {
        self.metrics.messages_register_slave += 1;
        if !self.agent_may_register(&from, "registration") {
            return;
        }
        if !self.check_agent(cx, &from, &msg.slave, msg.version.as_deref()) {
            return;
        }
        if !self.agent_authorized(&from, &msg.slave, "registration") {
            return;
        }
        if self.refuse_agent_on_down_machine(cx, &from, &msg.slave.hostname, "registration") {
            return;
        }
        // A retried registration from an agent we already admitted: re-send
        // the acknowledgement (upstream `_registerSlave`).
        if let Some(agent) = self.state.agent_by_pid(&from) {
            tracing::info!(
                "Agent {} already registered, resending acknowledgement",
                agent.describe()
            );
            let reply = SlaveRegisteredMessage {
                slave_id: agent.info.id.clone().unwrap_or_default(),
                connection: Some(self.connection()),
            };
            cx.send(&from, &reply);
            return;
        }
        if self.registering.contains(&from) {
            tracing::info!(
                "Ignoring register agent message from {from} ({}) as registration is already in progress",
                msg.slave.hostname
            );
            return;
        }
        tracing::info!(
            "Received register agent message from {from} ({})",
            msg.slave.hostname
        );

        let mut info = msg.slave;
        for r in info.resources.iter_mut() {
            crate::resources::upgrade(r);
        }
        let id = self.state.new_agent_id();
        info.id = Some(id.clone());
        match self.registrar.apply(Operation::AdmitSlave(info.clone())) {
            Ok(true) => self.persist_registry(cx),
            Ok(false) => {
                tracing::warn!(
                    "Agent {} at {from} ({}) was assigned an agent ID that already appears in the registry; ignoring registration attempt",
                    id.value,
                    info.hostname
                );
                return;
            }
            Err(e) => {
                tracing::error!("Failed to admit agent {} at {from}: {e}", id.value);
                return;
            }
        }
        let now = Self::now_secs(cx);
        let mut agent = Agent::new(
            info,
            from.clone(),
            msg.version.clone().unwrap_or_default(),
            msg.agent_capabilities
                .iter()
                .filter_map(|c| c.r#type)
                .collect(),
            now,
        );
        agent.resource_version = msg.resource_version_uuid.clone();
        self.apply_checkpointed(&mut agent, &msg.checkpointed_resources);
        self.metrics.slave_registrations += 1;
        let total = agent.total.clone();
        let described = agent.describe();
        self.add_agent(cx, agent);
        cx.send(
            &from,
            &SlaveRegisteredMessage {
                slave_id: id,
                connection: Some(self.connection()),
            },
        );
        tracing::info!("Registered agent {described} with {total}");
    }

    /// Tracks a new agent: link, observer, allocator (upstream `addSlave`).
    fn add_agent(&mut self, cx: &mut Cx<'_, Self>, mut agent: Agent) {
        cx.link(&agent.pid);
        let observer_id = cx.generate_id("slave-observer");
        let observer = SlaveObserver::new(
            agent.pid.clone(),
            agent.id().to_string(),
            cx.pid(),
            self.flags.agent_ping_timeout(),
            self.flags.max_agent_ping_timeouts().unwrap_or(5),
        );
        let observer = cx.spawn(&observer_id, observer);
        agent.observer = Some(observer.upid);
        let id = agent.id().to_string();
        // An agent the operator deactivated (or drains) stays deactivated
        // across reregistration (upstream `_reregisterSlave`).
        let deactivated = self.state.deactivated.contains(&id);
        if deactivated {
            agent.active = false;
        }
        // What the agent's tasks use comes from the frameworks, not from
        // the agent entry, so the allocator can see the agent before it is
        // stored, without copies of its info and resources.
        let used = self.state.used_on_agent(&id);
        self.allocator
            .add_agent(&id, &agent.info, &agent.capabilities, &agent.total, &used);
        self.state.insert_agent(id.clone(), agent);
        self.maintenance_agent_added(&id);
        if deactivated {
            self.allocator.deactivate_agent(&id);
        }
        self.publish_agent_added(&id);
        self.allocate(cx);
    }

    /// Upstream `Master::reregisterSlave` and its continuations: a known
    /// agent is reconnected; an unknown one (e.g. after a master restart
    /// with an in-memory registry, or one marked unreachable) is admitted
    /// again with its tasks and frameworks.
    pub(crate) fn reregister_slave(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        msg: ReregisterSlaveMessage,
    ) {
        self.metrics.messages_reregister_slave += 1;
        if !self.agent_may_register(&from, "re-registration") {
            return;
        }
        let Some(id) = msg.slave.id.clone() else {
            tracing::warn!(
                "Dropping reregistration of agent at {from} because it sent an invalid reregistration: missing agent ID"
            );
            return;
        };
        if let Err(e) = crate::validation::validate_id(&id.value) {
            tracing::warn!("Dropping reregistration of agent at {from}: invalid agent ID: {e}");
            return;
        }
        if !self.check_agent(cx, &from, &msg.slave, msg.version.as_deref()) {
            return;
        }
        if !self.agent_authorized(&from, &msg.slave, "re-registration") {
            return;
        }
        if self.state.gone.contains_key(&id.value) {
            // Upstream `Master::reregisterSlave`: a gone agent is shut down.
            tracing::warn!(
                "Refusing reregistration of agent at {from} because it is already marked gone"
            );
            cx.send(
                &from,
                &ShutdownMessage {
                    message: Some("Agent has been marked gone".into()),
                },
            );
            return;
        }
        if self.refuse_agent_on_down_machine(cx, &from, &msg.slave.hostname, "re-registration") {
            return;
        }
        tracing::info!(
            "Received reregister agent message from agent {} at {from} ({})",
            id.value,
            msg.slave.hostname
        );
        let now = Self::now_secs(cx);
        let reply = SlaveReregisteredMessage {
            slave_id: id.clone(),
            reconciliations: vec![],
            connection: Some(self.connection()),
        };

        if self.moved_machines(cx, &from, &id.value, &msg.slave.hostname) {
            return;
        }
        let old_pid = self.state.agents.get(&id.value).map(|a| a.pid.clone());
        if old_pid.is_some() {
            self.state.set_agent_pid(&id.value, from.clone());
        }
        if let (Some(old_pid), Some(agent)) = (old_pid, self.state.agents.get_mut(&id.value)) {
            // Upstream `___reregisterSlave` for a known agent.
            agent.connected = true;
            // Upstream `__reregisterSlave`: a deactivated agent stays so.
            let deactivated = self.state.deactivated.contains(&id.value);
            agent.active = !deactivated;
            agent.reregistered_time = Some(now);
            agent.version = msg.version.clone().unwrap_or_default();
            agent.epoch += 1;
            if msg.resource_version_uuid.is_some() {
                agent.resource_version = msg.resource_version_uuid.clone();
            }
            let observer = agent.observer.clone();
            let described = agent.describe();
            if old_pid != from {
                cx.unlink(&old_pid);
            }
            // The link may have broken (that is why the agent reregisters):
            // link again, as upstream does on every reregistration.
            cx.link(&from);
            if let Some(obs) = observer {
                let pid = from.clone();
                cx.dispatch(
                    &libprocess::Pid::<SlaveObserver>::new(obs),
                    move |o: &mut SlaveObserver, _cx| {
                        o.set_connected(true);
                        o.set_agent_pid(pid);
                    },
                );
            }
            if !deactivated {
                self.allocator.activate_agent(&id.value);
            }
            self.metrics.slave_reregistrations += 1;
            self.update_known_agent_resources(&id.value, &msg.checkpointed_resources);
            let reply = self.reconcile_known_agent(cx, &id.value, &msg, reply);
            self.resend_checkpointed_resources(cx, &id.value);
            self.send_drain_if_draining(cx, &id.value);
            cx.send(&from, &reply);
            self.check_and_transition_draining_agent(cx, &id.value);
            tracing::info!("Agent {described} reregistered");
            self.allocate(cx);
            return;
        }

        // Unknown or unreachable agent: admit it again.
        let mut info = msg.slave;
        for r in info.resources.iter_mut() {
            crate::resources::upgrade(r);
        }
        if let Err(e) = self
            .registrar
            .apply(Operation::MarkSlaveReachable(info.clone()))
        {
            tracing::error!("Failed to readmit agent {} at {from}: {e}", id.value);
            return;
        }
        self.persist_registry(cx);
        let was_unreachable = self.state.unreachable.remove(&id.value).is_some();
        let was_recovered = self.state.recovered.remove(&id.value).is_some();
        if was_recovered {
            tracing::info!(
                "Agent {} recovered from the registry has reregistered",
                id.value
            );
        }

        // Frameworks the agent runs tasks of that we do not know yet are
        // recovered from the FrameworkInfos it sent (upstream
        // `recoverFramework`); they become active when they resubscribe.
        for fi in &msg.frameworks {
            let Some(fid) = fi.id.as_ref().map(|i| i.value.clone()) else {
                continue;
            };
            if !self.state.frameworks.contains_key(&fid) && !self.state.is_completed_framework(&fid)
            {
                let mut fw = Framework::new(fi.clone(), Connection::Recovered, now);
                fw.state = FrameworkState::Recovered;
                self.state.frameworks.insert(fid.clone(), fw);
                self.allocator.add_framework(
                    &fid,
                    fi,
                    &Default::default(),
                    &BTreeMap::new(),
                    false,
                );
                self.publish_framework_added(&fid);
            }
        }
        let mut agent = Agent::new(
            info,
            from.clone(),
            msg.version.clone().unwrap_or_default(),
            msg.agent_capabilities
                .iter()
                .filter_map(|c| c.r#type)
                .collect(),
            now,
        );
        agent.reregistered_time = Some(now);
        agent.resource_version = msg.resource_version_uuid.clone();
        self.apply_checkpointed(&mut agent, &msg.checkpointed_resources);
        for e in &msg.executor_infos {
            if let Some(fid) = &e.framework_id {
                if self.state.frameworks.contains_key(&fid.value) {
                    agent
                        .executors
                        .entry(fid.value.clone())
                        .or_default()
                        .insert(e.executor_id.value.clone(), e.clone());
                    if let Some(fw) = self.state.frameworks.get_mut(&fid.value) {
                        fw.executors
                            .entry(id.value.clone())
                            .or_default()
                            .insert(e.executor_id.value.clone(), e.clone());
                    }
                }
            }
        }
        for t in &msg.tasks {
            let fid = t.framework_id.value.clone();
            if let Some(fw) = self.state.frameworks.get_mut(&fid) {
                if !crate::state::is_terminal(t.state) || !fw.tasks.contains_key(&t.task_id.value) {
                    let mut task = t.clone();
                    task.resources = Resources::from_vec(&t.resources).to_vec();
                    fw.tasks.insert(t.task_id.value.clone(), task);
                }
            }
        }
        if !was_recovered {
            // Upstream `_reregisterSlave`: an unreachable (or unknown)
            // agent's tasks are back; each connected framework hears the
            // task's current state from the master, REASON_SLAVE_REREGISTERED.
            let message = if was_unreachable {
                "Unreachable agent re-reregistered"
            } else {
                "Unknown agent reregistered"
            };
            for t in &msg.tasks {
                let fid = t.framework_id.value.clone();
                if self.state.is_completed_framework(&fid) {
                    continue;
                }
                let connected = self
                    .state
                    .frameworks
                    .get(&fid)
                    .is_some_and(|f| f.connected());
                let Ok(state) = TaskState::try_from(t.state) else {
                    continue;
                };
                if !connected {
                    tracing::warn!(
                        "Dropping update {} for task {} of disconnected or unknown framework {fid}",
                        state.as_str_name(),
                        t.task_id.value
                    );
                    continue;
                }
                let mut update = self.master_update(
                    cx,
                    &fid,
                    Some(&id.value),
                    &t.task_id.value,
                    state,
                    Source::Master,
                    Reason::SlaveReregistered,
                    message,
                    t.executor_id.clone(),
                );
                Self::add_task_status_extras(&mut update.status, t);
                self.forward(cx, update, None, &fid);
            }
        }
        let described = agent.describe();
        self.metrics.slave_reregistrations += 1;
        self.add_agent(cx, agent);
        self.send_drain_if_draining(cx, &id.value);
        cx.send(&from, &reply);
        self.check_and_transition_draining_agent(cx, &id.value);
        self.shutdown_completed_frameworks(cx, &msg.tasks, &from);
        tracing::info!("Reregistered agent {described}");
    }

    /// Upstream `reconcileKnownSlave`: tasks the master has on the agent
    /// but the agent did not report are sent back for reconciliation in
    /// `SlaveReregisteredMessage.reconciliations`; executors it did not
    /// report are forgotten; frameworks already removed are shut down.
    fn reconcile_known_agent(
        &mut self,
        cx: &mut Cx<'_, Self>,
        agent_id: &str,
        msg: &ReregisterSlaveMessage,
        mut reply: SlaveReregisteredMessage,
    ) -> SlaveReregisteredMessage {
        let reported: BTreeSet<(String, String)> = msg
            .tasks
            .iter()
            .map(|t| (t.framework_id.value.clone(), t.task_id.value.clone()))
            .collect();
        let now = Self::now_secs(cx);
        for fw in self.state.frameworks.values() {
            if fw.state == FrameworkState::Recovered {
                continue;
            }
            let statuses: Vec<TaskStatus> = fw
                .tasks_on(agent_id)
                .filter(|t| !reported.contains(&(fw.id().to_string(), t.task_id.value.clone())))
                .map(|t| {
                    tracing::warn!(
                        "Task {} of framework {} unknown to the agent {agent_id} during re-registration: reconciling with the agent",
                        t.task_id.value,
                        fw.id()
                    );
                    TaskStatus {
                        task_id: t.task_id.clone(),
                        state: t.status_update_state.unwrap_or(t.state),
                        slave_id: Some(t.slave_id.clone()),
                        source: Some(Source::Master as i32),
                        message: Some("Reconciliation request".into()),
                        reason: Some(Reason::Reconciliation as i32),
                        timestamp: Some(now),
                        ..Default::default()
                    }
                })
                .collect();
            if !statuses.is_empty() {
                reply.reconciliations.push(ReconcileTasksMessage {
                    framework_id: FrameworkId {
                        value: fw.id().to_string(),
                    },
                    statuses,
                    framework: Some(fw.info.clone()),
                });
            }
        }
        let reported_execs: BTreeSet<(String, String)> = msg
            .executor_infos
            .iter()
            .filter_map(|e| {
                e.framework_id
                    .as_ref()
                    .map(|f| (f.value.clone(), e.executor_id.value.clone()))
            })
            .collect();
        let known: Vec<(String, String)> = self
            .state
            .agents
            .get(agent_id)
            .map(|a| {
                a.executors
                    .iter()
                    .flat_map(|(f, m)| m.keys().map(move |e| (f.clone(), e.clone())))
                    .collect()
            })
            .unwrap_or_default();
        for (fid, eid) in known {
            if !reported_execs.contains(&(fid.clone(), eid.clone())) {
                tracing::warn!(
                    "Executor '{eid}' of framework {fid} possibly unknown to the agent {agent_id}"
                );
                self.remove_executor(cx, agent_id, &fid, &eid);
            }
        }
        self.shutdown_completed_frameworks(
            cx,
            &msg.tasks,
            &self.state.agents[agent_id].pid.clone(),
        );
        reply
    }

    /// Frameworks already removed that the agent still runs tasks of are
    /// shut down there (upstream `reconcileKnownSlave` / `__reregisterSlave`).
    fn shutdown_completed_frameworks(
        &mut self,
        cx: &mut Cx<'_, Self>,
        tasks: &[mesos_proto::mesos::Task],
        pid: &Upid,
    ) {
        let fids: BTreeSet<String> = tasks
            .iter()
            .map(|t| t.framework_id.value.clone())
            .filter(|f| self.state.is_completed_framework(f))
            .collect();
        for fid in fids {
            tracing::warn!(
                "Agent at {pid} reregistered with completed framework {fid}. Shutting down the framework on the agent"
            );
            cx.send(
                pid,
                &ShutdownFrameworkMessage {
                    framework_id: FrameworkId { value: fid },
                },
            );
        }
    }

    /// Forgets an executor and recovers its resources (upstream
    /// `removeExecutor`).
    pub(crate) fn remove_executor(
        &mut self,
        cx: &mut Cx<'_, Self>,
        agent_id: &str,
        fid: &str,
        eid: &str,
    ) {
        let removed = self
            .state
            .agents
            .get_mut(agent_id)
            .and_then(|a| a.executors.get_mut(fid))
            .and_then(|m| m.remove(eid));
        if let Some(a) = self.state.agents.get_mut(agent_id) {
            if a.executors.get(fid).is_some_and(|m| m.is_empty()) {
                a.executors.remove(fid);
            }
        }
        if let Some(f) = self.state.frameworks.get_mut(fid) {
            if let Some(m) = f.executors.get_mut(agent_id) {
                m.remove(eid);
                if m.is_empty() {
                    f.executors.remove(agent_id);
                }
            }
        }
        if let Some(e) = removed {
            self.allocator.recover_resources(
                fid,
                agent_id,
                &Resources::from_vec(&e.resources),
                None,
                cx.now(),
            );
        }
    }

    /// Upstream `Master::unregisterSlave`: the agent is shutting down.
    pub(crate) fn unregister_slave(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        msg: UnregisterSlaveMessage,
    ) {
        self.metrics.messages_unregister_slave += 1;
        let Some(agent) = self.state.agents.get(&msg.slave_id.value) else {
            return;
        };
        if agent.pid != from {
            tracing::warn!(
                "Ignoring unregister agent message from {from} because it is not from the registered agent {}",
                agent.pid
            );
            return;
        }
        tracing::info!("Asked to unregister agent {}", agent.describe());
        let info = agent.info.clone();
        match self.registrar.apply(Operation::RemoveSlave(info)) {
            Ok(true) => self.persist_registry(cx),
            Ok(false) => {}
            Err(e) => tracing::error!("Failed to remove agent {}: {e}", msg.slave_id.value),
        }
        self.remove_agent(cx, &msg.slave_id.value, "Agent unregistered", false);
    }

    /// Upstream `Master::updateSlave`: keep the resource version the agent
    /// reports (RunTaskMessage carries it back) and any oversubscribed
    /// resources.
    pub(crate) fn update_slave(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        msg: UpdateSlaveMessage,
    ) {
        let Some(agent) = self.state.agents.get_mut(&msg.slave_id.value) else {
            tracing::warn!(
                "Ignoring update on agent {} from {from}: agent is not registered",
                msg.slave_id.value
            );
            return;
        };
        if agent.pid != from {
            tracing::warn!(
                "Ignoring update on agent {} from {from}: not the agent's pid",
                msg.slave_id.value
            );
            return;
        }
        tracing::info!("Received update of agent {}", agent.describe());
        if msg.resource_version_uuid.is_some() {
            agent.resource_version = msg.resource_version_uuid.clone();
        }
        if let Some(ops) = &msg.operations {
            self.reconcile_agent_operations(cx, &msg.slave_id.value, ops);
        }
    }

    /// The agent's connection broke (upstream `Master::exited` for an agent):
    /// it stays registered but gets no offers; tasks of frameworks that do
    /// not checkpoint are lost. The observer keeps pinging with
    /// `connected=false`, so the agent reregisters or is marked unreachable.
    pub(crate) fn agent_disconnected(&mut self, cx: &mut Cx<'_, Self>, agent_id: &str) {
        let Some(agent) = self.state.agents.get_mut(agent_id) else {
            return;
        };
        if !agent.connected {
            tracing::info!(
                "Ignoring duplicate exited() notification for agent {}",
                agent.describe()
            );
            return;
        }
        tracing::info!("Agent {} disconnected", agent.describe());
        agent.connected = false;
        agent.active = false;
        agent.epoch += 1;
        let observer = agent.observer.clone();
        if let Some(obs) = observer {
            cx.dispatch(
                &libprocess::Pid::<SlaveObserver>::new(obs),
                |o: &mut SlaveObserver, _cx| o.set_connected(false),
            );
        }
        self.allocator.deactivate_agent(agent_id);
        self.rescind_offers_on_agent(cx, agent_id);

        let frameworks: Vec<String> = self
            .state
            .frameworks
            .values()
            .filter(|f| !f.info.checkpoint.unwrap_or(false))
            .filter(|f| f.tasks_on(agent_id).next().is_some() || f.executors.contains_key(agent_id))
            .map(|f| f.id().to_string())
            .collect();
        for fid in frameworks {
            tracing::info!(
                "Removing framework {fid} from disconnected agent {agent_id} because the framework is not checkpointing"
            );
            self.fail_tasks_on_agent(
                cx,
                &fid,
                agent_id,
                TaskState::TaskLost,
                Reason::SlaveDisconnected,
                "Agent disconnected",
            );
        }
    }

    /// The observer saw `max_agent_ping_timeouts` pings go unanswered
    /// (upstream `Master::markUnreachable` with "health check timed out").
    pub fn agent_ping_timed_out(&mut self, cx: &mut Cx<'_, Self>, agent_id: &str, missed: u32) {
        let Some(agent) = self.state.agents.get(agent_id) else {
            return;
        };
        tracing::warn!(
            "Agent {} failed health check {missed} times",
            agent.describe()
        );
        if !self.pending_unreachable.insert(agent_id.to_string()) {
            return; // A transition is already scheduled.
        }
        self.metrics.slave_unreachable_scheduled += 1;
        // `--agent_removal_rate_limit` (upstream's `RateLimiter`): removals
        // are spaced at least one interval apart; a pong meanwhile cancels.
        let wait = match self.removal_interval {
            Some(interval) => {
                tracing::info!(
                    "Scheduling transition of agent {agent_id} to UNREACHABLE because of health check timeout"
                );
                let now = Self::now_secs(cx);
                let start = self.next_removal.max(now);
                self.next_removal = start + interval.as_secs_f64();
                std::time::Duration::from_secs_f64(start - now)
            }
            None => std::time::Duration::ZERO,
        };
        if wait.is_zero() {
            self.mark_unreachable_now(cx, agent_id);
        } else {
            let id = agent_id.to_string();
            cx.delay(wait, move |m: &mut Master, cx| {
                m.mark_unreachable_now(cx, &id)
            });
        }
    }

    /// The observer got a pong after reporting the agent: a transition the
    /// rate limit holds back is cancelled.
    pub(crate) fn agent_pong_after_timeout(&mut self, agent_id: &str) {
        if self.pending_unreachable.remove(agent_id) && self.removal_interval.is_some() {
            tracing::info!(
                "Canceling transition of agent {agent_id} to UNREACHABLE because a pong was received!"
            );
            self.metrics.slave_unreachable_canceled += 1;
        }
    }

    /// Upstream `Master::markUnreachable` for a health check timeout, once
    /// the rate limit allows it (and unless a pong cancelled it).
    fn mark_unreachable_now(&mut self, cx: &mut Cx<'_, Self>, agent_id: &str) {
        if !self.pending_unreachable.remove(agent_id) {
            return;
        }
        let Some(agent) = self.state.agents.get(agent_id) else {
            return;
        };
        tracing::warn!("Marking agent {} unreachable", agent.describe());
        let info = agent.info.clone();
        let now = Self::now_secs(cx);
        if let Err(e) = self.registrar.apply(Operation::MarkSlaveUnreachable(
            info.clone(),
            (now * 1e9) as i64,
        )) {
            tracing::error!("Failed to mark agent {agent_id} unreachable: {e}");
            return;
        }
        self.persist_registry(cx);
        self.metrics.slave_unreachable_completed += 1;
        tracing::info!(
            "Marked agent {agent_id} ({}) unreachable: health check timed out",
            info.hostname
        );
        self.state
            .unreachable
            .insert(agent_id.to_string(), UnreachableAgent { info, since: now });
        self.remove_agent(cx, agent_id, "health check timed out", true);
    }

    /// Upstream `__removeSlave`: tasks become TASK_UNREACHABLE
    /// (partition-aware frameworks) or TASK_LOST, offers are rescinded,
    /// frameworks get `LostSlaveMessage`, the observer stops.
    pub(crate) fn remove_agent(
        &mut self,
        cx: &mut Cx<'_, Self>,
        agent_id: &str,
        message: &str,
        unreachable: bool,
    ) {
        self.metrics.slave_removals += 1;
        self.pending_unreachable.remove(agent_id);
        self.rescind_offers_on_agent(cx, agent_id);
        self.allocator.remove_agent(agent_id);
        let frameworks: Vec<(String, bool)> = self
            .state
            .frameworks
            .values()
            .filter(|f| f.tasks_on(agent_id).next().is_some() || f.executors.contains_key(agent_id))
            .map(|f| (f.id().to_string(), f.partition_aware()))
            .collect();
        for (fid, partition_aware) in frameworks {
            let (state, reason) = match (partition_aware, unreachable) {
                (false, _) => (TaskState::TaskLost, Reason::SlaveRemoved),
                (true, true) => (TaskState::TaskUnreachable, Reason::SlaveRemoved),
                (true, false) => (
                    TaskState::TaskGoneByOperator,
                    Reason::SlaveRemovedByOperator,
                ),
            };
            self.fail_tasks_on_agent(cx, &fid, agent_id, state, reason, message);
        }
        let Some(agent) = self.state.remove_agent(agent_id) else {
            return;
        };
        if !unreachable {
            // Upstream `removeSlave`: a removed agent's draining state goes
            // with it; an unreachable one keeps it.
            self.state.draining.remove(agent_id);
            self.state.deactivated.remove(agent_id);
        }
        if let Some(obs) = &agent.observer {
            cx.terminate_other(obs);
        }
        self.publish_agent_removed(agent_id);
        cx.unlink(&agent.pid);
        let fids: Vec<String> = self.state.frameworks.keys().cloned().collect();
        for fid in fids {
            self.send_framework(
                cx,
                &fid,
                ToFramework::LostSlave(agent.info.id.clone().unwrap_or_default()),
            );
        }
    }

    /// Transitions every task of one framework on one agent to `state`,
    /// forwards the update, forgets the tasks and executors there and
    /// recovers their resources (upstream `removeFramework(Slave*, Framework*)`
    /// and the task loop of `__removeSlave`).
    pub(crate) fn fail_tasks_on_agent(
        &mut self,
        cx: &mut Cx<'_, Self>,
        framework_id: &str,
        agent_id: &str,
        state: TaskState,
        reason: Reason,
        message: &str,
    ) {
        let tasks: Vec<_> = self
            .state
            .frameworks
            .get(framework_id)
            .map(|f| f.tasks_on(agent_id).cloned().collect())
            .unwrap_or_default();
        for task in tasks {
            let update = self.master_update(
                cx,
                framework_id,
                Some(agent_id),
                &task.task_id.value,
                state,
                Source::Master,
                reason,
                message,
                task.executor_id.clone(),
            );
            let updated = self.state.update_task(framework_id, &update.status, None);
            self.publish_task_updated(framework_id, &update.status);
            if let Some((agent, res)) = updated {
                self.allocator
                    .recover_resources(framework_id, &agent, &res, None, cx.now());
                self.metrics.task_terminal(update.status.state);
            }
            self.state.remove_task(framework_id, &task.task_id.value);
            let connected = self
                .state
                .frameworks
                .get(framework_id)
                .is_some_and(|f| f.connected());
            if connected {
                self.forward(cx, update, None, framework_id);
            }
        }
        // Executors of the framework on that agent are gone too.
        let execs = self
            .state
            .frameworks
            .get_mut(framework_id)
            .and_then(|f| f.executors.remove(agent_id))
            .unwrap_or_default();
        let mut res = Resources::new();
        for e in execs.values() {
            res.add_all(&Resources::from_vec(&e.resources));
        }
        if let Some(a) = self.state.agents.get_mut(agent_id) {
            a.executors.remove(framework_id);
        }
        if !res.is_empty() {
            self.allocator
                .recover_resources(framework_id, agent_id, &res, None, cx.now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::version_at_least;

    #[test]
    fn minimum_agent_version_is_1_0_0() {
        assert!(version_at_least("1.9.0", (1, 0, 0)));
        assert!(version_at_least("1.0.0", (1, 0, 0)));
        assert!(!version_at_least("0.28.2", (1, 0, 0)));
        assert!(version_at_least("1.10.0-dev", (1, 0, 0)));
        assert!(!version_at_least("garbage", (1, 0, 0)));
    }
}
