//! The command executor (`mesos-executor`, upstream
//! src/launcher/executor.cpp) together with the executor-driver side of the
//! libprocess executor protocol it speaks (src/exec/exec.cpp):
//!
//! - at start: `link(agent)`, `RegisterExecutorMessage`;
//! - `ExecutorRegisteredMessage` / `ExecutorReregisteredMessage` → connected;
//! - `RunTaskMessage` → run the task's command (`sh -c` or argv) in its own
//!   session; TASK_STARTING, then TASK_RUNNING once forked, then
//!   TASK_FINISHED / TASK_FAILED / TASK_KILLED with upstream's message
//!   ("Command exited with status 0", "Command terminated with signal ...");
//! - every update is kept until the agent acknowledges it; acknowledging the
//!   terminal update ends the executor;
//! - `KillTaskMessage` → SIGTERM to the task's process group, SIGKILL after
//!   the kill policy's grace period; `ShutdownExecutorMessage` likewise,
//!   bounded by the shutdown grace period;
//! - a task's `health_check` runs from the fork on ([`crate::checks`]):
//!   TASK_RUNNING with `healthy` and REASON_TASK_HEALTH_CHECK_STATUS_UPDATED
//!   on the first result and each change; `consecutive_failures` failures
//!   kill the task, whose terminal update then says `healthy = false`;
//! - agent gone: a checkpointing executor waits `MESOS_RECOVERY_TIMEOUT`
//!   for `ReconnectExecutorMessage`, answers with
//!   `ReregisterExecutorMessage{unacknowledged tasks and updates}`; a
//!   non-checkpointing one shuts down.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use libprocess::{Actor, Cx, Routes, TimerId, Upid};
use mesos_proto::mesos::internal as msg;
use mesos_proto::mesos::internal::StatusUpdate;
use mesos_proto::mesos::{
    task_status, ExecutorId, FrameworkId, FrameworkInfo, SlaveId, TaskId, TaskInfo, TaskState,
    TaskStatus,
};

use crate::config::parse_duration;
use crate::launcher::{self, LaunchSpec};
use crate::status_update_manager::is_terminal;
use crate::Error;

/// Default kill grace period of the command executor when the task has no
/// kill policy (`KillPolicy.grace_period` default, 3 s).
pub const DEFAULT_KILL_GRACE_PERIOD: Duration = Duration::from_secs(3);

/// What the agent passes to an executor in its environment.
#[derive(Clone, Debug)]
pub struct ExecutorEnv {
    pub slave_pid: Upid,
    pub slave_id: String,
    pub framework_id: String,
    pub executor_id: String,
    pub directory: PathBuf,
    pub checkpoint: bool,
    pub recovery_timeout: Duration,
    pub shutdown_grace_period: Duration,
    /// The environment handed on to the task.
    pub task_environment: BTreeMap<String, String>,
}

impl ExecutorEnv {
    /// Reads `MESOS_SLAVE_PID`, `MESOS_SLAVE_ID`, ... as the executor
    /// driver's `start()` does; missing required variables are errors.
    pub fn from_env(env: &BTreeMap<String, String>) -> Result<ExecutorEnv, Error> {
        let need = |k: &str| {
            env.get(k).cloned().ok_or_else(|| {
                Error::Flags(format!("Expecting '{k}' to be set in the environment"))
            })
        };
        let pid = need("MESOS_SLAVE_PID")?;
        let slave_pid = Upid::parse(&pid)
            .map_err(|_| Error::Flags(format!("Cannot parse MESOS_SLAVE_PID '{pid}'")))?;
        let recovery_timeout = match env.get("MESOS_RECOVERY_TIMEOUT") {
            Some(v) => parse_duration(v)?,
            None => Duration::from_secs(15 * 60),
        };
        let shutdown_grace_period = match env.get("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD") {
            Some(v) => parse_duration(v)?,
            None => Duration::from_secs(5),
        };
        Ok(ExecutorEnv {
            slave_pid,
            slave_id: need("MESOS_SLAVE_ID")?,
            framework_id: need("MESOS_FRAMEWORK_ID")?,
            executor_id: need("MESOS_EXECUTOR_ID")?,
            directory: PathBuf::from(need("MESOS_DIRECTORY")?),
            checkpoint: env
                .get("MESOS_CHECKPOINT")
                .map(|v| v == "1")
                .unwrap_or(false),
            recovery_timeout,
            shutdown_grace_period,
            task_environment: env.clone(),
        })
    }
}

/// The command executor's own flags (upstream `Flags` of
/// src/launcher/executor.cpp). The agent passes `--launcher_dir` always and,
/// for a task with an image, `--sandbox_directory` and `--user`; the Mesos
/// containerizer appends `--working_directory`, `--task_command`,
/// `--task_environment`, `--task_supplementary_groups` and `--rootfs`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CommandExecutorFlags {
    /// Where `mesos-containerizer` lives.
    pub launcher_dir: Option<PathBuf>,
    /// The task's provisioned root filesystem (host path).
    pub rootfs: Option<String>,
    /// Where the sandbox is mounted inside the rootfs.
    pub sandbox_directory: Option<String>,
    /// The task's working directory inside the rootfs (image `WORKDIR`).
    pub working_directory: Option<String>,
    /// The user the task runs as.
    pub user: Option<String>,
    /// JSON `CommandInfo` replacing the task's command (image
    /// `ENTRYPOINT`/`CMD`).
    pub task_command: Option<mesos_proto::mesos::CommandInfo>,
    /// JSON `Environment` for the task (image `ENV`).
    pub task_environment: Option<mesos_proto::mesos::Environment>,
    /// JSON `ContainerLaunchInfo` whose mounts, file operations, pre-exec
    /// commands and clone namespaces apply to the task.
    pub task_launch_info: Option<mesos_proto::mesos::slave::ContainerLaunchInfo>,
    /// Supplementary groups of the task.
    pub task_supplementary_groups: Vec<u32>,
}

