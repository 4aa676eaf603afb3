//! Reservations and persistent volumes with real processes: OUR
//! `mesos-master` with OUR `mesos-agent`, and OUR master with the REAL
//! Mesos 1.9.0 agent of the reference kit (`mesos-ref-agent`). The operator
//! reserves resources and creates a volume over `/api/v1`; the agent's
//! `/state` must show the reservation and the volume directory must exist
//! under `<work_dir>/volumes/roles/<role>/<id>`. Our agent must also keep
//! them across a restart (checkpointed under `meta/resources`).
//!
//! The real-agent test prints a SKIP line and passes when the kit is absent.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;

use common::{
    free_port, http_get, http_post_json, kit_bin, start_master, wait_until, Guard, MasterKind,
};
use serde_json::{json, Value};

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "ops-cluster-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var("OPS_CLUSTER_KEEP").is_err() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn log(dir: &Path, name: &str) -> Stdio {
    Stdio::from(std::fs::File::create(dir.join(name)).unwrap())
}

const RESOURCES: &str = "cpus:2;mem:1024;disk:1024;ports:[31000-32000]";

fn start_our_agent(dir: &Path, master_port: u16, port: u16, log_name: &str) -> Guard {
    Guard(Some(
        Command::new(env!("CARGO_BIN_EXE_mesos-agent"))
            .arg(format!("--master=127.0.0.1:{master_port}"))
            .arg(format!("--work_dir={}", dir.join("work").display()))
            .arg(format!("--port={port}"))
            .arg("--ip=127.0.0.1")
            .arg(format!("--resources={RESOURCES}"))
            .arg("--recovery_timeout=30secs")
            .env_remove("MESOS_WORK_DIR")
            .stdout(Stdio::null())
            .stderr(log(dir, log_name))
            .spawn()
            .expect("start mesos-agent"),
    ))
}

/// The single registered agent's ID once the master lists it.
fn agent_id(master_port: u16) -> String {
    wait_until(Duration::from_secs(30), || {
        let (_, b) = http_get(master_port, "/master/slaves")?;
        let v: Value = serde_json::from_str(&b).ok()?;
        v["slaves"][0]["id"].as_str().map(String::from)
    })
    .expect("the agent registered")
}

fn reserved(name: &str, v: f64) -> Value {
    json!({"name": name, "type": "SCALAR", "scalar": {"value": v},
           "reservations": [{"type": "DYNAMIC", "role": "role1", "principal": "ops"}]})
}

/// RESERVE_RESOURCES cpus:1;disk:256 for role1 then CREATE_VOLUMES of the
/// disk with persistence id `vol1`, both answered 202.
fn reserve_and_create(master_port: u16, agent_id: &str) {
    let reserve = json!({"type": "RESERVE_RESOURCES", "reserve_resources": {
        "agent_id": {"value": agent_id},
        "resources": [reserved("cpus", 1.0), reserved("disk", 256.0)]}});
    let r = http_post_json(master_port, "/api/v1", &reserve.to_string()).expect("answer");
    assert_eq!(r.0, 202, "RESERVE_RESOURCES: {}", r.1);
    let mut vol = reserved("disk", 256.0);
    vol["disk"] = json!({"persistence": {"id": "vol1", "principal": "ops"},
                          "volume": {"mode": "RW", "container_path": "data"}});
    let create = json!({"type": "CREATE_VOLUMES", "create_volumes": {
        "agent_id": {"value": agent_id}, "volumes": [vol]}});
    // Right after the RESERVE the allocator may have offered the reserved
    // disk to nobody yet; the call is retried only on 409 (offers racing).
    let r = wait_until(Duration::from_secs(10), || {
        let r = http_post_json(master_port, "/api/v1", &create.to_string())?;
        (r.0 != 409).then_some(r)
    })
    .expect("answer");
    assert_eq!(r.0, 202, "CREATE_VOLUMES: {}", r.1);
}

