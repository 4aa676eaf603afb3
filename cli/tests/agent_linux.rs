//! OUR `mesos-agent --launcher=linux` end to end: a v1 scheduler (pymesos)
//! launches command tasks through a master (the REAL 1.9.0 master from the
//! kit, and our `mesos-master`) onto our agent, whose executor container is
//! built by the isolators' `LinuxContainerizer`.
//!
//! - the task's `ContainerInfo.linux_info` (ipc_mode=PRIVATE, shm_size=16)
//!   is applied to the command executor's container: the task sees a 16 MB
//!   `/dev/shm`, `NoNewPrivs: 1` (linux/nnp) and its own pid namespace;
//! - a task exceeding its disk quota is destroyed by the disk/du limitation
//!   and fails with `REASON_CONTAINER_LIMITATION_DISK`;
//! - `/monitor/statistics`, `/containers`, `/containerizer/debug` and the
//!   `/api/v1` GET_CONTAINERS, GET_TASKS and GET_METRICS calls answer while
//!   a task runs;
//! - a custom v1 HTTP executor (tests/data/http_executor.py, posix
//!   launcher, no root needed) subscribes on `/api/v1/executor`, gets
//!   SUBSCRIBED + LAUNCH, its UPDATEs reach the scheduler and are
//!   ACKNOWLEDGED, its MESSAGE reaches the scheduler.
//!
//! Needs root, pymesos (`.venv` from scripts/setup.sh, or `PYMESOS_PYTHON`)
//! and, for the real-master test, the kit; otherwise each test prints a SKIP
//! line and passes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;

use common::{
    agents_registered, free_port, http_call, http_get, kit_dir as kit, start_master, wait_for,
    Guard, MasterKind,
};

const ISOLATION: &str =
    "namespaces/ipc,linux/nnp,namespaces/pid,filesystem/linux,cgroups/cpu,cgroups/mem";

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        if std::env::var("AGENT_LINUX_KEEP").is_err() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn root() -> bool {
    let r = mesos_isolators::running_as_root();
    if !r {
        println!("SKIP: --launcher=linux needs root");
    }
    r
}

