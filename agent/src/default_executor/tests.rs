//! The default executor's state machine, input by input (mirrors the
//! behaviours of upstream's DefaultExecutorTest: task group launch, one
//! task failing kills the others, kill with grace period, shutdown).

use super::*;
use mesos_proto::mesos::v1::{framework_info, DurationInfo};
use prost::Message;

fn executor() -> DefaultExecutor {
    let mut n = 0u8;
    DefaultExecutor::new(Config {
        framework_id: "F".into(),
        executor_id: "E".into(),
        sandbox: "/sandbox".into(),
        container_ip: "127.0.0.1".into(),
        command_mode: false,
    })
    .with_sources(
        || 100.0,
        move || {
            n += 1;
            [n; 16]
        },
    )
}

fn ev(t: v1e::event::Type) -> v1e::Event {
    v1e::Event {
        r#type: Some(t as i32),
        ..Default::default()
    }
}

fn subscribed(killing_state: bool) -> Input {
    let mut fi = FrameworkInfo::default();
    if killing_state {
        fi.capabilities.push(framework_info::Capability {
            r#type: Some(framework_info::capability::Type::TaskKillingState as i32),
        });
    }
    Input::Event(Box::new(v1e::Event {
        subscribed: Some(v1e::event::Subscribed {
            framework_info: fi,
            container_id: Some(ContainerId {
                value: "exec-cid".into(),
                parent: None,
            }),
            ..Default::default()
        }),
        ..ev(v1e::event::Type::Subscribed)
    }))
}

fn task(id: &str, grace: Option<i64>) -> TaskInfo {
    TaskInfo {
        name: id.into(),
        task_id: TaskId { value: id.into() },
        command: Some(mesos_proto::mesos::v1::CommandInfo {
            value: Some("sleep 1000".into()),
            ..Default::default()
        }),
        kill_policy: grace.map(|g| KillPolicy {
            grace_period: Some(DurationInfo { nanoseconds: g }),
        }),
        ..Default::default()
    }
}

fn launch_group(tasks: Vec<TaskInfo>) -> Input {
    Input::Event(Box::new(v1e::Event {
        launch_group: Some(v1e::event::LaunchGroup {
            task_group: TaskGroupInfo { tasks },
        }),
        ..ev(v1e::event::Type::LaunchGroup)
    }))
}

/// The (task id, state) of every UPDATE among the actions.
fn updates(actions: &[Action]) -> Vec<(String, TaskState)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(c) => c
                .update
                .as_ref()
                .map(|u| (u.status.task_id.value.clone(), u.status.state())),
            _ => None,
        })
        .collect()
}

fn update_status<'a>(actions: &'a [Action], id: &str) -> &'a TaskStatus {
    actions
        .iter()
        .find_map(|a| match a {
            Action::Send(c) => c
                .update
                .as_ref()
                .filter(|u| u.status.task_id.value == id)
                .map(|u| &u.status),
            _ => None,
        })
        .expect("an update")
}

fn kills(actions: &[Action]) -> Vec<i32> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Kill { call } => call.kill_nested_container.as_ref().and_then(|k| k.signal),
            _ => None,
        })
        .collect()
}

fn ok() -> Result<(u16, Bytes), String> {
    Ok((200, Bytes::new()))
}

fn exited(code: i32, generation: u64, id: &str) -> Input {
    let r = v1a::Response {
        r#type: Some(v1a::response::Type::WaitNestedContainer as i32),
        wait_nested_container: Some(v1a::response::WaitNestedContainer {
            exit_status: Some(code),
            ..Default::default()
        }),
        ..Default::default()
    };
    Input::Waited {
        task_id: id.into(),
        generation,
        result: Ok((200, Bytes::from(r.encode_to_vec()))),
    }
}

