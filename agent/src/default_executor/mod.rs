//! The default executor (`mesos-default-executor`, upstream
//! src/launcher/default_executor.cpp): runs each task of a task group in its
//! own nested container through the agent's operator API, and speaks the v1
//! executor HTTP API to the agent.
//!
//! - `SUBSCRIBE` to `/api/v1/executor` (resent each second until
//!   `SUBSCRIBED`, carrying unacknowledged tasks and updates);
//! - `LAUNCH_GROUP` → per task: a fresh child `ContainerID` under the
//!   executor's container, `TASK_STARTING`, `LAUNCH_NESTED_CONTAINER` with the
//!   task's command (+ `MESOS_CONTAINER_IP`, `MESOS_ALLOCATION_ROLE`); on
//!   `200` a `tasks/<task id>` symlink to the child's sandbox and
//!   `TASK_RUNNING`; then `WAIT_NESTED_CONTAINER`;
//! - the wait's answer decides `TASK_FINISHED` / `TASK_FAILED` /
//!   `TASK_KILLED` ("Command exited with status N"); a task that fails or is
//!   killed gets the rest of its group killed;
//! - `KILL` → `TASK_KILLING` (if the framework has `TASK_KILLING_STATE`),
//!   `SIGTERM` through `KILL_NESTED_CONTAINER`, `SIGKILL` after the kill
//!   policy's grace period (default 3 s);
//! - `SHUTDOWN` kills every task; with no task left the executor ends
//!   after 1 s; `LAUNCH` (a single task) is not supported and shuts down.
//!
//! [`DefaultExecutor`] is the pure state machine: [`Input`]s in,
//! [`Action`]s out. [`run`] carries the actions out with blocking HTTP
//! calls ([`client`]) on threads.
//!
//! - a task's `health_check` runs from its start (see [`crate::checks`]):
//!   TASK_RUNNING with `healthy` and REASON_TASK_HEALTH_CHECK_STATUS_UPDATED
//!   on the first result and every change, the task killed after
//!   `consecutive_failures` failures; from then on every terminal update
//!   says `healthy = false` (upstream `taskHealthUpdated` / `unhealthy`).
//!
//! - a task's `check` runs from its start ([`crate::checks::general`]):
//!   every update carries `check_status` (empty until a result is known),
//!   each change of it goes out as TASK_RUNNING with
//!   REASON_TASK_CHECK_STATUS_UPDATED (upstream `taskCheckUpdated`).
//!   COMMAND checks run in `check-<uuid>` nested containers under the
//!   task's container (LAUNCH / WAIT / REMOVE_NESTED_CONTAINER); HTTP and
//!   TCP checks from the executor. Checks pause while the executor is
//!   disconnected and resume with an immediate check on resubscription.

pub mod client;
pub mod run;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use mesos_proto::mesos::v1::agent as v1a;
use mesos_proto::mesos::v1::executor as v1e;
use mesos_proto::mesos::v1::{
    task_status, ContainerId, ContainerStatus, ExecutorId, FrameworkId, FrameworkInfo, KillPolicy,
    TaskGroupInfo, TaskId, TaskInfo, TaskState, TaskStatus,
};
use prost::Message as _;

pub use run::run;

/// Kill grace period when neither the kill nor the task has a policy.
pub const DEFAULT_KILL_GRACE_PERIOD: Duration = Duration::from_secs(3);
/// How long the executor lingers before it ends (`_shutdown`).
pub const TERMINATION_DELAY: Duration = Duration::from_secs(1);
/// Retry interval of `SUBSCRIBE` and of interrupted waits.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// What the executor learns from its environment.
#[derive(Clone, Debug)]
pub struct Config {
    pub framework_id: String,
    pub executor_id: String,
    pub sandbox: PathBuf,
    /// `MESOS_CONTAINER_IP` given to the tasks (the executor's address).
    pub container_ip: String,
    /// Run as the command executor over the v1 HTTP API
    /// (`--http_command_executor`, upstream src/launcher/executor.cpp):
    /// one task from `LAUNCH`, run as a child process (the runner carries
    /// out the container actions locally); `LAUNCH_GROUP` is refused; the
    /// executor ends once its terminal update is acknowledged (at the
    /// latest 60 s after the task ended).
    pub command_mode: bool,
}

/// Something that happened.
#[derive(Clone, Debug)]
pub enum Input {
    /// An event on the SUBSCRIBE stream.
    Event(Box<v1e::Event>),
    /// The SUBSCRIBE stream ended or could not be opened.
    Disconnected,
    /// Time to send SUBSCRIBE again (if still not subscribed).
    Resubscribe,
    /// The answer to `LAUNCH_NESTED_CONTAINER` (status, body), or a
    /// transport error.
    Launched {
        task_id: String,
        result: Result<(u16, Bytes), String>,
    },
    /// The answer to `WAIT_NESTED_CONTAINER` for the given subscription.
    Waited {
        task_id: String,
        generation: u64,
        result: Result<(u16, Bytes), String>,
    },
    /// Re-issue the wait of a task (after an interrupted one).
    RetryWait { task_id: String, generation: u64 },
    /// The kill grace period of a task ran out.
    Escalate { task_id: String, container: String },
    /// The task's `max_completion_time` passed.
    MaxCompletion { task_id: String },
    /// Command mode: no acknowledgement of the terminal update came in time.
    SelfTerminate,
    /// Time for the task's next health check.
    HealthCheckDue { task_id: String },
    /// A health check of the task finished.
    HealthChecked {
        task_id: String,
        result: Result<(), String>,
    },
    /// Time for the task's next (general) check.
    CheckDue { task_id: String },
    /// A check of the task finished; `leftover` is a check container
    /// still to be removed before the next check.
    Checked {
        task_id: String,
        result: crate::checks::general::CheckResult,
        leftover: Option<ContainerId>,
    },
}

