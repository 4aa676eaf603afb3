//! Task groups end to end: a v1 HTTP scheduler (a small Python client in
//! this file) sends ACCEPT with LAUNCH_GROUP to OUR `mesos-master`; OUR
//! `mesos-agent` starts `mesos-default-executor`, which runs each task in a
//! nested container through the agent's `/api/v1` (upstream
//! src/tests/default_executor_tests.cpp: `TaskRunning`, `KillTask`,
//! `TaskUsesExecutor`, `KillTaskGroupOnTaskFailure`).
//!
//! - `group_of_two_tasks_finishes`: both tasks reach TASK_FINISHED (after
//!   STARTING and RUNNING), the tasks show in `/master/state` and under the
//!   default executor in the agent's `/state`, each task's sandbox is a
//!   nested container sandbox linked from `tasks/<id>`.
//! - `failed_task_kills_the_rest_of_its_group`: one task exits 3, the other
//!   is killed (TASK_FAILED "Command exited with status 3", TASK_KILLED).
//! - `killing_a_task_kills_the_group`: KILL of one task ends both as
//!   TASK_KILLED, with TASK_KILLING first (TASK_KILLING_STATE capability)
//!   and the kill policy's grace period honoured for a task ignoring SIGTERM.
//! - `nested_container_calls_over_the_operator_api`: the operator API
//!   directly: LAUNCH/WAIT/KILL/REMOVE_NESTED_CONTAINER and the 1.9
//!   LAUNCH_CONTAINER/WAIT_CONTAINER forms, with upstream's errors.
//! - `invalid_group_executor_is_rejected_by_the_master`: TASK_ERROR /
//!   REASON_TASK_GROUP_INVALID with upstream's messages.
//! - `task_group_survives_agent_restart`: checkpointed nested containers are
//!   re-adopted by a restarted agent and still killed as a group.
//! - `teardown_shuts_the_default_executor_down`: SHUTDOWN kills every task.
//! - `http_command_executor_runs_command_tasks`: `--http_command_executor`.
//! - `real_master_runs_task_groups_on_our_agent`,
//!   `our_default_executor_on_the_real_agent`: interop with the real 1.9.0
//!   master and agent of the reference kit (skipped without it).
//!
//! Needs `python3` (stdlib only); no root.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{
    free_port, http_get, http_post_json, start_master, v1_scheduler, wait_until, Guard, MasterKind,
};
use serde_json::{json, Value};

/// A v1 scheduler: subscribes, launches one task group on the first offer,
/// acknowledges every update, prints `STATUS <task> <state> <message>` and
/// exits once every task is terminal. Scenario via argv.
const SCHEDULER: &str = r#"
from v1_scheduler import *
if scenario == "finish":
    cmds = {"a": "echo hello-$MESOS_SANDBOX > out; sleep 1", "b": "sleep 1; exit 0"}
elif scenario == "command":
    cmds = {"a": "echo from-$MESOS_EXECUTOR_ID > out; exit 0", "b": "sleep 0.5; exit 2"}
elif scenario == "fail":
    cmds = {"a": "sleep 1; exit 3", "b": "sleep 1000"}
elif scenario in ("hold", "notype", "smallexec", "ckpt", "teardown"):
    cmds = {"a": "sleep 1000", "b": "sleep 1000"}
else:
    cmds = {"a": "sleep 1000", "b": "trap 'echo got-term' TERM; while true; do sleep 0.1; done"}
caps = [{"type": "MULTI_ROLE"}]
if scenario == "kill": caps.append({"type": "TASK_KILLING_STATE"})
resp = subscribe({"user": "root", "name": "task-group-test", "roles": ["*"], "capabilities": caps,
                  "checkpoint": scenario == "ckpt", "failover_timeout": 600})
launched = False; states = {}; running = set(); killed = False
def res(o, cpus, mem, disk):
    out = []
    for r in o["resources"]:
        want = {"cpus": cpus, "mem": mem, "disk": disk}.get(r["name"])
        if want:
            r = dict(r); r["scalar"] = {"value": want}; out.append(r)
    return out
