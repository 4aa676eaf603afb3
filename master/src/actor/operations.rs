//! The speculative offer operations RESERVE, UNRESERVE, CREATE and DESTROY:
//! from an ACCEPT (upstream `Master::_accept` cases, master.cpp:5049-5330),
//! from the operator API (`Master::Http::_operation`, http.cpp:4293, and
//! `Master::apply`), and their application to an agent (`Master::_apply`,
//! master.cpp:12543): the master's view of the agent's total changes at
//! once, the allocator is told, and the agent gets an `ApplyOperationMessage`
//! (RESOURCE_PROVIDER-capable agents) or a `CheckpointResourcesMessage`
//! with everything it must checkpoint (older agents). The agent answers the
//! former with `UpdateOperationStatusMessage`, which the master
//! acknowledges (`Master::updateOperationStatus`, master.cpp:9064).

use bytes::Bytes;
use http::StatusCode;
use libprocess::{Cx, Responder, Response, Upid};
use mesos_allocator::resources::conversions::from_operation;
use mesos_allocator::resources::ResourceConversion;
use mesos_allocator::Resources as AResources;
use mesos_proto::mesos::internal::{
    AcknowledgeOperationStatusMessage, ApplyOperationMessage, CheckpointResourcesMessage,
    ResourceVersionUuid, UpdateOperationStatusMessage,
};
use mesos_proto::mesos::offer::operation::Type as OpType;
use mesos_proto::mesos::offer::Operation as OfferOperation;
use mesos_proto::mesos::slave_info::capability::Type as AgentCap;
use mesos_proto::mesos::{
    resource, FrameworkId, Operation, OperationState, OperationStatus, Resource, Uuid,
};

use super::Master;
use crate::operation_validation::{self as v, AgentCaps};
use crate::resources::{downgrade, Resources};

fn to_alloc(r: &Resources) -> AResources {
    AResources::from_vec(r.to_vec())
}

fn from_alloc(r: &AResources) -> Resources {
    Resources::from_vec(&r.to_vec())
}

fn op_resources_mut(op: &mut OfferOperation) -> Vec<&mut Resource> {
    let mut out: Vec<&mut Resource> = Vec::new();
    if let Some(r) = op.reserve.as_mut() {
        out.extend(r.resources.iter_mut());
    }
    if let Some(r) = op.unreserve.as_mut() {
        out.extend(r.resources.iter_mut());
    }
    if let Some(c) = op.create.as_mut() {
        out.extend(c.volumes.iter_mut());
    }
    if let Some(d) = op.destroy.as_mut() {
        out.extend(d.volumes.iter_mut());
    }
    out
}

/// Upgrades the operation's resources to the post-refinement format
/// (upstream `validateAndUpgradeResources`).
pub fn upgrade_operation(op: &mut OfferOperation) {
    for r in op_resources_mut(op) {
        mesos_allocator::resources::resource::upgrade(r);
    }
}

/// Sets the offer's allocation role on resources without one (upstream
/// `injectAllocationInfo` in `Master::accept`).
fn inject_allocation_info(op: &mut OfferOperation, role: &str) {
    for r in op_resources_mut(op) {
        if r.allocation_info.is_none() {
            r.allocation_info = Some(resource::AllocationInfo {
                role: Some(role.to_string()),
            });
        }
    }
}

/// The operation with allocation info removed (upstream
/// `protobuf::stripAllocationInfo`): the agent's total is unallocated.
pub fn strip_allocation_info(op: &OfferOperation) -> OfferOperation {
    let mut op = op.clone();
    for r in op_resources_mut(&mut op) {
        r.allocation_info = None;
    }
    op
}

fn op_name(op: &OfferOperation) -> &'static str {
    op.r#type
        .and_then(|t| OpType::try_from(t).ok())
        .map(|t| t.as_str_name())
        .unwrap_or("UNKNOWN")
}

fn random_uuid<A: libprocess::Actor>(cx: &mut Cx<'_, A>) -> Uuid {
    let mut b = [0u8; 16];
    cx.rng().fill_bytes(&mut b);
    // Version 4 / RFC 4122 variant bits, as `id::UUID::random()`.
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Uuid {
        value: Bytes::copy_from_slice(&b),
    }
}