/// A JSON agent `/api/v1` call; the parsed response body.
fn api_v1(port: u16, call: &str) -> Option<serde_json::Value> {
    http_call(port, "POST", "/api/v1", &format!(r#"{{"type":"{call}"}}"#))
        .filter(|(code, _)| *code == 200)
        .and_then(|(_, b)| serde_json::from_str(&b).ok())
}

struct Cluster {
    dir: Dir,
    master_port: u16,
    agent_port: u16,
    _master: Guard,
    agent: Option<Guard>,
    agent_args: Vec<String>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Let the agent finish destroying containers (a scheduler exits on
        // TASK_FINISHED, before the executor's container is cleaned up),
        // then remove this run's (by then empty) cgroups roots.
        let port = self.agent_port;
        if self.agent.is_some() {
            wait_for(Duration::from_secs(15), || {
                api_v1(port, "GET_CONTAINERS").is_some_and(|v| {
                    v["get_containers"]["containers"]
                        .as_array()
                        .is_some_and(|a| a.is_empty())
                })
            });
        }
        for root in self.cgroups_roots() {
            let _ = std::fs::remove_dir(root);
        }
    }
}

impl Cluster {
    /// `<hierarchy>/<--cgroups_root>` for every mounted hierarchy.
    fn cgroups_roots(&self) -> Vec<PathBuf> {
        let Some(root) = self
            .agent_args
            .iter()
            .find_map(|a| a.strip_prefix("--cgroups_root="))
        else {
            return Vec::new();
        };
        std::fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
            .map(|h| h.path().join(root))
            .filter(|p| p.is_dir())
            .collect()
    }

    fn start(master: MasterKind<'_>, tag: &str) -> Cluster {
        let linux = [
            "--launcher=linux".to_string(),
            format!("--isolation={ISOLATION}"),
            format!(
                "--cgroups_root=mesos-test-agent-linux-{tag}-{}",
                std::process::id()
            ),
        ];
        Cluster::start_with(master, tag, &linux)
    }

    fn start_with(master: MasterKind<'_>, tag: &str, agent_args: &[String]) -> Cluster {
        let dir = Dir(std::env::temp_dir().join(format!(
            "agent-linux-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        )));
        std::fs::create_dir_all(&dir.0).unwrap();
        let (master_port, agent_port) = (free_port(), free_port());
        let m = start_master(master, master_port, &dir.0, &[]);
        let mut c = Cluster {
            dir,
            master_port,
            agent_port,
            _master: m,
            agent: None,
            agent_args: agent_args.to_vec(),
        };
        c.start_agent();
        assert!(
            wait_for(Duration::from_secs(30), || agents_registered(c.master_port)
                == 1),
            "agent did not register; agent log:\n{}",
            c.agent_log()
        );
        c
    }

    fn start_agent(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.0.join("agent.log"))
            .unwrap();
        self.agent = Some(Guard(Some(
            Command::new(env!("CARGO_BIN_EXE_mesos-agent"))
                .arg(format!("--master=127.0.0.1:{}", self.master_port))
                .arg(format!("--work_dir={}", self.dir.0.join("work").display()))
                .arg(format!(
                    "--runtime_dir={}",
                    self.dir.0.join("runtime").display()
                ))
                .arg(format!("--port={}", self.agent_port))
                .arg("--ip=127.0.0.1")
                .args(&self.agent_args)
                .arg("--resources=cpus:2;mem:1024;disk:1024")
                .arg("--recovery_timeout=30secs")
                .env_remove("MESOS_WORK_DIR")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start mesos-agent"),
        )));
    }

    fn agent_log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("agent.log")).unwrap_or_default()
    }

    /// Runs the pymesos scheduler with one task; returns (exit code, output).
    fn run_task(
        &self,
        python: &Path,
        command: &str,
        container: &str,
        during: impl FnOnce(),
    ) -> (Option<i32>, String) {
        self.run_task_env(python, command, container, &[], during)
    }

    fn run_task_env(
        &self,
        python: &Path,
        command: &str,
        container: &str,
        env: &[(&str, String)],
        during: impl FnOnce(),
    ) -> (Option<i32>, String) {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pymesos_container_task.py");
        let log_path = self.dir.0.join("scheduler.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let mut g = Guard(Some(
            Command::new(python)
                .arg(script)
                .arg(format!("127.0.0.1:{}", self.master_port))
                .arg(command)
                .arg(container)
                .arg("60")
                .envs(env.iter().map(|(k, v)| (k, v)))
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start the scheduler"),
        ));
        during();
        let code = g.wait_exit(Duration::from_secs(90));
        (code, std::fs::read_to_string(&log_path).unwrap_or_default())
    }

    /// Every sandbox `stdout` of the work dir.
    fn stdouts(&self) -> String {
        fn walk(dir: &Path, out: &mut String) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_symlink() {
                    continue;
                }
                if p.is_dir() {
                    walk(&p, out);
                } else if p.file_name().is_some_and(|n| n == "stdout") {
                    out.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
                }
            }
        }
        let mut out = String::new();
        walk(&self.dir.0.join("work/slaves"), &mut out);
        out
    }
}

const PROBE: &str = "df -k /dev/shm | tail -n 1; grep NoNewPrivs /proc/self/status; echo pid=$$";
const LINUX_INFO: &str = r#"{"type":"MESOS","linux_info":{"ipc_mode":"PRIVATE","shm_size":16}}"#;

fn assert_probe(c: &Cluster, code: Option<i32>, out: &str) {
    assert_eq!(
        code,
        Some(0),
        "scheduler:\n{out}\nagent log:\n{}",
        c.agent_log()
    );
    assert!(out.contains("status TASK_FINISHED"), "{out}");
    let stdout = c.stdouts();
    // 16 MB tmpfs = 16384 1K-blocks.
    let shm = stdout
        .lines()
        .find(|l| l.trim_end().ends_with("/dev/shm"))
        .unwrap_or_else(|| panic!("no df line in the task's stdout:\n{stdout}"));
    assert_eq!(
        shm.split_whitespace().nth(1),
        Some("16384"),
        "task's /dev/shm is not 16 MB:\n{stdout}"
    );
    assert!(stdout.contains("NoNewPrivs:\t1"), "{stdout}");
    // In its own pid namespace the task's shell has a tiny pid (the
    // executor is pid 1).
    let pid: u32 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("pid="))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no pid line:\n{stdout}"));
    assert!(pid < 50, "task not in a pid namespace (pid {pid})");
}

#[test]
fn linux_info_applies_to_command_task_on_real_master() {
    let Some(bin) = kit() else { return };
    let Some(python) = common::pymesos_python() else {
        return;
    };
    if !root() {
        return;
    }
    let local = bin.join("mesos-ref-local");
    let c = Cluster::start(MasterKind::Real(&local), "real");
    let (code, out) = c.run_task(&python, PROBE, LINUX_INFO, || {});
    assert_probe(&c, code, &out);
}

