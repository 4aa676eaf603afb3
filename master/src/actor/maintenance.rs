//! Maintenance primitives (Mesos 1.9): maintenance schedules, machine modes
//! (UP -> DRAINING -> DOWN -> UP), unavailability in offers and inverse
//! offers.
//!
//! Mirrors upstream `src/master/maintenance.cpp` (registry operations and
//! validation), the maintenance handlers of `src/master/http.cpp`
//! (`_updateMaintenanceSchedule`, `_startMaintenance`, `_stopMaintenance`,
//! `_getMaintenanceStatus`) and the master side of inverse offers in
//! `src/master/master.cpp` (`updateUnavailability`, `inverseOffer`,
//! `acceptInverseOffers`, `declineInverseOffers`, `removeInverseOffer`,
//! `inverseOfferTimeout`). The HTTP wiring is in `crate::http::maintenance`.

use std::collections::{BTreeMap, BTreeSet};

use http::StatusCode;
use libprocess::{Cx, Responder, Response, TimerId};
use mesos_proto::mesos::allocator::{inverse_offer_status, InverseOfferStatus};
use mesos_proto::mesos::internal::registry::{Machine as RegistryMachine, Machines};
use mesos_proto::mesos::internal::{InverseOffersMessage, Registry, ShutdownMessage};
use mesos_proto::mesos::machine_info::Mode;
use mesos_proto::mesos::maintenance::{cluster_status, ClusterStatus, Schedule};
use mesos_proto::mesos::scheduler::call::{AcceptInverseOffers, DeclineInverseOffers};
use mesos_proto::mesos::{
    Address, FrameworkId, InverseOffer, MachineId, MachineInfo, TimeInfo, Unavailability, Url,
};

use super::{Master, ToFramework};
use crate::registrar::Operation;

/// A `MachineID` as upstream compares and hashes it (`type_utils.hpp`):
/// the hostname case-insensitively, and whether each field is set.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MachineKey {
    hostname: Option<String>,
    ip: Option<String>,
}

impl MachineKey {
    pub fn of(id: &MachineId) -> MachineKey {
        MachineKey {
            hostname: id.hostname.as_ref().map(|h| h.to_lowercase()),
            ip: id.ip.clone(),
        }
    }
}

/// One machine the master knows (upstream `Master::Machine`): its info
/// (mode and unavailability). Agents on it are found by hostname and IP.
#[derive(Clone, Debug)]
pub struct Machine {
    pub info: MachineInfo,
}

impl Machine {
    pub fn mode(&self) -> Mode {
        self.info
            .mode
            .and_then(|m| Mode::try_from(m).ok())
            .unwrap_or(Mode::Up)
    }
}

/// An outstanding inverse offer (upstream `Master::inverseOffers`).
#[derive(Debug)]
pub struct OutstandingInverseOffer {
    pub offer: InverseOffer,
    /// The framework's connection epoch when the offer was made: a
    /// resubscribed framework never saw it (upstream removes inverse offers
    /// on failover and deactivation).
    pub framework_epoch: u64,
    timer: Option<TimerId>,
}

/// The master's maintenance state (upstream `Master::maintenance` and
/// `Master::machines`).
#[derive(Debug, Default)]
pub struct MaintenanceState {
    /// At most one schedule (upstream keeps a list but only ever uses one).
    pub schedules: Vec<Schedule>,
    /// Every machine an agent registered from or a schedule named; UP
    /// machines stay listed, as upstream.
    pub machines: BTreeMap<MachineKey, Machine>,
    /// Outstanding inverse offers by ID.
    pub inverse_offers: BTreeMap<String, OutstandingInverseOffer>,
}

/// A registry operation of the maintenance primitives.
#[derive(Clone, Debug)]
pub enum MaintenanceOp {
    /// Upstream `maintenance::UpdateSchedule`.
    UpdateSchedule(Schedule),
    /// Upstream `maintenance::StartMaintenance` (machines go DOWN).
    StartMaintenance(Vec<MachineId>),
    /// Upstream `maintenance::StopMaintenance` (machines go UP and leave
    /// the schedule).
    StopMaintenance(Vec<MachineId>),
}

fn machine_ids(schedule: &Schedule) -> impl Iterator<Item = (&MachineId, &Unavailability)> {
    schedule
        .windows
        .iter()
        .flat_map(|w| w.machine_ids.iter().map(move |m| (m, &w.unavailability)))
}

/// Removes `ids` from every window; empty windows and schedules go.
fn unschedule(schedules: &mut Vec<Schedule>, ids: &BTreeSet<MachineKey>) {
    for s in schedules.iter_mut() {
        for w in s.windows.iter_mut() {
            w.machine_ids.retain(|m| !ids.contains(&MachineKey::of(m)));
        }
        s.windows.retain(|w| !w.machine_ids.is_empty());
    }
    schedules.retain(|s| !s.windows.is_empty());
}

