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

use common::executor_cluster::{Cluster, Peers};
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
    res, hport = small_resources(o)
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
                decline(framework_id, o); continue
            launch(framework_id, o, task_for(o), group=scenario.startswith("group-"))
            launched = True
    elif t == "UPDATE":
        st = ev["update"]["status"]
        log("UPDATE", json.dumps({k: st.get(k) for k in ("state", "healthy", "reason", "message")}))
        acknowledge(framework_id, st)
        if "failing" not in scenario and not killed and st.get("healthy") is True:
            killed = True
            call({"type": "KILL", "framework_id": framework_id, "kill": {"task_id": st["task_id"]}})
        if st["state"] in TERMINAL:
            log("DONE"); os._exit(0)
"#;

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
    let c = Cluster::start(scenario, agent_args, Peers::Ours);
    let (code, updates) = c.run(SCHEDULER, scenario);
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
    let c = Cluster::start("failing", agent_args, Peers::Ours);
    check_failing(&c, "failing");
}

fn check_failing(c: &Cluster, scenario: &str) {
    let (code, updates) = c.run(SCHEDULER, scenario);
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
    let c = Cluster::start("group", &[], Peers::Ours);
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
    if common::kit_dir().is_none() {
        return;
    }
    if !common::python_present() {
        return;
    }
    let c = Cluster::start("realagent", &[], Peers::RealAgent);
    check_failing(&c, "failing");
}
