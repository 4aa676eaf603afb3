//! The agent actor, upstream's `Slave` (src/slave/slave.{hpp,cpp}).
//!
//! - [`registration`]: master detection, (re)registration with backoff,
//!   pings and ping timeouts.
//! - [`tasks`]: `RunTaskMessage` → framework/executor bookkeeping → launch;
//!   executor (re)registration, kills, shutdowns, executor termination.
//! - [`updates`]: status updates from executors through the status update
//!   manager to the master, and acknowledgements back.
//! - [`recovery`]: reading checkpoints at start and reconnecting executors.
//! - [`drain`]: agent draining (1.9), `DrainSlaveMessage`.
//! - [`http`]: `/state`, `/flags`, `/health`, `/api/v1` (GET_STATE,
//!   GET_TASKS, GET_EXECUTORS, GET_FRAMEWORKS, GET_CONTAINERS, GET_METRICS,
//!   ...), `/containers`, `/monitor/statistics`, `/containerizer/debug`.
//! - [`executor_api`]: the v1 executor HTTP API, `/api/v1/executor`.
//! - [`linux`]: `--launcher=linux`, the [`Containerizer`] over the isolators'
//!   `LinuxContainerizer`; [`PosixContainerizer`] is `--launcher=posix`.
//! - [`model`]: the framework / executor / task records.
//! - [`resources_ops`]: checkpointed reservations and persistent volumes,
//!   `CheckpointResourcesMessage` / `ApplyOperationMessage`.
//! - [`files`]: sandboxes attached to the `files` process; v1 `LIST_FILES`
//!   and `READ_FILE`.
//! - [`nested`]: nested containers (LAUNCH/WAIT/KILL/REMOVE_NESTED_CONTAINER)
//!   under executor containers, used by the default executor.

mod authentication;
pub mod drain;
pub mod executor_api;
pub mod files;
pub mod gc;
pub mod http;
pub mod linux;
pub mod model;
pub mod nested;
pub mod recovery;
pub mod registration;
pub mod resources_ops;
pub mod sessions;
pub mod switchboard;
pub mod tasks;
pub mod updates;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use libprocess::{Actor, Cx, Routes, TimerId, Upid};
use mesos_isolators::Isolator;
use mesos_proto::mesos::internal as msg;
use mesos_proto::mesos::{slave_info, ExecutorInfo, Resource, ResourceStatistics, SlaveInfo};

use crate::config::AgentConfig;
use crate::paths;
use crate::status_update_manager::TaskStatusUpdateManager;

pub use model::{Executor, ExecutorState, Framework, FrameworkState};

/// `MESOS_VERSION` this agent reports.
pub const VERSION: &str = "1.9.0";

/// `DEFAULT_MASTER_PING_TIMEOUT` (src/slave/constants.cpp): 15 s x 5.
pub const DEFAULT_MASTER_PING_TIMEOUT: Duration = Duration::from_secs(75);

/// `REGISTER_RETRY_INTERVAL_MAX` (src/slave/constants.hpp).
pub const REGISTER_RETRY_INTERVAL_MAX: Duration = Duration::from_secs(60);

/// `MAX_COMPLETED_FRAMEWORKS` (src/slave/constants.hpp).
pub const MAX_COMPLETED_FRAMEWORKS: usize = 50;
/// `MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK`.
pub const MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK: usize = 150;
/// `MAX_COMPLETED_TASKS_PER_EXECUTOR`.
pub const MAX_COMPLETED_TASKS_PER_EXECUTOR: usize = 200;

/// The agent's lifecycle (`Slave::State`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Reading checkpoints and reconnecting executors.
    Recovering,
    /// Not (re)registered with a master.
    Disconnected,
    /// Registered.
    Running,
    /// Shutting down.
    Terminating,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Recovering => "RECOVERING",
            State::Disconnected => "DISCONNECTED",
            State::Running => "RUNNING",
            State::Terminating => "TERMINATING",
        }
    }
}