/// Something to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Open the SUBSCRIBE stream with this call.
    Subscribe(v1e::Call),
    /// POST an executor call (`UPDATE`).
    Send(v1e::Call),
    /// POST an agent call; its answer comes back as `Launched`.
    Launch { task_id: String, call: v1a::Call },
    /// POST an agent call; its answer comes back as `Waited`.
    Wait {
        task_id: String,
        generation: u64,
        call: v1a::Call,
    },
    /// POST an agent call; its answer is only logged.
    Kill { call: v1a::Call },
    /// `<sandbox>/tasks/<task id>` → `<sandbox>/containers/<container id>`.
    Symlink { task_id: String, container: String },
    /// Feed `input` back after `after`.
    Timer { after: Duration, input: Input },
    /// Run one health check of the task in `directory`; its result comes
    /// back as `HealthChecked`.
    HealthCheck {
        task_id: String,
        config: crate::checks::HealthConfig,
        directory: PathBuf,
    },
    /// Run one check of the task from the executor (HTTP, TCP, and
    /// COMMAND in command mode); the result comes back as `Checked`.
    Check {
        task_id: String,
        config: crate::checks::general::CheckConfig,
        directory: PathBuf,
    },
    /// Run one COMMAND check in a nested container: remove `previous`
    /// (if any), launch (`launch` is LAUNCH_NESTED_CONTAINER of
    /// `check_id`), wait at most `timeout` (then SIGKILL); the result
    /// comes back as `Checked`.
    NestedCheck {
        task_id: String,
        previous: Option<ContainerId>,
        check_id: ContainerId,
        launch: v1a::Call,
        timeout: Option<Duration>,
    },
    /// End the process after [`TERMINATION_DELAY`].
    Terminate,
}

impl PartialEq for Input {
    fn eq(&self, other: &Self) -> bool {
        format!("{self:?}") == format!("{other:?}")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Connected,
    Disconnected,
    Subscribed,
}

#[derive(Clone, Debug)]
struct Container {
    id: ContainerId,
    task: TaskInfo,
    group: TaskGroupInfo,
    launched: bool,
    acknowledged: bool,
    killing: bool,
    killing_task_group: bool,
    killed_by_completion_timeout: bool,
    launch_error: Option<String>,
    waiting: bool,
    /// The task's health check and its state machine.
    health: Option<(crate::checks::HealthConfig, crate::checks::HealthTracker)>,
    /// The task's check and what it last reported (upstream `checker`;
    /// dropped when the task is killed).
    check: Option<(
        crate::checks::general::CheckConfig,
        crate::checks::general::CheckTracker,
    )>,
    /// A check came due (or finished) while disconnected: check again
    /// right after resubscribing (upstream `Checker::pause` / `resume`).
    check_paused: bool,
    /// The last nested check container, removed before the next check.
    check_container: Option<ContainerId>,
    /// The last update sent for the task (upstream `lastTaskStatus`).
    last_status: Option<TaskStatus>,
}

/// The default executor's state.
pub struct DefaultExecutor {
    config: Config,
    state: State,
    shutting_down: bool,
    terminating: bool,
    framework_info: Option<FrameworkInfo>,
    executor_container: Option<ContainerId>,
    containers: BTreeMap<String, Container>,
    /// Updates sent but not acknowledged, by uuid.
    unacknowledged: BTreeMap<Vec<u8>, v1e::call::Update>,
    /// Bumped on every SUBSCRIBED: waits of older subscriptions are stale.
    generation: u64,
    /// Command mode: a task was given (only one ever is).
    launched_once: bool,
    /// A task was killed by its health check: terminal updates say
    /// `healthy = false` (upstream `unhealthy`, MESOS-8543).
    unhealthy: bool,
    /// Clock and uuid source (injected for tests).
    now: Box<dyn FnMut() -> f64 + Send>,
    uuid: Box<dyn FnMut() -> [u8; 16] + Send>,
}

fn random_uuid() -> [u8; 16] {
    *uuid::Uuid::new_v4().as_bytes()
}

fn wall_clock() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// `WSTRINGIFY`: "exited with status N" / "terminated with signal X".
pub fn wstringify(status: i32) -> String {
    if libc::WIFEXITED(status) {
        format!("exited with status {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        format!(
            "terminated with signal {}",
            crate::slave::tasks::signal_name(libc::WTERMSIG(status))
        )
    } else {
        format!("wait status {status}")
    }
}

impl DefaultExecutor {
    pub fn new(config: Config) -> DefaultExecutor {
        DefaultExecutor {
            config,
            state: State::Disconnected,
            shutting_down: false,
            terminating: false,
            framework_info: None,
            executor_container: None,
            containers: BTreeMap::new(),
            unacknowledged: BTreeMap::new(),
            generation: 0,
            launched_once: false,
            unhealthy: false,
            now: Box::new(wall_clock),
            uuid: Box::new(random_uuid),
        }
    }

    /// Replaces the clock and the uuid source (tests).
    pub fn with_sources(
        mut self,
        now: impl FnMut() -> f64 + Send + 'static,
        uuid: impl FnMut() -> [u8; 16] + Send + 'static,
    ) -> DefaultExecutor {
        self.now = Box::new(now);
        self.uuid = Box::new(uuid);
        self
    }