/// Subscribed, a group of `a` and `b` launched and running.
fn running(killing_state: bool, grace: Option<i64>) -> DefaultExecutor {
    let mut e = executor();
    assert!(matches!(&e.start()[..], [Action::Subscribe(_)]));
    assert!(e.handle(subscribed(killing_state)).is_empty());
    let out = e.handle(launch_group(vec![task("a", grace), task("b", grace)]));
    assert_eq!(
        updates(&out),
        vec![
            ("a".into(), TaskState::TaskStarting),
            ("b".into(), TaskState::TaskStarting)
        ]
    );
    assert_eq!(ids(&out).len(), 2);
    // Each task gets its own child of the executor's container, with the
    // task's command plus MESOS_CONTAINER_IP / MESOS_ALLOCATION_ROLE.
    for a in &out {
        if let Action::Launch { call, .. } = a {
            let l = call.launch_nested_container.as_ref().unwrap();
            assert_eq!(l.container_id.parent.as_ref().unwrap().value, "exec-cid");
            let cmd = l.command.as_ref().unwrap();
            assert_eq!(cmd.value.as_deref(), Some("sleep 1000"));
            let names: Vec<_> = cmd
                .environment
                .as_ref()
                .unwrap()
                .variables
                .iter()
                .map(|v| v.name.as_str())
                .collect();
            assert_eq!(names, ["MESOS_CONTAINER_IP", "MESOS_ALLOCATION_ROLE"]);
        }
    }
    for id in ["a", "b"] {
        let out = e.handle(Input::Launched {
            task_id: id.into(),
            result: ok(),
        });
        assert_eq!(updates(&out), vec![(id.into(), TaskState::TaskRunning)]);
        assert!(out
            .iter()
            .any(|a| matches!(a, Action::Symlink { task_id, .. } if task_id == id)));
        assert!(out
            .iter()
            .any(|a| matches!(a, Action::Wait { task_id, generation: 1, .. } if task_id == id)));
    }
    e
}

#[test]
fn group_finishes_and_executor_terminates() {
    let mut e = running(false, None);
    let out = e.handle(exited(0, 1, "a"));
    assert_eq!(updates(&out), vec![("a".into(), TaskState::TaskFinished)]);
    assert_eq!(
        update_status(&out, "a").message.as_deref(),
        Some("Command exited with status 0")
    );
    assert_eq!(
        update_status(&out, "a").source(),
        task_status::Source::Executor
    );
    assert!(!out.contains(&Action::Terminate));
    let out = e.handle(exited(0, 1, "b"));
    assert_eq!(updates(&out), vec![("b".into(), TaskState::TaskFinished)]);
    assert!(out.contains(&Action::Terminate));
    // Four updates per... 2 tasks x 3 states, none acknowledged yet.
    assert_eq!(e.unacknowledged_updates(), 6);
}

#[test]
fn a_failed_task_kills_the_rest_of_its_group() {
    let mut e = running(true, Some(2_000_000_000));
    let out = e.handle(exited(1 << 8, 1, "a"));
    assert_eq!(
        updates(&out),
        vec![
            ("a".into(), TaskState::TaskFailed),
            ("b".into(), TaskState::TaskKilling)
        ]
    );
    assert_eq!(
        update_status(&out, "a").message.as_deref(),
        Some("Command exited with status 1")
    );
    assert_eq!(kills(&out), vec![libc::SIGTERM]);
    // Killing the group uses the default grace period, not b's kill
    // policy (upstream `kill(container)` without a grace period).
    assert!(out.iter().any(|a| matches!(a,
        Action::Timer { after, input: Input::Escalate { task_id, .. } }
            if *after == DEFAULT_KILL_GRACE_PERIOD && task_id == "b")));
    // b dies of the SIGTERM: KILLED, and the group is not killed again.
    let out = e.handle(exited(libc::SIGTERM, 1, "b"));
    assert_eq!(updates(&out), vec![("b".into(), TaskState::TaskKilled)]);
    assert!(kills(&out).is_empty());
    assert!(out.contains(&Action::Terminate));
}

