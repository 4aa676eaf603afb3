//! The `master` actor: its install table and the glue between messages,
//! the pure state, the allocator and the registrar.
//!
//! Handlers are split by concern, each an `impl Master` block:
//! - [`agents`]: register/reregister/unregister, pings, exits, unreachable.
//! - [`draining`]: DRAIN/DEACTIVATE/REACTIVATE_AGENT, DRAINING -> DRAINED.
//! - [`frameworks`]: subscribe (driver and HTTP), teardown, deactivate, failover.
//! - [`maintenance`]: schedules, machine modes, inverse offers.
//! - [`offers`]: allocation cycles, offers, decline/revive/suppress, rescind.
//! - [`quota`]: UPDATE_QUOTA / GET_QUOTA and quota validation.
//! - [`recovery`]: registry recovery, persistence, recovered-agent timeout.
//! - [`weights`]: GET/UPDATE_WEIGHTS and their recovery.
//! - [`subscribers`]: the operator event stream (SUBSCRIBE), bounded per subscriber.
//! - [`tasks`]: ACCEPT/launch, status updates, acknowledgements, kill, reconcile.
//! - [`deliver`]: sending to a framework over its connection (driver
//!   messages or v1 events on an HTTP stream).

mod agents;
pub mod authentication;
pub mod authorization;
pub(crate) mod deliver;
mod draining;
pub(crate) mod election;
pub(crate) mod frameworks;
pub mod maintenance;
mod metrics;
mod offers;
pub mod operations;
pub mod quota;
mod recovery;
pub mod subscribers;
mod tasks;
mod weights;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};

use libprocess::{Actor, Cx, Routes, StreamSender, TimerId, Upid};
use mesos_proto::mesos::internal::*;
use mesos_proto::mesos::master_info::capability::Type as MasterCap;
use mesos_proto::mesos::master_info::Capability;
use mesos_proto::mesos::{scheduler, Address, MasterInfo};

pub use deliver::ToFramework;
pub use metrics::Metrics;

use crate::allocator::hierarchical::Hierarchical;
use crate::allocator::{Allocator, SimpleAllocator};
use crate::flags::MasterFlags;
use crate::registrar::{InMemoryRegistrar, Registrar};
use crate::state::MasterState;

/// An HTTP scheduler's open event stream.
pub struct HttpStream {
    /// The `Mesos-Stream-Id` handed out at SUBSCRIBE.
    pub stream_id: String,
    pub sender: StreamSender,
    /// Events are JSON (else protobuf), as the SUBSCRIBE `Accept` chose.
    pub json: bool,
}

/// The Mesos master actor (process id `master`).
pub struct Master {
    pub(crate) flags: MasterFlags,
    pub(crate) info: MasterInfo,
    pub(crate) state: MasterState,
    pub(crate) allocator: Box<dyn Allocator>,
    pub(crate) registrar: Box<dyn Registrar>,
    /// CRAM-MD5 and HTTP Basic authentication state.
    pub(crate) authn: authentication::Authentication,
    /// The local authorizer over `--acls` (none: everything is allowed).
    pub(crate) authz: Option<crate::authorizer::Authorizer>,
    /// `--agent_removal_rate_limit` as an interval, the earliest time (s)
    /// of the next removal, and agents whose transition to unreachable is
    /// scheduled.
    pub(crate) removal_interval: Option<std::time::Duration>,
    pub(crate) next_removal: f64,
    pub(crate) pending_unreachable: BTreeSet<String>,
    /// Open HTTP scheduler streams by framework ID.
    pub(crate) streams: BTreeMap<String, HttpStream>,
    pub(crate) offer_timers: BTreeMap<String, TimerId>,
    /// Agents whose registration is being processed.
    pub(crate) registering: BTreeSet<Upid>,
    pub(crate) metrics: Metrics,
    /// Operator event streams by subscription number (oldest first).
    pub(crate) subscribers: BTreeMap<u64, subscribers::OperatorSubscriber>,
    pub(crate) next_subscriber: u64,
    /// A heartbeat timer for the subscribers is pending.
    pub(crate) heartbeat_armed: bool,
    pub(crate) start_time: f64,
    hostname: String,
    /// Maintenance schedules, machines and inverse offers.
    pub(crate) maintenance: maintenance::MaintenanceState,
    /// Files published through the `files` process (the master's log).
    pub(crate) files: mesos_files::Files,
    /// Leader election (`--zk`); standalone masters always lead.
    pub(crate) election: election::Election,
}

/// Upstream `MASTER_CAPABILITIES()` in 1.9 (`src/master/constants.cpp`).
pub fn master_capabilities() -> Vec<Capability> {
    [
        MasterCap::AgentUpdate,
        MasterCap::AgentDraining,
        MasterCap::QuotaV2,
    ]
    .into_iter()
    .map(|c| Capability {
        r#type: Some(c as i32),
    })
    .collect()
}