    /// Tasks still running (or launching).
    pub fn active_tasks(&self) -> Vec<String> {
        self.containers.keys().cloned().collect()
    }

    pub fn is_subscribed(&self) -> bool {
        self.state == State::Subscribed
    }

    /// Updates not yet acknowledged.
    pub fn unacknowledged_updates(&self) -> usize {
        self.unacknowledged.len()
    }

    /// The first actions: connect and subscribe.
    pub fn start(&mut self) -> Vec<Action> {
        self.state = State::Connected;
        vec![Action::Subscribe(self.subscribe_call())]
    }

    fn base_call(&self, t: v1e::call::Type) -> v1e::Call {
        v1e::Call {
            framework_id: FrameworkId {
                value: self.config.framework_id.clone(),
            },
            executor_id: ExecutorId {
                value: self.config.executor_id.clone(),
            },
            r#type: Some(t as i32),
            ..Default::default()
        }
    }

    /// `doReliableRegistration`'s call.
    fn subscribe_call(&self) -> v1e::Call {
        let mut call = self.base_call(v1e::call::Type::Subscribe);
        call.subscribe = Some(v1e::call::Subscribe {
            unacknowledged_updates: self.unacknowledged.values().cloned().collect(),
            unacknowledged_tasks: self
                .containers
                .values()
                .filter(|c| c.launched && !c.acknowledged)
                .map(|c| c.task.clone())
                .collect(),
        });
        call
    }

    /// Handles one input.
    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        if self.terminating {
            return Vec::new();
        }
        let mut out = Vec::new();
        match input {
            Input::Event(e) => self.received(*e, &mut out),
            Input::Disconnected => {
                tracing::info!("Disconnected from agent");
                self.state = State::Disconnected;
                // Answers to waits of the lost connection are stale.
                self.generation += 1;
                for c in self.containers.values_mut() {
                    c.waiting = false;
                }
                out.push(Action::Timer {
                    after: RETRY_INTERVAL,
                    input: Input::Resubscribe,
                });
            }
            Input::Resubscribe => {
                if self.state != State::Subscribed {
                    self.state = State::Connected;
                    out.push(Action::Subscribe(self.subscribe_call()));
                }
            }
            Input::Launched { task_id, result } => self.launched(&task_id, result, &mut out),
            Input::Waited {
                task_id,
                generation,
                result,
            } => self.waited(&task_id, generation, result, &mut out),
            Input::RetryWait {
                task_id,
                generation,
            } => {
                if generation == self.generation && self.state == State::Subscribed {
                    self.wait(&task_id, &mut out);
                }
            }
            Input::Escalate { task_id, container } => {
                if let Some(c) = self.containers.get(&task_id) {
                    if crate::slave::nested::container_id_string(&devolve_cid(&c.id)) == container {
                        tracing::info!(
                            "Task '{task_id}' running in child container {container} did not \
                             terminate after its grace period, sending SIGKILL"
                        );
                        out.push(self.kill_call(&c.id.clone(), libc::SIGKILL));
                    }
                }
            }
            Input::SelfTerminate => self.terminate(&mut out),
            Input::HealthCheckDue { task_id } => self.health_check_due(&task_id, &mut out),
            Input::HealthChecked { task_id, result } => {
                self.health_checked(&task_id, result, &mut out)
            }
            Input::CheckDue { task_id } => self.check_due(&task_id, &mut out),
            Input::Checked {
                task_id,
                result,
                leftover,
            } => self.checked(&task_id, result, leftover, &mut out),
            Input::MaxCompletion { task_id } => {
                if let Some(c) = self.containers.get_mut(&task_id) {
                    if !c.killing {
                        tracing::info!(
                            "Killing task {task_id} which exceeded its maximum completion time"
                        );
                        c.killed_by_completion_timeout = true;
                        self.kill(&task_id, Some(Duration::ZERO), &mut out);
                    }
                }
            }
        }
        out
    }

