//! Nested containers through the agent operator API (`POST /api/v1`):
//! `LAUNCH_NESTED_CONTAINER`, `WAIT_NESTED_CONTAINER`,
//! `KILL_NESTED_CONTAINER`, `REMOVE_NESTED_CONTAINER` and the 1.9
//! `LAUNCH_CONTAINER` / `WAIT_CONTAINER` / `KILL_CONTAINER` /
//! `REMOVE_CONTAINER` forms when the id has a parent.
//!
//! Mirrors upstream src/slave/validation.cpp (`agent::call::validate`),
//! src/slave/http.cpp (`Http::_launchContainer`, `_waitContainer`,
//! `_killContainer`, `_removeContainer`) and the nested-container parts of
//! src/slave/containerizer/mesos/containerizer.cpp (`launch`, `wait`,
//! `kill`, `remove`):
//!
//! - a nested container runs under an executor's container (or under
//!   another nested container); its sandbox is
//!   `<parent sandbox>/containers/<id>` (`containerizer::paths::getSandboxPath`);
//! - its environment is `MESOS_SANDBOX` plus the command's own variables
//!   (upstream passes no agent environment to nested `DEFAULT` containers);
//! - its user is the command's, else the parent's (with `--switch_user`);
//! - once it exits, `WAIT` keeps answering with the termination until
//!   `REMOVE` (upstream keeps it checkpointed in the runtime dir);
//! - when the root (executor) container terminates, every nested container
//!   under it is killed and forgotten;
//! - under a checkpointing executor, each nested container's pid and, once
//!   it exits, its termination (`mesos.slave.ContainerTermination`) are
//!   checkpointed under the executor's meta run directory
//!   (`.../runs/<root>/containers/<child>/{pid,termination}`; upstream keeps
//!   them in the runtime dir): a restarted agent answers `WAIT` for
//!   containers that ended, and re-adopts live ones (killable; their exit
//!   status is then unknown, as upstream's posix launcher reports for
//!   processes it did not fork).
//!
//! Bodies are JSON or protobuf (`mesos.agent.Call`); the `WAIT` answer uses
//! the `Accept` type. Standalone containers (no parent) are not supported
//! by this agent (501).

use std::collections::BTreeMap;
use std::path::PathBuf;

use http::StatusCode;
use libprocess::{Cx, Request, Responder, Response};
use mesos_proto::mesos::agent::call::Type as CallType;
use mesos_proto::mesos::agent::{self as agent_api};
use mesos_proto::mesos::{container_info, environment, CommandInfo, ContainerId, ContainerInfo};
use prost::Message;

use super::model::ExecutorState;
use super::Slave;
use crate::launcher::LaunchSpec;

/// `MAX_CONTAINER_ID_LENGTH` (src/slave/constants.hpp).
pub const MAX_CONTAINER_ID_LENGTH: usize = 242;
/// `NAME_MAX` bounds every Mesos id (`common::validation::validateID`).
const NAME_MAX: usize = 255;

const JSON: &str = "application/json";
const PROTOBUF: &str = "application/x-protobuf";

/// A validated container call.
#[derive(Clone, Debug, PartialEq)]
pub enum ContainerCall {
    Launch {
        id: ContainerId,
        command: Box<CommandInfo>,
        container: Option<Box<ContainerInfo>>,
    },
    /// `deprecated`: answer as `WAIT_NESTED_CONTAINER` (else `WAIT_CONTAINER`).
    Wait {
        id: ContainerId,
        deprecated: bool,
    },
    Kill {
        id: ContainerId,
        signal: i32,
    },
    Remove {
        id: ContainerId,
    },
}

impl ContainerCall {
    pub fn id(&self) -> &ContainerId {
        match self {
            ContainerCall::Launch { id, .. }
            | ContainerCall::Wait { id, .. }
            | ContainerCall::Kill { id, .. }
            | ContainerCall::Remove { id } => id,
        }
    }
}

/// `stringify(ContainerID)`: ancestors first, joined by `.`.
pub fn container_id_string(id: &ContainerId) -> String {
    match &id.parent {
        Some(p) => format!("{}.{}", container_id_string(p), id.value),
        None => id.value.clone(),
    }
}

/// The outermost ancestor (`protobuf::getRootContainerId`).
pub fn root_container_id(id: &ContainerId) -> &ContainerId {
    match &id.parent {
        Some(p) => root_container_id(p),
        None => id,
    }
}

/// `common::validation::validateID`.
pub fn validate_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("ID must not be empty".into());
    }
    if id.len() > NAME_MAX {
        return Err(format!("ID must not be greater than {NAME_MAX} characters"));
    }
    if id == "." || id == ".." {
        return Err(format!("'{id}' is disallowed"));
    }
    if id
        .bytes()
        .any(|c| c.is_ascii_control() || c == b'/' || c == b'\\')
    {
        return Err(format!("'{id}' contains invalid characters"));
    }
    Ok(())
}