#[test]
fn kill_escalates_after_the_grace_period_and_kills_the_group() {
    let mut e = running(false, None);
    let kill = v1e::Event {
        kill: Some(v1e::event::Kill {
            task_id: TaskId { value: "a".into() },
            kill_policy: Some(KillPolicy {
                grace_period: Some(DurationInfo {
                    nanoseconds: 500_000_000,
                }),
            }),
        }),
        ..ev(v1e::event::Type::Kill)
    };
    let out = e.handle(Input::Event(Box::new(kill.clone())));
    // No TASK_KILLING without the capability; SIGTERM now.
    assert!(updates(&out).is_empty());
    assert_eq!(kills(&out), vec![libc::SIGTERM]);
    let escalate = out
        .iter()
        .find_map(|a| match a {
            Action::Timer { after, input } => {
                assert_eq!(*after, Duration::from_millis(500));
                Some(input.clone())
            }
            _ => None,
        })
        .unwrap();
    // A second kill is ignored while killing.
    assert!(e.handle(Input::Event(Box::new(kill))).is_empty());
    assert_eq!(kills(&e.handle(escalate.clone())), vec![libc::SIGKILL]);
    let out = e.handle(exited(libc::SIGKILL, 1, "a"));
    assert_eq!(updates(&out), vec![("a".into(), TaskState::TaskKilled)]);
    // The other task of the group is killed with the default 3 s.
    assert_eq!(kills(&out), vec![libc::SIGTERM]);
    assert!(out.iter().any(|a| matches!(a,
        Action::Timer { after, .. } if *after == DEFAULT_KILL_GRACE_PERIOD)));
    let out = e.handle(exited(libc::SIGTERM, 1, "b"));
    assert_eq!(updates(&out), vec![("b".into(), TaskState::TaskKilled)]);
    // Escalation for a task that is gone does nothing.
    assert!(e.handle(escalate).is_empty() || e.active_tasks().is_empty());
}

#[test]
fn launch_failure_fails_the_task_with_the_agents_reason() {
    let mut e = executor();
    e.start();
    e.handle(subscribed(false));
    e.handle(launch_group(vec![task("a", None)]));
    let out = e.handle(Input::Launched {
        task_id: "a".into(),
        result: Ok((
            400,
            Bytes::from_static(b"Parent container x does not exist"),
        )),
    });
    assert!(updates(&out).is_empty());
    let out = e.handle(Input::Waited {
        task_id: "a".into(),
        generation: 1,
        result: Ok((404, Bytes::new())),
    });
    assert_eq!(updates(&out), vec![("a".into(), TaskState::TaskFailed)]);
    assert_eq!(
        update_status(&out, "a").message.as_deref(),
        Some("Parent container x does not exist")
    );
    assert!(out.contains(&Action::Terminate));
}

#[test]
fn shutdown_kills_all_and_acknowledgements_clear_updates() {
    let mut e = running(false, None);
    let before = e.unacknowledged_updates();
    // Acknowledge a's STARTING update (uuid of the first status: [1; 16]
    // was the container id; statuses take the next uuids).
    let out = e.handle(Input::Event(Box::new(v1e::Event {
        acknowledged: Some(v1e::event::Acknowledged {
            task_id: TaskId { value: "a".into() },
            uuid: Bytes::copy_from_slice(&[2u8; 16]),
        }),
        ..ev(v1e::event::Type::Acknowledged)
    })));
    assert!(out.is_empty());
    assert_eq!(e.unacknowledged_updates(), before - 1);
    let out = e.handle(Input::Event(Box::new(ev(v1e::event::Type::Shutdown))));
    assert_eq!(kills(&out), vec![libc::SIGTERM, libc::SIGTERM]);
    // While shutting down a failed task does not trigger group kills.
    let out = e.handle(exited(libc::SIGTERM, 1, "a"));
    assert_eq!(updates(&out), vec![("a".into(), TaskState::TaskKilled)]);
    assert!(kills(&out).is_empty());
    let out = e.handle(exited(libc::SIGTERM, 1, "b"));
    assert!(out.contains(&Action::Terminate));
    // After Terminate nothing more happens.
    assert!(e.handle(Input::Resubscribe).is_empty());
}

#[test]
fn reconnection_resubscribes_and_waits_again() {
    let mut e = running(false, None);
    let out = e.handle(Input::Disconnected);
    assert!(matches!(
        &out[..],
        [Action::Timer {
            input: Input::Resubscribe,
            ..
        }]
    ));
    let out = e.handle(Input::Resubscribe);
    let Action::Subscribe(call) = &out[0] else {
        panic!("{out:?}")
    };
    let sub = call.subscribe.as_ref().unwrap();
    assert_eq!(sub.unacknowledged_tasks.len(), 2);
    assert_eq!(sub.unacknowledged_updates.len(), 4);
    // A wait answer of the old connection is stale.
    assert!(e.handle(exited(0, 1, "a")).is_empty());
    let out = e.handle(subscribed(false));
    let waits = out
        .iter()
        .filter(|a| matches!(a, Action::Wait { generation: 3, .. }))
        .count();
    assert_eq!(waits, 2);
    let out = e.handle(exited(0, 3, "a"));
    assert_eq!(updates(&out), vec![("a".into(), TaskState::TaskFinished)]);
}