/// Flags upstream's command executor knows but this one does not act on
/// (logging, capabilities, tty); accepted so an agent passing them works.
const IGNORED_EXECUTOR_FLAGS: &[&str] = &[
    "effective_capabilities",
    "bounding_capabilities",
    "tty_slave_path",
    "quiet",
    "logging_level",
    "log_dir",
    "logbufsecs",
    "initialize_driver_logging",
    "external_log_file",
];

fn flag_value(name: &str, value: &str) -> Result<String, Error> {
    // stout reads `file://<path>` values from the file.
    match value.strip_prefix("file://") {
        Some(path) => std::fs::read_to_string(path)
            .map(|t| t.trim_end_matches('\n').to_string())
            .map_err(|e| Error::Flags(format!("Failed to read flag '{name}' from '{path}': {e}"))),
        None => Ok(value.to_string()),
    }
}

fn json_flag<M: prost::Message + prost::Name + Default>(name: &str, v: &str) -> Result<M, Error> {
    mesos_proto::json::from_json::<M>(v)
        .map_err(|e| Error::Flags(format!("Failed to load flag '{name}': {e}")))
}

impl CommandExecutorFlags {
    /// Parses `--name=value` arguments (program name excluded). Unknown
    /// flags are an error, as for upstream's executor.
    pub fn parse(args: &[String]) -> Result<CommandExecutorFlags, Error> {
        let mut f = CommandExecutorFlags::default();
        for a in args {
            let Some(flag) = a.strip_prefix("--") else {
                return Err(Error::Flags(format!("Unexpected argument '{a}'")));
            };
            let (name, value) = flag.split_once('=').unwrap_or((flag, "true"));
            let value = flag_value(name, value)?;
            match name {
                "launcher_dir" => f.launcher_dir = Some(PathBuf::from(value)),
                "rootfs" => f.rootfs = Some(value),
                "sandbox_directory" => f.sandbox_directory = Some(value),
                "working_directory" => f.working_directory = Some(value),
                "user" => f.user = Some(value),
                "task_command" => f.task_command = Some(json_flag(name, &value)?),
                "task_environment" => f.task_environment = Some(json_flag(name, &value)?),
                "task_launch_info" => f.task_launch_info = Some(json_flag(name, &value)?),
                "task_supplementary_groups" => {
                    f.task_supplementary_groups = value
                        .split(',')
                        .filter(|g| !g.trim().is_empty())
                        .map(|g| {
                            g.trim().parse::<u32>().map_err(|_| {
                                Error::Flags(format!(
                                    "Failed to load flag 'task_supplementary_groups': bad gid '{g}'"
                                ))
                            })
                        })
                        .collect::<Result<_, _>>()?
                }
                n if IGNORED_EXECUTOR_FLAGS.contains(&n) => {
                    tracing::warn!("Ignoring command executor flag '--{n}'");
                }
                n => return Err(Error::Flags(format!("Failed to load unknown flag '{n}'"))),
            }
        }
        Ok(f)
    }
}

/// The helper the command executor launches a task with an image through:
/// `<launcher_dir>/mesos-containerizer launch --unshare_namespace_mnt
/// --launch_info=<JSON>` (`launchTaskSubprocess` in
/// src/launcher/executor.cpp). The helper leaves the executor's mount
/// namespace, pivots into `rootfs` (whose special mounts and sandbox bind
/// the executor's container already has), changes to the working directory
/// (`--working_directory`, else `--sandbox_directory`), switches to `user`
/// and execs the command with exactly `environment`.
pub fn rootfs_launch_spec(
    flags: &CommandExecutorFlags,
    launcher_dir: &std::path::Path,
    command: &mesos_proto::mesos::CommandInfo,
    environment: &BTreeMap<String, String>,
    directory: &std::path::Path,
) -> Result<LaunchSpec, Error> {
    use mesos_proto::mesos::slave::ContainerLaunchInfo;
    let rootfs = flags
        .rootfs
        .clone()
        .ok_or_else(|| Error::Launch("no rootfs".into()))?;
    let sandbox = flags.sandbox_directory.clone().ok_or_else(|| {
        Error::Launch("Flag --sandbox_directory is required with --rootfs".into())
    })?;
    let mut info = ContainerLaunchInfo {
        command: Some(mesos_proto::mesos::CommandInfo {
            shell: Some(command.shell.unwrap_or(true)),
            ..command.clone()
        }),
        rootfs: Some(rootfs),
        working_directory: Some(flags.working_directory.clone().unwrap_or(sandbox)),
        user: flags.user.clone(),
        environment: Some(mesos_proto::mesos::Environment {
            variables: environment
                .iter()
                .map(|(k, v)| mesos_proto::mesos::environment::Variable {
                    name: k.clone(),
                    value: Some(v.clone()),
                    ..Default::default()
                })
                .collect(),
        }),
        supplementary_groups: flags.task_supplementary_groups.clone(),
        ..Default::default()
    };
    if let Some(t) = &flags.task_launch_info {
        info.mounts = t.mounts.clone();
        info.file_operations = t.file_operations.clone();
        #[allow(deprecated)]
        {
            info.pre_exec_commands = t.pre_exec_commands.clone();
        }
        info.clone_namespaces = t.clone_namespaces.clone();
    }
    let json = mesos_proto::json::to_json(&info)
        .map_err(|e| Error::Launch(format!("Failed to serialize the launch info: {e}")))?;
    Ok(LaunchSpec {
        value: launcher_dir.join(MESOS_CONTAINERIZER).display().to_string(),
        arguments: vec![
            MESOS_CONTAINERIZER.to_string(),
            "launch".to_string(),
            "--unshare_namespace_mnt".to_string(),
            format!("--launch_info={json}"),
        ],
        shell: false,
        environment: environment.clone(),
        directory: directory.to_path_buf(),
        // The helper switches user after entering the rootfs.
        user: None,
    })
}