/// `validation::container::validateContainerId` (src/slave/validation.cpp).
pub fn validate_container_id(id: &ContainerId) -> Result<(), String> {
    validate_id(&id.value)?;
    if id.value.len() > MAX_CONTAINER_ID_LENGTH {
        return Err(format!(
            "'ContainerID.value' '{}' exceeds the maximum length ({MAX_CONTAINER_ID_LENGTH})",
            id.value
        ));
    }
    if id.value.contains(['.', ' ']) {
        return Err(format!(
            "'ContainerID.value' '{}' contains invalid characters",
            id.value
        ));
    }
    if let Some(p) = &id.parent {
        validate_container_id(p).map_err(|e| format!("'ContainerID.parent' is invalid: {e}"))?;
    }
    Ok(())
}

/// The volume rule of `common::validation::validateContainerInfo`: exactly
/// one of `host_path`, `image` and `source`.
pub fn validate_container_info(info: &ContainerInfo) -> Result<(), String> {
    for v in &info.volumes {
        let n = [v.host_path.is_some(), v.image.is_some(), v.source.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if n != 1 {
            return Err("Only one of them should be set: 'host_path', 'image' and 'source'".into());
        }
    }
    Ok(())
}

/// Whether `t` is one of the calls this module serves.
pub fn is_container_call(t: CallType) -> bool {
    matches!(
        t,
        CallType::LaunchNestedContainer
            | CallType::WaitNestedContainer
            | CallType::KillNestedContainer
            | CallType::RemoveNestedContainer
            | CallType::LaunchContainer
            | CallType::WaitContainer
            | CallType::KillContainer
            | CallType::RemoveContainer
    )
}

fn need_parent(id: &ContainerId, field: &str) -> Result<(), String> {
    if id.parent.is_none() {
        return Err(format!(
            "Expecting '{field}.container_id.parent' to be present"
        ));
    }
    Ok(())
}

fn check_id(id: &ContainerId, field: &str) -> Result<(), String> {
    validate_container_id(id).map_err(|e| format!("'{field}.container_id' is invalid: {e}"))
}

fn check_launch(
    field: &str,
    command: Option<&CommandInfo>,
    container: Option<&ContainerInfo>,
) -> Result<(), String> {
    if let Some(c) = command {
        mesos_proto::validation::validate_command_info(c)
            .map_err(|e| format!("'{field}.command' is invalid: {e}"))?;
    }
    if let Some(c) = container {
        validate_container_info(c).map_err(|e| format!("'{field}.container' is invalid: {e}"))?;
    }
    Ok(())
}

/// `agent::call::validate` for the container calls: the 400 reason on error.
pub fn validate(call: &agent_api::Call) -> Result<ContainerCall, String> {
    let t = call
        .r#type
        .and_then(|t| CallType::try_from(t).ok())
        .unwrap_or(CallType::Unknown);
    let missing = |f: &str| format!("Expecting '{f}' to be present");
    match t {
        CallType::LaunchNestedContainer => {
            let f = "launch_nested_container";
            let c = call
                .launch_nested_container
                .as_ref()
                .ok_or_else(|| missing(f))?;
            check_id(&c.container_id, f)?;
            need_parent(&c.container_id, f)?;
            check_launch(f, c.command.as_ref(), c.container.as_ref())?;
            Ok(ContainerCall::Launch {
                id: c.container_id.clone(),
                command: Box::new(c.command.clone().unwrap_or_default()),
                container: c.container.clone().map(Box::new),
            })
        }
        CallType::LaunchContainer => {
            let f = "launch_container";
            let c = call.launch_container.as_ref().ok_or_else(|| missing(f))?;
            check_id(&c.container_id, f)?;
            if c.container_id.parent.is_some() && !c.resources.is_empty() {
                return Err(
                    "Resources may not be specified when using 'launch_container' \
                            to launch nested containers"
                        .into(),
                );
            }
            check_launch(f, c.command.as_ref(), c.container.as_ref())?;
            Ok(ContainerCall::Launch {
                id: c.container_id.clone(),
                command: Box::new(c.command.clone().unwrap_or_default()),
                container: c.container.clone().map(Box::new),
            })
        }
        CallType::WaitNestedContainer => {
            let f = "wait_nested_container";
            let c = call
                .wait_nested_container
                .as_ref()
                .ok_or_else(|| missing(f))?;
            check_id(&c.container_id, f)?;
            need_parent(&c.container_id, f)?;
            Ok(ContainerCall::Wait {
                id: c.container_id.clone(),
                deprecated: true,
            })
        }
        CallType::WaitContainer => {
            let f = "wait_container";
            let c = call.wait_container.as_ref().ok_or_else(|| missing(f))?;
            check_id(&c.container_id, f)?;
            Ok(ContainerCall::Wait {
                id: c.container_id.clone(),
                deprecated: false,
            })
        }
        CallType::KillNestedContainer => {
            let f = "kill_nested_container";
            let c = call
                .kill_nested_container
                .as_ref()
                .ok_or_else(|| missing(f))?;
            check_id(&c.container_id, f)?;
            need_parent(&c.container_id, f)?;
            Ok(ContainerCall::Kill {
                id: c.container_id.clone(),
                signal: c.signal.unwrap_or(libc::SIGKILL),
            })
        }
        CallType::KillContainer => {
            let f = "kill_container";
            let c = call.kill_container.as_ref().ok_or_else(|| missing(f))?;
            check_id(&c.container_id, f)?;
            Ok(ContainerCall::Kill {
                id: c.container_id.clone(),
                signal: c.signal.unwrap_or(libc::SIGKILL),
            })
        }
        CallType::RemoveNestedContainer => {
            let f = "remove_nested_container";
            let c = call
                .remove_nested_container
                .as_ref()
                .ok_or_else(|| missing(f))?;
            check_id(&c.container_id, f)?;
            need_parent(&c.container_id, f)?;
            Ok(ContainerCall::Remove {
                id: c.container_id.clone(),
            })
        }
        CallType::RemoveContainer => {
            let f = "remove_container";
            let c = call.remove_container.as_ref().ok_or_else(|| missing(f))?;
            check_id(&c.container_id, f)?;
            Ok(ContainerCall::Remove {
                id: c.container_id.clone(),
            })
        }
        other => Err(format!("{} is not a container call", other.as_str_name())),
    }
}

/// How a `WAIT` answer is encoded.
#[derive(Clone, Copy, Debug)]
struct WaitFormat {
    deprecated: bool,
    json: bool,
}

/// A nested container that has not terminated.
#[derive(Debug)]
pub struct NestedContainer {
    pub id: ContainerId,
    /// The root (executor) container's id.
    pub root: String,
    pub directory: PathBuf,
    /// Set once forked.
    pub pid: Option<i32>,
    /// A kill that arrived while the container was being forked.
    pending_kill: bool,
    /// The user the container runs as (inherited by its children).
    pub user: Option<String>,
    /// Re-adopted after an agent restart: not our child, so its wait
    /// status is unknown; a process that vanishes after a signal from
    /// `KILL` is reported as killed by that signal.
    recovered: bool,
    last_signal: Option<i32>,
    waiters: Vec<(Responder, WaitFormat)>,
}

/// A nested container that exited, kept for `WAIT` until `REMOVE`.
#[derive(Clone, Debug)]
pub struct NestedTermination {
    pub root: String,
    pub directory: PathBuf,
    /// The wait status, if known.
    pub status: Option<i32>,
    pub message: Option<String>,
}

/// The agent's nested containers, by `container_id_string`.
#[derive(Debug, Default)]
pub struct NestedContainers {
    pub live: BTreeMap<String, NestedContainer>,
    pub terminated: BTreeMap<String, NestedTermination>,
    /// The I/O switchboards of running containers that have one (sessions
    /// and `tty_info`), see `switchboard`.
    pub switchboards: BTreeMap<String, std::sync::Arc<super::switchboard::Switchboard>>,
}

impl NestedContainers {
    /// The root container `cid` terminated: kill what still runs under it
    /// and forget the terminations (upstream destroys nested containers
    /// with their root).
    pub fn destroy_root(&mut self, cid: &str) {
        self.terminated.retain(|_, t| t.root != cid);
        let live = &self.live;
        self.switchboards.retain(|key, sb| {
            let under = live.get(key).is_none_or(|n| n.root == cid);
            if under {
                sb.close_outputs();
            }
            !under
        });
        for (key, n) in self.live.iter_mut().filter(|(_, n)| n.root == cid) {
            tracing::info!("Destroying nested container {key} with its root {cid}");
            n.pending_kill = true;
            if let Some(pid) = n.pid {
                crate::launcher::kill_tree(pid, nix::sys::signal::Signal::SIGKILL);
            }
        }
    }
}

fn wait_response(t: &NestedTermination, f: WaitFormat) -> Response {
    let mut response = agent_api::Response::default();
    if f.deprecated {
        response.r#type = Some(agent_api::response::Type::WaitNestedContainer as i32);
        response.wait_nested_container = Some(agent_api::response::WaitNestedContainer {
            exit_status: t.status,
            message: t.message.clone(),
            ..Default::default()
        });
    } else {
        response.r#type = Some(agent_api::response::Type::WaitContainer as i32);
        response.wait_container = Some(agent_api::response::WaitContainer {
            exit_status: t.status,
            message: t.message.clone(),
            ..Default::default()
        });
    }
    if f.json {
        match mesos_proto::json::to_json(&response) {
            Ok(s) => Response::with_body(StatusCode::OK, JSON, s),
            Err(e) => Response::text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    } else {
        Response::with_body(StatusCode::OK, PROTOBUF, response.encode_to_vec())
    }
}

fn server_error(reason: impl Into<String>) -> Response {
    Response::text(StatusCode::INTERNAL_SERVER_ERROR, reason)
}

/// The parent of a nested container as the launch needs it.
struct Parent {
    root: String,
    directory: PathBuf,
    user: Option<String>,
}

impl Slave {
    /// Serves `req` if it is a container call; otherwise hands the
    /// responder back for the other `/api/v1` calls.
    pub(crate) fn container_api(
        &mut self,
        cx: &mut Cx<'_, Self>,
        req: &Request,
        r: Responder,
    ) -> Option<Responder> {
        let ct = req.header("content-type").unwrap_or("");
        let media = ct.split(';').next().unwrap_or("").trim();
        let call: agent_api::Call = match media {
            JSON => {
                // Only container calls are decoded here: the rest of
                // `/api/v1` keeps its own (JSON) parsing.
                let Ok(v) = serde_json::from_slice::<serde_json::Value>(&req.body) else {
                    return Some(r);
                };
                let is_ours = v
                    .get("type")
                    .and_then(|t| t.as_str())
                    .and_then(CallType::from_str_name)
                    .is_some_and(is_container_call);
                if !is_ours {
                    return Some(r);
                }
                match mesos_proto::json::from_json_value(&v) {
                    Ok(c) => c,
                    Err(e) => {
                        r.respond(Response::bad_request(format!(
                            "Failed to parse body into Call: {e}"
                        )));
                        return None;
                    }
                }
            }
            PROTOBUF => match mesos_proto::required::decode_checked::<agent_api::Call>(&req.body) {
                Ok(c)
                    if c.r#type
                        .and_then(|t| CallType::try_from(t).ok())
                        .is_some_and(is_container_call) =>
                {
                    c
                }
                // Other calls keep the JSON-only path (415 for protobuf).
                Ok(_) => return Some(r),
                Err(e) => {
                    r.respond(Response::bad_request(format!(
                        "Failed to parse body into Call: {e}"
                    )));
                    return None;
                }
            },
            _ => return Some(r),
        };
        let accept = req.header("accept").unwrap_or("");
        let json = !accept.contains(PROTOBUF) || accept.contains(JSON);
        self.container_call(cx, &call, json, r);
        None
    }

    /// One decoded container call.
    pub(crate) fn container_call(
        &mut self,
        cx: &mut Cx<'_, Self>,
        call: &agent_api::Call,
        json: bool,
        r: Responder,
    ) {
        let c = match validate(call) {
            Ok(c) => c,
            Err(e) => return r.respond(Response::bad_request(e)),
        };
        if self.state == super::State::Recovering {
            return r.respond(Response::text(
                StatusCode::SERVICE_UNAVAILABLE,
                "Agent has not finished recovery",
            ));
        }
        if c.id().parent.is_none() {
            return r.respond(Response::text(
                StatusCode::NOT_IMPLEMENTED,
                "Standalone containers are not supported by this agent",
            ));
        }
        tracing::info!(
            "Processing {} call for container '{}'",
            call.r#type
                .and_then(|t| CallType::try_from(t).ok())
                .unwrap_or(CallType::Unknown)
                .as_str_name(),
            container_id_string(c.id())
        );
        match c {
            ContainerCall::Launch {
                id,
                command,
                container,
            } => self.launch_nested(cx, id, *command, container.map(|c| *c), r, None),
            ContainerCall::Wait { id, deprecated } => {
                self.wait_nested(&id, WaitFormat { deprecated, json }, r)
            }
            ContainerCall::Kill { id, signal } => self.kill_nested(&id, signal, r),
            ContainerCall::Remove { id } => self.remove_nested(&id, r),
        }
    }

    /// The executor whose container is `cid`, if it has not terminated.
    pub(crate) fn executor_with_container(&self, cid: &str) -> Option<&super::Executor> {
        self.frameworks
            .values()
            .flat_map(|f| f.executors.values())
            .find(|e| e.container_id == cid && e.state != ExecutorState::Terminated)
    }

    /// Where a nested container's pid / termination are checkpointed, if
    /// its root executor checkpoints.
    fn nested_meta_dir(&self, id: &ContainerId) -> Option<PathBuf> {
        let root = root_container_id(id).value.clone();
        let e = self.executor_with_container(&root)?;
        if !e.checkpoint {
            return None;
        }
        let key = crate::paths::RunKey {
            slave_id: self.slave_id().unwrap_or_default().to_string(),
            framework_id: e.framework_id.clone(),
            executor_id: e.id.clone(),
            container_id: root,
        };
        let mut chain = Vec::new();
        let mut cur = Some(id);
        while let Some(c) = cur {
            if c.parent.is_some() {
                chain.push(c.value.clone());
            }
            cur = c.parent.as_deref();
        }
        let mut dir = key.meta_run(&self.meta);
        for v in chain.iter().rev() {
            dir = dir.join("containers").join(v);
        }
        Some(dir)
    }

    /// Re-adopts the nested containers of the recovered executor `root`
    /// (see the module doc); called while the agent recovers.
    pub(crate) fn recover_nested_containers(&mut self, cx: &mut Cx<'_, Self>, root: &str) {
        let root_id = ContainerId {
            value: root.to_string(),
            parent: None,
        };
        let Some(base) = self.nested_meta_dir(&root_id) else {
            return;
        };
        let Some(sandbox) = self
            .executor_with_container(root)
            .map(|e| e.directory.clone())
        else {
            return;
        };
        // Breadth-first over `containers/<id>/containers/<id>...`.
        let mut todo = vec![(base, sandbox, root_id)];
        while let Some((meta, dir, parent)) = todo.pop() {
            let Ok(rd) = std::fs::read_dir(meta.join("containers")) else {
                continue;
            };
            for entry in rd.flatten() {
                let value = entry.file_name().to_string_lossy().into_owned();
                let id = ContainerId {
                    value: value.clone(),
                    parent: Some(Box::new(parent.clone())),
                };
                let key = container_id_string(&id);
                let m = entry.path();
                let directory = dir.join("containers").join(&value);
                let termination = crate::checkpoint::read_message::<
                    mesos_proto::mesos::slave::ContainerTermination,
                >(&m.join("termination"))
                .ok()
                .flatten();
                let pid = crate::checkpoint::read_string(&m.join("pid"))
                    .ok()
                    .flatten()
                    .and_then(|p| p.trim().parse::<i32>().ok());
                match (termination, pid) {
                    (Some(t), _) => {
                        self.nested.terminated.insert(
                            key.clone(),
                            NestedTermination {
                                root: root.to_string(),
                                directory: directory.clone(),
                                status: t.status,
                                message: t.message,
                            },
                        );
                    }
                    (None, Some(pid)) if crate::launcher::alive(pid) => {
                        tracing::info!("Recovered nested container {key} (pid {pid})");
                        self.nested.live.insert(
                            key.clone(),
                            NestedContainer {
                                id: id.clone(),
                                root: root.to_string(),
                                directory: directory.clone(),
                                pid: Some(pid),
                                pending_kill: false,
                                user: None,
                                recovered: true,
                                last_signal: None,
                                waiters: Vec::new(),
                            },
                        );
                        let k = key.clone();
                        cx.blocking(
                            move || {
                                crate::launcher::wait_gone(
                                    pid,
                                    std::time::Duration::from_millis(200),
                                )
                            },
                            move |s: &mut Slave, _cx, status| s.nested_terminated(&k, status, None),
                        );
                    }
                    _ => {
                        // It ended while the agent was down: status unknown.
                        self.nested.terminated.insert(
                            key.clone(),
                            NestedTermination {
                                root: root.to_string(),
                                directory: directory.clone(),
                                status: None,
                                message: None,
                            },
                        );
                    }
                }
                todo.push((m, directory, id));
            }
        }
    }

    fn parent_of(&self, parent: &ContainerId) -> Result<Parent, String> {
        let key = container_id_string(parent);
        if parent.parent.is_none() {
            let Some(e) = self.executor_with_container(&parent.value) else {
                return Err(format!("Parent container {key} does not exist"));
            };
            if e.pending_termination.is_some() {
                return Err(format!("Parent container {key} is in 'DESTROYING' state"));
            }
            let user = e
                .info
                .command
                .as_ref()
                .and_then(|c| c.user.clone())
                .or_else(|| {
                    self.frameworks
                        .get(&e.framework_id)
                        .map(|f| f.info.user.clone())
                });
            return Ok(Parent {
                root: parent.value.clone(),
                directory: e.directory.clone(),
                user,
            });
        }
        match self.nested.live.get(&key) {
            Some(n) if n.pending_kill => {
                Err(format!("Parent container {key} is in 'DESTROYING' state"))
            }
            Some(n) => Ok(Parent {
                root: n.root.clone(),
                directory: n.directory.clone(),
                user: n.user.clone(),
            }),
            None => Err(format!("Parent container {key} does not exist")),
        }
    }

    /// `MesosContainerizerProcess::launch` for a nested container.
    pub(crate) fn launch_nested(
        &mut self,
        cx: &mut Cx<'_, Self>,
        id: ContainerId,
        command: CommandInfo,
        container: Option<ContainerInfo>,
        r: Responder,
        session: Option<super::sessions::Session>,
    ) {
        let key = container_id_string(&id);
        if self.nested.live.contains_key(&key) {
            return r.respond(Response::accepted());
        }
        if let Some(c) = &container {
            // Only MESOS containers without an image: this agent has no
            // provisioner for nested containers.
            if c.r#type != container_info::Type::Mesos as i32
                || c.mesos.as_ref().is_some_and(|m| m.image.is_some())
            {
                return r.respond(Response::bad_request(
                    "The provided ContainerInfo is not supported",
                ));
            }
            if !c.volumes.is_empty() {
                tracing::warn!(
                    "Ignoring the volumes of nested container {key}: not supported by this agent"
                );
            }
        }
        let parent = match id.parent.as_deref() {
            Some(p) => match self.parent_of(p) {
                Ok(p) => p,
                Err(e) => return r.respond(Response::bad_request(e)),
            },
            None => return r.respond(Response::bad_request("Expecting a parent container")),
        };
        let directory = parent.directory.join("containers").join(&id.value);
        let mut env = BTreeMap::new();
        env.insert("MESOS_SANDBOX".to_string(), directory.display().to_string());
        for v in command.environment.iter().flat_map(|e| e.variables.iter()) {
            let secret = v.r#type == Some(environment::variable::Type::Secret as i32);
            if let (false, Some(value)) = (secret, &v.value) {
                env.insert(v.name.clone(), value.clone());
            }
        }
        let user = command.user.clone().or(parent.user.clone());
        let is_root = nix::unistd::geteuid().is_root();
        let run_as = user
            .clone()
            .filter(|u| self.config.switch_user && is_root && !u.is_empty() && u != "root");
        let spec = LaunchSpec {
            value: command.value.clone().unwrap_or_default(),
            arguments: command.arguments.clone(),
            shell: command.shell.unwrap_or(true),
            environment: env,
            directory: directory.clone(),
            user: run_as,
        };
        tracing::info!("Creating sandbox '{}'", directory.display());
        self.nested.live.insert(
            key.clone(),
            NestedContainer {
                id,
                root: parent.root,
                directory,
                pid: None,
                pending_kill: false,
                user,
                recovered: false,
                last_signal: None,
                waiters: Vec::new(),
            },
        );
        // Sessions and terminals get an I/O switchboard
        // (`IOSwitchboard::requiresServer`).
        let tty = container.as_ref().is_some_and(|c| c.tty_info.is_some());
        let (child_io, parent_io) = if tty || session.is_some() {
            match super::switchboard::prepare(tty, spec.user.as_deref()) {
                Ok((c, p)) => (Some(c), Some(p)),
                Err(e) => {
                    self.nested.live.remove(&key);
                    return r.respond(Response::bad_request(format!(
                        "Failed to prepare the I/O switchboard: {e}"
                    )));
                }
            }
        } else {
            (None, None)
        };
        cx.blocking(
            move || crate::launcher::launch_io(&spec, child_io),
            move |s: &mut Slave, cx, result| {
                let io = parent_io.map(|p| (p, session));
                s.nested_launched(cx, &key, result, r, io)
            },
        );
    }

    fn nested_launched(
        &mut self,
        cx: &mut Cx<'_, Self>,
        key: &str,
        result: Result<std::process::Child, crate::Error>,
        r: Responder,
        io: Option<(
            super::switchboard::ParentIo,
            Option<super::sessions::Session>,
        )>,
    ) {
        match result {
            Ok(child) => {
                let pid = child.id() as i32;
                let Some(n) = self.nested.live.get_mut(key) else {
                    // Forgotten while forking (its root went away).
                    crate::launcher::kill_tree(pid, nix::sys::signal::Signal::SIGKILL);
                    let _ = crate::launcher::wait_child(child);
                    return r.respond(Response::bad_request(format!(
                        "Container {key} was destroyed during launch"
                    )));
                };
                n.pid = Some(pid);
                let id = n.id.clone();
                if let Some(dir) = self.nested_meta_dir(&id) {
                    if let Err(e) =
                        crate::checkpoint::checkpoint_string(&dir.join("pid"), &pid.to_string())
                    {
                        tracing::error!("Failed to checkpoint the pid of {key}: {e}");
                    }
                }
                let Some(n) = self.nested.live.get_mut(key) else {
                    return;
                };
                if n.pending_kill {
                    crate::launcher::kill_tree(pid, nix::sys::signal::Signal::SIGKILL);
                }
                tracing::info!("Launched nested container {key} (pid {pid})");
                match io {
                    Some((parent_io, session)) => {
                        self.start_switchboard(cx, key, parent_io, session, r)
                    }
                    None => r.respond(Response::ok()),
                }
                let k = key.to_string();
                cx.blocking(
                    move || crate::launcher::wait_child(child),
                    move |s: &mut Slave, _cx, status| s.nested_terminated(&k, status, None),
                );
            }
            Err(e) => {
                tracing::warn!("Failed to launch container {key}: {e}");
                // Upstream destroys the half-made container: it is gone,
                // and WAIT answers 404 for it.
                if let Some(n) = self.nested.live.remove(key) {
                    for (w, _) in n.waiters {
                        w.respond(Response::text(
                            StatusCode::NOT_FOUND,
                            format!("Container {key} cannot be found"),
                        ));
                    }
                }
                r.respond(Response::bad_request(e.to_string()));
            }
        }
    }

    /// The nested container's process exited: answer its waiters and keep
    /// the termination while its root container lives.
    fn nested_terminated(&mut self, key: &str, status: Option<i32>, message: Option<String>) {
        let Some(n) = self.nested.live.remove(key) else {
            return;
        };
        // New attaches are refused from now on; the switchboard's thread
        // still drains what the container wrote.
        if let Some(sb) = self.nested.switchboards.remove(key) {
            sb.release();
        }
        let status = match (status, n.recovered, n.last_signal) {
            (None, true, Some(sig)) => Some(sig),
            _ => status,
        };
        tracing::info!(
            "Nested container {key} {}",
            super::tasks::describe_status(status)
        );
        let t = NestedTermination {
            root: n.root.clone(),
            directory: n.directory.clone(),
            status,
            message,
        };
        for (w, f) in n.waiters {
            w.respond(wait_response(&t, f));
        }
        if let Some(dir) = self.nested_meta_dir(&n.id) {
            let record = mesos_proto::mesos::slave::ContainerTermination {
                status,
                message: t.message.clone(),
                ..Default::default()
            };
            if let Err(e) = crate::checkpoint::checkpoint_message(&dir.join("termination"), &record)
            {
                tracing::error!("Failed to checkpoint the termination of {key}: {e}");
            }
        }
        if self.executor_with_container(&n.root).is_some() {
            self.nested.terminated.insert(key.to_string(), t);
        }
    }

    /// `MesosContainerizerProcess::wait`.
    fn wait_nested(&mut self, id: &ContainerId, f: WaitFormat, r: Responder) {
        let key = container_id_string(id);
        if let Some(n) = self.nested.live.get_mut(&key) {
            n.waiters.push((r, f));
        } else if let Some(t) = self.nested.terminated.get(&key) {
            r.respond(wait_response(t, f));
        } else {
            r.respond(Response::text(
                StatusCode::NOT_FOUND,
                format!("Container {key} cannot be found"),
            ));
        }
    }

    /// `MesosContainerizerProcess::kill`: the signal goes to the
    /// container's process group (our launcher starts each container in
    /// its own session).
    fn kill_nested(&mut self, id: &ContainerId, signal: i32, r: Responder) {
        let key = container_id_string(id);
        let Some(n) = self.nested.live.get_mut(&key) else {
            tracing::warn!("Attempted to kill unknown container {key}");
            return r.respond(Response::text(
                StatusCode::NOT_FOUND,
                format!("Container '{key}' cannot be found (or is already killed)"),
            ));
        };
        let Ok(sig) = nix::sys::signal::Signal::try_from(signal) else {
            return r.respond(Response::bad_request(
                "Unable to send signal to container: Invalid argument",
            ));
        };
        match n.pid {
            Some(pid) => {
                tracing::info!("Sending {} to container {key}", sig.as_str());
                n.last_signal = Some(signal);
                crate::launcher::kill_tree(pid, sig);
            }
            None => {
                tracing::warn!("Unable to find the pid for container {key}, destroying it");
                n.pending_kill = true;
            }
        }
        r.respond(Response::ok());
    }

    /// `MesosContainerizerProcess::destroy` of a nested container (a
    /// session whose client went away): SIGKILL to its process group.
    pub(crate) fn destroy_nested(&mut self, key: &str) {
        let Some(n) = self.nested.live.get_mut(key) else {
            return;
        };
        n.pending_kill = true;
        if let Some(pid) = n.pid {
            tracing::info!("Destroying nested container {key}");
            n.last_signal = Some(libc::SIGKILL);
            crate::launcher::kill_tree(pid, nix::sys::signal::Signal::SIGKILL);
        }
    }

    /// `MesosContainerizerProcess::remove`.
    fn remove_nested(&mut self, id: &ContainerId, r: Responder) {
        let key = container_id_string(id);
        if self.nested.live.contains_key(&key) {
            // Upstream fails the future (500); a caller's mistake is a 4xx here.
            return r.respond(Response::bad_request(
                "Nested container has not terminated yet",
            ));
        }
        let root = root_container_id(id).value.clone();
        let Some(root_dir) = self
            .executor_with_container(&root)
            .map(|e| e.directory.clone())
        else {
            return r.respond(Response::bad_request("Unknown root container"));
        };
        self.nested.terminated.remove(&key);
        if let Some(meta) = self.nested_meta_dir(id) {
            let _ = std::fs::remove_dir_all(meta);
        }
        let mut dir = root_dir;
        let mut chain = Vec::new();
        let mut cur = Some(id);
        while let Some(c) = cur {
            if c.parent.is_some() {
                chain.push(c.value.clone());
            }
            cur = c.parent.as_deref();
        }
        for v in chain.iter().rev() {
            dir = dir.join("containers").join(v);
        }
        if dir.exists() {
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                return r.respond(server_error(format!(
                    "Failed to remove the sandbox directory: {e}"
                )));
            }
        }
        r.respond(Response::ok());
    }

    /// The nested containers (for tests and `/containers`).
    pub fn nested_containers(&self) -> &NestedContainers {
        &self.nested
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_proto::mesos::agent::call;

    fn cid(v: &str, parent: Option<&str>) -> ContainerId {
        ContainerId {
            value: v.into(),
            parent: parent.map(|p| {
                Box::new(ContainerId {
                    value: p.into(),
                    parent: None,
                })
            }),
        }
    }

    fn call_of(t: CallType) -> agent_api::Call {
        agent_api::Call {
            r#type: Some(t as i32),
            ..Default::default()
        }
    }

    #[test]
    fn container_ids_are_validated_like_upstream() {
        assert!(validate_container_id(&cid("abc-1", Some("root"))).is_ok());
        assert_eq!(
            validate_container_id(&cid("", None)).unwrap_err(),
            "ID must not be empty"
        );
        assert!(validate_container_id(&cid("a.b", None))
            .unwrap_err()
            .contains("contains invalid characters"));
        assert!(validate_container_id(&cid("a b", None)).is_err());
        assert!(validate_container_id(&cid("a/b", None)).is_err());
        assert!(validate_container_id(&cid("..", None))
            .unwrap_err()
            .contains("is disallowed"));
        assert!(validate_container_id(&cid(&"x".repeat(243), None))
            .unwrap_err()
            .contains("exceeds the maximum length (242)"));
        assert!(validate_container_id(&cid("ok", Some("bad.parent")))
            .unwrap_err()
            .starts_with("'ContainerID.parent' is invalid: "));
        assert_eq!(
            container_id_string(&ContainerId {
                value: "c".into(),
                parent: Some(Box::new(cid("b", Some("a")))),
            }),
            "a.b.c"
        );
    }

    #[test]
    fn nested_calls_need_their_message_and_a_parent() {
        assert_eq!(
            validate(&call_of(CallType::LaunchNestedContainer)).unwrap_err(),
            "Expecting 'launch_nested_container' to be present"
        );
        assert_eq!(
            validate(&call_of(CallType::WaitNestedContainer)).unwrap_err(),
            "Expecting 'wait_nested_container' to be present"
        );
        let mut c = call_of(CallType::KillNestedContainer);
        c.kill_nested_container = Some(call::KillNestedContainer {
            container_id: cid("child", None),
            signal: None,
        });
        assert_eq!(
            validate(&c).unwrap_err(),
            "Expecting 'kill_nested_container.container_id.parent' to be present"
        );
        c.kill_nested_container = Some(call::KillNestedContainer {
            container_id: cid("child", Some("root")),
            signal: None,
        });
        assert_eq!(
            validate(&c).unwrap(),
            ContainerCall::Kill {
                id: cid("child", Some("root")),
                signal: libc::SIGKILL
            }
        );
        let mut c = call_of(CallType::RemoveNestedContainer);
        c.remove_nested_container = Some(call::RemoveNestedContainer {
            container_id: cid("bad id", Some("root")),
        });
        assert!(validate(&c)
            .unwrap_err()
            .starts_with("'remove_nested_container.container_id' is invalid: "));
    }

    #[test]
    fn new_container_calls_take_nested_ids_without_resources() {
        let mut c = call_of(CallType::LaunchContainer);
        c.launch_container = Some(call::LaunchContainer {
            container_id: cid("child", Some("root")),
            resources: vec![mesos_allocator::Resources::scalar("cpus", 1.0)],
            ..Default::default()
        });
        assert_eq!(
            validate(&c).unwrap_err(),
            "Resources may not be specified when using 'launch_container' to launch nested containers"
        );
        c.launch_container.as_mut().unwrap().resources.clear();
        assert!(matches!(
            validate(&c).unwrap(),
            ContainerCall::Launch { .. }
        ));
        // WAIT_CONTAINER answers in the new form; a root id validates (and
        // is refused later as a standalone container).
        let mut w = call_of(CallType::WaitContainer);
        w.wait_container = Some(call::WaitContainer {
            container_id: cid("root", None),
        });
        assert_eq!(
            validate(&w).unwrap(),
            ContainerCall::Wait {
                id: cid("root", None),
                deprecated: false
            }
        );
        assert!(validate(&call_of(CallType::GetHealth)).is_err());
    }

    #[test]
    fn launch_commands_have_valid_environments() {
        let var = |name: &str, t: Option<environment::variable::Type>, value: Option<&str>| {
            environment::Variable {
                name: name.into(),
                r#type: t.map(|t| t as i32),
                value: value.map(Into::into),
                secret: None,
            }
        };
        let mut c = call_of(CallType::LaunchNestedContainer);
        let launch = |vars| call::LaunchNestedContainer {
            container_id: cid("child", Some("root")),
            command: Some(CommandInfo {
                environment: Some(mesos_proto::mesos::Environment { variables: vars }),
                ..Default::default()
            }),
            container: None,
        };
        c.launch_nested_container = Some(launch(vec![var("A", None, Some("1"))]));
        assert!(validate(&c).is_ok());
        c.launch_nested_container = Some(launch(vec![var("B", None, None)]));
        assert_eq!(
            validate(&c).unwrap_err(),
            "'launch_nested_container.command' is invalid: Environment variable 'B' of type 'VALUE' must have a value set"
        );
        c.launch_nested_container = Some(launch(vec![var(
            "S",
            Some(environment::variable::Type::Secret),
            None,
        )]));
        assert!(validate(&c).unwrap_err().contains("must have a secret set"));
        c.launch_nested_container = Some(launch(vec![var(
            "U",
            Some(environment::variable::Type::Unknown),
            Some("x"),
        )]));
        assert!(validate(&c)
            .unwrap_err()
            .contains("'UNKNOWN' is not allowed"));
    }

    #[test]
    fn wait_answers_in_the_requested_form() {
        let t = NestedTermination {
            root: "r".into(),
            directory: "/x".into(),
            status: Some(256),
            message: None,
        };
        let r = wait_response(
            &t,
            WaitFormat {
                deprecated: true,
                json: true,
            },
        );
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["type"], "WAIT_NESTED_CONTAINER");
        assert_eq!(v["wait_nested_container"]["exit_status"], 256);
        let r = wait_response(
            &t,
            WaitFormat {
                deprecated: false,
                json: false,
            },
        );
        let back = agent_api::Response::decode(r.body.as_ref()).unwrap();
        assert_eq!(back.wait_container.unwrap().exit_status, Some(256));
    }
}