#[test]
fn launch_is_not_supported() {
    let mut e = executor();
    e.start();
    e.handle(subscribed(false));
    let out = e.handle(Input::Event(Box::new(ev(v1e::event::Type::Launch))));
    assert!(out.contains(&Action::Terminate));
    assert_eq!(wstringify(libc::SIGKILL), "terminated with signal Killed");
}

/// `--http_command_executor`: one task from LAUNCH, no nested-container
/// environment, the executor ends on the terminal update's acknowledgement.
#[test]
fn command_mode_runs_one_task_and_ends_on_the_terminal_ack() {
    let mut e = executor();
    e.config.command_mode = true;
    e.start();
    e.handle(subscribed(false));
    let launch = |id: &str| {
        Input::Event(Box::new(v1e::Event {
            launch: Some(v1e::event::Launch {
                task: task(id, None),
            }),
            ..ev(v1e::event::Type::Launch)
        }))
    };
    let out = e.handle(launch("t"));
    assert_eq!(updates(&out), vec![("t".into(), TaskState::TaskStarting)]);
    assert!(update_status(&out, "t").container_status.is_none());
    let Some(Action::Launch { call, .. }) = out.iter().find(|a| matches!(a, Action::Launch { .. }))
    else {
        panic!("{out:?}")
    };
    let cmd = call
        .launch_nested_container
        .as_ref()
        .unwrap()
        .command
        .as_ref()
        .unwrap();
    assert!(cmd.environment.as_ref().unwrap().variables.is_empty());
    // A second task is refused.
    let out = e.handle(launch("u"));
    assert_eq!(updates(&out), vec![("u".into(), TaskState::TaskFailed)]);
    assert_eq!(
        update_status(&out, "u").message.as_deref(),
        Some("Attempted to run multiple tasks using a \"command\" executor")
    );
    e.handle(Input::Launched {
        task_id: "t".into(),
        result: ok(),
    });
    let out = e.handle(exited(0, 1, "t"));
    assert_eq!(updates(&out), vec![("t".into(), TaskState::TaskFinished)]);
    // Not yet: the terminal update is unacknowledged.
    assert!(!out.contains(&Action::Terminate));
    assert!(out.iter().any(|a| matches!(
        a,
        Action::Timer {
            input: Input::SelfTerminate,
            ..
        }
    )));
    let uuid = update_status(&out, "t").uuid.clone().unwrap();
    let out = e.handle(Input::Event(Box::new(v1e::Event {
        acknowledged: Some(v1e::event::Acknowledged {
            task_id: TaskId { value: "t".into() },
            uuid,
        }),
        ..ev(v1e::event::Type::Acknowledged)
    })));
    assert_eq!(out, vec![Action::Terminate]);
    // LAUNCH_GROUP is not for the command executor.
    let mut e = executor();
    e.config.command_mode = true;
    e.start();
    e.handle(subscribed(false));
    let out = e.handle(launch_group(vec![task("a", None)]));
    assert_eq!(out, vec![Action::Terminate]);
}

/// A group whose task `a` has a COMMAND health check (no grace period,
/// two failures kill), launched and running.
fn running_with_health_check() -> DefaultExecutor {
    use mesos_proto::mesos::v1::{health_check, HealthCheck};
    let mut e = executor();
    e.start();
    e.handle(subscribed(false));
    let mut hc = HealthCheck {
        command: Some(mesos_proto::mesos::v1::CommandInfo {
            value: Some("true".into()),
            ..Default::default()
        }),
        delay_seconds: Some(2.0),
        interval_seconds: Some(0.5),
        consecutive_failures: Some(2),
        grace_period_seconds: Some(0.0),
        ..Default::default()
    };
    hc.set_type(health_check::Type::Command);
    let mut a = task("a", Some(1_000_000_000));
    a.health_check = Some(hc);
    e.handle(launch_group(vec![a, task("b", None)]));
    let out = e.handle(Input::Launched {
        task_id: "a".into(),
        result: ok(),
    });
    // The first check is due `delay_seconds` after the start.
    assert!(out.iter().any(|x| matches!(x,
        Action::Timer { after, input: Input::HealthCheckDue { task_id } }
            if *after == Duration::from_secs(2) && task_id == "a")));
    let out = e.handle(Input::Launched {
        task_id: "b".into(),
        result: ok(),
    });
    assert!(!out.iter().any(|x| matches!(
        x,
        Action::Timer {
            input: Input::HealthCheckDue { .. },
            ..
        }
    )));
    e
}