/// `MasterInfo` as upstream fills it (`Master::initialize`): `ip` is the
/// IPv4 address as a u32 in network byte order, i.e. the octets read as a
/// little-endian integer on x86.
pub fn make_master_info(id: &str, addr: SocketAddr, hostname: &str) -> MasterInfo {
    let ip = match addr.ip() {
        IpAddr::V4(v4) => u32::from_ne_bytes(v4.octets()),
        IpAddr::V6(_) => 0,
    };
    MasterInfo {
        id: id.to_string(),
        ip,
        port: addr.port() as u32,
        pid: Some(format!("master@{addr}")),
        hostname: Some(hostname.to_string()),
        version: Some(crate::MESOS_VERSION.to_string()),
        address: Some(Address {
            hostname: Some(hostname.to_string()),
            ip: Some(addr.ip().to_string()),
            port: addr.port() as i32,
        }),
        domain: None,
        capabilities: master_capabilities(),
    }
}

impl Master {
    /// A master with the in-memory registrar and the built-in allocator.
    /// `id` becomes `MasterInfo.id` (upstream: a random UUID); `hostname`
    /// is what the master advertises.
    pub fn new(flags: MasterFlags, id: &str, hostname: &str) -> Master {
        Master::with_registrar(flags, id, hostname, Box::new(InMemoryRegistrar::new()))
    }

    /// A master with the built-in allocator chosen by `--allocator` and the
    /// given registrar (e.g. a [`crate::registrar::ReplicatedLogRegistrar`]).
    pub fn with_registrar(
        flags: MasterFlags,
        id: &str,
        hostname: &str,
        registrar: Box<dyn Registrar>,
    ) -> Master {
        let allocator: Box<dyn Allocator> = match flags.get("allocator") {
            Some("simple") => Box::new(SimpleAllocator::new()),
            Some("hierarchical" | "HierarchicalDRF") | None => Box::new(Hierarchical::new(
                crate::allocator::hierarchical::options_from_flags(&flags),
            )),
            Some(other) => {
                tracing::warn!(
                    "Unknown allocator '{other}' (allocator modules are not supported); using 'hierarchical'"
                );
                Box::new(Hierarchical::new(
                    crate::allocator::hierarchical::options_from_flags(&flags),
                ))
            }
        };
        Master::with_parts(flags, id, hostname, allocator, registrar)
    }

    pub fn with_parts(
        flags: MasterFlags,
        id: &str,
        hostname: &str,
        allocator: Box<dyn Allocator>,
        registrar: Box<dyn Registrar>,
    ) -> Master {
        let mut state = MasterState::new(id);
        state.max_completed_frameworks = flags.max_completed_frameworks();
        state.max_completed_tasks = flags.max_completed_tasks_per_framework();
        let authn = authentication::Authentication::from_flags(&flags);
        let authz = crate::authorizer::Authorizer::from_flags(&flags);
        let removal_interval = flags.agent_removal_rate_limit().ok().flatten();
        Master {
            flags,
            info: MasterInfo {
                id: id.to_string(),
                ..Default::default()
            },
            state,
            allocator,
            registrar,
            authn,
            authz,
            removal_interval,
            next_removal: 0.0,
            pending_unreachable: BTreeSet::new(),
            streams: BTreeMap::new(),
            offer_timers: BTreeMap::new(),
            registering: BTreeSet::new(),
            metrics: Metrics::default(),
            subscribers: BTreeMap::new(),
            next_subscriber: 0,
            heartbeat_armed: false,
            start_time: 0.0,
            hostname: hostname.to_string(),
            maintenance: Default::default(),
            files: mesos_files::Files::new(),
            election: election::Election::default(),
        }
    }

    pub fn info(&self) -> &MasterInfo {
        &self.info
    }

    pub fn state(&self) -> &MasterState {
        &self.state
    }

    pub fn flags(&self) -> &MasterFlags {
        &self.flags
    }

    pub fn registrar(&self) -> &dyn Registrar {
        &*self.registrar
    }

    /// Wall time in seconds (virtual in the simulator).
    pub(crate) fn now_secs<A: Actor>(cx: &Cx<'_, A>) -> f64 {
        cx.wall_secs()
    }

    fn schedule_allocation(&mut self, cx: &mut Cx<'_, Self>) {
        let interval = self.flags.allocation_interval();
        cx.delay(interval, |m: &mut Master, cx| {
            m.allocate_all(cx);
            m.schedule_allocation(cx);
        });
    }
}

impl Master {
    /// Registry recovery and the allocation loop, once this master leads
    /// (upstream `Master::recover` / `_recover`).
    pub(crate) fn recover_and_start(&mut self, cx: &mut Cx<'_, Self>) {
        if std::mem::replace(&mut self.election.recovered, true) {
            return;
        }
        // Upstream `Master::_recover`: read the registry, refuse one that
        // needs capabilities this master lacks, store our MasterInfo in it,
        // then wait for the recovered agents.
        let registry = match self.registrar.recover(&self.info) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!("Failed to recover registrar: {e}");
                cx.terminate();
                return;
            }
        };
        if let Err(e) = crate::registrar::check_minimum_capabilities(&registry) {
            tracing::error!("{e}");
            cx.terminate();
            return;
        }
        self.persist_registry(cx);
        self.recover_agents(cx, &registry);
        self.recover_quotas(&registry);
        self.recover_weights(&registry);
        self.recover_maintenance(&registry);
        self.schedule_allocation(cx);
    }
}

