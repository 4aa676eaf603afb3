//! Carrying out the default executor's actions: one thread per HTTP call
//! or timer, every result fed back through one channel to the state
//! machine, which runs on the calling thread.

use std::collections::BTreeMap;
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mesos_proto::mesos::v1::executor as v1e;
use prost::Message;

use super::client::Agent;
use super::{Action, Config, DefaultExecutor, Input, TERMINATION_DELAY};
use crate::Error;

const PROTOBUF: &str = "application/x-protobuf";
/// Bound on a non-streaming call to the agent.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Reads the executor's environment (`MESOS_FRAMEWORK_ID`,
/// `MESOS_EXECUTOR_ID`, `MESOS_SLAVE_PID`, `MESOS_SANDBOX`, ...) as
/// upstream's `main` does.
pub fn from_env(env: &BTreeMap<String, String>) -> Result<(Config, Agent, Settings), Error> {
    let need = |k: &str| {
        env.get(k)
            .cloned()
            .ok_or_else(|| Error::Flags(format!("Expecting '{k}' to be set in the environment")))
    };
    let pid = need("MESOS_SLAVE_PID")?;
    let agent = Agent::from_pid(&pid)
        .ok_or_else(|| Error::Flags(format!("Failed to parse MESOS_SLAVE_PID '{pid}'")))?;
    let container_ip = agent
        .addr
        .rsplit_once(':')
        .map(|(ip, _)| ip.to_string())
        .unwrap_or_default();
    let config = Config {
        framework_id: need("MESOS_FRAMEWORK_ID")?,
        executor_id: need("MESOS_EXECUTOR_ID")?,
        sandbox: need("MESOS_SANDBOX")?.into(),
        container_ip: env.get("LIBPROCESS_IP").cloned().unwrap_or(container_ip),
        command_mode: false,
    };
    let checkpoint = env.get("MESOS_CHECKPOINT").is_some_and(|v| v == "1");
    let recovery_timeout = match env.get("MESOS_RECOVERY_TIMEOUT") {
        Some(v) => crate::config::parse_duration(v)?,
        None => Duration::from_secs(15 * 60),
    };
    Ok((
        config,
        agent,
        Settings {
            checkpoint,
            recovery_timeout,
            task_environment: env.clone(),
        },
    ))
}

/// How the executor treats a lost agent connection (v1 executor library:
/// a checkpointing framework's executor waits up to the recovery timeout
/// for the agent to come back; any other ends).
#[derive(Clone, Debug)]
pub struct Settings {
    pub checkpoint: bool,
    pub recovery_timeout: Duration,
    /// Command mode: the task inherits the executor's environment (plus
    /// its command's variables), as upstream's command executor does.
    pub task_environment: BTreeMap<String, String>,
}

/// Exit statuses by task id, and the condition their waiters wait on.
type Exits = Arc<(Mutex<BTreeMap<String, Option<i32>>>, Condvar)>;

/// Command mode: the task runs as our child, not as a nested container.
#[derive(Default)]
struct Local {
    /// Exit statuses by task id, set by the reaper threads.
    exits: Exits,
    /// Pids by (nested) container id, for kills.
    pids: BTreeMap<String, i32>,
}

