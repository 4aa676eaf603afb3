//! `mesos-local` (the README's main job) as a user runs it: one process with a
//! master and agents on 127.0.0.1, used by real Mesos 1.9.0 clients.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{free_port, http_get, kit_bin, start_mesos_local, wait_until};

const RESOURCES: &str = "cpus:2;mem:1024;disk:1024;ports:[31000-31100]";

/// The agents' ids, pids and active flags from `/master/slaves`.
fn agents(port: u16) -> Option<Vec<(String, String, bool)>> {
    let (status, body) = http_get(port, "/master/slaves")?;
    if status != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    let list = v["slaves"].as_array()?;
    Some(
        list.iter()
            .map(|s| {
                (
                    s["id"].as_str().unwrap_or("").to_string(),
                    s["pid"].as_str().unwrap_or("").to_string(),
                    s["active"].as_bool().unwrap_or(false),
                )
            })
            .collect(),
    )
}

#[test]
fn local_cluster_registers_its_agents_and_runs_tasks_for_real_clients() {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("mesos-local-test-{port}"));
    let _ = std::fs::remove_dir_all(&dir);
    let _local = start_mesos_local(port, &dir, 2, RESOURCES);

    // Both agents register with the in-process master, as slave(1) and
    // slave(2) on the same address, with the resources given as a flag.
    let list = wait_until(Duration::from_secs(20), || {
        agents(port).filter(|a| a.len() == 2 && a.iter().all(|x| x.2))
    })
    .expect("two active agents");
    let mut pids: Vec<_> = list.iter().map(|a| a.1.clone()).collect();
    pids.sort();
    assert_eq!(
        pids,
        vec![
            format!("slave(1)@127.0.0.1:{port}"),
            format!("slave(2)@127.0.0.1:{port}")
        ]
    );
    let (_, state) = http_get(port, "/state").expect("/state via the delegate");
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert_eq!(state["version"], "1.9.0");
    assert_eq!(state["slaves"][0]["resources"]["cpus"], 2.0);
    assert!(
        dir.join("agents/0/work").is_dir()
            && dir.join("agents/1/work").is_dir()
            && dir.join("master").is_dir()
    );

    // Real 1.9.0 clients: the libmesos scheduler driver and a v1 HTTP scheduler.
    let (Some(driver), Some(v1)) = (kit_bin("mesos-ref-framework"), kit_bin("ref-v1-scheduler"))
    else {
        return;
    };
    let master = format!("127.0.0.1:{port}");
    let rc = Command::new(driver)
        .args([&master, "echo hello-from-local", "60"])
        .output()
        .unwrap();
    assert!(
        rc.status.success(),
        "driver framework: {}",
        String::from_utf8_lossy(&rc.stdout)
    );
    let rc = Command::new(v1)
        .args([&master, "echo hi-from-v1", "60"])
        .output()
        .unwrap();
    assert!(
        rc.status.success(),
        "v1 scheduler: {}",
        String::from_utf8_lossy(&rc.stdout)
    );

    // Task output lands in the sandboxes under the agents' work dirs.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("cat $(find {} -name stdout)", dir.display()))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.contains("hello-from-local") && out.contains("hi-from-v1"),
        "sandbox stdout: {out}"
    );
    drop(_local);
    let _ = std::fs::remove_dir_all(&dir);
}