/// The agent's `/state` once it shows role1's reservation with the volume.
fn agent_state_with_volume(agent_port: u16) -> Option<Value> {
    wait_until(Duration::from_secs(20), || {
        let (_, b) = http_get(agent_port, "/state")?;
        let v: Value = serde_json::from_str(&b).ok()?;
        let role = &v["reserved_resources"]["role1"];
        (role["cpus"].as_f64() == Some(1.0) && role["disk"].as_f64() == Some(256.0)).then_some(v)
    })
}

/// Our master + our agent: the reservation and the volume reach the
/// agent, the volume directory exists, and both survive an agent restart.
#[test]
fn operator_reserve_and_create_volume_on_our_agent() {
    let dir = TempDir::new("ours");
    let master_port = free_port();
    let agent_port = free_port();
    let _master = start_master(MasterKind::Ours, master_port, &dir.0, &[]);
    let mut agent = start_our_agent(&dir.0, master_port, agent_port, "agent.log");
    let id = agent_id(master_port);
    reserve_and_create(master_port, &id);

    let agent_log = || std::fs::read_to_string(dir.0.join("agent.log")).unwrap_or_default();
    let st = agent_state_with_volume(agent_port)
        .unwrap_or_else(|| panic!("agent /state shows the reservation; log:\n{}", agent_log()));
    assert_eq!(st["unreserved_resources"]["cpus"], 1.0);
    let volume_dir = dir.0.join("work/volumes/roles/role1/vol1");
    assert!(volume_dir.is_dir(), "volume directory created");
    assert!(dir.0.join("work/meta/resources/resources.info").exists());
    assert!(dir
        .0
        .join("work/meta/resources/resources_and_operations.state")
        .exists());
    std::fs::write(volume_dir.join("kept"), "data").unwrap();

    // The master's view: /state and GET_AGENTS.
    let (_, b) = http_get(master_port, "/master/state").unwrap();
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["slaves"][0]["reserved_resources"]["role1"]["disk"], 256.0);
    // `/master/slaves` prints the `_full` resources in the ENDPOINT format
    // (deprecated `role` beside the stack), as the real master does.
    let (_, b) = http_get(master_port, "/master/slaves").unwrap();
    let v: Value = serde_json::from_str(&b).unwrap();
    let full = v["slaves"][0]["reserved_resources_full"]["role1"]
        .as_array()
        .unwrap()
        .clone();
    assert!(full.iter().all(|r| r["role"] == "role1"), "{full:?}");
    assert!(full
        .iter()
        .any(|r| r["disk"]["persistence"]["id"] == "vol1"));

    // Restart the agent on the same work dir: it recovers the checkpointed
    // resources and reports them when it reregisters.
    if let Some(mut c) = agent.0.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
    let _agent = start_our_agent(&dir.0, master_port, agent_port, "agent2.log");
    let st = agent_state_with_volume(agent_port).expect("recovered the reservation");
    assert_eq!(st["id"], id.as_str(), "same agent ID after recovery");
    assert_eq!(
        std::fs::read_to_string(volume_dir.join("kept")).unwrap(),
        "data",
        "the volume's data survives"
    );
    let (_, b) = http_get(master_port, "/master/state").unwrap();
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["slaves"][0]["reserved_resources"]["role1"]["cpus"], 1.0);
}