#[test]
fn linux_info_applies_to_command_task_on_our_master() {
    let Some(python) = common::pymesos_python() else {
        return;
    };
    if !root() {
        return;
    }
    let c = Cluster::start(MasterKind::Ours, "ours");
    let port = c.agent_port;
    let seen = std::cell::RefCell::new((None, None, None));
    let v1 = std::cell::RefCell::new(Vec::new());
    let (code, out) = c.run_task(&python, &format!("{PROBE}; sleep 3"), LINUX_INFO, || {
        // While the task runs: usage with the task's limits, the
        // container listed, nothing pending in the containerizer.
        wait_for(Duration::from_secs(30), || {
            let stats = http_get(port, "/monitor/statistics")
                .and_then(|(_, b)| serde_json::from_str::<serde_json::Value>(&b).ok());
            let running = api_v1(port, "GET_TASKS")
                .is_some_and(|t| t["get_tasks"]["launched_tasks"][0]["state"] == "TASK_RUNNING");
            let ok = running
                && stats
                    .as_ref()
                    .and_then(|v| v.as_array())
                    .is_some_and(|a| a.len() == 1);
            if ok {
                *seen.borrow_mut() = (
                    stats,
                    http_get(port, "/containers").and_then(|(_, b)| serde_json::from_str(&b).ok()),
                    http_get(port, "/containerizer/debug")
                        .and_then(|(_, b)| serde_json::from_str(&b).ok()),
                );
                *v1.borrow_mut() = ["GET_CONTAINERS", "GET_TASKS", "GET_METRICS"]
                    .iter()
                    .map(|c| api_v1(port, c))
                    .collect();
            }
            ok
        });
    });
    assert_probe(&c, code, &out);
    let (stats, containers, debug): (
        Option<serde_json::Value>,
        Option<serde_json::Value>,
        Option<serde_json::Value>,
    ) = seen.into_inner();
    let stats = stats.expect("no /monitor/statistics entry while the task ran");
    let s = &stats[0]["statistics"];
    // Executor (0.1 cpus, 32 MB) + task (0.1 cpus, 64 MB).
    assert_eq!(s["mem_limit_bytes"], 96 * 1024 * 1024, "{stats}");
    assert!(
        (s["cpus_limit"].as_f64().unwrap() - 0.2).abs() < 1e-9,
        "{stats}"
    );
    assert!(s["mem_rss_bytes"].as_u64().unwrap() > 0, "{stats}");
    let containers = containers.expect("/containers");
    assert_eq!(containers[0]["executor_id"], "container-task-1");
    assert!(containers[0]["status"]["executor_pid"].as_u64().is_some());
    assert_eq!(
        debug.expect("/containerizer/debug"),
        serde_json::json!({"pending": []})
    );
    // The v1 operator API sees the same container, task and counters.
    let v1 = v1.into_inner();
    let containers = v1[0].as_ref().expect("GET_CONTAINERS");
    let cs = &containers["get_containers"]["containers"];
    assert_eq!(
        cs[0]["executor_id"]["value"], "container-task-1",
        "{containers}"
    );
    assert_eq!(
        cs[0]["resource_statistics"]["mem_limit_bytes"],
        96 * 1024 * 1024
    );
    let tasks = v1[1].as_ref().expect("GET_TASKS");
    assert_eq!(
        tasks["get_tasks"]["launched_tasks"][0]["task_id"]["value"], "container-task-1",
        "{tasks}"
    );
    let metrics = v1[2].as_ref().expect("GET_METRICS");
    let running = metrics["get_metrics"]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "slave/executors_running")
        .map(|m| m["value"].clone());
    assert_eq!(running, Some(serde_json::json!(1.0)), "{metrics}");
}

