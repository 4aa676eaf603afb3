//! Task health checks end to end (upstream src/tests/health_check_tests.cpp:
//! `HealthyTask`, `ConsecutiveFailures`, `HealthyTaskViaHTTP`): a v1 HTTP
//! scheduler (Python, stdlib only) launches one command task with a
//! `health_check` on OUR `mesos-master` + `mesos-agent`; the command
//! executor (`mesos-executor`, both as a driver-based executor and with
//! `--http_command_executor`) runs the checks.
//!
//! - `passing_command_check_reports_healthy`: TASK_RUNNING with
//!   `healthy = true` and REASON_TASK_HEALTH_CHECK_STATUS_UPDATED.
//! - `failing_check_kills_the_task`: healthy first, then a check that
//!   starts failing is reported unhealthy `consecutive_failures` times and
//!   the task ends TASK_KILLED with `healthy = false`.
//! - `http_check_against_the_task_reports_healthy`: the task serves HTTP
//!   (`python3 -m http.server` on a port from the offer); the HTTP check
//!   reports it healthy; `tcp_check_against_the_task_reports_healthy`
//!   likewise with a TCP check.
//! - the same three through `--http_command_executor` (`*_http_executor`).
//! - `failing_check_kills_a_task_of_a_group`: the default executor
//!   (LAUNCH_GROUP), the failing scenario in a nested container.
//!
//! - `our_command_executor_on_the_real_agent`: the real 1.9.0 agent of the
//!   reference kit launches OUR `mesos-executor` (driver protocol) for the
//!   failing scenario (skipped without the kit). The kit's own stand-in
//!   command executor has no health checks, so there is nothing to compare
//!   it with.
//!
//! Needs `python3`; no root.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{free_port, start_master, v1_scheduler, Guard, MasterKind};
use serde_json::Value;

/// Launches one task for the scenario on the first offer, prints every
/// update as `UPDATE <json>`, acknowledges it, kills the task once it is
/// reported healthy (scenarios `command`, `http`) and exits after the
/// terminal update.
const SCHEDULER: &str = r#"
from v1_scheduler import *
resp = subscribe({"user": "root", "name": "health-check-test", "roles": ["*"],
                  "capabilities": [{"type": "MULTI_ROLE"}]})
launched = False; killed = False
def task_for(o):
    res = []; hport = None
    for r in o["resources"]:
        if r["name"] in ("cpus", "mem"):
            r = dict(r); r["scalar"] = {"value": 0.1 if r["name"] == "cpus" else 32}; res.append(r)
        if r["name"] == "ports":
            hport = r["ranges"]["range"][0]["begin"]
            r = dict(r); r["ranges"] = {"range": [{"begin": hport, "end": hport}]}; res.append(r)
    hc = {"delay_seconds": 0, "interval_seconds": 0.3, "timeout_seconds": 5,
          "consecutive_failures": 3, "grace_period_seconds": 30}
    if scenario == "command":
        cmd = "sleep 1000"
        hc.update({"type": "COMMAND", "command": {"value": "test -d \"$MESOS_SANDBOX\""}})
    elif scenario in ("failing", "group-failing"):
        # Healthy while `ok` exists, which the task removes after a while.
        cmd = "touch ok; sleep 4; rm ok; sleep 1000"
        hc.update({"type": "COMMAND", "command": {"value": "test -f ok"}})
    else:
        cmd = "exec python3 -m http.server %d --bind 127.0.0.1" % hport
        if scenario == "tcp":
            hc.update({"type": "TCP", "tcp": {"port": hport}})
        else:
            hc.update({"type": "HTTP", "http": {"port": hport, "path": "/"}})
    return {"name": "hc", "task_id": {"value": "hc"}, "agent_id": o["agent_id"], "resources": res,
            "command": {"shell": True, "value": cmd}, "health_check": hc,
            "kill_policy": {"grace_period": {"nanoseconds": 1000000000}}}