/// How the agent starts and stops executor processes. The real one forks
/// (posix launcher); tests may substitute a fake.
pub trait Containerizer: Send + Sync + 'static {
    /// Forks the executor; returns its pid. Runs on a blocking thread.
    fn launch(&self, launch: &ContainerLaunch) -> Result<i32, crate::Error>;
    /// Blocks until the container's process exits; returns the wait status
    /// if known.
    fn wait(&self, container_id: &str, pid: i32) -> Option<i32>;
    /// Whether the agent should run `wait` on a blocking thread. A fake
    /// containerizer (simulation) returns false and reports exits through
    /// [`Slave::container_terminated`] instead.
    fn supports_wait(&self) -> bool {
        true
    }
    /// Kills the whole container. Runs on a blocking thread.
    fn destroy(&self, container_id: &str, pid: i32);
    /// Whether a recovered process still runs.
    fn alive(&self, pid: i32) -> bool;
    /// Like [`Containerizer::wait`], plus the failure a limitation caused
    /// (upstream's `ContainerTermination` state/reason/message): the agent
    /// turns it into `TASK_FAILED` with that reason.
    fn wait_termination(&self, container_id: &str, pid: i32) -> Termination {
        Termination {
            status: self.wait(container_id, pid),
            failure: None,
        }
    }
    /// Re-attaches to containers found running after an agent restart
    /// (`Containerizer::recover`). Runs before they are watched again.
    fn recover(&self, _running: &[RecoveredContainer]) {}
    /// Applies the executor's current allocation (executor + its tasks) to
    /// its container, as `Slave::__run` calls `containerizer->update`.
    fn update(&self, _container_id: &str, _resources: &[Resource]) {}
    /// Resource usage of a running container (`/monitor/statistics`).
    fn usage(&self, _container_id: &str) -> Option<ResourceStatistics> {
        None
    }
    /// Status of a running container (`/containers`).
    fn status(&self, _container_id: &str) -> Option<mesos_proto::mesos::ContainerStatus> {
        None
    }
    /// The `/containerizer/debug` document: pending operations.
    fn debug_json(&self) -> serde_json::Value {
        serde_json::json!({ "pending": [] })
    }
}

/// How a container ended.
#[derive(Clone, Debug, Default)]
pub struct Termination {
    /// The wait status, if known.
    pub status: Option<i32>,
    /// The reason and message when an isolator limited the container.
    pub failure: Option<(mesos_proto::mesos::task_status::Reason, String)>,
}

/// A checkpointed container whose process still runs.
#[derive(Clone, Debug)]
pub struct RecoveredContainer {
    pub container_id: String,
    pub pid: i32,
    pub directory: PathBuf,
    pub executor_info: ExecutorInfo,
}

/// Everything the containerizer needs to start one executor container.
#[derive(Clone, Debug)]
pub struct ContainerLaunch {
    pub container_id: String,
    pub spec: crate::launcher::LaunchSpec,
    pub resources: Vec<Resource>,
    /// `pids/forked.pid` to checkpoint (checkpointing frameworks only).
    pub forked_pid_path: Option<PathBuf>,
    /// The executor's `ContainerInfo`; for the command executor the task's
    /// (image, volumes, `LinuxInfo`), as upstream's `getExecutorInfo`.
    pub container_info: Option<mesos_proto::mesos::ContainerInfo>,
    /// The task a command executor is launched for (upstream puts it in
    /// `ContainerConfig.task_info`); `None` for other executors.
    pub task_info: Option<mesos_proto::mesos::TaskInfo>,
}

/// The posix containerizer: posix launcher + the configured isolators.
pub struct PosixContainerizer {
    isolators: Vec<Box<dyn Isolator>>,
    children: std::sync::Mutex<BTreeMap<String, std::process::Child>>,
}

impl PosixContainerizer {
    /// With the isolators named in `--isolation`.
    pub fn from_isolation(isolation: &str) -> Result<PosixContainerizer, crate::Error> {
        let isolators =
            mesos_isolators::create(isolation).map_err(|e| crate::Error::Flags(e.to_string()))?;
        Ok(PosixContainerizer::new(isolators))
    }

    pub fn new(isolators: Vec<Box<dyn Isolator>>) -> PosixContainerizer {
        PosixContainerizer {
            isolators,
            children: std::sync::Mutex::new(BTreeMap::new()),
        }
    }
}