/// The containerizer helper's binary name (`MESOS_CONTAINERIZER`).
pub const MESOS_CONTAINERIZER: &str = "mesos-containerizer";

/// `WSTRINGIFY` of a wait status, prefixed "Command " as the executor does.
pub fn command_status_message(status: Option<i32>) -> String {
    match status {
        Some(s) if libc::WIFEXITED(s) => {
            format!("Command exited with status {}", libc::WEXITSTATUS(s))
        }
        Some(s) if libc::WIFSIGNALED(s) => format!(
            "Command terminated with signal {}",
            crate::slave::tasks::signal_name(libc::WTERMSIG(s))
        ),
        _ => "Failed to get exit status for Command".to_string(),
    }
}

/// The terminal state for a reaped command.
pub fn terminal_state(status: Option<i32>, killed: bool) -> TaskState {
    match status {
        None => TaskState::TaskFailed,
        Some(_) if killed => TaskState::TaskKilled,
        Some(s) if libc::WIFEXITED(s) && libc::WEXITSTATUS(s) == 0 => TaskState::TaskFinished,
        Some(_) => TaskState::TaskFailed,
    }
}

/// The command executor actor (`executor(1)`).
pub struct CommandExecutor {
    env: ExecutorEnv,
    flags: CommandExecutorFlags,
    slave: Upid,
    connected: bool,
    /// Bumped on every (re)connection; stale recovery timers compare it.
    connection: u64,
    aborted: bool,
    framework_info: Option<FrameworkInfo>,
    /// Unacknowledged updates in send order.
    updates: Vec<StatusUpdate>,
    /// Unacknowledged tasks.
    tasks: BTreeMap<String, TaskInfo>,
    task: Option<TaskInfo>,
    pid: Option<i32>,
    killed: bool,
    terminated: bool,
    kill_timer: Option<TimerId>,
    /// The task's validated health check and its state machine, from the
    /// task's start (upstream executor.cpp `healthChecker`).
    health: Option<(crate::checks::HealthConfig, crate::checks::HealthTracker)>,
    /// The kill came from a failing health check: the terminal update
    /// carries `healthy = false` (upstream `killedByHealthCheck`).
    killed_by_health_check: bool,
    /// The type of the task's `check`: every update made from scratch
    /// carries an empty `check_status` of it (upstream `createTaskStatus`).
    check_type: Option<mesos_proto::mesos::check_info::Type>,
    /// The task's validated check and what it last reported (upstream
    /// executor.cpp `checker`).
    check: Option<(
        crate::checks::general::CheckConfig,
        crate::checks::general::CheckTracker,
    )>,
    /// The last update sent: check and health updates are copies of it
    /// (upstream `lastTaskStatus`).
    last_status: Option<TaskStatus>,
    /// Exit code the binary should use once the actor stops.
    pub exit_code: i32,
}

impl CommandExecutor {
    pub fn new(env: ExecutorEnv) -> CommandExecutor {
        CommandExecutor::with_flags(env, CommandExecutorFlags::default())
    }

    /// With the executor's command-line flags (`--rootfs`, ...).
    pub fn with_flags(env: ExecutorEnv, flags: CommandExecutorFlags) -> CommandExecutor {
        CommandExecutor {
            slave: env.slave_pid.clone(),
            env,
            flags,
            connected: false,
            connection: 0,
            aborted: false,
            framework_info: None,
            updates: Vec::new(),
            tasks: BTreeMap::new(),
            task: None,
            pid: None,
            killed: false,
            terminated: false,
            kill_timer: None,
            health: None,
            killed_by_health_check: false,
            check_type: None,
            check: None,
            last_status: None,
            exit_code: 0,
        }
    }

    fn status(
        &self,
        cx: &mut Cx<'_, Self>,
        task_id: &TaskId,
        state: TaskState,
        message: Option<String>,
    ) -> TaskStatus {
        let uuid = uuid::Uuid::new_v4();
        let mut s = TaskStatus {
            task_id: task_id.clone(),
            message,
            executor_id: Some(ExecutorId {
                value: self.env.executor_id.clone(),
            }),
            timestamp: Some(cx.wall_secs()),
            uuid: Some(Bytes::copy_from_slice(uuid.as_bytes())),
            ..Default::default()
        };
        s.set_state(state);
        s.set_source(task_status::Source::Executor);
        if let Some(t) = self.check_type {
            s.check_status = Some(crate::checks::general::empty_status(t));
        }
        s
    }

    /// A copy of the last update with a new uuid and time, to which a check
    /// or health result is added (upstream `createTaskStatus(lastTaskStatus,
    /// ...)`, which keeps everything else attached).
    fn status_from_last(&self, cx: &mut Cx<'_, Self>, task_id: &TaskId) -> TaskStatus {
        let mut s = match &self.last_status {
            Some(last) => last.clone(),
            None => self.status(cx, task_id, TaskState::TaskRunning, None),
        };
        let uuid = uuid::Uuid::new_v4();
        s.uuid = Some(Bytes::copy_from_slice(uuid.as_bytes()));
        s.timestamp = Some(cx.wall_secs());
        s
    }