fn is_terminal_operation(state: i32) -> bool {
    [
        OperationState::OperationFinished,
        OperationState::OperationFailed,
        OperationState::OperationError,
        OperationState::OperationDropped,
        OperationState::OperationGoneByOperator,
    ]
    .iter()
    .any(|s| *s as i32 == state)
}

impl Master {
    /// The agent's checkpointed resources as upstream's
    /// `Slave::checkpointedResources`: its total filtered by
    /// `needCheckpointing`.
    pub(crate) fn checkpointed_resources(&self, agent_id: &str) -> AResources {
        self.state
            .agents
            .get(agent_id)
            .map(|a| to_alloc(&a.total).filter(v::need_checkpointing))
            .unwrap_or_default()
    }

    /// Validates one operation against the agent (framework given for an
    /// ACCEPT, `None` for the operator API).
    fn validate_operation(
        &self,
        agent_id: &str,
        op: &OfferOperation,
        framework: Option<&str>,
    ) -> Result<(), String> {
        let agent = &self.state.agents[agent_id];
        let caps = AgentCaps::from_types(&agent.capabilities);
        let fw_info = framework
            .and_then(|f| self.state.frameworks.get(f))
            .map(|f| &f.info);
        // Operators are not authenticated by this master; frameworks'
        // principals come from their FrameworkInfo as upstream.
        let principal = fw_info.and_then(|f| f.principal.as_deref());
        let missing = || format!("Missing '{}' in operation", op_name(op).to_lowercase());
        // Shared persistent volumes need shared-resource accounting (offered
        // to several tasks at once) that this master does not have yet:
        // refused up front rather than mis-counted (operations.md).
        let shared = op
            .create
            .iter()
            .flat_map(|c| c.volumes.iter())
            .chain(op.destroy.iter().flat_map(|d| d.volumes.iter()))
            .any(|v| v.shared.is_some());
        if shared {
            return Err("Shared persistent volumes are not supported by this master".into());
        }
        match op.r#type.and_then(|t| OpType::try_from(t).ok()) {
            Some(OpType::Reserve) => v::validate_reserve(
                op.reserve.as_ref().ok_or_else(missing)?,
                principal,
                caps,
                fw_info,
            )
            .map_err(|e| format!("{e}; on agent {}", agent.describe())),
            Some(OpType::Unreserve) => {
                v::validate_unreserve(op.unreserve.as_ref().ok_or_else(missing)?)
            }
            Some(OpType::Create) => v::validate_create(
                op.create.as_ref().ok_or_else(missing)?,
                &self.checkpointed_resources(agent_id),
                principal,
                caps,
                fw_info,
            )
            .map_err(|e| format!("{e}; on agent {}", agent.describe())),
            Some(OpType::Destroy) => {
                let used: Vec<AResources> = self
                    .state
                    .used_on_agent(agent_id)
                    .values()
                    .map(to_alloc)
                    .collect();
                v::validate_destroy(
                    op.destroy.as_ref().ok_or_else(missing)?,
                    &self.checkpointed_resources(agent_id),
                    &used,
                )
            }
            _ => Err(format!("Unsupported operation {}", op_name(op))),
        }
    }

    /// Upstream `Master::drop(framework, operation, message)`: logged, and
    /// an operation with an `id` from an HTTP framework gets an
    /// OPERATION_ERROR status (no agent, no UUID: nothing to acknowledge).
    fn drop_operation(
        &mut self,
        cx: &mut Cx<'_, Self>,
        fid: &str,
        op: &OfferOperation,
        message: &str,
    ) {
        tracing::warn!(
            "Dropping {} operation from framework {fid}: {message}",
            op_name(op)
        );
        let http = self
            .state
            .frameworks
            .get(fid)
            .is_some_and(|f| matches!(f.conn, crate::state::Connection::Http { .. }));
        if op.id.is_some() && http {
            let status = OperationStatus {
                operation_id: op.id.clone(),
                state: OperationState::OperationError as i32,
                message: Some(message.to_string()),
                ..Default::default()
            };
            self.send_operation_status(cx, fid, status);
        }
    }

    /// An UPDATE_OPERATION_STATUS event to an HTTP framework.
    fn send_operation_status(&mut self, cx: &mut Cx<'_, Self>, fid: &str, status: OperationStatus) {
        use mesos_proto::mesos::scheduler::event::{Type as EventType, UpdateOperationStatus};
        let event = mesos_proto::mesos::scheduler::Event {
            r#type: Some(EventType::UpdateOperationStatus as i32),
            update_operation_status: Some(UpdateOperationStatus { status }),
            ..Default::default()
        };
        self.send_event(cx, fid, &event);
    }

    /// Upstream `Master::accept` for an operation with an `id` (operation
    /// feedback): only HTTP frameworks, only on agents with
    /// RESOURCE_PROVIDER and AGENT_OPERATION_FEEDBACK.
    fn check_feedback(
        &mut self,
        cx: &mut Cx<'_, Self>,
        fid: &str,
        agent_id: &str,
        op: &OfferOperation,
    ) -> bool {
        if op.id.is_none() {
            return true;
        }
        let http = self
            .state
            .frameworks
            .get(fid)
            .is_some_and(|f| matches!(f.conn, crate::state::Connection::Http { .. }));
        if !http {
            let message = "The 'id' field was set in an offer operation, but operation feedback is not supported for the SchedulerDriver API";
            tracing::warn!(
                "Dropping {} operation from framework {fid}: {message}",
                op_name(op)
            );
            self.send_framework(
                cx,
                fid,
                super::ToFramework::Error(format!(
                    "{message}; please use the HTTP scheduler API for this feature"
                )),
            );
            return false;
        }
        let agent = &self.state.agents[agent_id];
        if !agent.has_capability(AgentCap::ResourceProvider) {
            let m = format!("Operation requested feedback, but agent {agent_id} does not have the required RESOURCE_PROVIDER capability");
            self.drop_operation(cx, fid, op, &m);
            return false;
        }
        if !agent.has_capability(AgentCap::AgentOperationFeedback) {
            let m = format!("Operation on agent default resources requested feedback, but agent {agent_id} does not have the required AGENT_OPERATION_FEEDBACK and RESOURCE_PROVIDER capabilities");
            self.drop_operation(cx, fid, op, &m);
            return false;
        }
        true
    }

    /// One RESERVE/UNRESERVE/CREATE/DESTROY of an ACCEPT (the matching
    /// cases of upstream `_accept`): validated, tried on the running
    /// `remaining` offered resources (so later operations of the same
    /// ACCEPT see its result), then applied to the agent. The conversions
    /// are collected for the allocator's `updateAllocation`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn accept_speculative(
        &mut self,
        cx: &mut Cx<'_, Self>,
        fid: &str,
        agent_id: &str,
        role: &str,
        mut op: OfferOperation,
        remaining: &mut Resources,
        conversions: &mut Vec<ResourceConversion>,
    ) {
        if !self.check_feedback(cx, fid, agent_id, &op) {
            return;
        }
        upgrade_operation(&mut op);
        inject_allocation_info(&mut op, role);
        let principal = self
            .state
            .frameworks
            .get(fid)
            .and_then(|f| f.info.principal.clone());
        if let Err(e) = self.authorize_operation(principal.as_deref(), &op) {
            self.drop_operation(cx, fid, &op, &e);
            return;
        }
        if let Err(e) = self.validate_operation(agent_id, &op, Some(fid)) {
            self.drop_operation(cx, fid, &op, &e);
            return;
        }
        let converted = match from_operation(&op) {
            Ok(c) => c,
            Err(e) => {
                self.drop_operation(cx, fid, &op, &e.to_string());
                return;
            }
        };
        let after = match to_alloc(remaining).apply(&converted) {
            Ok(a) => a,
            Err(e) => {
                self.drop_operation(cx, fid, &op, &e.to_string());
                return;
            }
        };
        if op.r#type == Some(OpType::Destroy as i32) {
            // Offers holding a volume being destroyed are rescinded
            // (upstream `_accept`, DESTROY case).
            let volumes =
                AResources::from_vec(op.destroy.clone().unwrap_or_default().volumes).unallocated();
            for oid in self.state.offers_on_agent(agent_id) {
                let holds = self.state.offers.get(&oid).is_some_and(|o| {
                    let offered = AResources::from_vec(o.resources.clone()).unallocated();
                    volumes.iter().any(|v| offered.contains_resource(v))
                });
                if holds {
                    self.remove_offer(cx, &oid, true);
                }
            }
        }
        *remaining = from_alloc(&after);
        tracing::info!(
            "Applying {} operation for resources {} from framework {fid} to agent {agent_id}",
            op_name(&op),
            AResources::from_vec(
                converted
                    .iter()
                    .flat_map(|c| c.consumed.to_vec())
                    .collect::<Vec<_>>()
            )
        );
        self.apply_to_agent(cx, agent_id, Some(fid), &op);
        conversions.extend(converted);
    }

    /// Upstream `Master::_apply`: the operation changes the master's view
    /// of the agent now, and the agent is told.
    pub(crate) fn apply_to_agent(
        &mut self,
        cx: &mut Cx<'_, Self>,
        agent_id: &str,
        fid: Option<&str>,
        op: &OfferOperation,
    ) {
        let stripped = strip_allocation_info(op);
        let Ok(conversions) = from_operation(&stripped) else {
            return;
        };
        let uuid = random_uuid(cx);
        let Some(agent) = self.state.agents.get_mut(agent_id) else {
            return;
        };
        match to_alloc(&agent.total).apply(&conversions) {
            Ok(t) => agent.total = from_alloc(&t),
            Err(e) => {
                // Validated by the caller; a mismatch here is our bug, not
                // the peer's, but the master keeps running.
                tracing::error!("Failed to apply {} to agent {agent_id}: {e}", op_name(op));
                return;
            }
        }
        let framework_id = fid.map(|f| FrameworkId {
            value: f.to_string(),
        });
        let pid = agent.pid.clone();
        if agent.has_capability(AgentCap::ResourceProvider) {
            let operation = Operation {
                framework_id: framework_id.clone(),
                slave_id: agent.info.id.clone(),
                info: op.clone(),
                latest_status: OperationStatus {
                    operation_id: op.id.clone(),
                    state: OperationState::OperationPending as i32,
                    slave_id: agent.info.id.clone(),
                    ..Default::default()
                },
                statuses: vec![],
                uuid: uuid.clone(),
            };
            agent
                .operations
                .insert(super::tasks::uuid_text(&uuid.value), operation);
            let version = agent.resource_version.clone().unwrap_or_default();
            let message = ApplyOperationMessage {
                framework_id,
                operation_info: op.clone(),
                operation_uuid: uuid.clone(),
                resource_version_uuid: ResourceVersionUuid {
                    resource_provider_id: None,
                    uuid: version,
                },
            };
            tracing::info!(
                "Sending operation '' (uuid: {}) to agent {}",
                super::tasks::uuid_text(&uuid.value),
                agent.describe()
            );
            cx.send(&pid, &message);
        } else {
            let mut resources = to_alloc(&agent.total)
                .filter(v::need_checkpointing)
                .to_vec();
            if !agent.has_capability(AgentCap::ReservationRefinement) {
                if resources.iter().any(|r| r.reservations.len() > 1) {
                    tracing::warn!(
                        "Not sending updated checkpointed resources with refined reservations, since agent {} is not RESERVATION_REFINEMENT-capable.",
                        agent.describe()
                    );
                    return;
                }
                resources.iter_mut().for_each(downgrade);
            }
            tracing::info!(
                "Sending updated checkpointed resources {} to agent {}",
                AResources::from_vec(resources.clone()),
                agent.describe()
            );
            cx.send(&pid, &CheckpointResourcesMessage { resources });
        }
    }

    /// `UpdateOperationStatusMessage` from an agent (upstream
    /// `Master::updateOperationStatus`): the status is recorded, a reliable
    /// one acknowledged (no framework acknowledges for this master), a
    /// terminal one ends the operation.
    pub(crate) fn update_operation_status(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        msg: UpdateOperationStatusMessage,
    ) {
        let Some(slave_id) = msg.slave_id.as_ref().map(|s| s.value.clone()) else {
            tracing::warn!("Ignoring operation status update from {from} without an agent ID");
            return;
        };
        let Some(op_uuid) = msg.operation_uuid.clone() else {
            tracing::warn!(
                "Ignoring operation status update from {from} without an operation UUID"
            );
            return;
        };
        let key = super::tasks::uuid_text(&op_uuid.value);
        let Some(agent) = self.state.agents.get_mut(&slave_id) else {
            tracing::warn!(
                "Ignoring status update for operation (uuid: {key}): Agent {slave_id} is not registered"
            );
            return;
        };
        let pid = agent.pid.clone();
        let Some(operation) = agent.operations.get_mut(&key) else {
            // A duplicate after the operation ended: nothing to do but let
            // the agent stop retrying.
            if let Some(status_uuid) = msg.status.uuid.clone() {
                cx.send(
                    &pid,
                    &AcknowledgeOperationStatusMessage {
                        status_uuid,
                        operation_uuid: op_uuid,
                        resource_provider_id: None,
                    },
                );
            }
            return;
        };
        let mut status = msg.status.clone();
        // Agents may leave the operation ID out; the master knows it.
        if operation.info.id.is_some() {
            status.operation_id = operation.info.id.clone();
        }
        operation.latest_status = msg.latest_status.clone().unwrap_or_else(|| status.clone());
        operation.statuses.push(status.clone());
        let feedback_to = operation
            .framework_id
            .as_ref()
            .filter(|_| operation.info.id.is_some())
            .map(|f| f.value.clone());
        tracing::info!(
            "Updating the state of operation (uuid: {key}) to {}",
            OperationState::try_from(status.state)
                .map(|s| s.as_str_name())
                .unwrap_or("UNKNOWN")
        );
        let terminal = is_terminal_operation(status.state);
        if let Some(fid) = feedback_to.filter(|f| self.state.frameworks.contains_key(f)) {
            // The framework acknowledges (ACKNOWLEDGE_OPERATION_STATUS);
            // an unreliable terminal status ends the operation now.
            if terminal && status.uuid.is_none() {
                agent.operations.remove(&key);
            }
            self.send_operation_status(cx, &fid, status);
            return;
        }
        if let Some(status_uuid) = status.uuid.clone() {
            cx.send(
                &pid,
                &AcknowledgeOperationStatusMessage {
                    status_uuid,
                    operation_uuid: op_uuid,
                    resource_provider_id: None,
                },
            );
        }
        if terminal {
            agent.operations.remove(&key);
        }
    }

    /// ACKNOWLEDGE_OPERATION_STATUS from a framework (upstream
    /// `Master::acknowledgeOperationStatus`): forwarded to the agent; an
    /// acknowledged terminal status ends the operation.
    pub(crate) fn acknowledge_operation_status(
        &mut self,
        cx: &mut Cx<'_, Self>,
        fid: &str,
        ack: mesos_proto::mesos::scheduler::call::AcknowledgeOperationStatus,
    ) {
        let op_id = ack.operation_id.value.clone();
        let Some(agent_id) = ack.slave_id.as_ref().map(|s| s.value.clone()) else {
            tracing::warn!(
                "Ignoring operation status acknowledgement for '{op_id}' without an agent ID"
            );
            return;
        };
        let Some(agent) = self.state.agents.get_mut(&agent_id) else {
            tracing::warn!("Cannot send operation status update acknowledgement for operation '{op_id}' of framework {fid} to agent {agent_id} because agent is not registered");
            return;
        };
        if !agent.connected {
            tracing::warn!("Cannot send operation status update acknowledgement for operation '{op_id}' of framework {fid} to agent {agent_id} because agent is disconnected");
            return;
        }
        let found = agent.operations.iter().find(|(_, o)| {
            o.info.id.as_ref().is_some_and(|i| i.value == op_id)
                && o.framework_id.as_ref().is_some_and(|f| f.value == fid)
        });
        let Some((key, operation)) = found else {
            tracing::warn!("Cannot send operation status update acknowledgement for operation '{op_id}' of framework {fid} to agent {agent_id} because the operation is unknown");
            return;
        };
        let Some(acked) = operation
            .statuses
            .iter()
            .find(|s| s.uuid.as_ref().is_some_and(|u| u.value == ack.uuid))
        else {
            tracing::warn!("Ignoring operation status acknowledgement for operation '{op_id}' of framework {fid}: the operation status is unknown");
            return;
        };
        let (key, op_uuid, terminal) = (
            key.clone(),
            operation.uuid.clone(),
            is_terminal_operation(acked.state),
        );
        if terminal {
            agent.operations.remove(&key);
        }
        let pid = agent.pid.clone();
        cx.send(
            &pid,
            &AcknowledgeOperationStatusMessage {
                status_uuid: Uuid {
                    value: ack.uuid.clone(),
                },
                operation_uuid: op_uuid,
                resource_provider_id: None,
            },
        );
    }

    /// Operator RESERVE/UNRESERVE/CREATE/DESTROY (upstream
    /// `Master::Http::_reserve` ... `_operation` and `Master::apply`):
    /// validated (400), offers on the agent rescinded until their
    /// resources cover the operation, applied to the allocator's available
    /// resources (409 if they are not there) and then to the agent (202).
    pub(crate) fn operator_operation(
        &mut self,
        cx: &mut Cx<'_, Self>,
        agent_id: &str,
        mut op: OfferOperation,
        principal: Option<&str>,
        responder: Responder,
    ) {
        if !self.state.agents.contains_key(agent_id) {
            responder.respond(Response::bad_request("No agent found with specified ID"));
            return;
        }
        upgrade_operation(&mut op);
        if let Err(e) = self.validate_operation(agent_id, &op, None) {
            let described = self.state.agents[agent_id].describe();
            let text = match op.r#type.and_then(|t| OpType::try_from(t).ok()) {
                Some(OpType::Reserve) | Some(OpType::Create) => {
                    // The agent is already named in `e` for these.
                    let e = e.trim_end_matches(&format!("; on agent {described}"));
                    format!(
                        "Invalid {} operation on agent {described}: {e}",
                        op_name(&op)
                    )
                }
                _ => format!("Invalid {} operation: {e}", op_name(&op)),
            };
            responder.respond(Response::bad_request(text));
            return;
        }
        // Upstream `Master::Http::_reserve` etc.: authorized after the
        // validation, a refusal is `403 Forbidden`.
        if self.authorize_operation(principal, &op).is_err() {
            responder.respond(super::authorization::forbidden());
            return;
        }
        let conversions = match from_operation(&op) {
            Ok(c) => c,
            Err(e) => {
                responder.respond(Response::bad_request(format!(
                    "Invalid {} operation: {e}",
                    op_name(&op)
                )));
                return;
            }
        };
        let mut required = AResources::sum(conversions.iter().map(|c| &c.consumed));
        let mut recovered = AResources::new();
        for oid in self.state.offers_on_agent(agent_id) {
            let Some(offer) = self.state.offers.get(&oid) else {
                continue;
            };
            let offered = AResources::from_vec(offer.resources.clone()).unallocated();
            if (&required - &offered) == required {
                continue;
            }
            recovered += &offered;
            required = &required - &offered;
            // Upstream recovers with a default (5 s) filter so the
            // resources are unlikely to be re-offered before the update.
            self.remove_offer(cx, &oid, true);
            if recovered.apply(&conversions).is_ok() {
                break;
            }
        }
        if let Err(e) = self.allocator.update_available(agent_id, &conversions) {
            responder.respond(Response::text(StatusCode::CONFLICT, e));
            return;
        }
        tracing::info!(
            "Applying {} operation from the operator API to agent {agent_id}",
            op_name(&op)
        );
        self.apply_to_agent(cx, agent_id, None, &op);
        responder.respond(Response::accepted());
    }
}

