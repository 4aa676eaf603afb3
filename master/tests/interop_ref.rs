//! Interop with real Mesos 1.9.0 (the kit in ../shared/ref-mesos, built by
//! its setup.sh into ~/.cache/mesos-ref-1.9.0): our master runs in-process
//! on the tokio runtime; the real agent registers with it and real
//! frameworks (the libmesos scheduler driver and a v1 HTTP scheduler) run a
//! task through it to TASK_FINISHED.
//!
//! Skipped, with a printed reason, when the kit is not built.

mod support;

use support::kit::{free_port, kit_bin, ours_in_process, Guard, RealMaster};

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use libprocess::runtime::tokio::Runtime;
use libprocess::transport::TransportConfig;
use mesos_master::{Master, MasterFlags};

struct Cluster {
    runtime: Option<Runtime>,
    addr: SocketAddr,
    agent: Option<Guard>,
    agent_port: u16,
    _dir: PathBuf,
    log_dir: PathBuf,
}

/// Starts the real agent against our master on `port` with `dir/work`.
fn start_agent(bin: &Path, master: SocketAddr, port: u16, dir: &Path, log: &str) -> Guard {
    let log = std::fs::File::create(dir.join(log)).expect("agent log");
    let agent = Command::new(bin.join("mesos-ref-agent"))
        .arg(format!("127.0.0.1:{}", master.port()))
        .arg(format!("--port={port}"))
        .arg(format!("--work_dir={}", dir.join("work").display()))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start mesos-ref-agent");
    Guard(agent)
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(r) = self.runtime.take() {
            r.shutdown();
        }
        let _ = std::fs::remove_dir_all(&self._dir);
    }
}