    /// `ExecutorProcess::sendStatusUpdate`.
    fn send_status(&mut self, cx: &mut Cx<'_, Self>, mut status: TaskStatus) {
        let uuid = status.uuid.clone().unwrap_or_default();
        let slave_id = SlaveId {
            value: self.env.slave_id.clone(),
        };
        status.slave_id = Some(slave_id.clone());
        let now = cx.wall_secs();
        status.timestamp = Some(now);
        let update = StatusUpdate {
            framework_id: FrameworkId {
                value: self.env.framework_id.clone(),
            },
            executor_id: Some(ExecutorId {
                value: self.env.executor_id.clone(),
            }),
            slave_id: Some(slave_id),
            status,
            timestamp: now,
            uuid: Some(uuid),
            latest_state: None,
        };
        tracing::info!(
            "Sending status update {} for task {}",
            update.status.state().as_str_name(),
            update.status.task_id.value
        );
        self.updates.push(update.clone());
        self.last_status = Some(update.status.clone());
        let m = msg::StatusUpdateMessage {
            update,
            pid: Some(cx.me().to_string()),
        };
        let slave = self.slave.clone();
        cx.send(&slave, &m);
    }

    fn registered(
        &mut self,
        _cx: &mut Cx<'_, Self>,
        _from: Upid,
        m: msg::ExecutorRegisteredMessage,
    ) {
        if self.aborted {
            return;
        }
        tracing::info!("Executor registered on agent {}", m.slave_info.hostname);
        self.connected = true;
        self.connection += 1;
        self.framework_info = Some(m.framework_info);
    }

    fn reregistered(
        &mut self,
        _cx: &mut Cx<'_, Self>,
        _from: Upid,
        m: msg::ExecutorReregisteredMessage,
    ) {
        if self.aborted {
            return;
        }
        tracing::info!("Executor re-registered on agent {}", m.slave_info.hostname);
        self.connected = true;
        self.connection += 1;
    }

    fn reconnect(&mut self, cx: &mut Cx<'_, Self>, from: Upid, _m: msg::ReconnectExecutorMessage) {
        if self.aborted {
            return;
        }
        tracing::info!("Received reconnect request from agent {from}");
        self.slave = from.clone();
        cx.link(&from);
        let m = msg::ReregisterExecutorMessage {
            executor_id: ExecutorId {
                value: self.env.executor_id.clone(),
            },
            framework_id: FrameworkId {
                value: self.env.framework_id.clone(),
            },
            tasks: self.tasks.values().cloned().collect(),
            updates: self.updates.clone(),
        };
        cx.send(&from, &m);
    }

    fn run_task(&mut self, cx: &mut Cx<'_, Self>, _from: Upid, m: msg::RunTaskMessage) {
        if self.aborted {
            return;
        }
        if !self.connected {
            tracing::warn!(
                "Ignoring run task message for task {} because the driver is disconnected",
                m.task.task_id.value
            );
            return;
        }
        if self.framework_info.is_none() {
            self.framework_info = Some(m.framework.clone());
        }
        self.tasks
            .insert(m.task.task_id.value.clone(), m.task.clone());
        self.launch(cx, m.task);
    }

