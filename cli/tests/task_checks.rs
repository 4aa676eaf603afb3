//! General task checks (`TaskInfo.check`) end to end (upstream
//! src/tests/check_tests.cpp: `CommandExecutorCheckTest.CommandCheckStatusChange`,
//! `HTTPCheckDelivered`, `TCPCheckDelivered` and the `DefaultExecutorCheckTest`
//! versions): a v1 HTTP scheduler (Python, stdlib only) launches one task
//! with a `check` on OUR `mesos-master` + `mesos-agent` and records every
//! update's `check_status`.
//!
//! - `command`: the check `test -f flag` fails until the task creates
//!   `flag`: TASK_STARTING / TASK_RUNNING carry an empty COMMAND
//!   `check_status`, then TASK_RUNNING updates with
//!   REASON_TASK_CHECK_STATUS_UPDATED say exit code 1, then 0 — once each,
//!   although the check runs every 0.3 s (updates only on change).
//! - `http`: `python3 -m http.server` answers 404 for `/ready` until the
//!   task creates `ready` (after the first 404), then 200; `tcp`: nothing listens for ~3 s
//!   (`succeeded = false`), then the server does (`succeeded = true`).
//! - each through the driver-based command executor, with
//!   `--http_command_executor`, and through the default executor
//!   (`group-*`, LAUNCH_GROUP; its COMMAND check runs in a nested
//!   container).
//! - `our_command_executor_on_the_real_agent`: the real 1.9.0 agent of the
//!   reference kit runs OUR `mesos-executor` for `command`; its updates (as
//!   the real agent forwards them) match the ones from our agent.
//! - `real_master_passes_check_status_through`: the real 1.9.0 master
//!   with our agent, and its validation of an invalid check (same
//!   message as ours).
//!
//! Needs `python3`; no root.

mod common;

use common::executor_cluster::{Cluster, Peers};
use common::http_get;
use serde_json::Value;

/// Launches the scenario's task on the first offer, prints each update as
/// `UPDATE <json>`, acknowledges it, kills the task once its check reports
/// success and exits after the terminal update. Scenario `invalid` sends a
/// check without its `http` field and prints the TASK_ERROR.
const SCHEDULER: &str = r#"
from v1_scheduler import *
resp = subscribe({"user": "root", "name": "check-test", "roles": ["*"],
                  "capabilities": [{"type": "MULTI_ROLE"}]})
fid = None
kind = scenario.split("-")[-1]
launched = False; killed = False
def task_for(o):
    res, hport = small_resources(o)
    check = {"delay_seconds": 0, "interval_seconds": 0.3, "timeout_seconds": 5}
    serve = "exec python3 -m http.server %d --bind 127.0.0.1" % hport
    if kind == "command":
        cmd = "sleep 3; touch flag; sleep 1000"
        check.update({"type": "COMMAND", "command": {"command": {"value": "test -f flag"}}})
    elif kind == "http":
        # `ready` appears once the server has answered a 404 (its log).
        cmd = "(until grep -qs ' 404 ' log; do sleep 0.2; done; touch ready) & " + serve + " 2>log"
        check.update({"type": "HTTP", "http": {"port": hport, "path": "/ready"}})
    elif kind == "tcp":
        cmd = "sleep 3; " + serve
        check.update({"type": "TCP", "tcp": {"port": hport}})
    else:
        cmd = "sleep 1000"; check.update({"type": "HTTP"})
    return {"name": "ck", "task_id": {"value": "ck"}, "agent_id": o["agent_id"], "resources": res,
            "command": {"shell": True, "value": cmd}, "check": check,
            "kill_policy": {"grace_period": {"nanoseconds": 1000000000}}}
def succeeded(cs):
    return (cs.get("command", {}).get("exit_code") == 0 or cs.get("http", {}).get("status_code") == 200
            or cs.get("tcp", {}).get("succeeded") is True)
for ev in events(resp):
    t = ev["type"]
    if t == "SUBSCRIBED":
        fid = ev["subscribed"]["framework_id"]
    elif t == "OFFERS":
        for o in ev["offers"]["offers"]:
            if launched:
                decline(fid, o); continue
            launch(fid, o, task_for(o), group=scenario.startswith("group-"))
            launched = True
    elif t == "UPDATE":
        st = ev["update"]["status"]
        log("UPDATE", json.dumps({k: st.get(k) for k in ("state", "check_status", "reason", "message")}))
        acknowledge(fid, st)
        if not killed and succeeded(st.get("check_status") or {}):
            killed = True
            call({"type": "KILL", "framework_id": fid, "kill": {"task_id": st["task_id"]}})
        if st["state"] in TERMINAL:
            log("DONE"); os._exit(0)
"#;

const CHECK_REASON: &str = "REASON_TASK_CHECK_STATUS_UPDATED";

/// The value a check status reports (`None` while empty).
fn observed(cs: &Value) -> Option<Value> {
    ["command", "http", "tcp"]
        .iter()
        .find_map(|k| cs[*k].as_object().and_then(|o| o.values().next().cloned()))
}