for ev in events(resp):
    t = ev["type"]
    if t == "SUBSCRIBED":
        framework_id = ev["subscribed"]["framework_id"]
    elif t == "OFFERS":
        for o in ev["offers"]["offers"]:
            if launched:
                call({"type": "DECLINE", "framework_id": framework_id, "decline": {"offer_ids": [o["id"]]}}); continue
            op = {"type": "LAUNCH", "launch": {"task_infos": [task_for(o)]}}
            if scenario.startswith("group-"):
                eres = [dict(r, scalar={"value": {"cpus": 0.1, "mem": 32, "disk": 32}[r["name"]]})
                        for r in o["resources"] if r["name"] in ("cpus", "mem", "disk")]
                op = {"type": "LAUNCH_GROUP", "launch_group": {"executor": {
                    "type": "DEFAULT", "executor_id": {"value": "default-exec"},
                    "framework_id": framework_id, "resources": eres},
                    "task_group": {"tasks": [task_for(o)]}}}
            call({"type": "ACCEPT", "framework_id": framework_id, "accept": {"offer_ids": [o["id"]],
                  "operations": [op]}})
            launched = True
    elif t == "UPDATE":
        st = ev["update"]["status"]
        log("UPDATE", json.dumps({k: st.get(k) for k in ("state", "healthy", "reason", "message")}))
        if "uuid" in st:
            call({"type": "ACKNOWLEDGE", "framework_id": framework_id, "acknowledge": {
                  "agent_id": st["agent_id"], "task_id": st["task_id"], "uuid": st["uuid"]}})
        if "failing" not in scenario and not killed and st.get("healthy") is True:
            killed = True
            call({"type": "KILL", "framework_id": framework_id, "kill": {"task_id": st["task_id"]}})
        if st["state"] in TERMINAL:
            log("DONE"); os._exit(0)
"#;

struct Cluster {
    dir: PathBuf,
    master_port: u16,
    _master: Guard,
    _agent: Guard,
    /// The kit's agent keeps its runtime dir in /tmp/mesos-ref-agent-<port>.
    extra_dir: Option<PathBuf>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(d) = &self.extra_dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

impl Cluster {
    fn start(name: &str, agent_args: &[&str]) -> Cluster {
        Cluster::start_with(name, agent_args, None)
    }