    fn launch(&mut self, cx: &mut Cx<'_, Self>, task: TaskInfo) {
        if self.task.is_some() {
            let s = self.status(
                cx,
                &task.task_id,
                TaskState::TaskFailed,
                Some("Attempted to run multiple tasks using a \"command\" executor".into()),
            );
            self.send_status(cx, s);
            return;
        }
        self.check_type = task
            .check
            .as_ref()
            .map(|c| c.r#type())
            .filter(|t| *t != mesos_proto::mesos::check_info::Type::Unknown);
        let s = self.status(cx, &task.task_id, TaskState::TaskStarting, None);
        self.send_status(cx, s);
        // The image's ENTRYPOINT/CMD (`--task_command`) replaces the task's.
        let cmd = self
            .flags
            .task_command
            .clone()
            .or_else(|| task.command.clone())
            .unwrap_or_default();
        // Environment: the executor's < `--task_environment` (image ENV) <
        // the command's own, plus MESOS_ALLOCATION_ROLE.
        let mut environment = self.env.task_environment.clone();
        let overlays = [
            self.flags.task_environment.as_ref(),
            cmd.environment.as_ref(),
        ];
        for vars in overlays.into_iter().flatten() {
            for v in &vars.variables {
                if v.r#type == Some(mesos_proto::mesos::environment::variable::Type::Secret as i32)
                {
                    continue;
                }
                if let Some(value) = &v.value {
                    environment.insert(v.name.clone(), value.clone());
                }
            }
        }
        if let Some(role) = task
            .resources
            .first()
            .and_then(|r| r.allocation_info.as_ref())
            .and_then(|a| a.role.clone())
        {
            environment.insert("MESOS_ALLOCATION_ROLE".into(), role);
        }
        let spec = if self.flags.rootfs.is_some() {
            let launcher_dir = self.flags.launcher_dir.clone().unwrap_or_else(|| {
                std::env::current_exe()
                    .ok()
                    .and_then(|p| p.parent().map(|d| d.to_path_buf()))
                    .unwrap_or_default()
            });
            let spec = if !nix::unistd::geteuid().is_root() {
                Err(Error::Launch(
                    "The command executor requires root with rootfs".into(),
                ))
            } else {
                rootfs_launch_spec(
                    &self.flags,
                    &launcher_dir,
                    &cmd,
                    &environment,
                    &self.env.directory,
                )
            };
            // The task runs as `user` but the sandbox was made by root:
            // hand the sandbox directory itself (not its content) over.
            if let (Ok(_), Some(user)) = (&spec, &self.flags.user) {
                if let Err(e) = chown_dir(&self.env.directory, user) {
                    tracing::error!("Failed to chown sandbox to user {user}: {e}");
                }
            }
            match spec {
                Ok(s) => s,
                Err(e) => {
                    self.task = Some(task);
                    self.launched(cx, Err(e));
                    return;
                }
            }
        } else {
            LaunchSpec {
                value: cmd.value.clone().unwrap_or_default(),
                arguments: cmd.arguments.clone(),
                shell: cmd.shell.unwrap_or(true),
                environment,
                directory: self.env.directory.clone(),
                user: self.flags.user.clone().filter(|u| {
                    nix::unistd::User::from_uid(nix::unistd::geteuid())
                        .ok()
                        .flatten()
                        .is_none_or(|me| &me.name != u)
                }),
            }
        };
        tracing::info!("Running '{}' for task {}", spec.value, task.task_id.value);
        self.task = Some(task);
        cx.blocking(
            move || launcher::launch(&spec),
            |e: &mut CommandExecutor, cx, r| e.launched(cx, r),
        );
    }

    fn launched(&mut self, cx: &mut Cx<'_, Self>, r: Result<std::process::Child, Error>) {
        let Some(task) = self.task.clone() else {
            return;
        };
        match r {
            Ok(child) => {
                let pid = child.id() as i32;
                tracing::info!("Forked command at {pid}");
                self.pid = Some(pid);
                self.start_checks(cx, &task);
                self.start_health_checks(cx, &task);
                let s = self.status(cx, &task.task_id, TaskState::TaskRunning, None);
                self.send_status(cx, s);
                cx.blocking(
                    move || launcher::wait_child(child),
                    |e: &mut CommandExecutor, cx, status| e.reaped(cx, status),
                );
            }
            Err(err) => {
                self.terminated = true;
                let s = self.status(
                    cx,
                    &task.task_id,
                    TaskState::TaskFailed,
                    Some(format!("Failed to launch task subprocess: {err}")),
                );
                self.send_status(cx, s);
                cx.delay(Duration::from_secs(1), |e: &mut CommandExecutor, cx| {
                    e.self_terminate(cx)
                });
            }
        }
    }

    fn reaped(&mut self, cx: &mut Cx<'_, Self>, status: Option<i32>) {
        self.terminated = true;
        if let Some(t) = self.kill_timer.take() {
            cx.cancel(t);
        }
        let Some(task) = self.task.clone() else {
            return;
        };
        let state = terminal_state(status, self.killed);
        let message = command_status_message(status);
        tracing::info!(
            "Command for task {} finished: {message}",
            task.task_id.value
        );
        let mut s = self.status(cx, &task.task_id, state, Some(message));
        // A kill caused by the health check shows in the terminal update
        // (upstream `reaped`: healthy = false, no particular reason).
        if self.killed && self.killed_by_health_check {
            s.healthy = Some(false);
        }
        self.send_status(cx, s);
        // Upstream terminates one second later whether or not the update
        // was acknowledged (the ack usually ends it sooner).
        cx.delay(Duration::from_secs(1), |e: &mut CommandExecutor, cx| {
            e.self_terminate(cx)
        });
    }

    /// Arms the task's health check, if any (upstream executor.cpp
    /// `launch`: the checker starts with the task; an invalid check is
    /// logged and ignored, as upstream does when the checker cannot be
    /// created).
    fn start_health_checks(&mut self, cx: &mut Cx<'_, Self>, task: &TaskInfo) {
        let Some(h) = &task.health_check else {
            return;
        };
        match crate::checks::HealthConfig::from_proto(h) {
            Ok(config) => {
                tracing::info!(
                    "Starting health checks for task {} in {:?}",
                    task.task_id.value,
                    config.delay
                );
                let tracker = crate::checks::HealthTracker::new(&config, std::time::Instant::now());
                let delay = config.delay;
                self.health = Some((config, tracker));
                cx.delay(delay, |e: &mut CommandExecutor, cx| {
                    e.perform_health_check(cx)
                });
            }
            Err(e) => tracing::error!("Failed to create health checker: {e}"),
        }
    }

    fn perform_health_check(&mut self, cx: &mut Cx<'_, Self>) {
        if self.killed || self.terminated || self.aborted {
            return;
        }
        let Some((config, _)) = &self.health else {
            return;
        };
        let config = config.clone();
        let environment = self.env.task_environment.clone();
        let directory = self.env.directory.clone();
        // A task in its own root filesystem: its command checks run in its
        // mount namespace (upstream enters "mnt" for rootfs tasks).
        let enter_mnt = self.flags.rootfs.as_ref().and(self.pid);
        cx.blocking(
            move || crate::checks::run_check(&config, &environment, &directory, enter_mnt),
            |e: &mut CommandExecutor, cx, r| e.health_check_result(cx, r),
        );
    }

    /// `taskHealthUpdated`: report as TASK_RUNNING with `healthy` and
    /// REASON_TASK_HEALTH_CHECK_STATUS_UPDATED; kill when asked.
    fn health_check_result(&mut self, cx: &mut Cx<'_, Self>, r: Result<(), String>) {
        // Results arriving after a kill or the task's end are dropped.
        if self.killed || self.terminated || self.aborted {
            return;
        }
        let Some(task) = self.task.clone() else {
            return;
        };
        let Some((config, tracker)) = self.health.as_mut() else {
            return;
        };
        if let Err(e) = &r {
            tracing::warn!("Health check for task {} failed: {e}", task.task_id.value);
        }
        let interval = config.interval;
        if let Some(ev) = tracker.record(std::time::Instant::now(), &r) {
            tracing::info!(
                "Received task health update, healthy: {} (consecutive failures: {})",
                ev.healthy,
                ev.consecutive_failures
            );
            let mut s = self.status_from_last(cx, &task.task_id);
            s.healthy = Some(ev.healthy);
            s.set_reason(task_status::Reason::TaskHealthCheckStatusUpdated);
            self.send_status(cx, s);
            if ev.kill_task {
                tracing::info!(
                    "Killing task {} after {} consecutive failed health checks",
                    task.task_id.value,
                    ev.consecutive_failures
                );
                self.killed_by_health_check = true;
                let grace = task
                    .kill_policy
                    .as_ref()
                    .and_then(|k| k.grace_period.as_ref())
                    .map(|d| Duration::from_nanos(d.nanoseconds.max(0) as u64))
                    .unwrap_or(DEFAULT_KILL_GRACE_PERIOD);
                self.kill(cx, grace);
                return;
            }
        }
        cx.delay(interval, |e: &mut CommandExecutor, cx| {
            e.perform_health_check(cx)
        });
    }

    /// Arms the task's general check, if any (upstream executor.cpp
    /// `launch`: an invalid check is logged and the task runs unchecked).
    fn start_checks(&mut self, cx: &mut Cx<'_, Self>, task: &TaskInfo) {
        use crate::checks::general::{CheckConfig, CheckTracker};
        let Some(c) = &task.check else {
            return;
        };
        match CheckConfig::from_proto(c) {
            Ok(config) => {
                tracing::info!(
                    "Starting {} check for task {} in {:?}",
                    config.r#type.as_str_name(),
                    task.task_id.value,
                    config.delay
                );
                let delay = config.delay;
                let tracker = CheckTracker::new(config.r#type);
                self.check = Some((config, tracker));
                cx.delay(delay, |e: &mut CommandExecutor, cx| e.perform_check(cx));
            }
            Err(e) => tracing::error!("Failed to create checker: {e}"),
        }
    }

    /// `CheckerProcess::performCheck`: stops once the task is being killed
    /// or has ended (upstream pauses the checker then).
    fn perform_check(&mut self, cx: &mut Cx<'_, Self>) {
        if self.killed || self.terminated || self.aborted {
            return;
        }
        let Some((config, _)) = &self.check else {
            return;
        };
        let config = config.clone();
        let environment = self.env.task_environment.clone();
        let directory = self.env.directory.clone();
        let enter_mnt = self.flags.rootfs.as_ref().and(self.pid);
        cx.blocking(
            move || {
                crate::checks::general::run_general_check(
                    &config,
                    &environment,
                    &directory,
                    enter_mnt,
                )
            },
            |e: &mut CommandExecutor, cx, r| e.check_result(cx, r),
        );
    }

    /// `taskCheckUpdated`: a changed check status goes out as TASK_RUNNING
    /// with it and REASON_TASK_CHECK_STATUS_UPDATED; the next check runs
    /// `interval` after this one finished.
    fn check_result(&mut self, cx: &mut Cx<'_, Self>, r: crate::checks::general::CheckResult) {
        if self.killed || self.terminated || self.aborted {
            return;
        }
        let Some(task) = self.task.clone() else {
            return;
        };
        let Some((config, tracker)) = self.check.as_mut() else {
            return;
        };
        let interval = config.interval;
        if let Some(cs) = tracker.record(r) {
            tracing::info!("Received check update '{cs:?}'");
            let mut s = self.status_from_last(cx, &task.task_id);
            s.check_status = Some(cs);
            s.set_reason(task_status::Reason::TaskCheckStatusUpdated);
            self.send_status(cx, s);
        }
        cx.delay(interval, |e: &mut CommandExecutor, cx| e.perform_check(cx));
    }

    fn self_terminate(&mut self, cx: &mut Cx<'_, Self>) {
        // While the agent is away (restarting) the terminal update may be
        // unacknowledged: wait for the reconnection so it is not lost (the
        // recovery timeout still bounds the wait).
        if !self.connected && self.env.checkpoint && !self.updates.is_empty() {
            tracing::info!("Waiting for the agent to reconnect before exiting");
            cx.delay(Duration::from_secs(1), |e: &mut CommandExecutor, cx| {
                e.self_terminate(cx)
            });
            return;
        }
        cx.terminate();
    }

    fn kill_task(&mut self, cx: &mut Cx<'_, Self>, _from: Upid, m: msg::KillTaskMessage) {
        if self.aborted {
            return;
        }
        let grace = m
            .kill_policy
            .as_ref()
            .and_then(|k| k.grace_period.as_ref())
            .or_else(|| {
                self.task
                    .as_ref()
                    .and_then(|t| t.kill_policy.as_ref())
                    .and_then(|k| k.grace_period.as_ref())
            })
            .map(|d| Duration::from_nanos(d.nanoseconds.max(0) as u64))
            .unwrap_or(DEFAULT_KILL_GRACE_PERIOD);
        self.kill(cx, grace);
    }

    /// SIGTERM to the task's process tree, SIGKILL after `grace`.
    fn kill(&mut self, cx: &mut Cx<'_, Self>, grace: Duration) {
        if self.terminated || self.killed {
            return;
        }
        let (Some(pid), Some(task)) = (self.pid, self.task.clone()) else {
            return;
        };
        let killing = self
            .framework_info
            .as_ref()
            .map(|f| {
                f.capabilities.iter().any(|c| {
                    c.r#type
                        == Some(
                            mesos_proto::mesos::framework_info::capability::Type::TaskKillingState
                                as i32,
                        )
                })
            })
            .unwrap_or(false);
        if killing {
            let s = self.status(cx, &task.task_id, TaskState::TaskKilling, None);
            self.send_status(cx, s);
        }
        tracing::info!("Sending SIGTERM to process tree at pid {pid}");
        launcher::kill_tree(pid, nix::sys::signal::Signal::SIGTERM);
        self.killed = true;
        self.kill_timer = Some(cx.delay(grace, move |e: &mut CommandExecutor, _cx| {
            if !e.terminated {
                tracing::info!("Process {pid} did not terminate after {grace:?}, sending SIGKILL");
                launcher::kill_tree(pid, nix::sys::signal::Signal::SIGKILL);
            }
        }));
    }

    fn ack(
        &mut self,
        cx: &mut Cx<'_, Self>,
        _from: Upid,
        m: msg::StatusUpdateAcknowledgementMessage,
    ) {
        if self.aborted || !self.connected {
            return;
        }
        let Some(i) = self
            .updates
            .iter()
            .position(|u| u.uuid.as_ref() == Some(&m.uuid))
        else {
            tracing::warn!("Received acknowledgement for unknown status update");
            return;
        };
        let u = self.updates.remove(i);
        self.tasks.remove(&m.task_id.value);
        if is_terminal(u.status.state()) {
            tracing::info!(
                "Terminal update for task {} acknowledged; exiting",
                m.task_id.value
            );
            cx.terminate();
        }
    }

    fn shutdown_message(
        &mut self,
        cx: &mut Cx<'_, Self>,
        _from: Upid,
        _m: msg::ShutdownExecutorMessage,
    ) {
        self.shutdown(cx);
    }

    /// `shutdown()`: kill the task (grace = shutdown grace - 2 s), and exit
    /// no later than the shutdown grace period (`ShutdownProcess`).
    fn shutdown(&mut self, cx: &mut Cx<'_, Self>) {
        if self.aborted {
            return;
        }
        tracing::info!("Shutting down");
        let grace = self.env.shutdown_grace_period;
        let kill_grace = grace.saturating_sub(Duration::from_secs(2));
        if self.task.is_some() && !self.terminated {
            self.kill(cx, kill_grace);
            cx.delay(grace, |e: &mut CommandExecutor, cx| {
                if let Some(pid) = e.pid {
                    launcher::kill_tree(pid, nix::sys::signal::Signal::SIGKILL);
                }
                e.exit_code = 1;
                cx.terminate();
            });
        } else {
            cx.terminate();
        }
        self.aborted = true;
    }

    fn recovery_timeout(&mut self, cx: &mut Cx<'_, Self>, connection: u64) {
        if self.connected || connection != self.connection {
            return;
        }
        tracing::info!(
            "Recovery timeout of {:?} exceeded; shutting down",
            self.env.recovery_timeout
        );
        self.shutdown(cx);
    }
}

/// `os::chown(user, dir, recursive = false)`.
fn chown_dir(dir: &std::path::Path, user: &str) -> Result<(), Error> {
    let u = nix::unistd::User::from_name(user)
        .map_err(|e| Error::Launch(format!("failed to look up user '{user}': {e}")))?
        .ok_or_else(|| Error::Launch(format!("no such user '{user}'")))?;
    nix::unistd::chown(dir, Some(u.uid), Some(u.gid))
        .map_err(|e| Error::Launch(format!("{}: {e}", dir.display())))
}

impl Actor for CommandExecutor {
    fn install(r: &mut Routes<Self>) {
        r.message::<msg::ExecutorRegisteredMessage>(Self::registered);
        r.message::<msg::ExecutorReregisteredMessage>(Self::reregistered);
        r.message::<msg::ReconnectExecutorMessage>(Self::reconnect);
        r.message::<msg::RunTaskMessage>(Self::run_task);
        r.message::<msg::KillTaskMessage>(Self::kill_task);
        r.message::<msg::StatusUpdateAcknowledgementMessage>(Self::ack);
        r.message::<msg::ShutdownExecutorMessage>(Self::shutdown_message);
        r.message::<msg::FrameworkToExecutorMessage>(|_, _, _, _| {});
    }

    fn initialize(&mut self, cx: &mut Cx<'_, Self>) {
        let slave = self.slave.clone();
        cx.link(&slave);
        cx.send(
            &slave,
            &msg::RegisterExecutorMessage {
                framework_id: FrameworkId {
                    value: self.env.framework_id.clone(),
                },
                executor_id: ExecutorId {
                    value: self.env.executor_id.clone(),
                },
            },
        );
    }

    fn exited(&mut self, cx: &mut Cx<'_, Self>, pid: &Upid) {
        if self.aborted || pid.addr() != self.slave.addr() {
            return;
        }
        if self.env.checkpoint && self.connected {
            self.connected = false;
            tracing::info!(
                "Agent exited, but framework has checkpointing enabled. Waiting {:?} to reconnect with agent {}",
                self.env.recovery_timeout,
                self.env.slave_id
            );
            let c = self.connection;
            cx.delay(
                self.env.recovery_timeout,
                move |e: &mut CommandExecutor, cx| e.recovery_timeout(cx, c),
            );
            return;
        }
        tracing::info!("Agent exited; shutting down");
        self.connected = false;
        self.shutdown(cx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_is_read_like_the_driver() {
        let mut env = BTreeMap::new();
        assert!(ExecutorEnv::from_env(&env).is_err());
        for (k, v) in [
            ("MESOS_SLAVE_PID", "slave(1)@127.0.0.1:5051"),
            ("MESOS_SLAVE_ID", "S0"),
            ("MESOS_FRAMEWORK_ID", "F"),
            ("MESOS_EXECUTOR_ID", "E"),
            ("MESOS_DIRECTORY", "/sandbox"),
            ("MESOS_CHECKPOINT", "1"),
            ("MESOS_RECOVERY_TIMEOUT", "15mins"),
            ("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "5secs"),
        ] {
            env.insert(k.to_string(), v.to_string());
        }
        let e = ExecutorEnv::from_env(&env).unwrap();
        assert_eq!(e.slave_pid.id(), "slave(1)");
        assert!(e.checkpoint);
        assert_eq!(e.recovery_timeout, Duration::from_secs(900));
        assert_eq!(e.shutdown_grace_period, Duration::from_secs(5));
        env.insert("MESOS_SLAVE_PID".into(), "garbage".into());
        assert!(ExecutorEnv::from_env(&env).is_err());
    }

    #[test]
    fn executor_flags_parse_like_upstream() {
        let args: Vec<String> = [
            "--launcher_dir=/usr/libexec/mesos",
            "--sandbox_directory=/mnt/mesos/sandbox",
            "--user=nobody",
            "--working_directory=/data",
            r#"--task_command={"shell":false,"value":"/bin/ep","arguments":["/bin/ep","x"]}"#,
            r#"--task_environment={"variables":[{"name":"A","value":"1"}]}"#,
            "--task_supplementary_groups=5,7",
            "--rootfs=/r/rootfs",
            "--tty_slave_path=/dev/pts/3",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let f = CommandExecutorFlags::parse(&args).unwrap();
        assert_eq!(
            f.launcher_dir.as_deref(),
            Some(std::path::Path::new("/usr/libexec/mesos"))
        );
        assert_eq!(f.rootfs.as_deref(), Some("/r/rootfs"));
        assert_eq!(f.user.as_deref(), Some("nobody"));
        assert_eq!(f.working_directory.as_deref(), Some("/data"));
        let cmd = f.task_command.clone().unwrap();
        assert_eq!(cmd.value.as_deref(), Some("/bin/ep"));
        assert_eq!(cmd.arguments, vec!["/bin/ep", "x"]);
        assert_eq!(f.task_environment.as_ref().unwrap().variables[0].name, "A");
        assert_eq!(f.task_supplementary_groups, vec![5, 7]);
        // Unknown flags and bad values are refused, as upstream's executor
        // exits on them.
        for bad in [
            "--bogus=1",
            "--task_command={",
            "--task_supplementary_groups=x",
            "plain",
        ] {
            assert!(
                CommandExecutorFlags::parse(&[bad.to_string()]).is_err(),
                "{bad} accepted"
            );
        }
        // file:// values are read from the file.
        let dir = std::env::temp_dir().join(format!("exec-flags-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("env.json"),
            r#"{"variables":[{"name":"B","value":"2"}]}"#,
        )
        .unwrap();
        let f = CommandExecutorFlags::parse(&[format!(
            "--task_environment=file://{}",
            dir.join("env.json").display()
        )])
        .unwrap();
        assert_eq!(f.task_environment.unwrap().variables[0].name, "B");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn rootfs_task_launches_through_the_helper() {
        let mut flags = CommandExecutorFlags {
            rootfs: Some("/r/rootfs".into()),
            sandbox_directory: Some("/mnt/mesos/sandbox".into()),
            user: Some("nobody".into()),
            task_supplementary_groups: vec![9],
            ..Default::default()
        };
        let cmd = mesos_proto::mesos::CommandInfo {
            value: Some("echo hi".into()),
            ..Default::default()
        };
        let env: BTreeMap<String, String> = [(
            "MESOS_SANDBOX".to_string(),
            "/mnt/mesos/sandbox".to_string(),
        )]
        .into();
        let spec = rootfs_launch_spec(
            &flags,
            std::path::Path::new("/libexec"),
            &cmd,
            &env,
            std::path::Path::new("/host/sandbox"),
        )
        .unwrap();
        assert_eq!(spec.value, "/libexec/mesos-containerizer");
        assert_eq!(
            &spec.arguments[..3],
            &["mesos-containerizer", "launch", "--unshare_namespace_mnt"]
        );
        assert!(!spec.shell);
        assert_eq!(spec.directory, std::path::Path::new("/host/sandbox"));
        assert!(
            spec.user.is_none(),
            "the helper switches user, not the fork"
        );
        let json = spec.arguments[3].strip_prefix("--launch_info=").unwrap();
        let info =
            mesos_proto::json::from_json::<mesos_proto::mesos::slave::ContainerLaunchInfo>(json)
                .unwrap();
        assert_eq!(info.rootfs.as_deref(), Some("/r/rootfs"));
        // No --working_directory: the sandbox inside the rootfs.
        assert_eq!(
            info.working_directory.as_deref(),
            Some("/mnt/mesos/sandbox")
        );
        assert_eq!(info.user.as_deref(), Some("nobody"));
        assert_eq!(info.supplementary_groups, vec![9]);
        assert_eq!(info.command.unwrap().shell, Some(true));
        assert_eq!(info.environment.unwrap().variables[0].name, "MESOS_SANDBOX");
        // The image's WORKDIR wins; --sandbox_directory is required.
        flags.working_directory = Some("/data".into());
        let spec = rootfs_launch_spec(
            &flags,
            std::path::Path::new("/libexec"),
            &cmd,
            &env,
            std::path::Path::new("/s"),
        )
        .unwrap();
        assert!(spec.arguments[3].contains(r#""working_directory":"/data""#));
        flags.sandbox_directory = None;
        assert!(rootfs_launch_spec(
            &flags,
            std::path::Path::new("/libexec"),
            &cmd,
            &env,
            std::path::Path::new("/s")
        )
        .is_err());
    }

    #[test]
    fn terminal_states_and_messages() {
        assert_eq!(terminal_state(Some(0), false), TaskState::TaskFinished);
        assert_eq!(terminal_state(Some(1 << 8), false), TaskState::TaskFailed);
        assert_eq!(terminal_state(Some(15), true), TaskState::TaskKilled);
        assert_eq!(terminal_state(None, false), TaskState::TaskFailed);
        assert_eq!(
            command_status_message(Some(0)),
            "Command exited with status 0"
        );
        assert_eq!(
            command_status_message(Some(2 << 8)),
            "Command exited with status 2"
        );
        assert_eq!(
            command_status_message(Some(15)),
            "Command terminated with signal Terminated"
        );
    }
}