impl Local {
    fn launch(
        &mut self,
        sandbox: &std::path::Path,
        settings: &Settings,
        task_id: String,
        call: &mesos_proto::mesos::v1::agent::Call,
    ) -> Input {
        let Some(l) = &call.launch_nested_container else {
            return Input::Launched {
                task_id,
                result: Err("not a launch".into()),
            };
        };
        let cmd = l.command.clone().unwrap_or_default();
        let mut environment = settings.task_environment.clone();
        for v in cmd.environment.iter().flat_map(|e| e.variables.iter()) {
            if let Some(value) = &v.value {
                environment.insert(v.name.clone(), value.clone());
            }
        }
        let spec = crate::launcher::LaunchSpec {
            value: cmd.value.clone().unwrap_or_default(),
            arguments: cmd.arguments.clone(),
            shell: cmd.shell.unwrap_or(true),
            environment,
            directory: sandbox.to_path_buf(),
            user: None,
        };
        tracing::info!("Running '{}' for task {task_id}", spec.value);
        match crate::launcher::launch(&spec) {
            Ok(child) => {
                self.pids
                    .insert(l.container_id.value.clone(), child.id() as i32);
                let exits = Arc::clone(&self.exits);
                let t = task_id.clone();
                std::thread::spawn(move || {
                    let status = crate::launcher::wait_child(child);
                    let (m, cv) = &*exits;
                    m.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(t, status);
                    cv.notify_all();
                });
                Input::Launched {
                    task_id,
                    result: Ok((200, Bytes::new())),
                }
            }
            Err(e) => Input::Launched {
                task_id,
                result: Ok((400, Bytes::from(e.to_string()))),
            },
        }
    }

    fn wait(&self, tx: &mpsc::Sender<Input>, task_id: String, generation: u64) {
        let (exits, tx) = (Arc::clone(&self.exits), tx.clone());
        std::thread::spawn(move || {
            let (m, cv) = &*exits;
            let mut g = m.lock().unwrap_or_else(|e| e.into_inner());
            let status = loop {
                if let Some(s) = g.get(&task_id) {
                    break *s;
                }
                g = cv.wait(g).unwrap_or_else(|e| e.into_inner());
            };
            drop(g);
            let r = mesos_proto::mesos::v1::agent::Response {
                r#type: Some(
                    mesos_proto::mesos::v1::agent::response::Type::WaitNestedContainer as i32,
                ),
                wait_nested_container: Some(
                    mesos_proto::mesos::v1::agent::response::WaitNestedContainer {
                        exit_status: status,
                        ..Default::default()
                    },
                ),
                ..Default::default()
            };
            let _ = tx.send(Input::Waited {
                task_id,
                generation,
                result: Ok((200, Bytes::from(r.encode_to_vec()))),
            });
        });
    }

    fn kill(&self, call: &mesos_proto::mesos::v1::agent::Call) {
        let Some(k) = &call.kill_nested_container else {
            return;
        };
        let (Some(pid), Ok(sig)) = (
            self.pids.get(&k.container_id.value),
            nix::sys::signal::Signal::try_from(k.signal.unwrap_or(libc::SIGKILL)),
        ) else {
            return;
        };
        tracing::info!("Sending {} to the task's process group {pid}", sig.as_str());
        crate::launcher::kill_tree(*pid, sig);
    }
}

fn spawn_call(
    agent: &Agent,
    tx: &mpsc::Sender<Input>,
    path: &'static str,
    body: Vec<u8>,
    timeout: Option<Duration>,
    done: impl FnOnce(Result<(u16, Bytes), String>) -> Option<Input> + Send + 'static,
) {
    let (agent, tx) = (agent.clone(), tx.clone());
    std::thread::spawn(move || {
        let r = agent
            .post(path, PROTOBUF, &body, timeout)
            .map(|r| (r.status, Bytes::from(r.body)))
            .map_err(|e| e.to_string());
        if let Some(input) = done(r) {
            let _ = tx.send(input);
        }
    });
}