/// The check results the updates reported, in order, after asserting what
/// every scenario shares: each update carries a `check_status` of the
/// check's type; the check updates are TASK_RUNNING with the check reason,
/// each different from the one before; the task ends killed.
fn check_updates(updates: &[Value], check_type: &str, field: &str, d: &str) -> Vec<Value> {
    assert!(updates.len() >= 4, "{d}");
    for u in updates {
        assert_eq!(u["check_status"]["type"], check_type, "{d}");
        assert!(u["check_status"][field].is_object(), "{d}");
    }
    // Before any result: empty statuses on TASK_STARTING and TASK_RUNNING.
    assert_eq!(updates[0]["state"], "TASK_STARTING", "{d}");
    assert_eq!(observed(&updates[0]["check_status"]), None, "{d}");
    assert_eq!(updates[1]["state"], "TASK_RUNNING", "{d}");
    assert!(updates[1]["reason"].is_null(), "{d}");
    assert_eq!(observed(&updates[1]["check_status"]), None, "{d}");
    let checks: Vec<&Value> = updates
        .iter()
        .filter(|u| u["reason"] == CHECK_REASON)
        .collect();
    let mut seen = vec![observed(&updates[1]["check_status"])];
    for u in &checks {
        assert_eq!(u["state"], "TASK_RUNNING", "{d}");
        let v = observed(&u["check_status"]);
        assert_ne!(
            Some(&v),
            seen.last(),
            "a check update without a change\n{d}"
        );
        seen.push(v);
    }
    let last = updates.last().unwrap();
    assert_eq!(last["state"], "TASK_KILLED", "{d}");
    // Terminal updates are made from scratch: an empty status again.
    assert_eq!(observed(&last["check_status"]), None, "{d}");
    seen.into_iter().skip(1).flatten().collect()
}

fn scenario(scenario: &str, agent_args: &[&str], peers: Peers) -> (Cluster, Vec<Value>) {
    let c = Cluster::start(scenario, agent_args, peers);
    let (code, updates) = c.run(SCHEDULER, scenario);
    let d = c.diagnostics();
    assert_eq!(code, Some(0), "{d}");
    let kind = scenario.rsplit('-').next().unwrap();
    let (check_type, field) = match kind {
        "command" => ("COMMAND", "command"),
        "http" => ("HTTP", "http"),
        _ => ("TCP", "tcp"),
    };
    let seen = check_updates(&updates, check_type, field, &d);
    match kind {
        // Exit code 1 while `flag` is missing, then 0: one update each.
        "command" => assert_eq!(seen, vec![Value::from(1), Value::from(0)], "{d}"),
        // 404 until `ready` exists, then 200 (a failed check while the
        // server starts is the empty status: no update of its own).
        "http" => {
            assert_eq!(seen.last(), Some(&Value::from(200)), "{d}");
            assert!(seen.contains(&Value::from(404)), "{d}");
        }
        _ => assert_eq!(seen, vec![Value::from(false), Value::from(true)], "{d}"),
    }
    (c, updates)
}

#[test]
fn command_check_status_changes_are_reported() {
    if common::python_present() {
        let _ = scenario("command", &[], Peers::Ours);
    }
}

#[test]
fn http_check_reports_the_status_code() {
    if common::python_present() {
        let _ = scenario("http", &[], Peers::Ours);
    }
}

#[test]
fn tcp_check_reports_the_connection() {
    if common::python_present() {
        let _ = scenario("tcp", &[], Peers::Ours);
    }
}

#[test]
fn command_check_status_changes_are_reported_http_executor() {
    if common::python_present() {
        let _ = scenario("command", &["--http_command_executor"], Peers::Ours);
    }
}

#[test]
fn http_check_reports_the_status_code_http_executor() {
    if common::python_present() {
        let _ = scenario("http", &["--http_command_executor"], Peers::Ours);
    }
}

#[test]
fn tcp_check_reports_the_connection_http_executor() {
    if common::python_present() {
        let _ = scenario("tcp", &["--http_command_executor"], Peers::Ours);
    }
}

/// The default executor: the COMMAND check runs in a nested container
/// under the task's, in the task's sandbox.
#[test]
fn command_check_of_a_task_group() {
    if common::python_present() {
        let (c, _) = scenario("group-command", &[], Peers::Ours);
        let agent = c.log("agent.log");
        let nested = agent
            .lines()
            .filter(|l| l.contains("Launched nested container") && l.contains(".check-"))
            .count();
        assert!(nested >= 2, "{}", c.diagnostics());
        // Each check container is removed before the next one is made.
        assert!(
            agent
                .lines()
                .any(|l| l.contains("Processing REMOVE_NESTED_CONTAINER") && l.contains(".check-")),
            "{}",
            c.diagnostics()
        );
    }
}

#[test]
fn http_check_of_a_task_group() {
    if common::python_present() {
        let _ = scenario("group-http", &[], Peers::Ours);
    }
}