/// Applies a maintenance operation to the registry; whether it changed it
/// (upstream `perform` of the three operations in maintenance.cpp).
pub fn apply_to_registry(registry: &mut Registry, op: MaintenanceOp) -> bool {
    let machines = &mut registry
        .machines
        .get_or_insert_with(Machines::default)
        .machines;
    match op {
        MaintenanceOp::UpdateSchedule(schedule) => {
            let existing: BTreeSet<MachineKey> = registry
                .schedules
                .iter()
                .flat_map(machine_ids)
                .map(|(m, _)| MachineKey::of(m))
                .collect();
            let updated: BTreeMap<MachineKey, Unavailability> = machine_ids(&schedule)
                .map(|(m, u)| (MachineKey::of(m), *u))
                .collect();
            // Scheduled machines get the new window; the rest leave.
            machines.retain_mut(|m| match updated.get(&MachineKey::of(&m.info.id)) {
                Some(u) => {
                    m.info.unavailability = Some(*u);
                    true
                }
                None => false,
            });
            // Newly scheduled machines start DRAINING.
            for (id, u) in machine_ids(&schedule) {
                if existing.contains(&MachineKey::of(id)) {
                    continue;
                }
                machines.push(RegistryMachine {
                    info: MachineInfo {
                        id: id.clone(),
                        mode: Some(Mode::Draining as i32),
                        unavailability: Some(*u),
                    },
                });
            }
            registry.schedules = vec![schedule];
            true
        }
        MaintenanceOp::StartMaintenance(ids) => {
            let ids: BTreeSet<MachineKey> = ids.iter().map(MachineKey::of).collect();
            let mut changed = false;
            for m in machines.iter_mut() {
                if ids.contains(&MachineKey::of(&m.info.id)) {
                    m.info.mode = Some(Mode::Down as i32);
                    changed = true;
                }
            }
            changed
        }
        MaintenanceOp::StopMaintenance(ids) => {
            let ids: BTreeSet<MachineKey> = ids.iter().map(MachineKey::of).collect();
            let before = machines.len();
            machines.retain(|m| !ids.contains(&MachineKey::of(&m.info.id)));
            let changed = machines.len() != before;
            unschedule(&mut registry.schedules, &ids);
            changed
        }
    }
}

/// `JSON::protobuf(id)` as upstream's messages quote it.
fn quoted(id: &MachineId) -> String {
    mesos_proto::json::to_json(id).unwrap_or_else(|_| format!("{id:?}"))
}

/// Upstream `maintenance::validation::machine`.
pub fn validate_machine(id: &MachineId) -> Result<(), String> {
    let hostname = id.hostname.as_deref().unwrap_or("");
    let ip = id.ip.as_deref().unwrap_or("");
    if hostname.is_empty() && ip.is_empty() {
        return Err("Both 'hostname' and 'ip' for a machine are empty".into());
    }
    if !ip.is_empty() && ip.parse::<std::net::Ipv4Addr>().is_err() {
        return Err(format!("Failed to parse IPv4: {ip}"));
    }
    Ok(())
}

/// Upstream `maintenance::validation::machines`.
pub fn validate_machines(ids: &[MachineId]) -> Result<(), String> {
    if ids.is_empty() {
        return Err("List of machines is empty".into());
    }
    let mut seen = BTreeSet::new();
    for id in ids {
        validate_machine(id)?;
        if !seen.insert(MachineKey::of(id)) {
            return Err(format!(
                "Machine '{}' appears more than once in the schedule",
                quoted(id)
            ));
        }
    }
    Ok(())
}

/// Upstream `maintenance::validation::schedule`: non-empty windows, a
/// non-negative duration, valid and unique machines, and no DOWN machine
/// left out.
pub fn validate_schedule(
    schedule: &Schedule,
    machines: &BTreeMap<MachineKey, Machine>,
) -> Result<(), String> {
    let mut updated = BTreeSet::new();
    for w in &schedule.windows {
        if w.machine_ids.is_empty() {
            return Err("List of machines in the maintenance window is empty".into());
        }
        if w.unavailability.duration.is_some_and(|d| d.nanoseconds < 0) {
            return Err("Unavailability 'duration' is negative".into());
        }
        for id in &w.machine_ids {
            validate_machine(id)?;
            if !updated.insert(MachineKey::of(id)) {
                return Err(format!(
                    "Machine '{}' appears more than once in the schedule",
                    quoted(id)
                ));
            }
        }
    }
    for (key, m) in machines {
        if m.mode() == Mode::Down && !updated.contains(key) {
            return Err(format!(
                "Machine '{}' is deactivated and cannot be removed from the schedule",
                quoted(&m.info.id)
            ));
        }
    }
    Ok(())
}

fn time_info(secs: f64) -> TimeInfo {
    TimeInfo {
        nanoseconds: (secs * 1e9) as i64,
    }
}