/// Runs the executor until it terminates.
pub fn run(config: Config, agent: Agent, settings: Settings) -> Result<(), Error> {
    let sandbox = config.sandbox.clone();
    let command_mode = config.command_mode;
    let mut local = Local::default();
    let mut exec = DefaultExecutor::new(config);
    let (tx, rx) = mpsc::channel::<Input>();
    let mut pending: Vec<Action> = exec.start();
    // Executor calls (UPDATE) go out one after another on one thread, so
    // the agent sees a task's updates in order (upstream sends them on
    // one connection).
    let (send_tx, send_rx) = mpsc::channel::<Vec<u8>>();
    {
        let agent = agent.clone();
        std::thread::spawn(move || {
            for body in send_rx {
                match agent.post("api/v1/executor", PROTOBUF, &body, Some(CALL_TIMEOUT)) {
                    Ok(r) if r.status == 202 => {}
                    Ok(r) => tracing::error!(
                        "The agent answered an executor call with {}: {}",
                        r.status,
                        String::from_utf8_lossy(&r.body)
                    ),
                    Err(e) => tracing::error!("Failed to send an executor call: {e}"),
                }
            }
        });
    }
    let mut disconnected_since: Option<Instant> = None;
    let mut ever_subscribed = false;
    loop {
        for action in pending.drain(..) {
            match action {
                Action::Subscribe(call) => {
                    let (agent, tx) = (agent.clone(), tx.clone());
                    let body = call.encode_to_vec();
                    std::thread::spawn(move || {
                        let tx2 = tx.clone();
                        let r = agent.post_stream("api/v1/executor", PROTOBUF, &body, |rec| {
                            match v1e::Event::decode(rec.as_ref()) {
                                Ok(e) => {
                                    let _ = tx2.send(Input::Event(Box::new(e)));
                                }
                                Err(e) => tracing::error!("Failed to decode an event: {e}"),
                            }
                        });
                        match r {
                            Ok(r) if r.status != 200 => tracing::warn!(
                                "SUBSCRIBE answered {}: {}",
                                r.status,
                                String::from_utf8_lossy(&r.body)
                            ),
                            Ok(_) => tracing::info!("The agent closed the event stream"),
                            Err(e) => tracing::warn!("SUBSCRIBE failed: {e}"),
                        }
                        let _ = tx.send(Input::Disconnected);
                    });
                }
                Action::Send(call) => {
                    let _ = send_tx.send(call.encode_to_vec());
                }
                Action::Launch { task_id, call } if command_mode => {
                    let input = local.launch(&sandbox, &settings, task_id, &call);
                    let _ = tx.send(input);
                }
                Action::Wait {
                    task_id,
                    generation,
                    ..
                } if command_mode => local.wait(&tx, task_id, generation),
                Action::Kill { call } if command_mode => local.kill(&call),
                Action::Symlink { .. } if command_mode => {}
                Action::Launch { task_id, call } => spawn_call(
                    &agent,
                    &tx,
                    "api/v1",
                    call.encode_to_vec(),
                    Some(CALL_TIMEOUT),
                    move |result| Some(Input::Launched { task_id, result }),
                ),
                Action::Wait {
                    task_id,
                    generation,
                    call,
                } => spawn_call(
                    &agent,
                    &tx,
                    "api/v1",
                    call.encode_to_vec(),
                    None,
                    move |result| {
                        Some(Input::Waited {
                            task_id,
                            generation,
                            result,
                        })
                    },
                ),
                Action::Kill { call } => spawn_call(
                    &agent,
                    &tx,
                    "api/v1",
                    call.encode_to_vec(),
                    Some(CALL_TIMEOUT),
                    |r| {
                        match r {
                            Ok((200, _)) => {}
                            Ok((code, body)) => tracing::warn!(
                                "The agent failed to signal a container ({code}): {}",
                                String::from_utf8_lossy(&body)
                            ),
                            Err(e) => tracing::warn!("Failed to signal a container: {e}"),
                        }
                        None
                    },
                ),
                Action::Symlink { task_id, container } => {
                    let tasks = sandbox.join("tasks");
                    let link = tasks.join(&task_id);
                    let target = sandbox.join("containers").join(&container);
                    let r = std::fs::create_dir_all(&tasks)
                        .and_then(|_| std::os::unix::fs::symlink(&target, &link));
                    if let Err(e) = r {
                        tracing::error!(
                            "Unable to create symbolic link for container {container} of task \
                             '{task_id}': {e}"
                        );
                    }
                }
                Action::Timer { after, input } => {
                    let tx = tx.clone();
                    std::thread::spawn(move || {
                        std::thread::sleep(after);
                        let _ = tx.send(input);
                    });
                }
                Action::HealthCheck {
                    task_id,
                    config,
                    directory,
                } => {
                    // HTTP and TCP checks connect from the executor, which
                    // shares its tasks' network namespace; see
                    // third_party_docs/health-checks.md.
                    let (tx, env) = (tx.clone(), settings.task_environment.clone());
                    std::thread::spawn(move || {
                        let result = crate::checks::run_check(&config, &env, &directory, None);
                        let _ = tx.send(Input::HealthChecked { task_id, result });
                    });
                }
                Action::Check {
                    task_id,
                    config,
                    directory,
                } => {
                    let (tx, env) = (tx.clone(), settings.task_environment.clone());
                    std::thread::spawn(move || {
                        let result = crate::checks::general::run_general_check(
                            &config, &env, &directory, None,
                        );
                        let _ = tx.send(Input::Checked {
                            task_id,
                            result,
                            leftover: None,
                        });
                    });
                }
                Action::NestedCheck {
                    task_id,
                    previous,
                    check_id,
                    launch,
                    timeout,
                } => {
                    let (tx, agent) = (tx.clone(), agent.clone());
                    std::thread::spawn(move || {
                        let (result, leftover) =
                            nested_command_check(&agent, previous, check_id, &launch, timeout);
                        let _ = tx.send(Input::Checked {
                            task_id,
                            result,
                            leftover,
                        });
                    });
                }
                Action::Terminate => {
                    std::thread::sleep(TERMINATION_DELAY);
                    return Ok(());
                }
            }
        }
        let Ok(input) = rx.recv() else {
            return Ok(());
        };
        match &input {
            Input::Disconnected => {
                let since = *disconnected_since.get_or_insert_with(Instant::now);
                if !settings.checkpoint && ever_subscribed {
                    tracing::info!("Disconnected from a non-checkpointing agent; shutting down");
                    return Ok(());
                }
                if since.elapsed() > settings.recovery_timeout {
                    tracing::error!(
                        "Agent did not come back within the recovery timeout; shutting down"
                    );
                    return Ok(());
                }
            }
            Input::Event(e) if e.r#type == Some(v1e::event::Type::Subscribed as i32) => {
                disconnected_since = None;
                ever_subscribed = true;
            }
            _ => {}
        }
        pending = exec.handle(input);
    }
}