for ev in events(resp):
    t = ev["type"]
    if t == "SUBSCRIBED":
        framework_id = ev["subscribed"]["framework_id"]; log("FRAMEWORK", framework_id["value"])
    elif t == "OFFERS":
        for o in ev["offers"]["offers"]:
            if launched:
                decline(framework_id, o); continue
            executor = {"type": "DEFAULT", "executor_id": {"value": "default-exec"}, "framework_id": framework_id,
                        "resources": res(o, 0.1, 32, 32)}
            if scenario == "notype": del executor["type"]
            if scenario == "smallexec": executor["resources"] = res(o, 0.1, 16, 32)
            tasks = []
            for tid in ["a", "b"]:
                task = {"name": "task-" + tid, "task_id": {"value": tid}, "agent_id": o["agent_id"],
                        "resources": res(o, 0.1, 32, 0), "command": {"shell": True, "value": cmds[tid]}}
                if scenario == "kill" and tid == "b":
                    task["kill_policy"] = {"grace_period": {"nanoseconds": 1500000000}}
                tasks.append(task)
            op = {"type": "LAUNCH_GROUP", "launch_group": {"executor": executor, "task_group": {"tasks": tasks}}}
            if scenario == "command":
                op = {"type": "LAUNCH", "launch": {"task_infos": tasks}}
            call({"type": "ACCEPT", "framework_id": framework_id, "accept": {"offer_ids": [o["id"]],
                  "operations": [op]}})
            launched = True
    elif t == "UPDATE":
        st = ev["update"]["status"]
        tid = st["task_id"]["value"]; state = st["state"]
        log("STATUS", tid, state, st.get("message", ""))
        if st.get("reason"): log("REASON", tid, st["reason"])
        states[tid] = state
        acknowledge(framework_id, st)
        if state == "TASK_RUNNING": running.add(tid)
        if scenario == "teardown" and running >= {"a", "b"}:
            log("TEARDOWN", call({"type": "TEARDOWN", "framework_id": framework_id}))
            os._exit(0)
        if scenario == "ckpt" and not killed and running >= {"a", "b"}:
            killed = True; log("BOTH_RUNNING")
            def kill_on_trigger():
                while not os.path.exists(os.environ["TRIGGER"]): time.sleep(0.1)
                log("KILLING a")
                call({"type": "KILL", "framework_id": framework_id, "kill": {"task_id": {"value": "a"}}})
            threading.Thread(target=kill_on_trigger, daemon=True).start()
        if scenario == "kill" and not killed and running >= {"a", "b"}:
            time.sleep(0.5)
            killed = True; log("KILLING a")
            call({"type": "KILL", "framework_id": framework_id, "kill": {"task_id": {"value": "a"}}})
        if len(states) == 2 and all(s in ("TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR", "TASK_DROPPED") for s in states.values()):
            log("DONE")
            if scenario == "finish": time.sleep(float(os.environ.get("LINGER", "0")))
            os._exit(0)
"#;

struct Cluster {
    dir: PathBuf,
    master_port: u16,
    agent_port: u16,
    _master: Guard,
    agent: Guard,
    agent_args: Vec<String>,
    /// The kit's agent keeps its runtime dir in /tmp/mesos-ref-agent-<port>.
    real_agent: bool,
}

/// Our `mesos-agent`, its log appended to `agent.log`.
fn spawn_our_agent(
    dir: &Path,
    master_port: u16,
    agent_port: u16,
    agent_args: &[&str],
) -> std::process::Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("agent.log"))
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_mesos-agent"))
        .arg(format!("--master=127.0.0.1:{master_port}"))
        .arg(format!("--work_dir={}", dir.join("work").display()))
        .arg(format!("--runtime_dir={}", dir.join("runtime").display()))
        .arg(format!("--port={agent_port}"))
        .arg("--ip=127.0.0.1")
        .arg("--resources=cpus:2;mem:1024;disk:1024")
        .args(agent_args)
        .env_remove("MESOS_WORK_DIR")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start mesos-agent")
}