/// The v1 `Operation`s of every agent (operator `GET_OPERATIONS`).
pub fn all_operations(state: &crate::state::MasterState) -> Vec<Operation> {
    state
        .agents
        .values()
        .flat_map(|a| a.operations.values().cloned())
        .collect()
}

impl Master {
    /// A (re)registering agent's total with the reservations and volumes
    /// it checkpointed (upstream `Slave::Slave` / `Slave::update` use
    /// `applyCheckpointedResources`). Incompatible ones are logged and the
    /// agent keeps its `SlaveInfo` resources.
    pub(crate) fn apply_checkpointed(
        &self,
        agent: &mut crate::state::Agent,
        checkpointed: &[Resource],
    ) {
        if checkpointed.is_empty() {
            return;
        }
        let static_total = AResources::from_vec(agent.info.resources.clone());
        match mesos_allocator::resources::conversions::apply_checkpointed_resources(
            &static_total,
            checkpointed,
        ) {
            Ok(total) => agent.total = from_alloc(&total),
            Err(e) => tracing::warn!(
                "Ignoring checkpointed resources of agent {}: {e}",
                agent.describe()
            ),
        }
    }

    /// A known RESOURCE_PROVIDER-capable agent reregistered: its
    /// checkpointed resources are the truth (an operation may never have
    /// reached it), so the master's total and the allocator follow them
    /// (upstream `___reregisterSlave`: `slave->update` + `updateSlave`).
    pub(crate) fn update_known_agent_resources(
        &mut self,
        agent_id: &str,
        checkpointed: &[Resource],
    ) {
        let Some(agent) = self.state.agents.get(agent_id) else {
            return;
        };
        if !agent.has_capability(AgentCap::ResourceProvider) {
            return;
        }
        let mut updated = agent.clone();
        updated.total = Resources::from_vec(&agent.info.resources);
        self.apply_checkpointed(&mut updated, checkpointed);
        if updated.total == agent.total {
            return;
        }
        tracing::info!(
            "Agent {} reregistered with checkpointed resources {}; updating its total",
            agent.describe(),
            AResources::from_vec(checkpointed.to_vec())
        );
        let (info, total) = (updated.info.clone(), updated.total.clone());
        if let Some(a) = self.state.agents.get_mut(agent_id) {
            a.total = total.clone();
        }
        self.allocator.update_agent_total(agent_id, &info, &total);
    }

