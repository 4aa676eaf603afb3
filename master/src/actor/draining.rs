//! Agent draining and deactivation (Mesos 1.9): the operator calls
//! `DRAIN_AGENT`, `DEACTIVATE_AGENT`, `REACTIVATE_AGENT` (upstream
//! `Master::Http::drainAgent` & co., src/master/http.cpp ~3888-4130) and the
//! DRAINING -> DRAINED transition (`Master::checkAndTransitionDrainingAgent`,
//! src/master/master.cpp ~6300).

use http::StatusCode;
use libprocess::{Cx, Responder, Response};
use mesos_proto::mesos::internal::{DrainSlaveMessage, ShutdownMessage};
use mesos_proto::mesos::slave_info::capability::Type as AgentCap;
use mesos_proto::mesos::{DrainConfig, DrainInfo, DrainState, SlaveId};

use super::maintenance::MachineKey;
use super::Master;
use crate::registrar::Operation;

impl Master {
    /// Upstream `Master::deactivate(Slave*)`: no more offers for the agent,
    /// outstanding ones are rescinded.
    pub(crate) fn deactivate_agent_offers(&mut self, cx: &mut Cx<'_, Self>, agent_id: &str) {
        let Some(agent) = self.state.agents.get_mut(agent_id) else {
            return;
        };
        agent.active = false;
        self.allocator.deactivate_agent(agent_id);
        self.rescind_offers_on_agent(cx, agent_id);
    }

    /// Upstream `Master::reactivate(Slave*)` (only a connected agent gets
    /// offers again).
    fn reactivate_agent_offers(&mut self, cx: &mut Cx<'_, Self>, agent_id: &str) {
        let Some(agent) = self.state.agents.get_mut(agent_id) else {
            return;
        };
        if !agent.connected {
            return;
        }
        agent.active = true;
        self.allocator.activate_agent(agent_id);
        self.allocate(cx);
    }

    /// Sends `DrainSlaveMessage` to a (re)registering agent that is DRAINING
    /// or DRAINED; the agent handles it in either state.
    pub(crate) fn send_drain_if_draining(&mut self, cx: &mut Cx<'_, Self>, agent_id: &str) {
        let (Some(info), Some(agent)) = (
            self.state.draining.get(agent_id),
            self.state.agents.get(agent_id),
        ) else {
            return;
        };
        cx.send(
            &agent.pid,
            &DrainSlaveMessage {
                config: info.config,
            },
        );
    }

    /// Upstream `checkAndTransitionDrainingAgent`: a DRAINING agent with no
    /// tasks left becomes DRAINED (persisted), or is marked gone when its
    /// drain config says so. Called after DRAIN_AGENT, reregistration and
    /// every acknowledgement.
    pub(crate) fn check_and_transition_draining_agent(
        &mut self,
        cx: &mut Cx<'_, Self>,
        agent_id: &str,
    ) {
        let Some(info) = self.state.draining.get(agent_id) else {
            return;
        };
        if info.state == DrainState::Drained as i32 || !self.state.agents.contains_key(agent_id) {
            return;
        }
        // Upstream also waits for pending tasks and operations; this master
        // launches synchronously and tracks no operations, so tasks it is.
        let tasks = self.state.tasks_on_agent(agent_id).count();
        if tasks > 0 {
            tracing::debug!("DRAINING agent {agent_id} has {tasks} tasks");
            return;
        }
        let id = SlaveId {
            value: agent_id.to_string(),
        };
        if info.config.mark_gone.unwrap_or(false) {
            tracing::info!("Marking agent {agent_id} in the DRAINED state as gone");
            self.mark_gone(cx, id, None);
            return;
        }
        tracing::info!("Transitioning agent {agent_id} to the DRAINED state");
        match self.registrar.apply(Operation::MarkAgentDrained(id)) {
            Ok(_) => {
                self.persist_registry(cx);
                if let Some(d) = self.state.draining.get_mut(agent_id) {
                    d.state = DrainState::Drained as i32;
                }
                tracing::info!("Agent {agent_id} successfully marked as DRAINED");
            }
            Err(e) => tracing::error!("Failed to mark agent {agent_id} drained: {e}"),
        }
    }