impl Master {
    /// The machine an agent runs on: its hostname and the IP of its pid
    /// (upstream `Master::registerSlave`).
    pub(crate) fn machine_of(hostname: &str, pid: &libprocess::Upid) -> MachineId {
        MachineId {
            hostname: Some(hostname.to_string()),
            ip: Some(pid.ip().to_string()),
        }
    }

    /// Registered agents on a machine (upstream `Machine::slaves`).
    fn agents_on_machine(&self, key: &MachineKey) -> Vec<String> {
        self.state
            .agents
            .values()
            .filter(|a| &MachineKey::of(&Self::machine_of(&a.info.hostname, &a.pid)) == key)
            .map(|a| a.id().to_string())
            .collect()
    }

    /// Whether an agent at `pid` with `hostname` is on a DOWN machine: such
    /// agents may not (re)register (upstream `_registerSlave`,
    /// `_reregisterSlave`). Sends the agent `ShutdownMessage` when so.
    pub(crate) fn refuse_agent_on_down_machine(
        &mut self,
        cx: &mut Cx<'_, Self>,
        pid: &libprocess::Upid,
        hostname: &str,
        what: &str,
    ) -> bool {
        let id = Self::machine_of(hostname, pid);
        let down = self
            .maintenance
            .machines
            .get(&MachineKey::of(&id))
            .is_some_and(|m| m.mode() == Mode::Down);
        if down {
            tracing::warn!(
                "Refusing {what} of agent at {pid} because the machine '{}' that it is running on is `DOWN`",
                quoted(&id)
            );
            cx.send(
                pid,
                &ShutdownMessage {
                    message: Some("Machine is `DOWN`".into()),
                },
            );
        }
        down
    }

    /// A registered agent may not reregister from another IP or hostname:
    /// maintenance is scheduled per machine, so its unavailability would
    /// have to be worked out again (upstream `_reregisterSlave`). Sends the
    /// agent `ShutdownMessage` when so.
    pub(crate) fn moved_machines(
        &mut self,
        cx: &mut Cx<'_, Self>,
        pid: &libprocess::Upid,
        agent_id: &str,
        hostname: &str,
    ) -> bool {
        let Some(agent) = self.state.agents.get(agent_id) else {
            return false;
        };
        if agent.pid.ip() == pid.ip() && agent.info.hostname == hostname {
            return false;
        }
        tracing::warn!(
            "Agent {agent_id} at {pid} ({hostname}) attempted to reregister with different IP / hostname; expected {} ({}) shutting it down",
            agent.pid.ip(),
            agent.info.hostname
        );
        cx.send(
            pid,
            &ShutdownMessage {
                message: Some("Agent attempted to reregister with different IP / hostname".into()),
            },
        );
        true
    }

    /// The unavailability of the machine an agent runs on, if scheduled.
    pub(crate) fn agent_unavailability(&self, agent_id: &str) -> Option<Unavailability> {
        let a = self.state.agents.get(agent_id)?;
        let key = MachineKey::of(&Self::machine_of(&a.info.hostname, &a.pid));
        self.maintenance
            .machines
            .get(&key)
            .and_then(|m| m.info.unavailability)
    }

    /// A new agent: its machine becomes known (UP unless scheduled), and a
    /// scheduled window goes to the allocator (upstream `addSlave` passes
    /// the machine's unavailability to `Allocator::addSlave`).
    pub(crate) fn maintenance_agent_added(&mut self, agent_id: &str) {
        let Some(a) = self.state.agents.get(agent_id) else {
            return;
        };
        let id = Self::machine_of(&a.info.hostname, &a.pid);
        self.maintenance
            .machines
            .entry(MachineKey::of(&id))
            .or_insert_with(|| Machine {
                info: MachineInfo {
                    id,
                    mode: None,
                    unavailability: None,
                },
            });
        if let Some(u) = self.agent_unavailability(agent_id) {
            self.allocator.update_unavailability(agent_id, Some(&u));
        }
    }

    /// Schedules and machine modes from the registry (upstream
    /// `Master::_recover`). Inverse offer answers are not recovered.
    pub(crate) fn recover_maintenance(&mut self, registry: &Registry) {
        self.maintenance.schedules = registry.schedules.clone();
        if let Some(ms) = &registry.machines {
            for m in &ms.machines {
                self.maintenance.machines.insert(
                    MachineKey::of(&m.info.id),
                    Machine {
                        info: m.info.clone(),
                    },
                );
            }
        }
    }