impl Containerizer for PosixContainerizer {
    fn launch(&self, l: &ContainerLaunch) -> Result<i32, crate::Error> {
        use mesos_proto::mesos::ContainerId;
        let cid = ContainerId {
            value: l.container_id.clone(),
            ..Default::default()
        };
        let config = mesos_proto::mesos::slave::ContainerConfig {
            directory: l.spec.directory.display().to_string(),
            resources: l.resources.clone(),
            ..Default::default()
        };
        for i in &self.isolators {
            i.prepare(&cid, &config)
                .map_err(|e| crate::Error::Launch(format!("{}: {e}", i.name())))?;
        }
        let child = crate::launcher::launch(&l.spec)?;
        let pid = child.id() as i32;
        if let Some(p) = &l.forked_pid_path {
            crate::checkpoint::checkpoint_string(p, &pid.to_string())?;
        }
        for i in &self.isolators {
            if let Err(e) = i.isolate(&cid, pid as u32) {
                crate::launcher::kill_tree(pid, nix::sys::signal::Signal::SIGKILL);
                return Err(crate::Error::Launch(format!("{}: {e}", i.name())));
            }
        }
        self.children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(l.container_id.clone(), child);
        Ok(pid)
    }

    fn wait(&self, container_id: &str, pid: i32) -> Option<i32> {
        let child = self
            .children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(container_id);
        let status = match child {
            Some(c) => crate::launcher::wait_child(c),
            None => crate::launcher::wait_gone(pid, Duration::from_millis(500)),
        };
        let cid = mesos_proto::mesos::ContainerId {
            value: container_id.to_string(),
            ..Default::default()
        };
        for i in &self.isolators {
            if let Err(e) = i.cleanup(&cid) {
                tracing::warn!("Failed to clean up {container_id} in {}: {e}", i.name());
            }
        }
        status
    }

    fn destroy(&self, _container_id: &str, pid: i32) {
        crate::launcher::kill_tree(pid, nix::sys::signal::Signal::SIGKILL);
    }

    fn alive(&self, pid: i32) -> bool {
        crate::launcher::alive(pid)
    }
}

/// The agent actor.
pub struct Slave {
    pub(crate) config: AgentConfig,
    pub(crate) info: SlaveInfo,
    pub(crate) state: State,
    pub(crate) meta: PathBuf,
    /// The master as configured (`--master`), re-"detected" on ping timeout.
    pub(crate) detected_master: Option<Upid>,
    /// The master we (re)register with.
    pub(crate) master: Option<Upid>,
    pub(crate) master_ping_timeout: Duration,
    pub(crate) ping_timer: Option<TimerId>,
    pub(crate) registration_timer: Option<TimerId>,
    /// The CRAM-MD5 exchange with the master in progress, by attempt number.
    pub(crate) authenticating: Option<u64>,
    pub(crate) authentication_attempts: u64,
    pub(crate) resource_version: bytes::Bytes,
    pub(crate) frameworks: BTreeMap<String, Framework>,
    pub(crate) completed_frameworks: VecDeque<Framework>,
    pub(crate) sum: TaskStatusUpdateManager,
    pub(crate) containerizer: Arc<dyn Containerizer>,
    pub(crate) start_time: f64,
    pub(crate) boot_id: Option<String>,
    /// Executors we sent `ReconnectExecutorMessage` to and still wait for.
    pub(crate) reconnecting: usize,
    pub(crate) recovery_timer: Option<TimerId>,
    /// Number of times the agent has (re)registered, for tests/metrics.
    pub(crate) registrations: u64,
    pub(crate) metrics: Metrics,
    /// Set while draining (`DrainSlaveMessage`), checkpointed as
    /// `drain.config` until no frameworks remain.
    pub(crate) drain_config: Option<mesos_proto::mesos::DrainConfig>,
    /// Dynamic reservations and persistent volumes checkpointed under
    /// `meta/resources` (upgraded format).
    pub(crate) checkpointed_resources: Vec<Resource>,
    /// Operation status updates not yet acknowledged, by operation UUID.
    pub(crate) pending_operation_updates: BTreeMap<String, msg::UpdateOperationStatusMessage>,
    /// Sandboxes published through the `files` process.
    pub(crate) files: mesos_files::Files,
    /// Directories scheduled for garbage collection.
    pub(crate) gc: gc::Gc,
    /// Nested containers under executor containers (`/api/v1`).
    pub(crate) nested: nested::NestedContainers,
    /// Fetches `CommandInfo.uris`, with the fetcher cache (one per agent,
    /// as upstream's `Fetcher` made in the agent's main).
    pub(crate) fetcher: Arc<crate::fetcher::Fetcher>,
}