/// One container call to the agent: the status and the body.
fn container_call(
    agent: &Agent,
    call: &mesos_proto::mesos::v1::agent::Call,
    timeout: Option<Duration>,
) -> Result<(u16, Vec<u8>), String> {
    agent
        .post("api/v1", PROTOBUF, &call.encode_to_vec(), timeout)
        .map(|r| (r.status, r.body))
        .map_err(|e| e.to_string())
}

/// WAIT_NESTED_CONTAINER for `id`, bounded by `timeout`: `Ok(exit
/// status)` once it ended, `Err((timed out, why))` otherwise.
fn wait_check_container(
    agent: &Agent,
    id: &mesos_proto::mesos::v1::ContainerId,
    timeout: Option<Duration>,
) -> Result<Option<i32>, (bool, String)> {
    use mesos_proto::mesos::v1::agent::{call, Call, Response};
    let wait = Call {
        r#type: Some(call::Type::WaitNestedContainer as i32),
        wait_nested_container: Some(call::WaitNestedContainer {
            container_id: id.clone(),
        }),
        ..Default::default()
    };
    match agent.post("api/v1", PROTOBUF, &wait.encode_to_vec(), timeout) {
        Ok(r) if r.status == 200 => Response::decode(r.body.as_slice())
            .map(|r| r.wait_nested_container.and_then(|w| w.exit_status))
            .map_err(|e| (false, format!("Failed to parse the wait response: {e}"))),
        Ok(r) => Err((
            false,
            format!(
                "Received '{}' ({}) while waiting on check container '{}'",
                r.status,
                String::from_utf8_lossy(&r.body),
                id.value
            ),
        )),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Err((true, e.to_string()))
        }
        Err(e) => Err((false, e.to_string())),
    }
}