fn health_updates(actions: &[Action]) -> Vec<(TaskState, Option<bool>, i32)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(c) => c.update.as_ref().map(|u| {
                (
                    u.status.state(),
                    u.status.healthy,
                    u.status.reason.unwrap_or(-1),
                )
            }),
            _ => None,
        })
        .collect()
}

#[test]
fn health_checks_report_and_kill_the_unhealthy_task() {
    let mut e = running_with_health_check();
    let due = || Input::HealthCheckDue {
        task_id: "a".into(),
    };
    let result = |r: Result<(), String>| Input::HealthChecked {
        task_id: "a".into(),
        result: r,
    };
    let reason = task_status::Reason::TaskHealthCheckStatusUpdated as i32;
    let out = e.handle(due());
    assert!(
        matches!(&out[..], [Action::HealthCheck { task_id, directory, .. }]
        if task_id == "a" && directory == std::path::Path::new("/sandbox/tasks/a"))
    );
    // First success: reported, next check after the interval.
    let out = e.handle(result(Ok(())));
    assert_eq!(
        health_updates(&out),
        vec![(TaskState::TaskRunning, Some(true), reason)]
    );
    assert!(out.contains(&Action::Timer {
        after: Duration::from_millis(500),
        input: due()
    }));
    // A second success is not reported.
    assert!(health_updates(&e.handle(result(Ok(())))).is_empty());
    // One failure: unhealthy, still running.
    let out = e.handle(result(Err("no".into())));
    assert_eq!(
        health_updates(&out),
        vec![(TaskState::TaskRunning, Some(false), reason)]
    );
    assert!(kills(&out).is_empty());
    // The second consecutive one kills the task with its grace period.
    let out = e.handle(result(Err("no".into())));
    assert_eq!(
        health_updates(&out),
        vec![(TaskState::TaskRunning, Some(false), reason)]
    );
    assert_eq!(kills(&out), vec![libc::SIGTERM]);
    assert!(out.iter().any(|x| matches!(x,
        Action::Timer { after, input: Input::Escalate { .. } } if *after == Duration::from_secs(1))));
    // Checks stop once killing; the terminal update says unhealthy.
    assert!(e.handle(due()).is_empty());
    assert!(e.handle(result(Err("late".into()))).is_empty());
    let out = e.handle(exited(15, 1, "a"));
    let st = update_status(&out, "a");
    assert_eq!(st.state(), TaskState::TaskKilled);
    assert_eq!(st.healthy, Some(false));
}

