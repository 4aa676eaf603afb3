//! Offer constraints end to end (beyond 1.9: upstream 1.11): a real v1 HTTP
//! scheduler written in Python (`data/offer_constraints_scheduler.py`, plain
//! `http.client`) subscribes to `mesos-local` with `offer_constraints`, sees
//! only the agent whose `rack` matches, changes the constraints with
//! UPDATE_FRAMEWORK and then sees the other agent. The same scheduler
//! against the real Mesos 1.9.0 kit shows the field is ignored there.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{free_port, http_get, kit_bin, wait_until, Guard};

fn python() -> Option<std::path::PathBuf> {
    let candidates = [
        std::env::var("MESOS_TEST_VENV")
            .ok()
            .map(|v| std::path::PathBuf::from(v).join("bin/python")),
        Some("python3".into()),
    ];
    let found = candidates.into_iter().flatten().find(|p| {
        Command::new(p)
            .arg("-c")
            .arg("import http.client")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if found.is_none() {
        println!("SKIP: no python3");
    }
    found
}

/// Racks of the registered agents, once there are `n` of them.
fn racks(port: u16, n: usize) -> Option<Vec<String>> {
    let (_, body) = http_get(port, "/master/slaves")?;
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    let list = v["slaves"].as_array()?;
    (list.len() == n).then(|| {
        list.iter()
            .map(|s| s["attributes"]["rack"].as_str().unwrap_or("").to_string())
            .collect()
    })
}

#[test]
fn v1_python_scheduler_sees_only_agents_matching_its_offer_constraints() {
    let Some(python) = python() else {
        return;
    };
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("mesos-offer-constraints-{port}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // mesos-local's agent on rack r1 (other `--name=value` flags are
    // MESOS_* settings for the master and agents) ...
    let _local = Guard(Some(
        Command::new(env!("CARGO_BIN_EXE_mesos-local"))
            .args([
                "--ip=127.0.0.1".to_string(),
                format!("--port={port}"),
                format!("--work_dir={}", dir.join("local").display()),
                "--num_agents=1".to_string(),
                "--resources=cpus:1;mem:256".to_string(),
                "--attributes=rack:r1".to_string(),
            ])
            .env_remove("MESOS_WORK_DIR")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("local.log")).unwrap())
            .spawn()
            .expect("start mesos-local"),
    ));
    wait_until(Duration::from_secs(30), || racks(port, 1)).expect("mesos-local agent");
    // ... and a second agent on rack r2 joining the same master.
    let agent_port = free_port();
    let _agent = Guard(Some(
        Command::new(env!("CARGO_BIN_EXE_mesos-agent"))
            .args([
                format!("--master=127.0.0.1:{port}"),
                "--ip=127.0.0.1".to_string(),
                format!("--port={agent_port}"),
                format!("--work_dir={}", dir.join("agent2/work").display()),
                format!("--runtime_dir={}", dir.join("agent2/run").display()),
                "--resources=cpus:1;mem:256".to_string(),
                "--attributes=rack:r2".to_string(),
            ])
            .env_remove("MESOS_WORK_DIR")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("agent.log")).unwrap())
            .spawn()
            .expect("start mesos-agent"),
    ));
    let mut seen = wait_until(Duration::from_secs(30), || racks(port, 2)).expect("two agents");
    seen.sort();
    assert_eq!(seen, vec!["r1", "r2"]);

    let report = run_scheduler(&python, port);
    let racks_of = |phase: &str| -> Vec<String> {
        report[phase]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().rsplit(':').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(racks_of("phase1"), vec!["r1"], "{report}");
    assert_eq!(racks_of("phase2"), vec!["r2"], "{report}");
    assert_eq!(report["update_status"], 200, "{report}");
    assert_eq!(report["bad_update"][0], 400, "{report}");
    assert_eq!(
        report["bad_update"][1],
        "'UpdateFramework' call is not valid: Offer constraints specify `role_constraints` \
         for a role 'ops'not contained in the set of roles"
    );
    assert_eq!(report["errors"], serde_json::json!([]), "{report}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the scheduler script; its one-line JSON report.
fn run_scheduler(python: &std::path::Path, port: u16) -> serde_json::Value {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/offer_constraints_scheduler.py");
    let out = Command::new(python)
        .arg(script)
        .arg(format!("127.0.0.1:{port}"))
        .args(["r1", "r[2-9]"])
        .output()
        .expect("run the scheduler");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "scheduler failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("report line")
}

/// A real 1.9.0 master does not know `offer_constraints`: the subscription
/// constrained to `rack == r1` is offered both (attribute-less) agents, and
/// even constraints for a role the framework lacks are accepted (200), as
/// third_party_docs/allocator.md says.
#[test]
fn real_1_9_master_ignores_offer_constraints() {
    let (Some(python), Some(local)) = (python(), kit_bin("mesos-ref-local")) else {
        return;
    };
    let port = free_port();
    let _ref = Guard(Some(
        Command::new(local)
            .arg(format!("--port={port}"))
            .arg("2")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mesos-ref-local"),
    ));
    wait_until(Duration::from_secs(30), || racks(port, 2)).expect("two 1.9.0 agents");
    let report = run_scheduler(&python, port);
    assert_eq!(report["phase1"].as_array().unwrap().len(), 2, "{report}");
    assert_eq!(report["update_status"], 200, "{report}");
    assert_eq!(report["bad_update"][0], 200, "{report}");
}