impl Drop for Cluster {
    fn drop(&mut self) {
        common::kill_processes_under(&self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
        if self.real_agent {
            let _ = std::fs::remove_dir_all(
                std::env::temp_dir().join(format!("mesos-ref-agent-{}", self.agent_port)),
            );
        }
    }
}

impl Cluster {
    fn start(name: &str) -> Cluster {
        Cluster::start_with(name, None, false, &[])
    }

    /// With `kit` (the real 1.9.0 kit's `bin/`): the real master, and with
    /// `real_agent` also the real agent, whose launcher dir makes it run
    /// OUR `mesos-default-executor` (the kit's other helpers beside it).
    fn start_with(
        name: &str,
        kit: Option<&Path>,
        real_agent: bool,
        agent_args: &[&str],
    ) -> Cluster {
        let dir = std::env::temp_dir().join(format!(
            "task-groups-{name}-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let (master_port, agent_port) = (free_port(), free_port());
        let log = |n: &str| std::fs::File::create(dir.join(n)).unwrap();
        let local = kit.map(|bin| bin.join("mesos-ref-local"));
        let kind = local.as_deref().map_or(MasterKind::Ours, MasterKind::Real);
        let master = start_master(kind, master_port, &dir, &[]);
        let agent = match kit.filter(|_| real_agent) {
            Some(bin) => {
                let ld = dir.join("launcher");
                std::fs::create_dir_all(&ld).unwrap();
                for b in ["mesos-containerizer", "mesos-executor", "mesos-fetcher"] {
                    std::os::unix::fs::symlink(bin.join(b), ld.join(b)).unwrap();
                }
                std::os::unix::fs::symlink(
                    env!("CARGO_BIN_EXE_mesos-default-executor"),
                    ld.join("mesos-default-executor"),
                )
                .unwrap();
                Command::new(bin.join("mesos-ref-agent"))
                    .arg(format!("127.0.0.1:{master_port}"))
                    .arg(format!("--port={agent_port}"))
                    .arg(format!("--work_dir={}", dir.join("work").display()))
                    .env("MESOS_LAUNCHER_DIR", &ld)
                    .stdout(Stdio::null())
                    .stderr(log("agent.log"))
                    .spawn()
                    .expect("start mesos-ref-agent")
            }
            None => spawn_our_agent(&dir, master_port, agent_port, agent_args),
        };
        let agent = Guard(Some(agent));
        let c = Cluster {
            dir,
            master_port,
            agent_port,
            _master: master,
            agent,
            agent_args: agent_args.iter().map(|a| a.to_string()).collect(),
            real_agent: kit.is_some() && real_agent,
        };
        assert!(
            wait_until(Duration::from_secs(30), || {
                let (_, b) = http_get(c.master_port, "/master/slaves")?;
                let v: Value = serde_json::from_str(&b).ok()?;
                (v["slaves"].as_array()?.len() == 1).then_some(())
            })
            .is_some(),
            "agent did not register:\n{}",
            c.log("agent.log")
        );
        c
    }

    /// SIGKILLs our agent and starts it again on the same work dir.
    fn restart_agent(&mut self) {
        if let Some(mut c) = self.agent.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let args: Vec<&str> = self.agent_args.iter().map(String::as_str).collect();
        self.agent = Guard(Some(spawn_our_agent(
            &self.dir,
            self.master_port,
            self.agent_port,
            &args,
        )));
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }

    /// Starts the scheduler for `scenario`; its output goes to
    /// `scheduler.log`.
    fn scheduler(&self, scenario: &str, linger: u32) -> Guard {
        let log = std::fs::File::create(self.dir.join("scheduler.log")).unwrap();
        Guard(Some(
            v1_scheduler(SCHEDULER, self.master_port, scenario, 60)
                .env("LINGER", linger.to_string())
                .env("TRIGGER", self.dir.join("trigger"))
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start python3"),
        ))
    }

    /// Waits for the scheduler to exit; its exit code and output.
    fn finish(&self, mut g: Guard) -> (Option<i32>, String) {
        let code = g.wait_exit(Duration::from_secs(90));
        (code, self.log("scheduler.log"))
    }

    fn diagnostics(&self) -> String {
        format!(
            "scheduler:\n{}\nagent:\n{}\nmaster:\n{}",
            self.log("scheduler.log"),
            tail(&self.log("agent.log"), 80),
            tail(&self.log("master.log"), 40)
        )
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The `STATUS` lines of one task: (state, message).
fn statuses(out: &str, task: &str) -> Vec<(String, String)> {
    out.lines()
        .filter_map(|l| {
            let mut it = l.splitn(4, ' ');
            (it.next()? == "STATUS" && it.next()? == task).then(|| {
                (
                    it.next().unwrap_or("").to_string(),
                    it.next().unwrap_or("").to_string(),
                )
            })
        })
        .collect()
}

fn states(out: &str, task: &str) -> Vec<String> {
    statuses(out, task).into_iter().map(|s| s.0).collect()
}

#[test]
fn group_of_two_tasks_finishes() {
    if !common::python_present() {
        return;
    }
    let c = Cluster::start("finish");
    // The scheduler lingers after DONE (killed by its guard at the end),
    // so the framework stays connected while the cluster's views are read.
    let _g = c.scheduler("finish", 60);
    // While the scheduler lingers after DONE, the cluster's views hold.
    let out = wait_until(Duration::from_secs(60), || {
        let out = c.log("scheduler.log");
        (out.contains("DONE") || out.contains("TIMEOUT") || out.contains("closed")).then_some(out)
    })
    .unwrap_or_default();
    let d = c.diagnostics();
    for t in ["a", "b"] {
        assert_eq!(
            states(&out, t),
            ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"],
            "task {t}\n{d}"
        );
    }
    assert_eq!(statuses(&out, "a")[2].1, "Command exited with status 0");

    // The master shows both tasks, with the default executor's id.
    let v = wait_until(Duration::from_secs(20), || {
        let (_, b) = http_get(c.master_port, "/master/state")?;
        let v: Value = serde_json::from_str(&b).ok()?;
        let fw = v["frameworks"].as_array()?.first()?.clone();
        let done: Vec<Value> = fw["completed_tasks"].as_array()?.clone();
        let all: Vec<Value> = fw["tasks"]
            .as_array()?
            .iter()
            .chain(done.iter())
            .cloned()
            .collect();
        (all.len() == 2
            && all
                .iter()
                .all(|t| t["state"] == "TASK_FINISHED" && t["executor_id"] == "default-exec"))
        .then_some(all)
    });
    assert!(
        v.is_some(),
        "master state: {}\n{d}",
        http_get(c.master_port, "/master/state")
            .unwrap_or_default()
            .1
    );

    // The agent lists the tasks under the default executor.
    let state = wait_until(Duration::from_secs(20), || {
        let (_, b) = http_get(c.agent_port, "/state")?;
        let v: Value = serde_json::from_str(&b).ok()?;
        let fw = v["frameworks"]
            .as_array()
            .into_iter()
            .chain(v["completed_frameworks"].as_array())
            .flatten()
            .next()?
            .clone();
        let e = fw["executors"]
            .as_array()
            .into_iter()
            .chain(fw["completed_executors"].as_array())
            .flatten()
            .find(|e| e["id"] == "default-exec")?
            .clone();
        let n = e["tasks"].as_array()?.len() + e["completed_tasks"].as_array()?.len();
        (n == 2).then_some(e)
    })
    .unwrap_or_else(|| {
        panic!(
            "agent state: {}\n{d}",
            http_get(c.agent_port, "/state").unwrap_or_default().1
        )
    });
    let sandbox = PathBuf::from(state["directory"].as_str().unwrap());
    // tasks/a links to the nested container's sandbox, where the task ran
    // with MESOS_SANDBOX pointing at it.
    let link = sandbox.join("tasks/a");
    let target = std::fs::read_link(&link).expect("tasks/a symlink");
    assert!(target.starts_with(sandbox.join("containers")), "{target:?}");
    let written = std::fs::read_to_string(target.join("out")).unwrap_or_default();
    assert_eq!(written.trim(), format!("hello-{}", target.display()), "{d}");
}

#[test]
fn failed_task_kills_the_rest_of_its_group() {
    if !common::python_present() {
        return;
    }
    let c = Cluster::start("fail");
    check_fail(&c);
    // No TASK_KILLING: the framework lacks TASK_KILLING_STATE.
    let out = c.log("scheduler.log");
    assert!(!states(&out, "b").contains(&"TASK_KILLING".to_string()));
}

#[test]
fn killing_a_task_kills_the_group() {
    if !common::python_present() {
        return;
    }
    let c = Cluster::start("kill");
    check_kill(&c);
    let agent = c.log("agent.log");
    assert!(agent.contains("Sending SIGTERM"), "{}", c.diagnostics());
    assert!(agent.contains("Sending SIGKILL"), "{}", c.diagnostics());
}

fn check_kill(c: &Cluster) {
    let (code, out) = c.finish(c.scheduler("kill", 0));
    let d = c.diagnostics();
    assert_eq!(code, Some(0), "{d}");
    assert_eq!(
        states(&out, "a"),
        [
            "TASK_STARTING",
            "TASK_RUNNING",
            "TASK_KILLING",
            "TASK_KILLED"
        ],
        "{d}"
    );
    // b ignores SIGTERM; the executor's SIGKILL after the grace period
    // ends it.
    assert_eq!(
        states(&out, "b").last().map(String::as_str),
        Some("TASK_KILLED"),
        "{d}"
    );
    assert!(
        states(&out, "b").contains(&"TASK_KILLING".to_string()),
        "{d}"
    );
}

fn check_fail(c: &Cluster) {
    let (code, out) = c.finish(c.scheduler("fail", 0));
    let d = c.diagnostics();
    assert_eq!(code, Some(0), "{d}");
    assert_eq!(
        statuses(&out, "a").last().cloned(),
        Some((
            "TASK_FAILED".to_string(),
            "Command exited with status 3".to_string()
        )),
        "{d}"
    );
    assert_eq!(
        states(&out, "b").last().map(String::as_str),
        Some("TASK_KILLED"),
        "{d}"
    );
}

/// Interop: the real 1.9.0 master's RunTaskGroupMessage on OUR agent, with
/// the kit's v1 scheduler and ours.
#[test]
fn real_master_runs_task_groups_on_our_agent() {
    let Some(bin) = common::kit_dir() else { return };
    if !common::python_present() {
        return;
    }
    let c = Cluster::start_with("realmaster", Some(&bin), false, &[]);
    let log = std::fs::File::create(c.dir.join("ref-scheduler.log")).unwrap();
    let st = Command::new(bin.join("ref-v1-scheduler"))
        .arg(format!("127.0.0.1:{}", c.master_port))
        .arg("echo grouped")
        .arg("60")
        .arg("--group")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .status()
        .expect("ref-v1-scheduler");
    assert!(
        st.success(),
        "{}\n{}",
        c.log("ref-scheduler.log"),
        c.diagnostics()
    );
    check_fail(&c);
}

/// Interop: OUR default executor on the real 1.9.0 agent (its executor API
/// and nested container calls are upstream's own code).
#[test]
fn our_default_executor_on_the_real_agent() {
    let Some(bin) = common::kit_dir() else { return };
    if !common::python_present() {
        return;
    }
    let c = Cluster::start_with("realagent", Some(&bin), true, &[]);
    check_fail(&c);
    check_kill(&c);
    let agent = c.log("agent.log");
    assert!(
        agent.contains("Processing LAUNCH_NESTED_CONTAINER call")
            && agent.contains("Processing KILL_NESTED_CONTAINER call"),
        "{}",
        c.diagnostics()
    );
}

/// The master validates the group's executor as upstream
/// (`validation::task::group::validate`): TASK_ERROR with
/// REASON_TASK_GROUP_INVALID for every task of the group.
#[test]
fn invalid_group_executor_is_rejected_by_the_master() {
    if !common::python_present() {
        return;
    }
    let c = Cluster::start("invalid");
    for (scenario, message) in [
        ("notype", "'ExecutorInfo.type' must be set"),
        (
            "smallexec",
            "Executor 'default-exec' uses less memory (16MB) than the minimum required (32MB)",
        ),
    ] {
        let (code, out) = c.finish(c.scheduler(scenario, 0));
        assert_eq!(code, Some(0), "{scenario}: {}", c.diagnostics());
        for t in ["a", "b"] {
            assert_eq!(
                statuses(&out, t),
                [("TASK_ERROR".to_string(), message.to_string())],
                "{scenario}: {out}"
            );
            assert!(
                out.contains(&format!("REASON {t} REASON_TASK_GROUP_INVALID")),
                "{out}"
            );
        }
    }
}

/// The nested container calls directly: upstream's errors first, then
/// under a live default executor's container.
#[test]
fn nested_container_calls_over_the_operator_api() {
    let c = Cluster::start("api");
    let post = |body: Value| http_post_json(c.agent_port, "/api/v1", &body.to_string()).unwrap();
    // Validation errors are 400 with upstream's reasons.
    let (s, b) = post(json!({"type": "LAUNCH_NESTED_CONTAINER"}));
    assert_eq!(
        (s, b.as_str()),
        (400, "Expecting 'launch_nested_container' to be present")
    );
    let (s, b) = post(json!({"type": "WAIT_NESTED_CONTAINER",
        "wait_nested_container": {"container_id": {"value": "x"}}}));
    assert_eq!(
        (s, b.as_str()),
        (
            400,
            "Expecting 'wait_nested_container.container_id.parent' to be present"
        )
    );
    let (s, b) = post(json!({"type": "KILL_NESTED_CONTAINER",
        "kill_nested_container": {"container_id": {"value": "a.b", "parent": {"value": "p"}}}}));
    assert_eq!(s, 400);
    assert!(b.contains("contains invalid characters"), "{b}");
    // Unknown parent / container.
    let (s, b) = post(
        json!({"type": "LAUNCH_NESTED_CONTAINER", "launch_nested_container": {
        "container_id": {"value": "child", "parent": {"value": "nope"}},
        "command": {"value": "true"}}}),
    );
    assert_eq!(
        (s, b.as_str()),
        (400, "Parent container nope does not exist")
    );
    let (s, _) = post(json!({"type": "WAIT_CONTAINER",
        "wait_container": {"container_id": {"value": "child", "parent": {"value": "nope"}}}}));
    assert_eq!(s, 404);
    let (s, b) = post(json!({"type": "KILL_NESTED_CONTAINER",
        "kill_nested_container": {"container_id": {"value": "child", "parent": {"value": "nope"}}}}));
    assert_eq!(s, 404);
    assert_eq!(
        b,
        "Container 'nope.child' cannot be found (or is already killed)"
    );
    let (s, _) = post(json!({"type": "REMOVE_NESTED_CONTAINER",
        "remove_nested_container": {"container_id": {"value": "child", "parent": {"value": "nope"}}}}));
    assert_eq!(s, 400);
    // Standalone containers are refused clearly.
    let (s, _) = post(json!({"type": "LAUNCH_CONTAINER",
        "launch_container": {"container_id": {"value": "standalone"}}}));
    assert_eq!(s, 501);

    if !common::python_present() {
        return;
    }
    // A live default executor to nest under.
    let _sched = c.scheduler("hold", 0);
    let (parent, sandbox) = wait_until(Duration::from_secs(60), || {
        let (_, b) = http_get(c.agent_port, "/state")?;
        let v: Value = serde_json::from_str(&b).ok()?;
        let e = v["frameworks"][0]["executors"]
            .as_array()?
            .iter()
            .find(|e| {
                e["id"] == "default-exec"
                    && e["tasks"].as_array().is_some_and(|t| {
                        t.len() == 2 && t.iter().all(|t| t["state"] == "TASK_RUNNING")
                    })
            })?
            .clone();
        assert_eq!(e["type"], "DEFAULT");
        Some((
            e["container"].as_str()?.to_string(),
            PathBuf::from(e["directory"].as_str()?),
        ))
    })
    .unwrap_or_else(|| panic!("{}", c.diagnostics()));
    let id = |v: &str| json!({"value": v, "parent": {"value": parent}});
    let launch = json!({"type": "LAUNCH_NESTED_CONTAINER", "launch_nested_container": {
        "container_id": id("probe"),
        "command": {"value": "echo $MESOS_SANDBOX $FOO > seen; exit 7",
                    "environment": {"variables": [{"name": "FOO", "value": "bar"}]}}}});
    let (s, b) = post(launch.clone());
    assert_eq!(s, 200, "{b}\n{}", c.diagnostics());
    let (s, b) = post(json!({"type": "WAIT_NESTED_CONTAINER",
        "wait_nested_container": {"container_id": id("probe")}}));
    assert_eq!(s, 200, "{b}");
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["type"], "WAIT_NESTED_CONTAINER");
    assert_eq!(v["wait_nested_container"]["exit_status"], 7 << 8);
    let probe = sandbox.join("containers/probe");
    assert_eq!(
        std::fs::read_to_string(probe.join("seen")).unwrap().trim(),
        format!("{} bar", probe.display())
    );
    // The 1.9 form answers WAIT_CONTAINER, and keeps answering until REMOVE.
    let (s, b) = post(json!({"type": "WAIT_CONTAINER",
        "wait_container": {"container_id": id("probe")}}));
    assert_eq!(s, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&b).unwrap()["wait_container"]["exit_status"],
        7 << 8
    );
    let (s, _) = post(json!({"type": "REMOVE_CONTAINER",
        "remove_container": {"container_id": id("probe")}}));
    assert_eq!(s, 200);
    assert!(!probe.exists());
    let (s, _) = post(json!({"type": "WAIT_NESTED_CONTAINER",
        "wait_nested_container": {"container_id": id("probe")}}));
    assert_eq!(s, 404);

    // A long-running one: a second LAUNCH is 202, REMOVE before it ends is
    // refused, KILL with a signal ends it.
    let sleeper = json!({"type": "LAUNCH_CONTAINER", "launch_container": {
        "container_id": id("sleeper"), "command": {"value": "sleep 1000"}}});
    assert_eq!(post(sleeper.clone()).0, 200);
    assert_eq!(post(sleeper).0, 202);
    let (s, b) = post(json!({"type": "REMOVE_NESTED_CONTAINER",
        "remove_nested_container": {"container_id": id("sleeper")}}));
    assert_eq!(
        (s, b.as_str()),
        (400, "Nested container has not terminated yet")
    );
    let (s, _) = post(json!({"type": "KILL_CONTAINER",
        "kill_container": {"container_id": id("sleeper"), "signal": 15}}));
    assert_eq!(s, 200);
    let (s, b) = post(json!({"type": "WAIT_CONTAINER",
        "wait_container": {"container_id": id("sleeper")}}));
    assert_eq!(s, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&b).unwrap()["wait_container"]["exit_status"],
        15
    );
}

/// `--http_command_executor`: command tasks run by `mesos-executor` over
/// the v1 executor HTTP API (upstream `MESOS_HTTP_COMMAND_EXECUTOR=1`).
#[test]
fn http_command_executor_runs_command_tasks() {
    if !common::python_present() {
        return;
    }
    let c = Cluster::start_with("httpcmd", None, false, &["--http_command_executor"]);
    let (code, out) = c.finish(c.scheduler("command", 0));
    let d = c.diagnostics();
    assert_eq!(code, Some(0), "{d}");
    assert_eq!(
        states(&out, "a"),
        ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"],
        "{d}"
    );
    assert_eq!(
        statuses(&out, "b").last().cloned(),
        Some((
            "TASK_FAILED".to_string(),
            "Command exited with status 2".to_string()
        )),
        "{d}"
    );
    let agent = c.log("agent.log");
    assert!(
        agent.contains("Received SUBSCRIBE call from HTTP executor 'a'")
            && agent.contains("Received SUBSCRIBE call from HTTP executor 'b'"),
        "{d}"
    );
    // The task ran in the executor's sandbox with the executor's
    // environment.
    let sandbox = wait_until(Duration::from_secs(10), || {
        let mut found = None;
        for e in walk(&c.dir.join("work")) {
            if e.ends_with("out") && e.to_string_lossy().contains("/executors/a/") {
                found = Some(e);
            }
        }
        found
    })
    .expect("task a's output file");
    assert_eq!(std::fs::read_to_string(sandbox).unwrap().trim(), "from-a");
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => todo.push(p),
                Ok(t) if t.is_file() => out.push(p),
                _ => {}
            }
        }
    }
    out
}