/// Our master + the real 1.9.0 agent: it accepts the ApplyOperationMessages
/// our master sends, shows the reservation in its /state and creates the
/// volume directory.
#[test]
fn operator_reserve_and_create_volume_on_real_agent() {
    let Some(bin) = kit_bin("mesos-ref-agent") else {
        return;
    };
    let dir = TempDir::new("real");
    let master_port = free_port();
    let agent_port = free_port();
    let _master = start_master(MasterKind::Ours, master_port, &dir.0, &[]);
    let work = dir.0.join("work");
    let _agent = Guard(Some(
        Command::new(bin)
            .arg(format!("127.0.0.1:{master_port}"))
            .arg(format!("--port={agent_port}"))
            .arg(format!("--work_dir={}", work.display()))
            .arg(format!("--resources={RESOURCES}"))
            .stdout(Stdio::null())
            .stderr(log(&dir.0, "agent.log"))
            .spawn()
            .expect("start mesos-ref-agent"),
    ));
    let id = agent_id(master_port);
    reserve_and_create(master_port, &id);
    let agent_log = || std::fs::read_to_string(dir.0.join("agent.log")).unwrap_or_default();
    let st = agent_state_with_volume(agent_port).unwrap_or_else(|| {
        panic!(
            "real agent /state shows the reservation; log:\n{}",
            agent_log()
        )
    });
    assert_eq!(st["unreserved_resources"]["cpus"], 1.0);
    let full = &st["reserved_resources_full"]["role1"];
    assert!(
        full.as_array()
            .is_some_and(|a| a.iter().any(|r| r["disk"]["persistence"]["id"] == "vol1")),
        "volume in reserved_resources_full: {full}"
    );
    assert!(work.join("volumes/roles/role1/vol1").is_dir());
    // The master saw the operations finish (nothing left pending).
    let r = http_post_json(master_port, "/api/v1", r#"{"type":"GET_OPERATIONS"}"#).unwrap();
    assert_eq!(r.0, 200);
    let ops = wait_until(Duration::from_secs(10), || {
        let r = http_post_json(master_port, "/api/v1", r#"{"type":"GET_OPERATIONS"}"#)?;
        let v: Value = serde_json::from_str(&r.1).ok()?;
        v["get_operations"]["operations"]
            .as_array()
            .is_none_or(|a| a.is_empty())
            .then_some(())
    });
    assert!(
        ops.is_some(),
        "operations acknowledged; agent log:\n{}",
        agent_log()
    );
}

/// PersistentVolumeTest.AccessPersistentVolume with real processes: a
/// pymesos framework RESERVEs, CREATEs a volume and LAUNCHes a task using
/// it in one ACCEPT; the task writes through the `data` link in its
/// sandbox and the file is found in `<work_dir>/volumes/roles/role1/<id>`.
#[test]
fn framework_reserve_create_launch_writes_into_volume() {
    let Some(python) = common::pymesos_python() else {
        return;
    };
    let dir = TempDir::new("fw");
    let master_port = free_port();
    let agent_port = free_port();
    let _master = start_master(MasterKind::Ours, master_port, &dir.0, &[]);
    let _agent = start_our_agent(&dir.0, master_port, agent_port, "agent.log");
    agent_id(master_port);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pymesos_volume_task.py");
    let out = Command::new(python)
        .arg(script)
        .arg(format!("127.0.0.1:{master_port}"))
        .arg("vol2")
        .arg("echo persisted > data/out.txt")
        .arg("25")
        .output()
        .expect("run pymesos");
    let agent_log = std::fs::read_to_string(dir.0.join("agent.log")).unwrap_or_default();
    let master_log = std::fs::read_to_string(dir.0.join("master.log")).unwrap_or_default();
    assert_eq!(
        out.status.code(),
        Some(0),
        "framework output:\n{}{}\nagent log:\n{agent_log}\nmaster log:\n{master_log}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let file = dir.0.join("work/volumes/roles/role1/vol2/out.txt");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap_or_default(),
        "persisted\n",
        "the task wrote into the persistent volume"
    );
    // The master keeps the volume on the agent after the task ends.
    let (_, b) = http_get(master_port, "/master/state").unwrap();
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["slaves"][0]["reserved_resources"]["role1"]["disk"], 64.0);
}

/// The real 1.9.0 master + OUR agent: the agent applies the real master's
/// ApplyOperationMessages (its OPERATION_FINISHED is acknowledged, so the
/// master lists no pending operation), shows the reservation and creates
/// the volume; after a restart it reports them back and the real master
/// keeps them.
#[test]
fn real_master_reserve_and_create_volume_on_our_agent() {
    let Some(bin) = kit_bin("mesos-ref-local") else {
        return;
    };
    let dir = TempDir::new("realmaster");
    let master_port = free_port();
    let agent_port = free_port();
    let _master = Guard(Some(
        Command::new(bin)
            .arg(format!("--port={master_port}"))
            .arg(format!("--work_dir={}", dir.0.join("master").display()))
            .arg("0")
            .stdout(Stdio::null())
            .stderr(log(&dir.0, "master.log"))
            .spawn()
            .expect("start the reference master"),
    ));
    wait_until(Duration::from_secs(30), || {
        http_get(master_port, "/health").filter(|r| r.0 == 200)
    })
    .expect("reference master up");
    let mut agent = start_our_agent(&dir.0, master_port, agent_port, "agent.log");
    let id = agent_id(master_port);
    reserve_and_create(master_port, &id);
    let agent_log = || std::fs::read_to_string(dir.0.join("agent.log")).unwrap_or_default();
    agent_state_with_volume(agent_port)
        .unwrap_or_else(|| panic!("our agent applied the operations; log:\n{}", agent_log()));
    assert!(dir.0.join("work/volumes/roles/role1/vol1").is_dir());
    let pending = wait_until(Duration::from_secs(10), || {
        let r = http_post_json(master_port, "/api/v1", r#"{"type":"GET_OPERATIONS"}"#)?;
        let v: Value = serde_json::from_str(&r.1).ok()?;
        v["get_operations"]["operations"]
            .as_array()
            .is_none_or(|a| a.is_empty())
            .then_some(())
    });
    assert!(
        pending.is_some(),
        "the real master saw the operations finish"
    );

    if let Some(mut c) = agent.0.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
    let _agent = start_our_agent(&dir.0, master_port, agent_port, "agent2.log");
    agent_state_with_volume(agent_port).expect("recovered after restart");
    let kept = wait_until(Duration::from_secs(20), || {
        let (_, b) = http_get(master_port, "/master/slaves")?;
        let v: Value = serde_json::from_str(&b).ok()?;
        let s = &v["slaves"][0];
        (s["active"] == true && s["reserved_resources"]["role1"]["disk"] == 256.0).then_some(())
    });
    assert!(
        kept.is_some(),
        "the real master keeps the reservation after reregistration"
    );
}

/// Our checkpoint files are upstream's: the real 1.9.0 agent started on the
/// work dir our agent used recovers the reservation and the volume from
/// `meta/resources` and reregisters with them.
#[test]
fn real_agent_recovers_our_checkpointed_resources() {
    let Some(bin) = kit_bin("mesos-ref-agent") else {
        return;
    };
    let dir = TempDir::new("takeover");
    let master_port = free_port();
    let agent_port = free_port();
    let _master = start_master(MasterKind::Ours, master_port, &dir.0, &[]);
    let mut ours = start_our_agent(&dir.0, master_port, agent_port, "agent.log");
    let id = agent_id(master_port);
    reserve_and_create(master_port, &id);
    agent_state_with_volume(agent_port).expect("our agent checkpointed");
    if let Some(mut c) = ours.0.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
    let _real = Guard(Some(
        Command::new(bin)
            .arg(format!("127.0.0.1:{master_port}"))
            .arg(format!("--port={agent_port}"))
            .arg(format!("--work_dir={}", dir.0.join("work").display()))
            .arg(format!("--resources={RESOURCES}"))
            .stdout(Stdio::null())
            .stderr(log(&dir.0, "real-agent.log"))
            .spawn()
            .expect("start mesos-ref-agent"),
    ));
    let real_log = || std::fs::read_to_string(dir.0.join("real-agent.log")).unwrap_or_default();
    let st = agent_state_with_volume(agent_port)
        .unwrap_or_else(|| panic!("the real agent recovered them; log:\n{}", real_log()));
    assert_eq!(st["id"], id.as_str(), "same agent ID");
    let full = st["reserved_resources_full"]["role1"].clone();
    assert!(
        full.as_array()
            .is_some_and(|a| a.iter().any(|r| r["disk"]["persistence"]["id"] == "vol1")),
        "{full}"
    );
}