/// A limitation seen while the task still runs destroys the container:
/// disk/du with `--enforce_container_disk_quota` (a memory OOM would race
/// with the command executor reporting its task's SIGKILL, upstream too).
#[test]
fn disk_limitation_fails_the_task_with_its_reason() {
    let Some(python) = common::pymesos_python() else {
        return;
    };
    if !root() {
        return;
    }
    let c = Cluster::start_with(
        MasterKind::Ours,
        "disk",
        &[
            "--launcher=linux".to_string(),
            format!("--isolation={ISOLATION},disk/du"),
            format!(
                "--cgroups_root=mesos-test-agent-linux-disk-{}",
                std::process::id()
            ),
            "--enforce_container_disk_quota".to_string(),
            "--container_disk_watch_interval=200ms".to_string(),
        ],
    );
    let resources = serde_json::json!([
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
        {"name": "mem", "type": "SCALAR", "scalar": {"value": 64}},
        {"name": "disk", "type": "SCALAR", "scalar": {"value": 2}},
    ]);
    let (code, out) = c.run_task_env(
        &python,
        "dd if=/dev/zero of=big bs=1M count=20; sleep 60",
        r#"{"type":"MESOS"}"#,
        &[("RESOURCES_JSON", resources.to_string())],
        || {},
    );
    assert_eq!(code, Some(1), "{out}\nagent log:\n{}", c.agent_log());
    assert!(
        out.contains("status TASK_FAILED REASON_CONTAINER_LIMITATION_DISK Disk usage"),
        "{out}"
    );
}

#[test]
fn http_executor_runs_a_task_through_the_v1_executor_api() {
    let Some(python) = common::pymesos_python() else {
        return;
    };
    let c = Cluster::start_with(MasterKind::Ours, "httpexec", &[]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/http_executor.py");
    let executor = serde_json::json!({
        "executor_id": {"value": "http-exec"},
        "command": {"value": format!("{} {}", python.display(), script.display())},
        "resources": [
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}},
        ],
    });
    let (code, out) = c.run_task_env(
        &python,
        "unused",
        "{}",
        &[("EXECUTOR_JSON", executor.to_string())],
        || {},
    );
    let stdout = c.stdouts();
    assert_eq!(
        code,
        Some(0),
        "scheduler:\n{out}\nexecutor:\n{stdout}\nagent log:\n{}",
        c.agent_log()
    );
    assert!(out.contains("status TASK_RUNNING"), "{out}");
    assert!(out.contains("status TASK_FINISHED"), "{out}");
    assert!(out.contains("message hello-from-http-executor"), "{out}");
    assert!(
        stdout.contains("subscribe status 200 application/json"),
        "{stdout}"
    );
    assert!(stdout.contains("event SUBSCRIBED container"), "{stdout}");
    assert!(stdout.contains("event LAUNCH container-task-1"), "{stdout}");
    assert!(stdout.contains("response UPDATE 202"), "{stdout}");
    assert_eq!(
        stdout
            .matches("event ACKNOWLEDGED container-task-1")
            .count(),
        2,
        "{stdout}"
    );
    assert!(stdout.contains("finished update acknowledged"), "{stdout}");
}

/// A checkpointing framework's task survives SIGKILL + restart of the
/// agent: the restarted agent hands the live container to the
/// containerizer's `recover`, the executor reconnects and the task
/// finishes; the container's cgroup is removed afterwards.
#[test]
fn linux_container_survives_agent_restart() {
    let Some(python) = common::pymesos_python() else {
        return;
    };
    if !root() {
        return;
    }
    let c = std::cell::RefCell::new(Cluster::start(MasterKind::Ours, "recover"));
    let port = c.borrow().agent_port;
    let (code, out) = {
        let cl = c.borrow();
        let dir = cl.dir.0.clone();
        drop(cl);
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pymesos_container_task.py");
        let log_path = dir.join("scheduler.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let mut g = Guard(Some(
            Command::new(&python)
                .arg(script)
                .arg(format!("127.0.0.1:{}", c.borrow().master_port))
                .arg("sleep 6; echo survived-restart")
                .arg(LINUX_INFO)
                .arg("90")
                .env("CHECKPOINT", "1")
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start the scheduler"),
        ));
        assert!(
            wait_for(Duration::from_secs(30), || api_v1(port, "GET_TASKS")
                .is_some_and(
                    |t| t["get_tasks"]["launched_tasks"][0]["state"] == "TASK_RUNNING"
                )),
            "task did not start; agent log:\n{}",
            c.borrow().agent_log()
        );
        // SIGKILL the agent (Guard drop kills and reaps) and restart it.
        c.borrow_mut().agent = None;
        c.borrow_mut().start_agent();
        let code = g.wait_exit(Duration::from_secs(90));
        (code, std::fs::read_to_string(&log_path).unwrap_or_default())
    };
    let c = c.into_inner();
    assert_eq!(code, Some(0), "{out}\nagent log:\n{}", c.agent_log());
    assert_eq!(out.matches("status TASK_FINISHED").count(), 1, "{out}");
    assert!(c.stdouts().contains("survived-restart"));
    let log = c.agent_log();
    assert!(
        log.contains("Sending reconnect request to executor"),
        "{log}"
    );
    // The recovered container's cgroups are removed once it has ended.
    let roots = c.cgroups_roots();
    assert!(!roots.is_empty(), "no cgroups root was created");
    let left = || {
        roots
            .iter()
            .flat_map(|r| std::fs::read_dir(r).into_iter().flatten().flatten())
            .filter(|e| e.path().is_dir())
            .map(|e| e.path())
            .collect::<Vec<_>>()
    };
    wait_for(Duration::from_secs(15), || left().is_empty());
    assert!(left().is_empty(), "left behind: {:?}", left());
}