/// `DefaultExecutorTest.ROOT_ContainerStatusForTask`-like recovery: a
/// checkpointing framework's task group survives an agent restart (SIGKILL):
/// the executor resubscribes, the agent re-adopts the nested containers
/// from its checkpoints, and a KILL after the restart still kills the
/// group (TASK_KILLED for both, no process left behind).
#[test]
fn task_group_survives_agent_restart() {
    if !common::python_present() {
        return;
    }
    let mut c = Cluster::start("restart");
    let g = c.scheduler("ckpt", 0);
    assert!(
        wait_until(Duration::from_secs(30), || c
            .log("scheduler.log")
            .contains("BOTH_RUNNING")
            .then_some(()))
        .is_some(),
        "{}",
        c.diagnostics()
    );
    c.restart_agent();
    assert!(
        wait_until(Duration::from_secs(30), || {
            let log = c.log("agent.log");
            (log.matches("Received SUBSCRIBE call from HTTP executor 'default-exec'")
                .count()
                >= 2
                && log.matches("Recovered nested container").count() == 2
                && log.contains("Re-registered with master"))
            .then_some(())
        })
        .is_some(),
        "{}",
        c.diagnostics()
    );
    // (A KILL while the agent is disconnected is dropped by the master, as
    // upstream: kill once the agent is back.)
    std::fs::write(c.dir.join("trigger"), "").unwrap();
    let (code, out) = c.finish(g);
    let d = c.diagnostics();
    assert_eq!(code, Some(0), "{d}");
    for t in ["a", "b"] {
        assert_eq!(
            states(&out, t).last().map(String::as_str),
            Some("TASK_KILLED"),
            "task {t}: {d}"
        );
    }
    assert!(
        wait_until(Duration::from_secs(10), || {
            let left = common::pids_under(&c.dir.join("work"));
            left.is_empty().then_some(())
        })
        .is_some(),
        "processes left in the sandboxes: {:?}",
        common::pids_under(&c.dir.join("work"))
    );
}