/// A group whose task `a` has a COMMAND check (delay 2 s, interval 0.5 s,
/// timeout 3 s) and `b` a TCP check, launched and running.
fn running_with_checks() -> (DefaultExecutor, Vec<Action>) {
    use mesos_proto::mesos::v1::{check_info, CheckInfo};
    let mut e = executor();
    e.start();
    e.handle(subscribed(false));
    let mut ck = CheckInfo {
        command: Some(check_info::Command {
            command: mesos_proto::mesos::v1::CommandInfo {
                value: Some("test -f flag".into()),
                ..Default::default()
            },
        }),
        delay_seconds: Some(2.0),
        interval_seconds: Some(0.5),
        timeout_seconds: Some(3.0),
        ..Default::default()
    };
    ck.set_type(check_info::Type::Command);
    let mut a = task("a", None);
    a.check = Some(ck);
    let mut tcp = CheckInfo {
        tcp: Some(check_info::Tcp { port: 8080 }),
        ..Default::default()
    };
    tcp.set_type(check_info::Type::Tcp);
    let mut b = task("b", None);
    b.check = Some(tcp);
    let out = e.handle(launch_group(vec![a, b]));
    // Even TASK_STARTING carries the (empty) check status of its type.
    let st = update_status(&out, "a");
    let cs = st.check_status.as_ref().unwrap();
    assert_eq!(cs.r#type(), check_info::Type::Command);
    assert!(cs.command.as_ref().is_some_and(|c| c.exit_code.is_none()));
    let out = e.handle(Input::Launched {
        task_id: "a".into(),
        result: ok(),
    });
    let st = update_status(&out, "a");
    assert_eq!(st.state(), TaskState::TaskRunning);
    assert_eq!(st.reason, None);
    assert!(st.check_status.as_ref().unwrap().command.is_some());
    // The first check is due `delay_seconds` after the start.
    assert!(out.iter().any(|x| matches!(x,
        Action::Timer { after, input: Input::CheckDue { task_id } }
            if *after == Duration::from_secs(2) && task_id == "a")));
    let out_b = e.handle(Input::Launched {
        task_id: "b".into(),
        result: ok(),
    });
    (e, out_b)
}

fn exit_code(code: i32) -> crate::checks::general::CheckResult {
    let mut s = crate::checks::general::empty_status(mesos_proto::mesos::check_info::Type::Command);
    s.command = Some(mesos_proto::mesos::check_status_info::Command {
        exit_code: Some(code),
    });
    Ok(Some(s))
}

/// The check results the updates report: (state, reason, exit code).
fn check_updates(actions: &[Action]) -> Vec<(TaskState, i32, Option<i32>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(c) => c.update.as_ref().map(|u| {
                (
                    u.status.state(),
                    u.status.reason.unwrap_or(-1),
                    u.status
                        .check_status
                        .as_ref()
                        .and_then(|c| c.command.as_ref())
                        .and_then(|c| c.exit_code),
                )
            }),
            _ => None,
        })
        .collect()
}

#[test]
fn command_checks_run_nested_and_report_changes() {
    let (mut e, out_b) = running_with_checks();
    // `b`'s TCP check is due at the default delay (15 s).
    assert!(out_b.iter().any(|x| matches!(x,
        Action::Timer { after, input: Input::CheckDue { task_id } }
            if *after == Duration::from_secs(15) && task_id == "b")));
    let due = || Input::CheckDue {
        task_id: "a".into(),
    };
    let checked = |r, leftover: Option<ContainerId>| Input::Checked {
        task_id: "a".into(),
        result: r,
        leftover,
    };
    let reason = task_status::Reason::TaskCheckStatusUpdated as i32;
    // A COMMAND check: a `check-<uuid>` child of the task's container,
    // started in the task's sandbox, bounded by the timeout.
    let out = e.handle(due());
    let [Action::NestedCheck {
        task_id,
        previous: None,
        check_id,
        launch,
        timeout,
    }] = &out[..]
    else {
        panic!("{out:?}")
    };
    assert_eq!(task_id, "a");
    assert!(check_id.value.starts_with("check-"));
    let task_cid = check_id.parent.as_ref().unwrap();
    assert_eq!(task_cid.parent.as_ref().unwrap().value, "exec-cid");
    assert_eq!(*timeout, Some(Duration::from_secs(3)));
    let l = launch.launch_nested_container.as_ref().unwrap();
    assert_eq!(&l.container_id, check_id);
    let cmd = l.command.as_ref().unwrap();
    assert!(cmd.value.as_ref().unwrap().ends_with("test -f flag"));
    let sandbox = format!("/sandbox/containers/{}", task_cid.value);
    assert!(cmd
        .environment
        .as_ref()
        .unwrap()
        .variables
        .iter()
        .any(|v| v.name == "MESOS_SANDBOX" && v.value.as_deref() == Some(sandbox.as_str())));
    let first = check_id.clone();
    // Exit code 1: a change, reported; the next check `interval` later.
    let out = e.handle(checked(exit_code(1), Some(first.clone())));
    assert_eq!(
        check_updates(&out),
        vec![(TaskState::TaskRunning, reason, Some(1))]
    );
    assert!(out.contains(&Action::Timer {
        after: Duration::from_millis(500),
        input: due()
    }));
    // The next check removes the previous container first.
    let out = e.handle(due());
    assert!(
        matches!(&out[..], [Action::NestedCheck { previous: Some(p), check_id, .. }]
            if *p == first && *check_id != first)
    );
    // The same result again, or a transient failure: no update.
    let out = e.handle(checked(exit_code(1), None));
    assert!(check_updates(&out).is_empty());
    assert!(out.contains(&Action::Timer {
        after: Duration::from_millis(500),
        input: due()
    }));
    assert!(check_updates(&e.handle(checked(Ok(None), None))).is_empty());
    // Exit code 0: reported.
    let out = e.handle(checked(exit_code(0), None));
    assert_eq!(
        check_updates(&out),
        vec![(TaskState::TaskRunning, reason, Some(0))]
    );
    // A timed-out check: the empty status, a change.
    let out = e.handle(checked(Err("Command timed out after 3s".into()), None));
    assert_eq!(
        check_updates(&out),
        vec![(TaskState::TaskRunning, reason, None)]
    );
    let st = update_status(&out, "a");
    assert!(st.check_status.as_ref().unwrap().command.is_some());
    // Killed: no more checks or check updates; the terminal update made
    // from scratch carries the empty status.
    let out = e.handle(Input::Event(Box::new(v1e::Event {
        kill: Some(v1e::event::Kill {
            task_id: TaskId { value: "a".into() },
            kill_policy: None,
        }),
        ..ev(v1e::event::Type::Kill)
    })));
    assert_eq!(kills(&out), vec![libc::SIGTERM]);
    assert!(e.handle(due()).is_empty());
    assert!(check_updates(&e.handle(checked(exit_code(1), None))).is_empty());
    let out = e.handle(exited(15, 1, "a"));
    let st = update_status(&out, "a");
    assert_eq!(st.state(), TaskState::TaskKilled);
    let cs = st.check_status.as_ref().unwrap();
    assert!(cs.command.as_ref().is_some_and(|c| c.exit_code.is_none()));
}