/// Counters shown in `/state` and used by tests.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    pub valid_status_updates: u64,
    pub invalid_status_updates: u64,
    pub valid_framework_messages: u64,
    pub executors_terminated: u64,
}

/// The agent's capabilities in 1.9 (`AGENT_CAPABILITIES()` in slave/constants.cpp).
pub fn agent_capabilities() -> Vec<slave_info::Capability> {
    use slave_info::capability::Type;
    [
        Type::MultiRole,
        Type::HierarchicalRole,
        Type::ReservationRefinement,
        Type::ResourceProvider,
        Type::ResizeVolume,
        Type::AgentOperationFeedback,
        Type::AgentDraining,
    ]
    .into_iter()
    .map(|t| slave_info::Capability {
        r#type: Some(t as i32),
    })
    .collect()
}

impl Slave {
    /// Makes an agent from its settings, its `SlaveInfo` (hostname, port,
    /// resources, attributes; no id) and a containerizer.
    pub fn new(
        config: AgentConfig,
        info: SlaveInfo,
        containerizer: Arc<dyn Containerizer>,
    ) -> Slave {
        let meta = paths::meta_root(&config.work_dir);
        let fetcher = Arc::new(crate::fetcher::Fetcher::new(
            crate::fetcher::FetcherSettings::from_flags(&config.given, &config.launcher_dir),
        ));
        Slave {
            config,
            info,
            state: State::Recovering,
            meta,
            detected_master: None,
            master: None,
            master_ping_timeout: DEFAULT_MASTER_PING_TIMEOUT,
            ping_timer: None,
            registration_timer: None,
            authenticating: None,
            authentication_attempts: 0,
            resource_version: bytes::Bytes::new(),
            frameworks: BTreeMap::new(),
            completed_frameworks: VecDeque::new(),
            sum: TaskStatusUpdateManager::new(),
            containerizer,
            start_time: 0.0,
            boot_id: None,
            reconnecting: 0,
            recovery_timer: None,
            registrations: 0,
            metrics: Metrics::default(),
            drain_config: None,
            checkpointed_resources: Vec::new(),
            pending_operation_updates: BTreeMap::new(),
            files: mesos_files::Files::new(),
            gc: gc::Gc::default(),
            nested: nested::NestedContainers::default(),
            fetcher,
        }
    }