/// TEARDOWN: the agent sends SHUTDOWN to the default executor, which kills
/// every task (SIGTERM through KILL_NESTED_CONTAINER) and exits; nothing is
/// left running and the executor is completed. (The tasks' last updates are
/// dropped by the agent for the terminating framework, as upstream.)
#[test]
fn teardown_shuts_the_default_executor_down() {
    if !common::python_present() {
        return;
    }
    let c = Cluster::start("teardown");
    let (code, out) = c.finish(c.scheduler("teardown", 0));
    let d = c.diagnostics();
    assert_eq!(code, Some(0), "{d}");
    assert!(out.contains("TEARDOWN 202"), "{d}");
    wait_until(Duration::from_secs(20), || {
        let (_, b) = http_get(c.agent_port, "/state")?;
        let v: Value = serde_json::from_str(&b).ok()?;
        let fw = v["completed_frameworks"].as_array()?.first()?.clone();
        let e = fw["completed_executors"].as_array()?.first()?.clone();
        (e["id"] == "default-exec").then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "agent state: {}\n{d}",
            http_get(c.agent_port, "/state").unwrap_or_default().1
        )
    });
    assert!(
        wait_until(Duration::from_secs(10), || common::pids_under(
            &c.dir.join("work")
        )
        .is_empty()
        .then_some(()))
        .is_some(),
        "processes left: {:?}",
        common::pids_under(&c.dir.join("work"))
    );
    assert!(c.log("agent.log").contains("Sending SIGTERM"), "{d}");
}