    /// Upstream `Master::updateUnavailability`: records the machine's
    /// window, rescinds offers and inverse offers of its agents so that
    /// frameworks see the change at once, and tells the allocator.
    fn update_unavailability(
        &mut self,
        cx: &mut Cx<'_, Self>,
        key: &MachineKey,
        unavailability: Option<Unavailability>,
    ) {
        if let Some(m) = self.maintenance.machines.get_mut(key) {
            m.info.unavailability = unavailability;
        }
        for agent_id in self.agents_on_machine(key) {
            match &unavailability {
                Some(u) => tracing::info!(
                    "Updating unavailability of agent {agent_id}, starting at {}ns",
                    u.start.nanoseconds
                ),
                None => tracing::info!("Removing unavailability of agent {agent_id}"),
            }
            for o in self.state.offers_on_agent(&agent_id) {
                self.remove_offer(cx, &o, true);
            }
            self.rescind_inverse_offers_on_agent(cx, &agent_id);
            self.allocator
                .update_unavailability(&agent_id, unavailability.as_ref());
        }
    }

    // ----- operator calls --------------------------------------------------

    /// The schedule as `GET /maintenance/schedule` and
    /// `GET_MAINTENANCE_SCHEDULE` show it (upstream `_getMaintenanceSchedule`).
    pub fn maintenance_schedule(&self) -> Schedule {
        self.maintenance
            .schedules
            .first()
            .cloned()
            .unwrap_or_default()
    }