/// Starts our master in-process and one real agent registered with it.
fn cluster(bin: &Path, name: &str) -> Cluster {
    let (runtime, addr) = ours_in_process(
        &[
            "--registry=in_memory".into(),
            "--allocation_interval=100ms".into(),
        ],
        None,
    );

    let agent_port = free_port();
    let dir = std::env::temp_dir().join(format!(
        "mesos-master-interop-{name}-{}-{agent_port}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("work dir");
    let agent = start_agent(bin, addr, agent_port, &dir, "agent.log");
    let c = Cluster {
        runtime: Some(runtime),
        addr,
        agent: Some(agent),
        agent_port,
        log_dir: dir.clone(),
        _dir: dir,
    };
    // Wait for the registration.
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let body = http_get(addr, "/master/slaves").unwrap_or_default();
        if body.contains("\"active\":true") {
            break;
        }
        if Instant::now() > end {
            let log = std::fs::read_to_string(c.log_dir.join("agent.log")).unwrap_or_default();
            panic!("agent did not register; /master/slaves = {body}\nagent log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    c
}

/// A minimal HTTP/1.1 client (keep-alive, Content-Length bodies): status
/// and body of a GET, or of a POST with a JSON body.
fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let end = (head_end + len).min(buf.len());
    Some((
        status,
        String::from_utf8_lossy(&buf[head_end..end]).to_string(),
    ))
}

fn http_get(addr: SocketAddr, path: &str) -> Option<String> {
    http(addr, "GET", path, None).map(|(_, b)| b)
}

fn run_client(bin: &Path, c: &Cluster, program: &str, args: &[&str]) -> (Option<i32>, String) {
    let log_path = c.log_dir.join(format!("{program}.log"));
    let log = std::fs::File::create(&log_path).expect("log");
    let err = log.try_clone().expect("log");
    let child = Command::new(bin.join(program))
        .arg(format!("127.0.0.1:{}", c.addr.port()))
        .args(args)
        .stdout(log)
        .stderr(err)
        .spawn()
        .expect("start client");
    let mut g = Guard(child);
    let end = Instant::now() + Duration::from_secs(90);
    let code = loop {
        if let Ok(Some(st)) = g.0.try_wait() {
            break st.code();
        }
        if Instant::now() > end {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (code, std::fs::read_to_string(&log_path).unwrap_or_default())
}

/// Goal 1: the real agent registers and the real libmesos scheduler driver
/// runs a command task through our master to TASK_FINISHED.
#[test]
fn real_agent_and_driver_framework_reach_task_finished() {
    let Some(bin) = kit_bin() else { return };
    let c = cluster(&bin, "driver");
    let (code, log) = run_client(&bin, &c, "mesos-ref-framework", &["echo hello", "60"]);
    assert_eq!(code, Some(0), "mesos-ref-framework failed:\n{log}");
    assert!(log.contains("TASK_FINISHED"), "{log}");

    // The task is now a completed task of a completed framework.
    let state = http_get(c.addr, "/master/state").expect("state");
    let v: serde_json::Value = serde_json::from_str(&state).expect("state JSON");
    let done = &v["completed_frameworks"][0]["completed_tasks"][0];
    assert_eq!(done["state"], "TASK_FINISHED", "{state}");
    assert_eq!(v["slaves"][0]["version"], "1.9.0");
}

/// Goal 2: the v1 HTTP scheduler does the same through /api/v1/scheduler.
#[test]
fn real_agent_and_v1_http_scheduler_reach_task_finished() {
    let Some(bin) = kit_bin() else { return };
    let c = cluster(&bin, "v1");
    let (code, log) = run_client(&bin, &c, "ref-v1-scheduler", &["echo hi", "60"]);
    assert_eq!(code, Some(0), "ref-v1-scheduler failed:\n{log}");
    assert!(log.contains("TASK_FINISHED"), "{log}");
}

/// LAUNCH_GROUP through the v1 API: the default executor runs the group.
#[test]
fn real_agent_runs_a_task_group_from_the_v1_scheduler() {
    let Some(bin) = kit_bin() else { return };
    let c = cluster(&bin, "group");
    let (code, log) = run_client(
        &bin,
        &c,
        "ref-v1-scheduler",
        &["echo grouped", "60", "--group"],
    );
    assert_eq!(code, Some(0), "ref-v1-scheduler --group failed:\n{log}");
}

/// Operator basics over the real wire, with the real agent registered.
#[test]
fn operator_endpoints_answer_with_a_real_agent() {
    let Some(bin) = kit_bin() else { return };
    let c = cluster(&bin, "operator");
    let (status, body) = http(c.addr, "POST", "/api/v1", Some(r#"{"type":"GET_HEALTH"}"#)).unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        body,
        r#"{"type":"GET_HEALTH","get_health":{"healthy":true}}"#
    );
    let (status, body) = http(c.addr, "POST", "/api/v1", Some(r#"{"type":"GET_AGENTS"}"#)).unwrap();
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["type"], "GET_AGENTS");
    assert_eq!(v["get_agents"]["agents"][0]["active"], true);
    assert!(v["get_agents"]["agents"][0]["agent_info"]["id"]["value"]
        .as_str()
        .unwrap()
        .ends_with("-S0"));
    let (status, _) = http(c.addr, "GET", "/api/v1", None).unwrap();
    assert_eq!(status, 405);
    let (status, _) = http(c.addr, "GET", "/health", None).unwrap();
    assert_eq!(status, 200);
    let version: serde_json::Value =
        serde_json::from_str(&http_get(c.addr, "/version").unwrap()).unwrap();
    assert_eq!(version["version"], "1.9.0");
    let metrics: serde_json::Value =
        serde_json::from_str(&http_get(c.addr, "/metrics/snapshot").unwrap()).unwrap();
    assert_eq!(metrics["master/slaves_active"], 1.0);
}

/// A Python with pymesos: `PYMESOS_PYTHON`, else the test venv that
/// scripts/setup.sh builds (`MESOS_TEST_VENV`, default `<repo>/.venv`).
fn pymesos_python() -> Option<PathBuf> {
    let candidates = [
        std::env::var("PYMESOS_PYTHON").ok().map(PathBuf::from),
        std::env::var("MESOS_TEST_VENV")
            .ok()
            .map(|v| PathBuf::from(v).join("bin/python")),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python")),
    ];
    candidates.into_iter().flatten().find(|p| {
        Command::new(p)
            .args(["-c", "import pymesos"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// pymesos (v1 HTTP scheduler library; it subscribes with
/// `Connection: close`) runs a task through our master.
#[test]
fn pymesos_scheduler_reaches_task_finished() {
    let Some(bin) = kit_bin() else { return };
    let Some(python) = pymesos_python() else {
        eprintln!("SKIP: no Python with pymesos (run scripts/setup.sh or set PYMESOS_PYTHON)");
        return;
    };
    let c = cluster(&bin, "pymesos");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pymesos_scheduler.py");
    let log_path = c.log_dir.join("pymesos.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let child = Command::new(python)
        .arg(script)
        .arg(format!("127.0.0.1:{}", c.addr.port()))
        .arg("echo pymesos")
        .arg("60")
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start pymesos scheduler");
    let mut g = Guard(child);
    let end = Instant::now() + Duration::from_secs(90);
    let code = loop {
        if let Ok(Some(st)) = g.0.try_wait() {
            break st.code();
        }
        if Instant::now() > end {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert_eq!(code, Some(0), "pymesos scheduler failed:\n{out}");
}

/// An agent restarted on the same work_dir recovers and reregisters with
/// its agent ID (ReregisterSlaveMessage -> SlaveReregisteredMessage), and
/// the next framework runs a task on it.
#[test]
fn real_agent_restart_reregisters_with_the_same_id() {
    let Some(bin) = kit_bin() else { return };
    let mut c = cluster(&bin, "restart");
    let before: serde_json::Value =
        serde_json::from_str(&http_get(c.addr, "/master/slaves").unwrap()).unwrap();
    let id = before["slaves"][0]["id"].as_str().unwrap().to_string();
    drop(c.agent.take());
    c.agent = Some(start_agent(
        &bin,
        c.addr,
        c.agent_port,
        &c.log_dir,
        "agent2.log",
    ));
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let body = http_get(c.addr, "/master/slaves").unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let s = &v["slaves"][0];
        if s["reregistered_time"].is_number() && s["active"] == true {
            assert_eq!(s["id"], id.as_str(), "same agent ID after restart");
            break;
        }
        if Instant::now() > end {
            let log = std::fs::read_to_string(c.log_dir.join("agent2.log")).unwrap_or_default();
            panic!("agent did not reregister; /master/slaves = {body}\nagent log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (code, log) = run_client(&bin, &c, "mesos-ref-framework", &["echo again", "60"]);
    assert_eq!(
        code,
        Some(0),
        "mesos-ref-framework failed after the restart:\n{log}"
    );
}

/// An in-process master on a fixed loopback port with the replicated-log
/// registry in `work_dir`.
fn durable_master(port: u16, work_dir: &Path) -> Runtime {
    let flags = MasterFlags::load(
        [
            "--registry=replicated_log".to_string(),
            format!("--work_dir={}", work_dir.display()),
            "--allocation_interval=100ms".to_string(),
        ],
        Vec::<(String, String)>::new(),
    )
    .expect("flags");
    let registrar =
        mesos_master::registrar::ReplicatedLogRegistrar::open(work_dir, true).expect("registry");
    let mut tc = TransportConfig::loopback();
    tc.port = port;
    let runtime = Runtime::start(tc).expect("runtime");
    runtime.set_delegate(Some("master"));
    runtime.spawn(
        "master",
        Master::with_registrar(
            flags,
            &mesos_master::new_master_id(),
            "localhost",
            Box::new(registrar),
        ),
    );
    runtime
}

fn wait_for(addr: SocketAddr, path: &str, what: &str, ok: impl Fn(&serde_json::Value) -> bool) {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let body = http_get(addr, path).unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        if ok(&v) {
            return;
        }
        if Instant::now() > end {
            panic!("{what}: {path} = {body}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The registry in the replicated log across master restarts with a real
/// 1.9 agent: the agent is admitted and drained (DRAIN_AGENT, real agent
/// with AGENT_DRAINING) by our master; a real 1.9 master reads that log and
/// recovers the agent; our master, restarted on the same work_dir, takes
/// the agent's reregistration with its ID, still deactivated and DRAINED.
#[test]
fn replicated_log_registry_survives_restart_with_real_agent_and_real_master() {
    let Some(bin) = kit_bin() else { return };
    let port = free_port();
    let agent_port = free_port();
    let dir = std::env::temp_dir().join(format!(
        "mesos-master-interop-registry-{}-{agent_port}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    let mdir = dir.join("master");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();

    let runtime = durable_master(port, &mdir);
    let agent = start_agent(&bin, addr, agent_port, &dir, "agent.log");
    wait_for(addr, "/master/slaves", "agent registers", |v| {
        v["slaves"][0]["active"] == true
    });
    let slaves: serde_json::Value =
        serde_json::from_str(&http_get(addr, "/master/slaves").unwrap()).unwrap();
    let id = slaves["slaves"][0]["id"].as_str().unwrap().to_string();
    let drain = format!(
        r#"{{"type":"DRAIN_AGENT","drain_agent":{{"agent_id":{{"value":"{id}"}},"max_grace_period":{{"seconds":2}}}}}}"#
    );
    let (code, body) = http(addr, "POST", "/api/v1", Some(&drain)).expect("answer");
    assert_eq!(code, 200, "{body}");
    wait_for(addr, "/master/slaves", "agent drained", |v| {
        v["slaves"][0]["drain_info"]["state"] == "DRAINED"
    });
    runtime.shutdown();
    // Let the agent notice and the log close.
    std::thread::sleep(Duration::from_millis(500));

    // A real 1.9 master reads our log (no agents of its own: 0); local mode
    // puts the master's work_dir at `<work_dir>/master`.
    let real = RealMaster::start(
        &bin,
        0,
        &[format!("--work_dir={}", dir.display())],
        &[("MESOS_REGISTRY", "replicated_log")],
        &dir.join("real-master.log"),
    );
    let real_addr = real.addr;
    wait_for(
        real_addr,
        "/master/state",
        "real master recovers our registry",
        |v| {
            v["recovered_slaves"]
                .as_array()
                .is_some_and(|a| a.iter().any(|s| s["id"] == id.as_str()))
        },
    );
    drop(real);
    std::thread::sleep(Duration::from_millis(500));

    // Our master again, on the same port and work_dir. The agent is
    // restarted (it recovers its checkpointed ID): a standalone agent only
    // looks for a new master after its 75 s ping timeout.
    drop(agent);
    let runtime = durable_master(port, &mdir);
    let _agent = start_agent(&bin, addr, agent_port, &dir, "agent2.log");
    wait_for(addr, "/master/slaves", "agent reregisters", |v| {
        v["slaves"][0]["id"] == id.as_str() && v["slaves"][0]["reregistered_time"].is_number()
    });
    let v: serde_json::Value =
        serde_json::from_str(&http_get(addr, "/master/slaves").unwrap()).unwrap();
    assert_eq!(v["slaves"][0]["deactivated"], true, "{v}");
    assert_eq!(v["slaves"][0]["active"], false, "{v}");
    assert_eq!(v["slaves"][0]["drain_info"]["state"], "DRAINED", "{v}");
    assert_eq!(
        v["slaves"][0]["drain_info"]["config"]["max_grace_period"]["nanoseconds"], 2_000_000_000i64,
        "{v}"
    );
    runtime.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The operator API's answers to invalid DRAIN/DEACTIVATE/REACTIVATE_AGENT
/// and UPDATE_QUOTA calls equal the real 1.9 master's (status and body),
/// both masters with one real agent.
#[test]
fn operator_validation_errors_match_the_real_master() {
    let Some(bin) = kit_bin() else { return };
    let ours = cluster(&bin, "validation");
    let real = RealMaster::start(&bin, 1, &[], &[], &ours.log_dir.join("real-local.log"));
    let real_addr = real.addr;
    let end = Instant::now() + Duration::from_secs(30);
    while !http_get(real_addr, "/master/slaves")
        .unwrap_or_default()
        .contains("\"active\":true")
    {
        assert!(Instant::now() < end, "real master's agent did not register");
        std::thread::sleep(Duration::from_millis(100));
    }
    let calls = [
        r#"{"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":"nope-S9"}}}"#,
        r#"{"type":"DRAIN_AGENT"}"#,
        r#"{"type":"DEACTIVATE_AGENT","deactivate_agent":{"agent_id":{"value":"nope-S9"}}}"#,
        r#"{"type":"REACTIVATE_AGENT","reactivate_agent":{"agent_id":{"value":"nope-S9"}}}"#,
        r#"{"type":"UPDATE_QUOTA"}"#,
        r#"{"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"r1","guarantees":{"cpus":{"value":2}},"limits":{"cpus":{"value":1}}}]}}"#,
        r#"{"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"*","limits":{"cpus":{"value":1}}}]}}"#,
        r#"{"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"a/b","limits":{"cpus":{"value":1}}}]}}"#,
        r#"{"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"r1","limits":{"cpus":{"value":-1}}}]}}"#,
    ];
    for c in calls {
        let a = http(ours.addr, "POST", "/api/v1", Some(c)).expect("ours answers");
        let b = http(real_addr, "POST", "/api/v1", Some(c)).expect("real answers");
        assert_eq!(a, b, "{c}");
        assert_eq!(a.0, 400, "{c}");
    }
    // Over capacity: same status and text up to the (machine-specific)
    // capacity figures.
    let c = r#"{"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"r1","guarantees":{"cpus":{"value":100000}}}]}}"#;
    let a = http(ours.addr, "POST", "/api/v1", Some(c)).expect("ours answers");
    let b = http(real_addr, "POST", "/api/v1", Some(c)).expect("real answers");
    assert_eq!(a.0, b.0);
    let prefix = |s: &str| s.split(" exceed").next().unwrap_or("").to_string();
    assert_eq!(prefix(&a.1), prefix(&b.1), "{} vs {}", a.1, b.1);
    drop(real);
}