#[test]
fn check_updates_keep_the_last_health_and_checks_pause_while_disconnected() {
    let (mut e, _) = running_with_checks();
    let due = || Input::CheckDue {
        task_id: "b".into(),
    };
    // `b`'s TCP check runs in the executor.
    let out = e.handle(due());
    assert!(matches!(&out[..], [Action::Check { task_id, .. }] if task_id == "b"));
    let mut tcp = crate::checks::general::empty_status(mesos_proto::mesos::check_info::Type::Tcp);
    tcp.tcp = Some(mesos_proto::mesos::check_status_info::Tcp {
        succeeded: Some(false),
    });
    let out = e.handle(Input::Checked {
        task_id: "b".into(),
        result: Ok(Some(tcp)),
        leftover: None,
    });
    let st = update_status(&out, "b");
    assert_eq!(
        st.check_status
            .as_ref()
            .unwrap()
            .tcp
            .as_ref()
            .unwrap()
            .succeeded,
        Some(false)
    );
    // The update is a copy of the last one: same container status.
    assert!(st.container_status.is_some());
    // Disconnected: a due check pauses, a late result is ignored.
    e.handle(Input::Disconnected);
    assert!(e.handle(due()).is_empty());
    tcp.tcp = Some(mesos_proto::mesos::check_status_info::Tcp {
        succeeded: Some(true),
    });
    assert!(e
        .handle(Input::Checked {
            task_id: "b".into(),
            result: Ok(Some(tcp)),
            leftover: None,
        })
        .is_empty());
    // Resubscribed: the paused check runs right away.
    let out = e.handle(subscribed(false));
    assert!(out.contains(&Action::Timer {
        after: Duration::ZERO,
        input: due()
    }));
}

#[test]
fn an_invalid_check_shuts_the_default_executor_down() {
    use mesos_proto::mesos::v1::{check_info, CheckInfo};
    let mut e = executor();
    e.start();
    e.handle(subscribed(false));
    let mut bad = CheckInfo::default();
    bad.set_type(check_info::Type::Http);
    let mut a = task("a", None);
    a.check = Some(bad);
    e.handle(launch_group(vec![a]));
    let out = e.handle(Input::Launched {
        task_id: "a".into(),
        result: ok(),
    });
    assert_eq!(kills(&out), vec![libc::SIGTERM]);
    assert!(!out.iter().any(|x| matches!(
        x,
        Action::Timer {
            input: Input::CheckDue { .. },
            ..
        }
    )));
}