    /// Upstream `Master::markGone`: the registry moves the agent to `gone`,
    /// the agent is told to shut down and removed (its tasks, if any, become
    /// TASK_GONE_BY_OPERATOR for partition-aware frameworks). An operator's
    /// `MARK_AGENT_GONE` is answered once the registry change is durable.
    pub(crate) fn mark_gone(
        &mut self,
        cx: &mut Cx<'_, Self>,
        id: SlaveId,
        responder: Option<Responder>,
    ) {
        let now = Self::now_secs(cx);
        if let Err(e) = self
            .registrar
            .apply(Operation::MarkSlaveGone(id.clone(), (now * 1e9) as i64))
        {
            tracing::error!("Failed to mark agent {} gone: {e}", id.value);
            if let Some(r) = responder {
                r.respond(Response::text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("Failed to mark agent gone in the registry: {e}"),
                ));
            }
            return;
        }
        match responder {
            Some(r) => self.respond_when_persisted(cx, r),
            None => self.persist_registry(cx),
        }
        self.state.gone.insert(id.value.clone(), now);
        self.state.unreachable.remove(&id.value);
        self.state.recovered.remove(&id.value);
        self.state.draining.remove(&id.value);
        self.state.deactivated.remove(&id.value);
        if let Some(agent) = self.state.agents.get(&id.value) {
            let pid = agent.pid.clone();
            cx.send(
                &pid,
                &ShutdownMessage {
                    message: Some("Agent has been marked gone".into()),
                },
            );
            self.remove_agent(cx, &id.value, "Agent has been marked gone", false);
        }
    }

    /// Recovered, registered or unreachable (upstream's "known agent" test
    /// of the draining calls).
    pub(crate) fn known_agent(&self, id: &str) -> bool {
        self.state.agents.contains_key(id)
            || self.state.recovered.contains_key(id)
            || self.state.unreachable.contains_key(id)
    }

    /// Answers `ok` once the registry change is durable (upstream replies
    /// after the registrar's future); a failed write is fatal as upstream.
    pub(crate) fn respond_when_persisted(&mut self, cx: &mut Cx<'_, Self>, responder: Responder) {
        match self.registrar.persist() {
            None => responder.respond(Response::ok()),
            Some(job) => cx.blocking(job, move |_m: &mut Master, cx, r| match r {
                Ok(()) => responder.respond(Response::ok()),
                Err(e) => {
                    tracing::error!("Registrar failed: {e}; terminating the master");
                    responder.respond(Response::text(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!("Failed to update the registry: {e}"),
                    ));
                    cx.terminate();
                }
            }),
        }
    }

    /// `DRAIN_AGENT`.
    pub(crate) fn drain_agent_call(
        &mut self,
        cx: &mut Cx<'_, Self>,
        call: mesos_proto::mesos::master::call::DrainAgent,
        responder: Responder,
    ) {
        let id = call.slave_id.value.clone();
        if let Some(agent) = self.state.agents.get(&id) {
            // Upstream `Master::Http::drainAgent`: a registered agent whose
            // machine is in the (first) maintenance schedule is refused.
            let machine = Self::machine_of(&agent.info.hostname, &agent.pid);
            let key = MachineKey::of(&machine);
            let scheduled = self
                .maintenance
                .schedules
                .first()
                .into_iter()
                .flat_map(|s| &s.windows)
                .flat_map(|w| &w.machine_ids)
                .find(|m| MachineKey::of(m) == key);
            if let Some(m) = scheduled {
                responder.respond(Response::bad_request(format!(
                    "Agent {id} is part of a maintenance schedule under Machine {}",
                    describe_machine(m)
                )));
                return;
            }
            if !agent.has_capability(AgentCap::AgentDraining) {
                responder.respond(Response::bad_request(format!(
                    "Agent {id} is not capable of draining"
                )));
                return;
            }
        }
        if !self.known_agent(&id) {
            responder.respond(Response::bad_request("Unknown agent"));
            return;
        }
        let config = DrainConfig {
            max_grace_period: call.max_grace_period,
            mark_gone: Some(call.mark_gone.unwrap_or(false)),
        };
        if let Err(e) = self
            .registrar
            .apply(Operation::DrainAgent(call.slave_id.clone(), config))
        {
            responder.respond(Response::text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("Failed to update draining info in the registry: {e}"),
            ));
            return;
        }
        tracing::info!("Draining agent {id}");
        self.state.draining.insert(
            id.clone(),
            DrainInfo {
                state: DrainState::Draining as i32,
                config,
            },
        );
        self.state.deactivated.insert(id.clone());
        let now = Self::now_secs(cx);
        if let Some(agent) = self.state.agents.get_mut(&id) {
            agent.estimated_drain_start = Some(now);
        }
        if let Some(pid) = self.state.agents.get(&id).map(|a| a.pid.clone()) {
            self.deactivate_agent_offers(cx, &id);
            cx.send(&pid, &DrainSlaveMessage { config });
            self.check_and_transition_draining_agent(cx, &id);
        }
        self.respond_when_persisted(cx, responder);
    }

    /// `DEACTIVATE_AGENT`.
    pub(crate) fn deactivate_agent_call(
        &mut self,
        cx: &mut Cx<'_, Self>,
        slave_id: SlaveId,
        responder: Responder,
    ) {
        let id = slave_id.value.clone();
        if !self.known_agent(&id) {
            responder.respond(Response::bad_request("Unknown agent"));
            return;
        }
        if let Err(e) = self.registrar.apply(Operation::DeactivateAgent(slave_id)) {
            responder.respond(Response::text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("Failed to deactivate agent in the registry: {e}"),
            ));
            return;
        }
        tracing::info!("Deactivating agent {id}");
        self.state.deactivated.insert(id.clone());
        self.deactivate_agent_offers(cx, &id);
        self.respond_when_persisted(cx, responder);
    }

    /// `REACTIVATE_AGENT`: clears deactivation and draining. Upstream
    /// crashes (CHECK) when the deactivated agent is not in the registry's
    /// lists any more; here that is a 400 and nothing changes.
    pub(crate) fn reactivate_agent_call(
        &mut self,
        cx: &mut Cx<'_, Self>,
        slave_id: SlaveId,
        responder: Responder,
    ) {
        let id = slave_id.value.clone();
        if !self.state.deactivated.contains(&id) {
            responder.respond(Response::bad_request("Agent is not deactivated"));
            return;
        }
        match self.registrar.apply(Operation::ReactivateAgent(slave_id)) {
            Ok(true) => {}
            Ok(false) => {
                responder.respond(Response::bad_request(
                    "Agent is not in the registry; it cannot be reactivated",
                ));
                return;
            }
            Err(e) => {
                responder.respond(Response::text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("Failed to reactivate agent in the registry: {e}"),
                ));
                return;
            }
        }
        tracing::info!("Reactivating agent {id}");
        self.state.draining.remove(&id);
        self.state.deactivated.remove(&id);
        if let Some(agent) = self.state.agents.get_mut(&id) {
            agent.estimated_drain_start = None;
        }
        self.reactivate_agent_offers(cx, &id);
        self.respond_when_persisted(cx, responder);
    }
}

/// A `MachineID` as upstream prints it (src/common/type_utils.cpp
/// `operator<<(MachineID)`): `host (ip)`, `host`, or `(ip)`.
fn describe_machine(m: &mesos_proto::mesos::MachineId) -> String {
    match (&m.hostname, &m.ip) {
        (Some(h), Some(ip)) => format!("{h} ({ip})"),
        (Some(h), None) => h.clone(),
        (None, ip) => format!("({})", ip.as_deref().unwrap_or("")),
    }
}