    fn received(&mut self, event: v1e::Event, out: &mut Vec<Action>) {
        use v1e::event::Type;
        let t = event
            .r#type
            .and_then(|t| Type::try_from(t).ok())
            .unwrap_or(Type::Unknown);
        tracing::info!("Received {} event", t.as_str_name());
        match t {
            Type::Subscribed => {
                let Some(s) = event.subscribed else { return };
                let Some(cid) = s.container_id else {
                    tracing::error!("SUBSCRIBED without a container id; shutting down");
                    self.terminate(out);
                    return;
                };
                self.framework_info = Some(s.framework_info);
                self.executor_container = Some(cid);
                self.state = State::Subscribed;
                self.generation += 1;
                // Waits of the old connection were dropped: wait again.
                let ids: Vec<String> = self
                    .containers
                    .iter()
                    .filter(|(_, c)| c.launched || c.launch_error.is_some())
                    .map(|(k, _)| k.clone())
                    .collect();
                for id in ids {
                    self.wait(&id, out);
                }
                // Paused checks resume with a check right away.
                for (id, c) in self.containers.iter_mut() {
                    if c.check_paused && c.check.is_some() {
                        c.check_paused = false;
                        out.push(Action::Timer {
                            after: Duration::ZERO,
                            input: Input::CheckDue {
                                task_id: id.clone(),
                            },
                        });
                    }
                }
            }
            Type::Launch if self.config.command_mode => {
                let Some(l) = event.launch else { return };
                if self.launched_once {
                    // `CommandExecutor::launch`: one task only.
                    let mut st = self.status(
                        &l.task.task_id.value,
                        TaskState::TaskFailed,
                        None,
                        Some("Attempted to run multiple tasks using a \"command\" executor".into()),
                    );
                    st.container_status = None;
                    self.forward(st, out);
                    return;
                }
                self.launched_once = true;
                self.launch_group(
                    TaskGroupInfo {
                        tasks: vec![l.task],
                    },
                    out,
                );
            }
            Type::Launch => {
                tracing::error!("LAUNCH event is not supported");
                self.shutdown(out);
            }
            Type::LaunchGroup if self.config.command_mode => {
                tracing::error!("LAUNCH_GROUP event is not supported");
                self.shutdown(out);
            }
            Type::LaunchGroup => {
                if let Some(lg) = event.launch_group {
                    self.launch_group(lg.task_group, out);
                }
            }
            Type::Kill => {
                if let Some(k) = event.kill {
                    self.kill_task(&k.task_id.value, k.kill_policy.as_ref(), out);
                }
            }
            Type::Acknowledged => {
                let Some(a) = event.acknowledged else { return };
                let Some(update) = self.unacknowledged.remove(a.uuid.as_ref()) else {
                    tracing::warn!("Received acknowledgement for unknown status update");
                    return;
                };
                // The command executor ends once its terminal update is
                // acknowledged (executor.cpp `ACKNOWLEDGED`).
                if self.config.command_mode
                    && crate::status_update_manager::is_terminal(
                        mesos_proto::mesos::TaskState::try_from(update.status.state)
                            .unwrap_or(mesos_proto::mesos::TaskState::TaskStaging),
                    )
                {
                    self.terminate(out);
                }
                if let Some(c) = self.containers.get_mut(&a.task_id.value) {
                    c.acknowledged = true;
                }
            }
            Type::Shutdown => self.shutdown(out),
            Type::Error => tracing::error!(
                "Error: {}",
                event.error.map(|e| e.message).unwrap_or_default()
            ),
            Type::Message | Type::Heartbeat => {}
            Type::Unknown => tracing::warn!("Received an UNKNOWN event and ignored"),
        }
    }

    /// `launchGroup` / `_launchGroup`.
    fn launch_group(&mut self, group: TaskGroupInfo, out: &mut Vec<Action>) {
        if self.shutting_down {
            tracing::warn!("Ignoring the launch group operation as the executor is shutting down");
            return;
        }
        let Some(parent) = self.executor_container.clone() else {
            return;
        };
        for task in &group.tasks {
            let cid = ContainerId {
                value: uuid::Uuid::from_bytes((self.uuid)()).to_string(),
                parent: Some(Box::new(parent.clone())),
            };
            let tid = task.task_id.value.clone();
            self.containers.insert(
                tid.clone(),
                Container {
                    id: cid.clone(),
                    task: task.clone(),
                    group: group.clone(),
                    launched: false,
                    acknowledged: false,
                    killing: false,
                    killing_task_group: false,
                    killed_by_completion_timeout: false,
                    launch_error: None,
                    waiting: false,
                    health: None,
                    check: None,
                    check_paused: false,
                    check_container: None,
                    last_status: None,
                },
            );
            let st = self.status(&tid, TaskState::TaskStarting, None, None);
            self.forward(st, out);
            let mut command = task.command.clone().unwrap_or_default();
            let command_mode = self.config.command_mode;
            let env = command.environment.get_or_insert_with(Default::default);
            let var = |name: &str, value: String| mesos_proto::mesos::v1::environment::Variable {
                name: name.into(),
                value: Some(value),
                ..Default::default()
            };
            if !command_mode {
                env.variables
                    .push(var("MESOS_CONTAINER_IP", self.config.container_ip.clone()));
                let role = task
                    .resources
                    .first()
                    .and_then(|r| r.allocation_info.as_ref())
                    .and_then(|a| a.role.clone())
                    .unwrap_or_default();
                env.variables.push(var("MESOS_ALLOCATION_ROLE", role));
            }
            let call = v1a::Call {
                r#type: Some(v1a::call::Type::LaunchNestedContainer as i32),
                launch_nested_container: Some(v1a::call::LaunchNestedContainer {
                    container_id: cid,
                    command: Some(command),
                    container: task.container.clone(),
                }),
                ..Default::default()
            };
            out.push(Action::Launch { task_id: tid, call });
        }
    }

    /// `__launchGroup` for one task's answer.
    fn launched(
        &mut self,
        task_id: &str,
        result: Result<(u16, Bytes), String>,
        out: &mut Vec<Action>,
    ) {
        if self.shutting_down && !self.containers.contains_key(task_id) {
            return;
        }
        let Some(c) = self.containers.get_mut(task_id) else {
            return;
        };
        match result {
            Err(e) => {
                tracing::error!(
                    "Unable to receive a response from the agent for the \
                     LAUNCH_NESTED_CONTAINER call: {e}"
                );
                self.terminate(out);
                return;
            }
            Ok((code, body)) if code != 200 => {
                let body = String::from_utf8_lossy(&body).into_owned();
                tracing::error!(
                    "Received '{code}' ({body}) while launching child container of task '{task_id}'"
                );
                c.launch_error = Some(body);
            }
            Ok(_) => {
                c.launched = true;
                let container = c.id.value.clone();
                let max = c
                    .task
                    .max_completion_time
                    .as_ref()
                    .map(|d| d.nanoseconds)
                    .filter(|n| *n > 0);
                out.push(Action::Symlink {
                    task_id: task_id.to_string(),
                    container,
                });
                if let Some(n) = max {
                    out.push(Action::Timer {
                        after: Duration::from_nanos(n as u64),
                        input: Input::MaxCompletion {
                            task_id: task_id.to_string(),
                        },
                    });
                }
                let st = self.status(task_id, TaskState::TaskRunning, None, None);
                self.forward(st, out);
                if self.start_checks(task_id, out) {
                    self.start_health_checks(task_id, out);
                }
            }
        }
        if self.state == State::Subscribed {
            self.wait(task_id, out);
        }
        // A kill (or shutdown) that came while launching applies now.
        let pending_kill = self.containers.get(task_id).is_some_and(|c| {
            c.launched && !c.killing && (self.shutting_down || c.killing_task_group)
        });
        if pending_kill {
            self.kill(task_id, None, out);
        }
    }