    /// With `kit` (the 1.9.0 kit's `bin/`): the real agent, whose launcher
    /// dir holds OUR `mesos-executor` (the kit's other helpers beside it).
    fn start_with(name: &str, agent_args: &[&str], kit: Option<&std::path::Path>) -> Cluster {
        let dir = std::env::temp_dir().join(format!(
            "health-checks-{name}-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let (master_port, agent_port) = (free_port(), free_port());
        let log = |n: &str| std::fs::File::create(dir.join(n)).unwrap();
        let master = start_master(MasterKind::Ours, master_port, &dir, &[]);
        // A port range of its own per test, so parallel tests' tasks do
        // not fight over the HTTP server's port.
        let base = 20000 + (free_port() % 20000);
        let resources = format!(
            "--resources=cpus:2;mem:1024;disk:1024;ports:[{base}-{}]",
            base + 9
        );
        if let Some(bin) = kit {
            let ld = dir.join("launcher");
            std::fs::create_dir_all(&ld).unwrap();
            for b in [
                "mesos-containerizer",
                "mesos-default-executor",
                "mesos-fetcher",
            ] {
                std::os::unix::fs::symlink(bin.join(b), ld.join(b)).unwrap();
            }
            std::os::unix::fs::symlink(
                env!("CARGO_BIN_EXE_mesos-executor"),
                ld.join("mesos-executor"),
            )
            .unwrap();
            let agent = Guard(Some(
                Command::new(bin.join("mesos-ref-agent"))
                    .arg(format!("127.0.0.1:{master_port}"))
                    .arg(format!("--port={agent_port}"))
                    .arg(format!("--work_dir={}", dir.join("work").display()))
                    .arg(&resources)
                    .args(agent_args)
                    .env("MESOS_LAUNCHER_DIR", &ld)
                    .stdout(Stdio::null())
                    .stderr(log("agent.log"))
                    .spawn()
                    .expect("start mesos-ref-agent"),
            ));
            return Cluster {
                dir,
                master_port,
                _master: master,
                _agent: agent,
                extra_dir: Some(std::env::temp_dir().join(format!("mesos-ref-agent-{agent_port}"))),
            };
        }
        let agent = Guard(Some(
            Command::new(env!("CARGO_BIN_EXE_mesos-agent"))
                .arg(format!("--master=127.0.0.1:{master_port}"))
                .arg(format!("--work_dir={}", dir.join("work").display()))
                .arg(format!("--runtime_dir={}", dir.join("runtime").display()))
                .arg(format!("--port={agent_port}"))
                .arg("--ip=127.0.0.1")
                .arg(&resources)
                .args(agent_args)
                .env_remove("MESOS_WORK_DIR")
                .stdout(Stdio::null())
                .stderr(log("agent.log"))
                .spawn()
                .expect("start mesos-agent"),
        ));
        Cluster {
            dir,
            master_port,
            _master: master,
            _agent: agent,
            extra_dir: None,
        }
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }

    /// Runs the scheduler for `scenario` to its end; its exit code and the
    /// updates it saw.
    fn run(&self, scenario: &str) -> (Option<i32>, Vec<Value>) {
        let log = std::fs::File::create(self.dir.join("scheduler.log")).unwrap();
        let mut g = Guard(Some(
            v1_scheduler(SCHEDULER, self.master_port, scenario, 60)
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start python3"),
        ));
        let code = g.wait_exit(Duration::from_secs(90));
        let updates = self
            .log("scheduler.log")
            .lines()
            .filter_map(|l| l.strip_prefix("UPDATE "))
            .filter_map(|j| serde_json::from_str(j).ok())
            .collect();
        (code, updates)
    }

    fn diagnostics(&self) -> String {
        let tail = |s: String, n: usize| {
            let lines: Vec<&str> = s.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        };
        let mut executor = String::new();
        for e in walk(&self.dir.join("work")) {
            if e.ends_with("stderr") {
                executor += &format!(
                    "--- {}\n{}\n",
                    e.display(),
                    tail(std::fs::read_to_string(&e).unwrap_or_default(), 40)
                );
            }
        }
        format!(
            "scheduler:\n{}\nexecutor:\n{executor}\nagent:\n{}",
            self.log("scheduler.log"),
            tail(self.log("agent.log"), 60),
        )
    }
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

const HEALTH_REASON: &str = "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED";

fn is_health_update(u: &Value, healthy: bool) -> bool {
    u["state"] == "TASK_RUNNING" && u["healthy"] == healthy && u["reason"] == HEALTH_REASON
}

/// Scenario `command` or `http`: reported healthy, then killed by the
/// scheduler (so the terminal update does not carry `healthy = false`).
fn healthy_scenario(scenario: &str, agent_args: &[&str]) {
    if !common::python_present() {
        return;
    }
    let c = Cluster::start(scenario, agent_args);
    let (code, updates) = c.run(scenario);
    let d = c.diagnostics();
    assert_eq!(code, Some(0), "{d}");
    let first = updates
        .iter()
        .position(|u| u["healthy"].is_boolean())
        .unwrap_or_else(|| panic!("no health update\n{d}"));
    // The first health update is the healthy one; a plain TASK_RUNNING
    // (without `healthy`) came before it.
    assert!(is_health_update(&updates[first], true), "{d}");
    assert!(
        updates[..first]
            .iter()
            .any(|u| u["state"] == "TASK_RUNNING" && u["healthy"].is_null()),
        "{d}"
    );
    let last = updates.last().unwrap();
    assert_eq!(last["state"], "TASK_KILLED", "{d}");
    assert!(last["healthy"].is_null(), "{d}");
}

fn failing_scenario(agent_args: &[&str]) {
    if !common::python_present() {
        return;
    }
    let c = Cluster::start("failing", agent_args);
    check_failing(&c, "failing");
}

fn check_failing(c: &Cluster, scenario: &str) {
    let (code, updates) = c.run(scenario);
    let d = c.diagnostics();
    assert_eq!(code, Some(0), "{d}");
    let health: Vec<&Value> = updates
        .iter()
        .filter(|u| u["healthy"].is_boolean())
        .collect();
    // Healthy once, then unhealthy `consecutive_failures` (3) times, the
    // third killing the task: the terminal update says unhealthy.
    assert!(health.len() >= 5, "{d}");
    assert!(is_health_update(health[0], true), "{d}");
    for u in &health[1..4] {
        assert!(is_health_update(u, false), "{d}");
    }
    let last = updates.last().unwrap();
    assert_eq!(last["state"], "TASK_KILLED", "{d}");
    assert_eq!(last["healthy"], false, "{d}");
    assert_eq!(*health.last().unwrap(), last, "{d}");
    assert!(
        last["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Command terminated with signal")),
        "{d}"
    );
}

#[test]
fn passing_command_check_reports_healthy() {
    healthy_scenario("command", &[]);
}

#[test]
fn failing_check_kills_the_task() {
    failing_scenario(&[]);
}

#[test]
fn http_check_against_the_task_reports_healthy() {
    healthy_scenario("http", &[]);
}

/// The default executor: the task of a group (a nested container) whose
/// check starts failing is killed, its terminal update unhealthy.
#[test]
fn failing_check_kills_a_task_of_a_group() {
    if !common::python_present() {
        return;
    }
    let c = Cluster::start("group", &[]);
    check_failing(&c, "group-failing");
}

#[test]
fn tcp_check_against_the_task_reports_healthy() {
    healthy_scenario("tcp", &[]);
}

#[test]
fn passing_command_check_reports_healthy_http_executor() {
    healthy_scenario("command", &["--http_command_executor"]);
}

#[test]
fn failing_check_kills_the_task_http_executor() {
    failing_scenario(&["--http_command_executor"]);
}

#[test]
fn http_check_against_the_task_reports_healthy_http_executor() {
    healthy_scenario("http", &["--http_command_executor"]);
}

#[test]
fn our_command_executor_on_the_real_agent() {
    let Some(bin) = common::kit_dir() else { return };
    if !common::python_present() {
        return;
    }
    let c = Cluster::start_with("realagent", &[], Some(&bin));
    check_failing(&c, "failing");
}