    /// `POST /maintenance/schedule` and `UPDATE_MAINTENANCE_SCHEDULE`
    /// (upstream `_updateMaintenanceSchedule` and its continuations).
    pub(crate) fn update_maintenance_schedule(
        &mut self,
        cx: &mut Cx<'_, Self>,
        schedule: Schedule,
        responder: Responder,
    ) {
        if let Err(e) = validate_schedule(&schedule, &self.maintenance.machines) {
            responder.respond(Response::bad_request(e));
            return;
        }
        if let Err(e) = self
            .registrar
            .apply(Operation::Maintenance(MaintenanceOp::UpdateSchedule(
                schedule.clone(),
            )))
        {
            responder.respond(Response::text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("Failed to update maintenance schedule in the registry: {e}"),
            ));
            return;
        }
        let windows: BTreeMap<MachineKey, Unavailability> = machine_ids(&schedule)
            .map(|(m, u)| (MachineKey::of(m), *u))
            .collect();
        // Known machines: a new window for DRAINING/DOWN ones; machines
        // left out go back UP. UP machines that are scheduled are handled
        // below, so each machine's agents are touched once. Upstream
        // rescinds the offers of every known machine here, changed or not
        // (its TODO in `updateUnavailability`); we leave machines whose
        // window stays the same alone.
        let known: Vec<MachineKey> = self.maintenance.machines.keys().cloned().collect();
        for key in known {
            let (mode, current) = {
                let m = &self.maintenance.machines[&key];
                (m.mode(), m.info.unavailability)
            };
            match windows.get(&key) {
                Some(_) if mode == Mode::Up => {}
                Some(u) if current.as_ref() == Some(u) => {}
                Some(u) => self.update_unavailability(cx, &key, Some(*u)),
                None => {
                    if let Some(m) = self.maintenance.machines.get_mut(&key) {
                        m.info.mode = Some(Mode::Up as i32);
                    }
                    if current.is_some() {
                        self.update_unavailability(cx, &key, None);
                    }
                }
            }
        }
        // Newly scheduled machines start DRAINING.
        for (id, u) in machine_ids(&schedule) {
            let key = MachineKey::of(id);
            let up = self
                .maintenance
                .machines
                .get(&key)
                .is_none_or(|m| m.mode() == Mode::Up);
            if !up {
                continue;
            }
            self.maintenance.machines.insert(
                key.clone(),
                Machine {
                    info: MachineInfo {
                        id: id.clone(),
                        mode: Some(Mode::Draining as i32),
                        unavailability: None,
                    },
                },
            );
            self.update_unavailability(cx, &key, Some(*u));
        }
        self.maintenance.schedules = vec![schedule];
        self.respond_when_persisted(cx, responder);
        self.allocate(cx);
    }

    /// Upstream's checks before a machine changes mode: valid ids, each in
    /// the schedule and currently in `mode`.
    fn machines_in_mode(&self, ids: &[MachineId], mode: Mode, what: &str) -> Result<(), String> {
        validate_machines(ids)?;
        for id in ids {
            match self.maintenance.machines.get(&MachineKey::of(id)) {
                None => {
                    return Err(format!(
                        "Machine '{}' is not part of a maintenance schedule",
                        quoted(id)
                    ))
                }
                Some(m) if m.mode() != mode => {
                    return Err(format!(
                        "Machine '{}' is not in {} mode and cannot be {what}",
                        quoted(id),
                        mode.as_str_name()
                    ))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// `POST /machine/down` and `START_MAINTENANCE` (upstream
    /// `_startMaintenance`): DRAINING machines go DOWN; their agents are
    /// told to shut down and removed.
    pub(crate) fn start_maintenance(
        &mut self,
        cx: &mut Cx<'_, Self>,
        ids: Vec<MachineId>,
        responder: Responder,
    ) {
        if let Err(e) = self.machines_in_mode(&ids, Mode::Draining, "brought down") {
            responder.respond(Response::bad_request(e));
            return;
        }
        if let Err(e) =
            self.registrar
                .apply(Operation::Maintenance(MaintenanceOp::StartMaintenance(
                    ids.clone(),
                )))
        {
            responder.respond(Response::text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("Failed to start maintenance in the registry: {e}"),
            ));
            return;
        }
        let message = "Operator initiated 'Machine DOWN'";
        for id in &ids {
            let key = MachineKey::of(id);
            for agent_id in self.agents_on_machine(&key) {
                let Some(agent) = self.state.agents.get(&agent_id) else {
                    continue;
                };
                let (pid, info) = (agent.pid.clone(), agent.info.clone());
                cx.send(
                    &pid,
                    &ShutdownMessage {
                        message: Some(message.into()),
                    },
                );
                // Upstream `removeSlave`: out of the registry, tasks lost
                // (or gone by operator for partition-aware frameworks).
                if let Err(e) = self.registrar.apply(Operation::RemoveSlave(info)) {
                    tracing::error!("Failed to remove agent {agent_id}: {e}");
                }
                self.remove_agent(cx, &agent_id, message, false);
            }
            if let Some(m) = self.maintenance.machines.get_mut(&key) {
                m.info.mode = Some(Mode::Down as i32);
            }
        }
        self.respond_when_persisted(cx, responder);
    }

    /// `POST /machine/up` and `STOP_MAINTENANCE` (upstream
    /// `_stopMaintenance`): DOWN machines go UP and leave the schedule.
    pub(crate) fn stop_maintenance(
        &mut self,
        cx: &mut Cx<'_, Self>,
        ids: Vec<MachineId>,
        responder: Responder,
    ) {
        if let Err(e) = self.machines_in_mode(&ids, Mode::Down, "brought up") {
            responder.respond(Response::bad_request(e));
            return;
        }
        if let Err(e) =
            self.registrar
                .apply(Operation::Maintenance(MaintenanceOp::StopMaintenance(
                    ids.clone(),
                )))
        {
            responder.respond(Response::text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("Failed to stop maintenance in the registry: {e}"),
            ));
            return;
        }
        let keys: BTreeSet<MachineKey> = ids.iter().map(MachineKey::of).collect();
        for key in &keys {
            if let Some(m) = self.maintenance.machines.get_mut(key) {
                m.info.mode = Some(Mode::Up as i32);
                m.info.unavailability = None;
            }
        }
        unschedule(&mut self.maintenance.schedules, &keys);
        self.respond_when_persisted(cx, responder);
    }

    /// `GET /maintenance/status` and `GET_MAINTENANCE_STATUS` (upstream
    /// `_getMaintenanceStatus`): DRAINING machines with the frameworks'
    /// latest inverse offer answers for their agents, and DOWN machines.
    pub fn maintenance_status(&self) -> ClusterStatus {
        let statuses = self.allocator.inverse_offer_statuses();
        let mut status = ClusterStatus::default();
        for (key, m) in &self.maintenance.machines {
            match m.mode() {
                Mode::Draining => {
                    let mut dm = cluster_status::DrainingMachine {
                        id: m.info.id.clone(),
                        statuses: vec![],
                    };
                    for agent_id in self.agents_on_machine(key) {
                        if let Some(s) = statuses.get(&agent_id) {
                            dm.statuses.extend(s.values().cloned());
                        }
                    }
                    status.draining_machines.push(dm);
                }
                Mode::Down => status.down_machines.push(m.info.id.clone()),
                Mode::Up => {}
            }
        }
        status
    }

    // ----- inverse offers ----------------------------------------------------

    /// Sends the inverse offers of the last allocation cycles (upstream
    /// `Master::inverseOffer`, called back by the allocator), after dropping
    /// outstanding ones their framework can no longer answer.
    pub(crate) fn send_inverse_offers(&mut self, cx: &mut Cx<'_, Self>) {
        self.prune_inverse_offers(cx);
        let now = cx.now();
        for alloc in self.allocator.take_inverse_offers() {
            let fid = alloc.framework_id.clone();
            let framework = self.state.frameworks.get(&fid).filter(|f| f.active());
            let Some(epoch) = framework.map(|f| f.epoch) else {
                tracing::info!(
                    "Master ignoring inverse offers to framework {fid} because the framework has terminated or is inactive"
                );
                for agent_id in alloc.agents.keys() {
                    self.allocator
                        .update_inverse_offer(agent_id, &fid, None, None, now);
                }
                continue;
            };
            let mut message = InverseOffersMessage::default();
            for (agent_id, unavailable) in alloc.agents {
                let agent = self
                    .state
                    .agents
                    .get(&agent_id)
                    .filter(|a| a.active)
                    .map(|a| (a.info.hostname.clone(), a.pid.clone(), a.info.id.clone()));
                let unavailability = self.agent_unavailability(&agent_id);
                let (Some((hostname, agent_pid, slave_id)), Some(_)) = (agent, unavailability)
                else {
                    // Upstream drops these silently and leaves the
                    // allocator thinking the offer is outstanding, so the
                    // framework never gets another; we clear it.
                    tracing::info!(
                        "Master ignoring inverse offers to framework {fid} because agent {agent_id} is not valid or no longer scheduled for maintenance"
                    );
                    self.allocator
                        .update_inverse_offer(&agent_id, &fid, None, None, now);
                    continue;
                };
                // Inverse offers share the offer ID sequence (upstream
                // `newOfferId`), so `OfferID`-only messages stay unambiguous.
                let inverse = InverseOffer {
                    id: self.state.new_offer_id(),
                    url: Some(Url {
                        scheme: "http".into(),
                        address: Address {
                            hostname: Some(hostname),
                            ip: Some(agent_pid.ip().to_string()),
                            port: agent_pid.port() as i32,
                        },
                        path: Some(format!("/{}", agent_pid.id())),
                        ..Default::default()
                    }),
                    framework_id: FrameworkId { value: fid.clone() },
                    slave_id,
                    unavailability: unavailable.unavailability,
                    resources: unavailable.resources.to_vec(),
                };
                let pid = agent_pid.to_string();
                let oid = inverse.id.value.clone();
                let timer = self.flags.offer_timeout().map(|t| {
                    let oid = oid.clone();
                    cx.delay(t, move |m: &mut Master, cx| {
                        m.inverse_offer_timeout(cx, &oid)
                    })
                });
                self.maintenance.inverse_offers.insert(
                    oid,
                    OutstandingInverseOffer {
                        offer: inverse.clone(),
                        framework_epoch: epoch,
                        timer,
                    },
                );
                message.inverse_offers.push(inverse);
                message.pids.push(pid);
            }
            if message.inverse_offers.is_empty() {
                continue;
            }
            tracing::info!(
                "Sending inverse offers [ {} ] to framework {fid}",
                message
                    .inverse_offers
                    .iter()
                    .map(|o| o.id.value.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            self.send_framework(cx, &fid, ToFramework::InverseOffers(message));
        }
    }

    /// Drops inverse offers whose framework went away, was deactivated or
    /// resubscribed (upstream does this in `deactivate(Framework*)`,
    /// `failoverFramework` and `removeFramework`), so the allocator makes
    /// new ones when the framework is back.
    fn prune_inverse_offers(&mut self, cx: &mut Cx<'_, Self>) {
        let stale: Vec<(String, bool)> = self
            .maintenance
            .inverse_offers
            .iter()
            .filter_map(|(id, o)| {
                match self.state.frameworks.get(&o.offer.framework_id.value) {
                    None => Some((id.clone(), false)),
                    // Upstream rescinds on failover and on an explicit
                    // deactivation; a disconnected framework hears nothing.
                    Some(f) if !f.active() || f.epoch != o.framework_epoch => {
                        Some((id.clone(), f.connected()))
                    }
                    Some(_) => None,
                }
            })
            .collect();
        for (id, rescind) in stale {
            self.remove_inverse_offer(cx, &id, None, None, rescind);
        }
    }

    /// Forgets an inverse offer and hands the answer (or `None`: timed out,
    /// rescinded) to the allocator (upstream `updateInverseOffer` followed
    /// by `removeInverseOffer`).
    fn remove_inverse_offer(
        &mut self,
        cx: &mut Cx<'_, Self>,
        id: &str,
        status: Option<InverseOfferStatus>,
        filters: Option<&mesos_proto::mesos::Filters>,
        rescind: bool,
    ) {
        let Some(o) = self.maintenance.inverse_offers.remove(id) else {
            return;
        };
        if let Some(t) = o.timer {
            cx.cancel(t);
        }
        let fid = o.offer.framework_id.value.clone();
        let agent_id = o.offer.slave_id.map(|s| s.value).unwrap_or_default();
        // A removed framework is gone from the allocator too.
        if self.state.frameworks.contains_key(&fid) {
            let now = cx.now();
            self.allocator
                .update_inverse_offer(&agent_id, &fid, status.as_ref(), filters, now);
        }
        if rescind {
            self.send_framework(cx, &fid, ToFramework::RescindInverseOffer(o.offer.id));
        }
    }

    /// Rescinds every inverse offer for an agent (it was deactivated,
    /// removed, or its unavailability changed; upstream `deactivate(Slave*)`
    /// and `updateUnavailability`).
    pub(crate) fn rescind_inverse_offers_on_agent(
        &mut self,
        cx: &mut Cx<'_, Self>,
        agent_id: &str,
    ) {
        let ids: Vec<String> = self
            .maintenance
            .inverse_offers
            .iter()
            .filter(|(_, o)| o.offer.slave_id.as_ref().map(|s| s.value.as_str()) == Some(agent_id))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            self.remove_inverse_offer(cx, &id, None, None, true);
        }
    }

    /// `--offer_timeout` also bounds inverse offers (upstream
    /// `inverseOfferTimeout`).
    fn inverse_offer_timeout(&mut self, cx: &mut Cx<'_, Self>, id: &str) {
        if let Some(o) = self.maintenance.inverse_offers.get_mut(id) {
            o.timer = None;
            tracing::info!("Inverse offer {id} timed out; rescinding it");
            self.remove_inverse_offer(cx, id, None, None, true);
        }
    }

    /// Answers to inverse offers: the framework's own outstanding ones are
    /// recorded with the filter; others are ignored with a warning.
    fn answer_inverse_offers(
        &mut self,
        cx: &mut Cx<'_, Self>,
        fid: &str,
        ids: Vec<mesos_proto::mesos::OfferId>,
        answer: inverse_offer_status::Status,
        filters: Option<mesos_proto::mesos::Filters>,
    ) {
        let verb = if answer == inverse_offer_status::Status::Accept {
            "accept"
        } else {
            "decline"
        };
        let now = Self::now_secs(cx);
        for id in ids {
            let owned = self
                .maintenance
                .inverse_offers
                .get(&id.value)
                .is_some_and(|o| o.offer.framework_id.value == fid);
            if !owned {
                tracing::warn!(
                    "Ignoring {verb} of inverse offer {} since it is no longer valid",
                    id.value
                );
                continue;
            }
            let status = InverseOfferStatus {
                status: answer as i32,
                framework_id: FrameworkId {
                    value: fid.to_string(),
                },
                timestamp: time_info(now),
            };
            self.remove_inverse_offer(cx, &id.value, Some(status), filters.as_ref(), false);
        }
    }

    /// ACCEPT_INVERSE_OFFERS (upstream `Master::acceptInverseOffers`).
    pub(crate) fn accept_inverse_offers(
        &mut self,
        cx: &mut Cx<'_, Self>,
        fid: &str,
        accept: AcceptInverseOffers,
    ) {
        if accept.inverse_offer_ids.is_empty() {
            tracing::warn!(
                "ACCEPT_INVERSE_OFFERS call of framework {fid} used invalid offers: No inverse offers specified"
            );
            return;
        }
        tracing::info!(
            "Processing ACCEPT_INVERSE_OFFERS call for inverse offers: [ {} ] for framework {fid}",
            join_ids(&accept.inverse_offer_ids)
        );
        self.answer_inverse_offers(
            cx,
            fid,
            accept.inverse_offer_ids,
            inverse_offer_status::Status::Accept,
            accept.filters,
        );
    }

    /// DECLINE_INVERSE_OFFERS (upstream `Master::declineInverseOffers`).
    pub(crate) fn decline_inverse_offers(
        &mut self,
        cx: &mut Cx<'_, Self>,
        fid: &str,
        decline: DeclineInverseOffers,
    ) {
        tracing::info!(
            "Processing DECLINE_INVERSE_OFFERS call for inverse offers: [ {} ] for framework {fid}",
            join_ids(&decline.inverse_offer_ids)
        );
        self.answer_inverse_offers(
            cx,
            fid,
            decline.inverse_offer_ids,
            inverse_offer_status::Status::Decline,
            decline.filters,
        );
    }

    /// Inverse offers outstanding for a framework (operator `GET_FRAMEWORKS`).
    pub fn inverse_offers_of(&self, fid: &str) -> Vec<InverseOffer> {
        self.maintenance
            .inverse_offers
            .values()
            .filter(|o| o.offer.framework_id.value == fid)
            .map(|o| o.offer.clone())
            .collect()
    }
}

fn join_ids(ids: &[mesos_proto::mesos::OfferId]) -> String {
    ids.iter()
        .map(|o| o.value.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_proto::mesos::maintenance::Window;
    use mesos_proto::mesos::DurationInfo;

    fn mid(h: &str, ip: &str) -> MachineId {
        MachineId {
            hostname: Some(h.into()),
            ip: Some(ip.into()),
        }
    }

    fn window(ids: Vec<MachineId>, start: i64) -> Window {
        Window {
            machine_ids: ids,
            unavailability: Unavailability {
                start: TimeInfo { nanoseconds: start },
                duration: Some(DurationInfo {
                    nanoseconds: 3_600_000_000_000,
                }),
            },
        }
    }

    /// Upstream `evolve(InverseOffersMessage)` and
    /// `evolve(RescindInverseOfferMessage)`: v1 events INVERSE_OFFERS and
    /// RESCIND_INVERSE_OFFER for HTTP frameworks.
    #[test]
    fn inverse_offer_events_for_http_frameworks() {
        use crate::actor::deliver::{encode_event, event_for};
        let offer = InverseOffer {
            id: mesos_proto::mesos::OfferId { value: "O1".into() },
            framework_id: FrameworkId { value: "F".into() },
            slave_id: Some(mesos_proto::mesos::SlaveId { value: "S".into() }),
            unavailability: window(vec![], 7).unavailability,
            ..Default::default()
        };
        let decode = |msg: &ToFramework| -> serde_json::Value {
            let ev = event_for(msg).expect("an event");
            let rec = encode_event(&ev, true).expect("encoded");
            let mut d = mesos_proto::recordio::Decoder::new(1 << 20);
            let recs = d.decode(&rec).expect("recordio");
            serde_json::from_slice(&recs[0]).expect("json")
        };
        let v = decode(&ToFramework::InverseOffers(InverseOffersMessage {
            inverse_offers: vec![offer.clone()],
            pids: vec![],
        }));
        assert_eq!(v["type"], "INVERSE_OFFERS");
        let io = &v["inverse_offers"]["inverse_offers"][0];
        assert_eq!(io["id"]["value"], "O1");
        assert_eq!(io["agent_id"]["value"], "S", "v1 names: agent_id");
        assert_eq!(io["unavailability"]["start"]["nanoseconds"], 7);
        let v = decode(&ToFramework::RescindInverseOffer(offer.id));
        assert_eq!(v["type"], "RESCIND_INVERSE_OFFER");
        assert_eq!(
            v["rescind_inverse_offer"]["inverse_offer_id"]["value"],
            "O1"
        );
    }

    #[test]
    fn machine_ids_compare_hostnames_case_insensitively() {
        assert_eq!(
            MachineKey::of(&mid("Machine1", "0.0.0.1")),
            MachineKey::of(&mid("machine1", "0.0.0.1"))
        );
        assert_ne!(
            MachineKey::of(&mid("machine1", "0.0.0.1")),
            MachineKey::of(&MachineId {
                hostname: Some("machine1".into()),
                ip: None
            })
        );
    }

    #[test]
    fn schedule_validation_as_upstream() {
        let none = BTreeMap::new();
        let dup = Schedule {
            windows: vec![
                window(vec![mid("a", "0.0.0.1")], 0),
                window(vec![mid("A", "0.0.0.1")], 5),
            ],
        };
        assert!(validate_schedule(&dup, &none)
            .unwrap_err()
            .contains("appears more than once"));
        let empty = Schedule {
            windows: vec![window(vec![], 0)],
        };
        assert_eq!(
            validate_schedule(&empty, &none).unwrap_err(),
            "List of machines in the maintenance window is empty"
        );
        let bad_ip = Schedule {
            windows: vec![window(vec![mid("a", "not-an-ip")], 0)],
        };
        assert!(validate_schedule(&bad_ip, &none).is_err());
        let mut down = BTreeMap::new();
        down.insert(
            MachineKey::of(&mid("a", "0.0.0.1")),
            Machine {
                info: MachineInfo {
                    id: mid("a", "0.0.0.1"),
                    mode: Some(Mode::Down as i32),
                    unavailability: None,
                },
            },
        );
        assert!(validate_schedule(&Schedule::default(), &down)
            .unwrap_err()
            .contains("is deactivated and cannot be removed"));
        assert!(validate_machines(&[]).is_err());
    }

    #[test]
    fn registry_operations_follow_upstream() {
        let mut reg = Registry::default();
        let s1 = Schedule {
            windows: vec![window(vec![mid("a", "0.0.0.1"), mid("b", "0.0.0.2")], 10)],
        };
        assert!(apply_to_registry(
            &mut reg,
            MaintenanceOp::UpdateSchedule(s1)
        ));
        let ms = &reg.machines.as_ref().unwrap().machines;
        assert_eq!(ms.len(), 2);
        assert!(ms
            .iter()
            .all(|m| m.info.mode == Some(Mode::Draining as i32)));
        assert!(apply_to_registry(
            &mut reg,
            MaintenanceOp::StartMaintenance(vec![mid("a", "0.0.0.1")])
        ));
        assert!(!apply_to_registry(
            &mut reg,
            MaintenanceOp::StartMaintenance(vec![mid("z", "0.0.0.9")])
        ));
        // Rescheduling keeps a known machine's mode, drops the others.
        let s2 = Schedule {
            windows: vec![window(vec![mid("a", "0.0.0.1")], 20)],
        };
        apply_to_registry(&mut reg, MaintenanceOp::UpdateSchedule(s2));
        let ms = &reg.machines.as_ref().unwrap().machines;
        assert_eq!(ms.len(), 1);
        assert_eq!(ms[0].info.mode, Some(Mode::Down as i32));
        assert_eq!(ms[0].info.unavailability.unwrap().start.nanoseconds, 20);
        assert!(apply_to_registry(
            &mut reg,
            MaintenanceOp::StopMaintenance(vec![mid("a", "0.0.0.1")])
        ));
        assert!(reg.machines.as_ref().unwrap().machines.is_empty());
        assert!(reg.schedules.is_empty());
    }
}