impl Actor for Master {
    fn install(r: &mut Routes<Self>) {
        // Agents.
        r.message::<RegisterSlaveMessage>(election::leading!(Self::register_slave));
        r.message::<ReregisterSlaveMessage>(election::leading!(Self::reregister_slave));
        r.message::<UnregisterSlaveMessage>(election::leading!(Self::unregister_slave));
        r.message::<UpdateSlaveMessage>(election::leading!(Self::update_slave));
        r.message::<UpdateOperationStatusMessage>(election::leading!(
            Self::update_operation_status
        ));
        r.message::<StatusUpdateMessage>(election::leading!(Self::status_update));
        r.message::<ExitedExecutorMessage>(election::leading!(Self::exited_executor));
        r.message::<ExecutorToFrameworkMessage>(election::leading!(Self::executor_message));
        // Schedulers: the driver's v0 Call, and the pre-Call messages.
        r.message::<scheduler::Call>(election::leading!(Self::receive));
        r.message::<RegisterFrameworkMessage>(election::leading!(Self::register_framework));
        r.message::<ReregisterFrameworkMessage>(election::leading!(Self::reregister_framework));
        r.message::<UnregisterFrameworkMessage>(election::leading!(Self::unregister_framework));
        r.message::<DeactivateFrameworkMessage>(election::leading!(Self::deactivate_framework));
        r.message::<LaunchTasksMessage>(election::leading!(Self::launch_tasks));
        r.message::<ReviveOffersMessage>(election::leading!(Self::revive_offers));
        r.message::<KillTaskMessage>(election::leading!(Self::kill_task));
        r.message::<StatusUpdateAcknowledgementMessage>(election::leading!(
            Self::status_update_acknowledgement
        ));
        r.message::<ReconcileTasksMessage>(election::leading!(Self::reconcile_tasks));
        r.message::<FrameworkToExecutorMessage>(election::leading!(Self::scheduler_message));
        // CRAM-MD5 authentication of agents and driver frameworks.
        r.message::<mesos_proto::mesos::internal::AuthenticateMessage>(election::leading!(
            Self::authenticate_message
        ));
        r.message::<mesos_proto::mesos::internal::AuthenticationStartMessage>(election::leading!(
            Self::authentication_start
        ));
        r.message::<mesos_proto::mesos::internal::AuthenticationStepMessage>(election::leading!(
            Self::authentication_step
        ));
        crate::http::install(r);
    }

    fn authenticate(
        &self,
        endpoint: &str,
        request: &libprocess::Request,
    ) -> Result<Option<String>, Box<libprocess::Response>> {
        self.authn.authenticate_http(endpoint, request)
    }

    fn initialize(&mut self, cx: &mut Cx<'_, Self>) {
        let me = cx.me().clone();
        self.info = make_master_info(&self.state.master_id, me.addr(), &self.hostname);
        self.start_time = Self::now_secs(cx);
        tracing::info!(
            "Master {} ({}) started on {}",
            self.info.id,
            self.hostname,
            me.addr()
        );
        tracing::info!("Using default 'crammd5' authenticator");
        if self.election.contending {
            // Upstream `Master::initialize` ends by contending and detecting;
            // recovery waits for `detected` to name this master.
            tracing::info!("Waiting to be elected as the leading master");
            return;
        }
        tracing::info!("Elected as the leading master!");
        self.recover_and_start(cx);
    }

    /// A linked pid went away: an agent or a driver framework
    /// (upstream `Master::exited(const UPID&)`, master.cpp:1281).
    fn exited(&mut self, cx: &mut Cx<'_, Self>, pid: &Upid) {
        let frameworks: Vec<String> = self
            .state
            .frameworks
            .values()
            .filter(|f| f.pid() == Some(pid))
            .map(|f| f.id().to_string())
            .collect();
        for id in frameworks {
            tracing::info!("Framework {id} disconnected");
            self.framework_disconnected(cx, &id);
        }
        let agents: Vec<String> = self
            .state
            .agents
            .values()
            .filter(|a| &a.pid == pid)
            .map(|a| a.id().to_string())
            .collect();
        for id in agents {
            self.agent_disconnected(cx, &id);
        }
    }

    fn finalize(&mut self, _cx: &mut Cx<'_, Self>) {
        for s in self.streams.values_mut() {
            s.sender.close();
        }
        for s in self.subscribers.values_mut() {
            s.sender.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_info_ip_is_network_byte_order() {
        let info = make_master_info("id", "127.0.0.1:5050".parse().unwrap(), "localhost");
        // 127.0.0.1 in network order read as a host (little-endian) u32.
        assert_eq!(info.ip.to_ne_bytes(), [127, 0, 0, 1]);
        assert_eq!(info.pid.as_deref(), Some("master@127.0.0.1:5050"));
        assert_eq!(info.port, 5050);
        assert_eq!(info.capabilities.len(), 3);
    }
}