#[test]
fn tcp_check_of_a_task_group() {
    if common::python_present() {
        let _ = scenario("group-tcp", &[], Peers::Ours);
    }
}

/// What the scheduler can compare between runs: state, reason and the
/// check status of each update.
fn comparable(updates: &[Value]) -> Vec<Value> {
    updates
        .iter()
        .map(|u| {
            serde_json::json!({
                "state": u["state"], "reason": u["reason"], "check_status": u["check_status"]
            })
        })
        .collect()
}

/// OUR command executor (driver protocol) under the real 1.9.0 agent: the
/// same updates as under our agent.
#[test]
fn our_command_executor_on_the_real_agent() {
    if common::kit_dir().is_none() || !common::python_present() {
        return;
    }
    let (_, real) = scenario("command", &[], Peers::RealAgent);
    let (_, ours) = scenario("command", &[], Peers::Ours);
    assert_eq!(comparable(&real), comparable(&ours));
}

/// OUR default executor under the real 1.9.0 agent (its real Mesos
/// containerizer makes the task's and the check's nested containers): the
/// same updates as under our agent.
#[test]
fn our_default_executor_on_the_real_agent() {
    if common::kit_dir().is_none() || !common::python_present() {
        return;
    }
    let (_, real) = scenario("group-command", &[], Peers::RealAgent);
    let (_, ours) = scenario("group-command", &[], Peers::Ours);
    assert_eq!(comparable(&real), comparable(&ours));
}

/// The statuses the master's v0 `/state` shows for task `ck` (wherever
/// the task is: active or completed).
fn state_statuses(master_port: u16) -> Vec<Value> {
    fn find(v: &Value, out: &mut Vec<Value>) {
        match v {
            Value::Object(o) => {
                if o.get("id") == Some(&Value::from("ck")) {
                    if let Some(Value::Array(st)) = o.get("statuses") {
                        out.extend(st.iter().cloned());
                    }
                }
                o.values().for_each(|x| find(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| find(x, out)),
            _ => {}
        }
    }
    let (code, body) = http_get(master_port, "/state").expect("GET /state");
    assert_eq!(code, 200);
    let mut out = Vec::new();
    find(&serde_json::from_str(&body).unwrap(), &mut out);
    out
}

/// The real 1.9.0 master with our agent and executor: it forwards the
/// `check_status` of the updates unchanged; neither its `/state` nor ours
/// shows `check_status` (upstream's `json(TaskStatus)` leaves it out),
/// while our v1 GET_TASKS has it (protobuf-shaped).
#[test]
fn real_master_passes_check_status_through() {
    if common::kit_dir().is_none() || !common::python_present() {
        return;
    }
    let (rc, real) = scenario("command", &[], Peers::RealMaster);
    let (oc, ours) = scenario("command", &[], Peers::Ours);
    assert_eq!(comparable(&real), comparable(&ours));
    let keys = |st: &[Value]| -> Vec<Vec<String>> {
        st.iter()
            .map(|s| s.as_object().unwrap().keys().cloned().collect())
            .collect()
    };
    let (real_state, our_state) = (
        state_statuses(rc.master_port),
        state_statuses(oc.master_port),
    );
    assert!(!our_state.is_empty());
    assert_eq!(keys(&real_state), keys(&our_state));
    assert!(our_state.iter().all(|s| s.get("check_status").is_none()));
    let (code, body) =
        common::http_post_json(oc.master_port, "/api/v1", r#"{"type":"GET_TASKS"}"#).unwrap();
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let tasks = &v["get_tasks"];
    let with_check: Vec<&Value> = ["tasks", "completed_tasks"]
        .iter()
        .filter_map(|k| tasks[*k].as_array())
        .flatten()
        .flat_map(|t| t["statuses"].as_array().into_iter().flatten())
        .filter(|s| s["check_status"]["type"] == "COMMAND")
        .collect();
    assert!(!with_check.is_empty(), "{body}");
}

/// An HTTP check without its `http` field is refused by the master with
/// upstream's message (TASK_ERROR), on our master as on the real one.
#[test]
fn invalid_check_is_refused_by_the_master() {
    if !common::python_present() {
        return;
    }
    let mut runs = vec![Peers::Ours];
    if common::kit_dir().is_some() {
        runs.push(Peers::RealMaster);
    }
    let mut messages = Vec::new();
    for peers in runs {
        let c = Cluster::start("invalid", &[], peers);
        let (code, updates) = c.run(SCHEDULER, "invalid");
        let d = c.diagnostics();
        assert_eq!(code, Some(0), "{d}");
        let last = updates.last().unwrap_or_else(|| panic!("no update\n{d}"));
        assert_eq!(last["state"], "TASK_ERROR", "{d}");
        assert_eq!(last["reason"], "REASON_TASK_INVALID", "{d}");
        messages.push(last["message"].clone());
    }
    assert_eq!(
        messages[0],
        "Task uses invalid check: Expecting 'http' to be set for HTTP check"
    );
    assert!(messages.iter().all(|m| *m == messages[0]), "{messages:?}");
}