    /// Operations the master sent that the agent's `UpdateSlaveMessage`
    /// does not list are reconciled explicitly; the agent answers
    /// OPERATION_DROPPED for those it never saw (upstream
    /// `Master::updateSlave`, master.cpp ~8680).
    pub(crate) fn reconcile_agent_operations(
        &mut self,
        cx: &mut Cx<'_, Self>,
        agent_id: &str,
        reported: &mesos_proto::mesos::internal::update_slave_message::Operations,
    ) {
        let Some(agent) = self.state.agents.get(agent_id) else {
            return;
        };
        let known: std::collections::BTreeSet<String> = reported
            .operations
            .iter()
            .map(|o| super::tasks::uuid_text(&o.uuid.value))
            .collect();
        let missing: Vec<mesos_proto::mesos::internal::reconcile_operations_message::Operation> =
            agent
                .operations
                .iter()
                .filter(|(k, o)| {
                    !known.contains(*k) && !is_terminal_operation(o.latest_status.state)
                })
                .map(|(_, o)| {
                    mesos_proto::mesos::internal::reconcile_operations_message::Operation {
                        operation_uuid: Some(o.uuid.clone()),
                        operation_id: None,
                        resource_provider_id: None,
                    }
                })
                .collect();
        if missing.is_empty() {
            return;
        }
        tracing::warn!(
            "Performing explicit reconciliation with agent {} for {} operations it did not report",
            agent.describe(),
            missing.len()
        );
        let pid = agent.pid.clone();
        cx.send(
            &pid,
            &mesos_proto::mesos::internal::ReconcileOperationsMessage {
                operations: missing,
                framework_id: None,
            },
        );
    }

    /// After a known agent without RESOURCE_PROVIDER reregisters, the
    /// master resends what it must checkpoint, in case an operation never
    /// reached it (upstream `___reregisterSlave`).
    pub(crate) fn resend_checkpointed_resources(&mut self, cx: &mut Cx<'_, Self>, agent_id: &str) {
        let Some(agent) = self.state.agents.get(agent_id) else {
            return;
        };
        if agent.has_capability(AgentCap::ResourceProvider) {
            return;
        }
        let mut resources = self.checkpointed_resources(agent_id).to_vec();
        if !agent.has_capability(AgentCap::ReservationRefinement) {
            if resources.iter().any(|r| r.reservations.len() > 1) {
                return;
            }
            resources.iter_mut().for_each(downgrade);
        }
        let pid = agent.pid.clone();
        cx.send(&pid, &CheckpointResourcesMessage { resources });
    }
}