/// A checkpointing framework's HTTP executor outlives an agent SIGKILL +
/// restart: the restarted agent waits for it (`http.marker`), it
/// resubscribes during recovery, resends its TASK_FINISHED and the
/// scheduler sees the task finish exactly once.
#[test]
fn http_executor_resubscribes_after_agent_restart() {
    let Some(python) = common::pymesos_python() else {
        return;
    };
    let mut c = Cluster::start_with(MasterKind::Ours, "httprecover", &[]);
    let port = c.agent_port;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/http_executor.py");
    let executor = serde_json::json!({
        "executor_id": {"value": "http-exec"},
        "command": {
            "value": format!("{} {}", python.display(), script.display()),
            "environment": {"variables": [{"name": "HTTP_EXECUTOR_DELAY", "value": "4"}]},
        },
        "resources": [
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}},
        ],
    });
    let log_path = c.dir.0.join("scheduler.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut g = Guard(Some(
        Command::new(&python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pymesos_container_task.py"))
            .arg(format!("127.0.0.1:{}", c.master_port))
            .arg("unused")
            .arg("{}")
            .arg("90")
            .env("CHECKPOINT", "1")
            .env("EXECUTOR_JSON", executor.to_string())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start the scheduler"),
    ));
    assert!(
        wait_for(Duration::from_secs(30), || api_v1(port, "GET_TASKS")
            .is_some_and(
                |t| t["get_tasks"]["launched_tasks"][0]["state"] == "TASK_RUNNING"
            )),
        "task did not start; agent log:\n{}",
        c.agent_log()
    );
    c.agent = None;
    c.start_agent();
    let code = g.wait_exit(Duration::from_secs(90));
    let out = std::fs::read_to_string(&log_path).unwrap_or_default();
    let stdout = c.stdouts();
    assert_eq!(
        code,
        Some(0),
        "{out}\nexecutor:\n{stdout}\nagent log:\n{}",
        c.agent_log()
    );
    assert_eq!(out.matches("status TASK_FINISHED").count(), 1, "{out}");
    assert!(stdout.matches("event SUBSCRIBED").count() >= 2, "{stdout}");
    assert!(stdout.contains("finished update acknowledged"), "{stdout}");
    assert!(
        c.agent_log()
            .contains("Waiting for HTTP executor 'http-exec'"),
        "{}",
        c.agent_log()
    );
}

/// Bad executor API requests get upstream's 4xx answers, never a crash.
#[test]
fn executor_api_rejects_bad_requests() {
    let c = Cluster::start_with(MasterKind::Ours, "execapi", &[]);
    let port = c.agent_port;
    let (code, _) = http_get(port, "/api/v1/executor").unwrap();
    assert_eq!(code, 405);
    let (code, _) = http_call(port, "POST", "/api/v1/executor", "{").unwrap();
    assert_eq!(code, 400);
    // A SUBSCRIBE for a framework the agent does not know.
    let (code, body) = http_call(
        port,
        "POST",
        "/api/v1/executor",
        r#"{"type":"SUBSCRIBE","framework_id":{"value":"nope"},"executor_id":{"value":"e"},"subscribe":{}}"#,
    )
    .unwrap();
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("Framework nope does not exist"), "{body}");
    // Undecodable protobuf.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(
        b"POST /api/v1/executor HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: 2\r\n\r\n\xff\xff",
    )
    .unwrap();
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("Failed to parse body into Call"), "{text}");
    // Unsupported media type.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(
        b"POST /api/v1/executor HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi",
    )
    .unwrap();
    let n = s.read(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 415"), "{text}");
    // The agent still serves.
    assert_eq!(http_get(port, "/health").map(|r| r.0), Some(200));
}