    fn wait(&mut self, task_id: &str, out: &mut Vec<Action>) {
        let generation = self.generation;
        let Some(c) = self.containers.get_mut(task_id) else {
            return;
        };
        if c.waiting {
            return;
        }
        c.waiting = true;
        tracing::info!(
            "Waiting for child container {} of task '{task_id}'",
            c.id.value
        );
        out.push(Action::Wait {
            task_id: task_id.to_string(),
            generation,
            call: v1a::Call {
                r#type: Some(v1a::call::Type::WaitNestedContainer as i32),
                wait_nested_container: Some(v1a::call::WaitNestedContainer {
                    container_id: c.id.clone(),
                }),
                ..Default::default()
            },
        });
    }

    /// `waited`: the child container ended (or the wait broke).
    fn waited(
        &mut self,
        task_id: &str,
        generation: u64,
        result: Result<(u16, Bytes), String>,
        out: &mut Vec<Action>,
    ) {
        if generation != self.generation {
            tracing::debug!("Ignoring the waited callback from a stale connection");
            return;
        }
        let Some(c) = self.containers.get_mut(task_id) else {
            return;
        };
        c.waiting = false;
        let retry = |out: &mut Vec<Action>| {
            out.push(Action::Timer {
                after: RETRY_INTERVAL,
                input: Input::RetryWait {
                    task_id: task_id.to_string(),
                    generation,
                },
            })
        };
        let (code, body) = match result {
            Err(e) => {
                tracing::error!(
                    "Connection for waiting on the container of task '{task_id}' interrupted: {e}"
                );
                return retry(out);
            }
            Ok(r) => r,
        };
        if code == 503 {
            return retry(out);
        }
        if code != 404 && code != 200 {
            tracing::error!(
                "Received '{code}' ({}) waiting on the child container of task '{task_id}'",
                String::from_utf8_lossy(&body)
            );
            self.terminate(out);
            return;
        }
        let mut reason = None;
        let mut limitation = None;
        let (mut state, mut message) = if code == 404 {
            if c.killing {
                (TaskState::TaskKilled, None)
            } else if let Some(e) = &c.launch_error {
                (TaskState::TaskFailed, Some(e.clone()))
            } else {
                (
                    TaskState::TaskFailed,
                    Some("Unable to retrieve command's termination information".to_string()),
                )
            }
        } else {
            let Ok(resp) = v1a::Response::decode_any(&body) else {
                tracing::error!("Failed to parse the WAIT_NESTED_CONTAINER response");
                self.terminate(out);
                return;
            };
            let w = resp.wait_nested_container.unwrap_or_default();
            let (mut s, mut m) = match w.exit_status {
                None => (
                    TaskState::TaskFailed,
                    Some(
                        c.launch_error
                            .clone()
                            .unwrap_or_else(|| "Command terminated with unknown status".into()),
                    ),
                ),
                Some(status) => {
                    let s = if c.killed_by_completion_timeout {
                        reason = Some(task_status::Reason::MaxCompletionTimeReached);
                        TaskState::TaskFailed
                    } else if c.killing {
                        TaskState::TaskKilled
                    } else if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
                        TaskState::TaskFinished
                    } else {
                        TaskState::TaskFailed
                    };
                    (s, Some(format!("Command {}", wstringify(status))))
                }
            };
            if let Some(st) = w.state.and_then(|x| TaskState::try_from(x).ok()) {
                s = st;
            }
            if let Some(r) = w.reason.and_then(|x| task_status::Reason::try_from(x).ok()) {
                reason = Some(r);
            }
            if let Some(extra) = w.message {
                m = Some(match m {
                    Some(m) => format!("{m}: {extra}"),
                    None => extra,
                });
            }
            limitation = w.limitation;
            (s, m)
        };
        if state == TaskState::TaskUnknown {
            state = TaskState::TaskFailed;
            message.get_or_insert_with(|| "Unknown termination state".into());
        }
        let mut st = self.status(task_id, state, reason, message.clone());
        st.limitation = limitation;
        if self.unhealthy {
            st.healthy = Some(false);
        }
        self.forward(st, out);
        tracing::info!(
            "Child container of task '{task_id}' completed in state {}{}",
            state.as_str_name(),
            message.map(|m| format!(": {m}")).unwrap_or_default()
        );
        let c = self.containers.get(task_id).expect("checked above").clone();
        if !self.shutting_down
            && !c.killing_task_group
            && matches!(state, TaskState::TaskFailed | TaskState::TaskKilled)
        {
            tracing::info!("Killing the task group of task '{task_id}'");
            let others: Vec<String> = c
                .group
                .tasks
                .iter()
                .map(|t| t.task_id.value.clone())
                .filter(|id| id != task_id)
                .collect();
            if let Some(me) = self.containers.get_mut(task_id) {
                me.killing_task_group = true;
            }
            for id in others {
                let Some(o) = self.containers.get_mut(&id) else {
                    continue;
                };
                o.killing_task_group = true;
                if !o.killing {
                    self.kill(&id, None, out);
                }
            }
        }
        self.containers.remove(task_id);
        if self.containers.is_empty() {
            if self.config.command_mode && !self.unacknowledged.is_empty() {
                // Wait for the acknowledgement (`reaped` → `selfTerminate`).
                out.push(Action::Timer {
                    after: Duration::from_secs(60),
                    input: Input::SelfTerminate,
                });
            } else {
                self.terminate(out);
            }
        }
    }

    /// Arms a launched task's health check. An invalid one is logged and
    /// ignored, as upstream does when it cannot create the checker.
    fn start_health_checks(&mut self, task_id: &str, out: &mut Vec<Action>) {
        let Some(c) = self.containers.get_mut(task_id) else {
            return;
        };
        let Some(h) = &c.task.health_check else {
            return;
        };
        // The v1 and v0 messages share their wire format.
        let v0 = mesos_proto::mesos::HealthCheck::decode(h.encode_to_vec().as_slice());
        match v0
            .map_err(|e| e.to_string())
            .and_then(|h| crate::checks::HealthConfig::from_proto(&h))
        {
            Ok(config) => {
                let tracker = crate::checks::HealthTracker::new(&config, std::time::Instant::now());
                out.push(Action::Timer {
                    after: config.delay,
                    input: Input::HealthCheckDue {
                        task_id: task_id.to_string(),
                    },
                });
                c.health = Some((config, tracker));
            }
            Err(e) => tracing::error!("Failed to create health checker for task '{task_id}': {e}"),
        }
    }

    fn health_check_due(&mut self, task_id: &str, out: &mut Vec<Action>) {
        let Some(c) = self.containers.get(task_id) else {
            return;
        };
        if c.killing || self.shutting_down {
            return;
        }
        let Some((config, _)) = &c.health else {
            return;
        };
        // Command mode runs the task in the executor's sandbox; a nested
        // container's sandbox is reachable through `tasks/<task id>`.
        let directory = if self.config.command_mode {
            self.config.sandbox.clone()
        } else {
            self.config.sandbox.join("tasks").join(task_id)
        };
        out.push(Action::HealthCheck {
            task_id: task_id.to_string(),
            config: config.clone(),
            directory,
        });
    }

    /// `taskHealthUpdated`.
    fn health_checked(&mut self, task_id: &str, result: Result<(), String>, out: &mut Vec<Action>) {
        let shutting_down = self.shutting_down;
        let Some(c) = self.containers.get_mut(task_id) else {
            return;
        };
        // No health updates once the task is being killed.
        if c.killing || shutting_down {
            return;
        }
        let Some((config, tracker)) = c.health.as_mut() else {
            return;
        };
        if let Err(e) = &result {
            tracing::warn!("Health check for task '{task_id}' failed: {e}");
        }
        let interval = config.interval;
        let event = tracker.record(std::time::Instant::now(), &result);
        let grace = c
            .task
            .kill_policy
            .as_ref()
            .and_then(|p| p.grace_period.as_ref())
            .map(|d| Duration::from_nanos(d.nanoseconds.max(0) as u64));
        if let Some(ev) = event {
            tracing::info!(
                "Received task health update for task '{task_id}', task is {}",
                if ev.healthy { "healthy" } else { "not healthy" }
            );
            let mut st = self.status_from_last(task_id);
            st.set_reason(task_status::Reason::TaskHealthCheckStatusUpdated);
            st.healthy = Some(ev.healthy);
            self.forward(st, out);
            if ev.kill_task {
                self.unhealthy = true;
                self.kill(task_id, grace, out);
                return;
            }
        }
        out.push(Action::Timer {
            after: interval,
            input: Input::HealthCheckDue {
                task_id: task_id.to_string(),
            },
        });
    }

    /// Arms a launched task's check (upstream `__launchGroup`). An invalid
    /// check shuts the executor down, as upstream's default executor does
    /// (the command executor logs it and runs the task unchecked). Returns
    /// false when the executor is shutting down because of it.
    fn start_checks(&mut self, task_id: &str, out: &mut Vec<Action>) -> bool {
        use crate::checks::general::{CheckConfig, CheckTracker};
        let command_mode = self.config.command_mode;
        let Some(c) = self.containers.get_mut(task_id) else {
            return true;
        };
        let Some(info) = &c.task.check else {
            return true;
        };
        let v0 = mesos_proto::mesos::CheckInfo::decode(info.encode_to_vec().as_slice());
        match v0
            .map_err(|e| e.to_string())
            .and_then(|i| CheckConfig::from_proto(&i))
        {
            Ok(config) => {
                out.push(Action::Timer {
                    after: config.delay,
                    input: Input::CheckDue {
                        task_id: task_id.to_string(),
                    },
                });
                let tracker = CheckTracker::new(config.r#type);
                c.check = Some((config, tracker));
                true
            }
            Err(e) if command_mode => {
                tracing::error!("Failed to create checker: {e}");
                true
            }
            Err(e) => {
                tracing::error!("Failed to create checker: {e}");
                self.shutdown(out);
                false
            }
        }
    }

    /// `CheckerProcess::performCheck` for a task.
    fn check_due(&mut self, task_id: &str, out: &mut Vec<Action>) {
        let subscribed = self.state == State::Subscribed;
        let (command_mode, shutting_down) = (self.config.command_mode, self.shutting_down);
        let Some(c) = self.containers.get_mut(task_id) else {
            return;
        };
        if c.killing || shutting_down {
            return;
        }
        let Some((config, _)) = &c.check else {
            return;
        };
        if !subscribed {
            tracing::info!("Pausing the check of task '{task_id}' while disconnected");
            c.check_paused = true;
            return;
        }
        let config = config.clone();
        match &config.kind {
            crate::checks::CheckKind::Command(cmd) if !command_mode => {
                let task_sandbox = self
                    .config
                    .sandbox
                    .join("containers")
                    .join(&c.id.value)
                    .display()
                    .to_string();
                let command = crate::checks::general::nested_check_command(cmd, &task_sandbox);
                let command =
                    mesos_proto::mesos::v1::CommandInfo::decode(command.encode_to_vec().as_slice())
                        .unwrap_or_default();
                let check_id = ContainerId {
                    value: format!("check-{}", uuid::Uuid::from_bytes((self.uuid)())),
                    parent: Some(Box::new(c.id.clone())),
                };
                let previous = c.check_container.take();
                out.push(Action::NestedCheck {
                    task_id: task_id.to_string(),
                    previous,
                    check_id: check_id.clone(),
                    launch: v1a::Call {
                        r#type: Some(v1a::call::Type::LaunchNestedContainer as i32),
                        launch_nested_container: Some(v1a::call::LaunchNestedContainer {
                            container_id: check_id,
                            command: Some(command),
                            container: None,
                        }),
                        ..Default::default()
                    },
                    timeout: config.timeout,
                });
            }
            _ => {
                let directory = if command_mode {
                    self.config.sandbox.clone()
                } else {
                    self.config.sandbox.join("tasks").join(task_id)
                };
                out.push(Action::Check {
                    task_id: task_id.to_string(),
                    config,
                    directory,
                });
            }
        }
    }

    /// `taskCheckUpdated` (through `Checker::processCheckResult`).
    fn checked(
        &mut self,
        task_id: &str,
        result: crate::checks::general::CheckResult,
        leftover: Option<ContainerId>,
        out: &mut Vec<Action>,
    ) {
        let subscribed = self.state == State::Subscribed;
        let shutting_down = self.shutting_down;
        let Some(c) = self.containers.get_mut(task_id) else {
            return;
        };
        if leftover.is_some() {
            c.check_container = leftover;
        }
        if c.killing || shutting_down {
            return;
        }
        let Some((config, tracker)) = c.check.as_mut() else {
            return;
        };
        if !subscribed {
            tracing::info!("Ignoring the check result of task '{task_id}': checking is paused");
            c.check_paused = true;
            return;
        }
        let interval = config.interval;
        if let Some(cs) = tracker.record(result) {
            tracing::info!("Received check update '{cs:?}' for task '{task_id}'");
            let mut st = self.status_from_last(task_id);
            st.set_reason(task_status::Reason::TaskCheckStatusUpdated);
            st.check_status = Some(v1_check_status(&cs));
            self.forward(st, out);
        }
        out.push(Action::Timer {
            after: interval,
            input: Input::CheckDue {
                task_id: task_id.to_string(),
            },
        });
    }

    /// `shutdown`: kill everything, end once no task is left.
    fn shutdown(&mut self, out: &mut Vec<Action>) {
        if self.shutting_down {
            tracing::warn!("Ignoring shutdown since it is in progress");
            return;
        }
        tracing::info!("Shutting down");
        self.shutting_down = true;
        if self.containers.is_empty() || self.state != State::Subscribed {
            self.terminate(out);
            return;
        }
        let ids: Vec<String> = self
            .containers
            .iter()
            .filter(|(_, c)| !c.killing)
            .map(|(k, _)| k.clone())
            .collect();
        for id in ids {
            self.kill(&id, None, out);
        }
    }

    fn terminate(&mut self, out: &mut Vec<Action>) {
        if !self.terminating {
            tracing::info!("Terminating after {TERMINATION_DELAY:?}");
            self.terminating = true;
            out.push(Action::Terminate);
        }
    }

    /// `killTask`: a KILL event.
    fn kill_task(&mut self, task_id: &str, policy: Option<&KillPolicy>, out: &mut Vec<Action>) {
        if self.shutting_down {
            tracing::warn!(
                "Ignoring kill for task '{task_id}' since the executor is shutting down"
            );
            return;
        }
        tracing::info!("Received kill for task '{task_id}'");
        let Some(c) = self.containers.get(task_id) else {
            tracing::warn!("Ignoring kill for task '{task_id}' as it is no longer active");
            return;
        };
        if c.killing {
            tracing::warn!(
                "Ignoring kill for task '{task_id}' as it is in the process of getting killed"
            );
            return;
        }
        let grace = policy
            .and_then(|p| p.grace_period.as_ref())
            .or_else(|| {
                c.task
                    .kill_policy
                    .as_ref()
                    .and_then(|p| p.grace_period.as_ref())
            })
            .map(|d| Duration::from_nanos(d.nanoseconds.max(0) as u64));
        if !c.launched {
            // Not forked yet: it is killed once its launch answers.
            if let Some(c) = self.containers.get_mut(task_id) {
                c.killing_task_group = true;
            }
            return;
        }
        self.kill(task_id, grace, out);
    }

    /// `kill(Container*)`: SIGTERM now, SIGKILL after the grace period.
    fn kill(&mut self, task_id: &str, grace: Option<Duration>, out: &mut Vec<Action>) {
        let killing_state = self.framework_info.as_ref().is_some_and(|f| {
            f.capabilities.iter().any(|c| {
                c.r#type
                    == Some(
                        mesos_proto::mesos::v1::framework_info::capability::Type::TaskKillingState
                            as i32,
                    )
            })
        });
        let Some(c) = self.containers.get_mut(task_id) else {
            return;
        };
        if !c.launched || c.killing {
            return;
        }
        c.killing = true;
        // No more check updates for a task being killed (upstream drops
        // its checker in `kill`).
        c.check = None;
        let grace = grace.unwrap_or(DEFAULT_KILL_GRACE_PERIOD);
        let cid = c.id.clone();
        let by_timeout = c.killed_by_completion_timeout;
        tracing::info!(
            "Killing task {task_id} running in child container {} with SIGTERM signal; \
             escalation to SIGKILL in {grace:?}",
            cid.value
        );
        out.push(Action::Timer {
            after: grace,
            input: Input::Escalate {
                task_id: task_id.to_string(),
                container: crate::slave::nested::container_id_string(&devolve_cid(&cid)),
            },
        });
        if killing_state && !by_timeout {
            let st = self.status(task_id, TaskState::TaskKilling, None, None);
            self.forward(st, out);
        }
        out.push(self.kill_call(&cid, libc::SIGTERM));
    }

    fn kill_call(&self, cid: &ContainerId, signal: i32) -> Action {
        Action::Kill {
            call: v1a::Call {
                r#type: Some(v1a::call::Type::KillNestedContainer as i32),
                kill_nested_container: Some(v1a::call::KillNestedContainer {
                    container_id: cid.clone(),
                    signal: Some(signal),
                }),
                ..Default::default()
            },
        }
    }

    /// `createTaskStatus`.
    fn status(
        &mut self,
        task_id: &str,
        state: TaskState,
        reason: Option<task_status::Reason>,
        message: Option<String>,
    ) -> TaskStatus {
        let mut st = TaskStatus {
            task_id: TaskId {
                value: task_id.to_string(),
            },
            uuid: Some(Bytes::copy_from_slice(&(self.uuid)())),
            timestamp: Some((self.now)()),
            executor_id: Some(ExecutorId {
                value: self.config.executor_id.clone(),
            }),
            message,
            ..Default::default()
        };
        st.set_state(state);
        st.set_source(task_status::Source::Executor);
        if let Some(r) = reason {
            st.set_reason(r);
        }
        if let Some(c) = self
            .containers
            .get(task_id)
            .filter(|_| !self.config.command_mode)
        {
            st.container_status = Some(ContainerStatus {
                container_id: Some(c.id.clone()),
                ..Default::default()
            });
        }
        // A checked task's updates always carry a `check_status`, empty
        // until a result is known (upstream `createTaskStatus`).
        if let Some(t) = self
            .containers
            .get(task_id)
            .and_then(|c| c.task.check.as_ref())
            .and_then(|c| c.r#type)
            .and_then(|t| mesos_proto::mesos::check_info::Type::try_from(t).ok())
            .filter(|t| *t != mesos_proto::mesos::check_info::Type::Unknown)
        {
            st.check_status = Some(v1_check_status(&crate::checks::general::empty_status(t)));
        }
        st
    }

    /// A copy of the task's last update with a new uuid and time (upstream
    /// `createTaskStatus(lastTaskStatus, ...)`).
    fn status_from_last(&mut self, task_id: &str) -> TaskStatus {
        let last = self
            .containers
            .get(task_id)
            .and_then(|c| c.last_status.clone());
        let mut st = match last {
            Some(s) => s,
            None => self.status(task_id, TaskState::TaskRunning, None, None),
        };
        st.uuid = Some(Bytes::copy_from_slice(&(self.uuid)()));
        st.timestamp = Some((self.now)());
        st
    }

    /// `forward`: an UPDATE call, kept until acknowledged.
    fn forward(&mut self, status: TaskStatus, out: &mut Vec<Action>) {
        if let Some(c) = self.containers.get_mut(&status.task_id.value) {
            c.last_status = Some(status.clone());
        }
        let update = v1e::call::Update { status };
        if let Some(u) = &update.status.uuid {
            self.unacknowledged.insert(u.to_vec(), update.clone());
        }
        let mut call = self.base_call(v1e::call::Type::Update);
        call.update = Some(update);
        out.push(Action::Send(call));
    }
}

/// The v1 form of a check status (same wire bytes).
pub fn v1_check_status(
    s: &mesos_proto::mesos::CheckStatusInfo,
) -> mesos_proto::mesos::v1::CheckStatusInfo {
    mesos_proto::mesos::v1::CheckStatusInfo::decode(s.encode_to_vec().as_slice())
        .unwrap_or_default()
}

/// The v0 form of a v1 container id (same wire bytes).
pub fn devolve_cid(id: &ContainerId) -> mesos_proto::mesos::ContainerId {
    use prost::Message;
    mesos_proto::mesos::ContainerId::decode(id.encode_to_vec().as_slice()).unwrap_or_default()
}

/// Decoding an agent answer in either media type.
trait DecodeAny: Sized {
    fn decode_any(body: &[u8]) -> Result<Self, String>;
}

impl DecodeAny for v1a::Response {
    fn decode_any(body: &[u8]) -> Result<Self, String> {
        use prost::Message;
        if body.first() == Some(&b'{') {
            mesos_proto::json::from_json(&String::from_utf8_lossy(body)).map_err(|e| e.to_string())
        } else {
            v1a::Response::decode(body).map_err(|e| e.to_string())
        }
    }
}

/// The task ids of the (only) group a test launched, in order.
#[cfg(test)]
fn ids(actions: &[Action]) -> std::collections::BTreeSet<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Launch { task_id, .. } => Some(task_id.clone()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests;