/// A COMMAND check in a nested container (upstream checker_process.cpp
/// `nestedCommandCheck` and its continuations): the previous check
/// container is removed first (failing that, the check is skipped as a
/// transient failure), the new one launched and waited for at most the
/// check's timeout (then SIGKILLed: the check failed). A launch the agent
/// refuses, or a check container killed by SIGKILL (its task ended), is
/// transient too. Returns the result and the container to remove next.
fn nested_command_check(
    agent: &Agent,
    previous: Option<mesos_proto::mesos::v1::ContainerId>,
    check_id: mesos_proto::mesos::v1::ContainerId,
    launch: &mesos_proto::mesos::v1::agent::Call,
    timeout: Option<Duration>,
) -> (
    crate::checks::general::CheckResult,
    Option<mesos_proto::mesos::v1::ContainerId>,
) {
    use crate::checks::general::result_of;
    use crate::checks::Probe;
    use mesos_proto::mesos::check_info::Type;
    use mesos_proto::mesos::v1::agent::{call, Call};
    if let Some(prev) = previous {
        let remove = Call {
            r#type: Some(call::Type::RemoveNestedContainer as i32),
            remove_nested_container: Some(call::RemoveNestedContainer {
                container_id: prev.clone(),
            }),
            ..Default::default()
        };
        match container_call(agent, &remove, Some(CALL_TIMEOUT)) {
            Ok((200, _)) => {}
            Ok((code, body)) => {
                tracing::warn!(
                    "Received '{code}' ({}) while removing the check container '{}'",
                    String::from_utf8_lossy(&body),
                    prev.value
                );
                return (Ok(None), Some(prev));
            }
            Err(e) => {
                tracing::warn!("Failed to remove the check container '{}': {e}", prev.value);
                return (Ok(None), Some(prev));
            }
        }
    }
    let started = Instant::now();
    match container_call(agent, launch, Some(CALL_TIMEOUT)) {
        Ok((200, _)) => {}
        Ok((code, body)) => {
            tracing::warn!(
                "Received '{code}' ({}) while launching the check container '{}'",
                String::from_utf8_lossy(&body),
                check_id.value
            );
            let _ = wait_check_container(agent, &check_id, Some(CALL_TIMEOUT));
            return (Ok(None), Some(check_id));
        }
        Err(e) => {
            tracing::warn!("Connection to the agent to launch a check failed: {e}");
            return (Ok(None), Some(check_id));
        }
    }
    let left = timeout.map(|t| {
        t.saturating_sub(started.elapsed())
            .max(Duration::from_millis(1))
    });
    let result = match wait_check_container(agent, &check_id, left) {
        Ok(Some(status))
            if libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGKILL =>
        {
            Ok(None)
        }
        Ok(Some(status)) => result_of(Type::Command, Ok(Probe::Exited(status))),
        Ok(None) => Err("Unable to get the exit code".to_string()),
        Err((true, _)) => {
            // Timed out: the check container is killed and waited for
            // before the failure counts (upstream closes the session).
            let kill = Call {
                r#type: Some(call::Type::KillNestedContainer as i32),
                kill_nested_container: Some(call::KillNestedContainer {
                    container_id: check_id.clone(),
                    signal: Some(libc::SIGKILL),
                }),
                ..Default::default()
            };
            let _ = container_call(agent, &kill, Some(CALL_TIMEOUT));
            let _ = wait_check_container(agent, &check_id, Some(CALL_TIMEOUT));
            Err(format!(
                "Command timed out after {:?}",
                timeout.unwrap_or_default()
            ))
        }
        Err((false, e)) => Err(format!("Unable to get the exit code: {e}")),
    };
    (result, Some(check_id))
}