    /// The agent's fetcher (its cache, its metrics).
    pub fn fetcher(&self) -> &Arc<crate::fetcher::Fetcher> {
        &self.fetcher
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn info(&self) -> &SlaveInfo {
        &self.info
    }

    pub fn slave_id(&self) -> Option<&str> {
        self.info.id.as_ref().map(|i| i.value.as_str())
    }

    pub fn frameworks(&self) -> &BTreeMap<String, Framework> {
        &self.frameworks
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn registrations(&self) -> u64 {
        self.registrations
    }

    pub fn drain_config(&self) -> Option<&mesos_proto::mesos::DrainConfig> {
        self.drain_config.as_ref()
    }

    pub fn master(&self) -> Option<&Upid> {
        self.master.as_ref()
    }
}

impl Actor for Slave {
    /// HTTP Basic on the realms `--authenticate_http_readonly` and
    /// `--authenticate_http_readwrite` turn on (libprocess's
    /// `BasicAuthenticator`, as upstream's agent installs it).
    fn authenticate(
        &self,
        endpoint: &str,
        request: &libprocess::Request,
    ) -> Result<Option<String>, Box<libprocess::Response>> {
        match crate::config::realm_of(endpoint).filter(|r| self.config.http_realms.contains(r)) {
            Some(realm) => {
                libprocess::authentication::basic(realm, &self.config.http_secrets, request)
                    .map(Some)
            }
            None => Ok(None),
        }
    }

    fn install(r: &mut Routes<Self>) {
        r.message::<msg::SlaveRegisteredMessage>(Self::registered);
        r.message::<msg::SlaveReregisteredMessage>(Self::reregistered);
        r.message::<msg::PingSlaveMessage>(Self::ping);
        authentication::install(r);
        r.message::<msg::RunTaskMessage>(Self::handle_run_task_message);
        r.message::<msg::RunTaskGroupMessage>(Self::handle_run_task_group_message);
        r.message::<msg::KillTaskMessage>(Self::kill_task);
        r.message::<msg::ShutdownExecutorMessage>(Self::shutdown_executor_message);
        r.message::<msg::ShutdownFrameworkMessage>(Self::shutdown_framework);
        r.message::<msg::FrameworkToExecutorMessage>(Self::scheduler_message);
        r.message::<msg::UpdateFrameworkMessage>(Self::update_framework);
        r.message::<msg::CheckpointResourcesMessage>(Self::checkpoint_resources_message);
        r.message::<msg::ApplyOperationMessage>(Self::apply_operation_message);
        r.message::<msg::AcknowledgeOperationStatusMessage>(Self::operation_status_acknowledgement);
        r.message::<msg::StatusUpdateAcknowledgementMessage>(Self::status_update_acknowledgement);
        r.message::<msg::RegisterExecutorMessage>(Self::register_executor);
        r.message::<msg::ReregisterExecutorMessage>(Self::reregister_executor);
        r.message::<msg::StatusUpdateMessage>(Self::status_update_message);
        r.message::<msg::ExecutorToFrameworkMessage>(Self::executor_message);
        r.message::<msg::ShutdownMessage>(Self::shutdown);
        r.message::<msg::ReconcileOperationsMessage>(Self::reconcile_operations);
        r.message::<msg::DrainSlaveMessage>(Self::drain);
        r.http("state", Self::state_endpoint);
        r.http("state.json", Self::state_endpoint);
        r.http("flags", Self::flags_endpoint);
        r.http("health", Self::health_endpoint);
        r.http("metrics/snapshot", Self::metrics_snapshot_endpoint);
        // Streamed bodies for ATTACH_CONTAINER_INPUT (upstream installs
        // `/api/v1` with `requestStreaming = true`).
        r.http_with(
            "api/v1",
            libprocess::actor::RouteOptions {
                request_streaming: true,
                ..Default::default()
            },
            Self::api_v1,
        );
        r.http("api/v1/executor", Self::api_v1_executor);
        r.http("containerizer/debug", Self::containerizer_debug_endpoint);
        r.http("containers", Self::containers_endpoint);
        r.http("monitor/statistics", Self::statistics_endpoint);
        r.http("monitor/statistics.json", Self::statistics_endpoint);
    }

    fn initialize(&mut self, cx: &mut Cx<'_, Self>) {
        self.start_time = cx.wall_secs();
        self.resource_version = bytes::Bytes::copy_from_slice(uuid_bytes(cx).as_slice());
        self.recover(cx);
        let interval = self.config.disk_watch_interval;
        cx.delay(interval, |s: &mut Slave, cx| s.check_disk_usage(cx));
    }

    fn exited(&mut self, _cx: &mut Cx<'_, Self>, pid: &Upid) {
        // Master failover is the detector's business (`Slave::exited`); an
        // executor's socket closing is only logged: its process exit is
        // what the containerizer reports.
        if self.master.as_ref().map(|m| m.addr()) == Some(pid.addr()) {
            tracing::info!("Master {pid} exited");
        } else {
            tracing::info!("Got exited event for {pid}");
        }
    }
}

/// 16 random bytes from the actor's seeded rng (uuid v4 layout).
pub(crate) fn uuid_bytes<A: Actor>(cx: &mut Cx<'_, A>) -> [u8; 16] {
    let mut b = [0u8; 16];
    cx.rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    b
}

/// A uuid string from the actor's rng.
pub(crate) fn uuid_string<A: Actor>(cx: &mut Cx<'_, A>) -> String {
    uuid::Uuid::from_bytes(uuid_bytes(cx)).to_string()
}
