//! The upgrade path from real Mesos agents (1.8.1 and 1.9.0, the reference
//! kits built by ../shared/ref-mesos/setup.sh into ~/.cache/mesos-ref-<v>):
//!
//! - `mixed_cluster_<v>`: the REAL agent of that version registers with OUR
//!   `mesos-master`, and both the kit's v1 HTTP scheduler and its libmesos
//!   driver framework run a task on it to TASK_FINISHED;
//! - `in_place_upgrade_from_<v>`: a checkpointing framework's long task runs
//!   on the real agent (registered with the real 1.9.0 master); the real agent
//!   is stopped with SIGTERM (what `systemctl stop` sends, docs/upgrades.md),
//!   OUR `mesos-agent` starts on the same `--work_dir`, `--runtime_dir` and
//!   port, recovers the agent ID, the still-running executor (the kit's
//!   stand-in command executor, a v1 HTTP executor) resubscribes, and the
//!   scheduler sees TASK_FINISHED exactly once;
//! - `in_place_upgrade_from_<v>_under_our_master`: the same with OUR master
//!   (upstream upgrades masters first, docs/upgrades.md).
//!
//! Every test prints a SKIP line and passes when a kit it needs is absent.
//! All processes (and executors, found through their checkpointed
//! `forked.pid`) are killed by drop guards.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;

use common::{free_port, http_get, kit_dir_version, start_master, wait_until, Guard, MasterKind};

const RESOURCES: &str = "--resources=cpus:2;mem:1024;disk:1024;ports:[31000-32000]";

/// A directory removed on drop (kept with `AGENT_UPGRADE_KEEP=1`).
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!(
            "agent-upgrade-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }

    fn log(&self, name: &str) -> std::fs::File {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.0.join(name))
            .unwrap()
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.0.join(name)).unwrap_or_default()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        if std::env::var("AGENT_UPGRADE_KEEP").is_err() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Kills every executor whose pid was checkpointed under `work_dir/meta`.
struct ExecutorReaper(PathBuf);

impl Drop for ExecutorReaper {
    fn drop(&mut self) {
        for pid in checkpointed_pids(&self.0.join("meta")) {
            mesos_agent::launcher::kill_tree(pid, mesos_agent::launcher::Signal::SIGKILL);
        }
    }
}

fn checkpointed_pids(meta: &Path) -> Vec<i32> {
    fn walk(dir: &Path, out: &mut Vec<i32>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            let link = e.file_type().map(|t| t.is_symlink()).unwrap_or(true);
            if p.is_dir() && !link {
                walk(&p, out);
            } else if p.file_name().is_some_and(|n| n == "forked.pid") {
                if let Some(pid) = std::fs::read_to_string(&p)
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                {
                    out.push(pid);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(meta, &mut out);
    out
}

fn alive(pid: i32) -> bool {
    // A zombie is not alive; executors are not our children anyway.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

fn slaves(master_port: u16) -> Vec<serde_json::Value> {
    http_get(master_port, "/master/slaves")
        .and_then(|(_, b)| serde_json::from_str::<serde_json::Value>(&b).ok())
        .and_then(|v| v["slaves"].as_array().cloned())
        .unwrap_or_default()
}

/// OUR `mesos-master` on a free port.
fn start_our_master(dir: &Dir) -> (Guard, u16) {
    let port = free_port();
    (start_master(MasterKind::Ours, port, &dir.0, &[]), port)
}

/// The REAL 1.9.0 master (`mesos-ref-local … 0`) on a free port.
fn start_real_master(bin19: &Path, dir: &Dir) -> (Guard, u16) {
    let port = free_port();
    let local = bin19.join("mesos-ref-local");
    (
        start_master(MasterKind::Real(&local), port, &dir.0, &[]),
        port,
    )
}

/// The REAL agent of a kit, registering with `master_port`.
fn start_real_agent(bin: &Path, dir: &Dir, master_port: u16, agent_port: u16) -> Guard {
    start_real_agent_with(bin, dir, master_port, agent_port, bin)
}

/// The REAL agent with `--launcher_dir=launcher_dir` (where it finds
/// `mesos-containerizer`, `mesos-executor`, ...).
fn start_real_agent_with(
    bin: &Path,
    dir: &Dir,
    master_port: u16,
    agent_port: u16,
    launcher_dir: &Path,
) -> Guard {
    Guard(Some(
        Command::new(bin.join("mesos-ref-agent"))
            .arg(format!("127.0.0.1:{master_port}"))
            .arg(format!("--launcher_dir={}", launcher_dir.display()))
            .arg(format!("--port={agent_port}"))
            .arg(format!("--work_dir={}", dir.0.join("work").display()))
            .arg(format!("--runtime_dir={}", dir.0.join("run").display()))
            .arg(RESOURCES)
            .env_remove("MESOS_WORK_DIR")
            .env_remove("MESOS_RUNTIME_DIR")
            .stdout(Stdio::null())
            .stderr(dir.log("real-agent.log"))
            .spawn()
            .expect("start the real agent"),
    ))
}

/// OUR `mesos-agent` on the same work dir, runtime dir and port.
fn start_our_agent(dir: &Dir, master_port: u16, agent_port: u16) -> Guard {
    Guard(Some(
        Command::new(env!("CARGO_BIN_EXE_mesos-agent"))
            .arg(format!("--master=127.0.0.1:{master_port}"))
            .arg(format!("--work_dir={}", dir.0.join("work").display()))
            .arg(format!("--runtime_dir={}", dir.0.join("run").display()))
            .arg(format!("--port={agent_port}"))
            .arg("--ip=127.0.0.1")
            .arg(RESOURCES)
            .arg("--recovery_timeout=30secs")
            .env_remove("MESOS_WORK_DIR")
            .env_remove("MESOS_RUNTIME_DIR")
            .stdout(Stdio::null())
            .stderr(dir.log("agent.log"))
            .spawn()
            .expect("start mesos-agent"),
    ))
}

/// Stops a real agent as an operator's service manager does: SIGTERM (the
/// kit's agent exits 143, leaving checkpointed executors running), then
/// waits for the exit (SIGKILL after 10 s).
fn terminate(g: &mut Guard) {
    let Some(mut c) = g.0.take() else { return };
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(c.id().to_string())
        .status();
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if let Ok(Some(_)) = c.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = c.kill();
    let _ = c.wait();
}

/// Runs a program to its end (killed after `timeout`): exit code and output.
fn run_to_end(mut cmd: Command, timeout: Duration) -> (Option<i32>, String) {
    let out = std::env::temp_dir().join(format!(
        "agent-upgrade-out-{}-{}",
        std::process::id(),
        free_port()
    ));
    let f = std::fs::File::create(&out).unwrap();
    let mut g = Guard(Some(
        cmd.stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .expect("spawn"),
    ));
    let code = g.wait_exit(timeout);
    drop(g);
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    (code, text)
}

/// Mixed-version cluster: the real agent of `version` on OUR master runs a
/// v1 scheduler's task and a libmesos driver framework's task.
fn mixed_cluster(version: &str) {
    let Some(bin) = kit_dir_version(version) else {
        return;
    };
    let dir = Dir::new(&format!("mixed-{version}"));
    let (_master, master_port) = start_our_master(&dir);
    let agent_port = free_port();
    let _agent = start_real_agent(&bin, &dir, master_port, agent_port);
    let _reaper = ExecutorReaper(dir.0.join("work"));
    let agent = wait_until(Duration::from_secs(30), || {
        slaves(master_port).into_iter().next()
    })
    .unwrap_or_else(|| {
        panic!(
            "the real {version} agent did not register with our master\nagent log:\n{}\nmaster log:\n{}",
            dir.read("real-agent.log"),
            dir.read("master.log")
        )
    });
    assert_eq!(agent["version"], version, "{agent}");
    assert_eq!(agent["pid"], format!("slave(1)@127.0.0.1:{agent_port}"));
    assert_eq!(agent["active"], true);

    let mut v1 = Command::new(bin.join("ref-v1-scheduler"));
    v1.arg(format!("127.0.0.1:{master_port}"))
        .arg("echo mixed-v1-task")
        .arg("60");
    let (code, out) = run_to_end(v1, Duration::from_secs(90));
    assert_eq!(
        code,
        Some(0),
        "v1 scheduler:\n{out}\nagent log:\n{}",
        dir.read("real-agent.log")
    );
    assert!(out.contains("TASK_FINISHED"), "{out}");

    let mut driver = Command::new(bin.join("mesos-ref-framework"));
    driver
        .arg(format!("127.0.0.1:{master_port}"))
        .arg("echo mixed-driver-task")
        .arg("60");
    let (code, out) = run_to_end(driver, Duration::from_secs(90));
    assert_eq!(
        code,
        Some(0),
        "driver framework:\n{out}\nagent log:\n{}",
        dir.read("real-agent.log")
    );
    assert!(out.contains("TASK_FINISHED"), "{out}");
    // Both tasks ran on the real agent (their output is in its sandboxes).
    let stdouts = sandbox_stdouts(&dir.0.join("work"));
    for want in ["mixed-v1-task", "mixed-driver-task"] {
        assert!(
            stdouts.iter().any(|t| t.contains(want)),
            "no sandbox stdout with {want}"
        );
    }
}

/// Every `stdout` under `work_dir/slaves/*/frameworks/*/executors/*/runs/*`.
fn sandbox_stdouts(work: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let ls = |p: PathBuf| -> Vec<PathBuf> {
        std::fs::read_dir(p)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name() != "latest")
            .map(|e| e.path())
            .collect()
    };
    for s in ls(work.join("slaves")) {
        for f in ls(s.join("frameworks")) {
            for e in ls(f.join("executors")) {
                for r in ls(e.join("runs")) {
                    if let Ok(t) = std::fs::read_to_string(r.join("stdout")) {
                        out.push(t);
                    }
                }
            }
        }
    }
    out
}

/// Which master the upgraded agent is registered with.
#[derive(Clone, Copy, PartialEq)]
enum Master {
    /// The real 1.9.0 master (an upstream cluster whose agents move to ours).
    Real,
    /// Ours: upstream's order (docs/upgrades.md) is masters first, then
    /// agents, so a real 1.8.1 agent under our master is the middle state.
    Ours,
}

/// Which command executor the real agent launches.
#[derive(Clone, Copy, PartialEq)]
enum Executor {
    /// The kit's stand-in (v1 HTTP executor API): recovered through
    /// `http.marker`, it resubscribes by itself.
    Kit,
    /// OUR `mesos-executor` in the real agent's launcher dir, on the
    /// libprocess driver protocol as upstream's command executor by
    /// default: recovered through `pids/libprocess.pid`, reconnected with
    /// `ReconnectExecutorMessage`.
    Ours,
}

/// In-place upgrade of the real agent of `version` to ours while a
/// checkpointed task runs.
fn in_place_upgrade(version: &str, master: Master) {
    in_place_upgrade_with(version, master, Executor::Kit)
}

fn in_place_upgrade_with(version: &str, master: Master, executor: Executor) {
    let Some(bin) = kit_dir_version(version) else {
        return;
    };
    let dir = Dir::new(&format!("upgrade-{version}"));
    let launcher_dir = match executor {
        Executor::Kit => bin.clone(),
        Executor::Ours => {
            let l = dir.0.join("launcher");
            std::fs::create_dir_all(&l).unwrap();
            for p in [
                "mesos-containerizer",
                "mesos-fetcher",
                "mesos-default-executor",
            ] {
                std::os::unix::fs::symlink(bin.join(p), l.join(p)).unwrap();
            }
            std::os::unix::fs::symlink(
                env!("CARGO_BIN_EXE_mesos-executor"),
                l.join("mesos-executor"),
            )
            .unwrap();
            l
        }
    };
    let (_master, master_port) = match master {
        Master::Ours => start_our_master(&dir),
        Master::Real => {
            let Some(bin19) = kit_dir_version("1.9.0") else {
                return;
            };
            start_real_master(&bin19, &dir)
        }
    };
    let agent_port = free_port();
    let mut real = start_real_agent_with(&bin, &dir, master_port, agent_port, &launcher_dir);
    let _reaper = ExecutorReaper(dir.0.join("work"));
    let id = wait_until(Duration::from_secs(30), || {
        slaves(master_port)
            .first()
            .and_then(|a| a["id"].as_str().map(str::to_string))
    })
    .unwrap_or_else(|| {
        panic!(
            "real agent did not register:\n{}",
            dir.read("real-agent.log")
        )
    });

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ckpt_scheduler.py");
    let mut sched = Guard(Some(
        Command::new("python3")
            .arg(&script)
            .arg(format!("127.0.0.1:{master_port}"))
            .arg("sleep 12; echo upgraded-task-done")
            .arg("90")
            .arg("3")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3"),
    ));
    let stdout = sched.0.as_mut().unwrap().stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines: Vec<String> = Vec::new();
    let mut wait_for = |pat: &str, secs: u64| -> Vec<String> {
        let end = Instant::now() + Duration::from_secs(secs);
        while !lines.iter().any(|l| l.contains(pat)) {
            let left = end.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) => lines.push(l),
                Err(_) => break,
            }
        }
        lines.clone()
    };
    let seen = wait_for("TASK_RUNNING", 60);
    assert!(
        seen.iter().any(|l| l.contains("TASK_RUNNING")),
        "task never ran on the real agent: {seen:?}\n{}",
        dir.read("real-agent.log")
    );
    let meta = dir.0.join("work/meta");
    let pids = checkpointed_pids(&meta);
    assert_eq!(pids.len(), 1, "one checkpointed executor: {pids:?}");
    let executor_pid = pids[0];

    // The upgrade: stop the real agent, start ours in its place.
    terminate(&mut real);
    assert!(alive(executor_pid), "the executor must survive the agent");
    let _ours = start_our_agent(&dir, master_port, agent_port);
    // The recovered task is still running under our agent (the same
    // executor process; the task sleeps 12 s, far longer than a takeover).
    let running = wait_until(Duration::from_secs(20), || {
        let (_, body) = http_get(agent_port, "/state")?;
        (body.contains("recovery-task-1") && body.contains("\"state\":\"TASK_RUNNING\""))
            .then_some(())
    });
    assert!(
        running.is_some(),
        "our agent's /state never showed the recovered task running:\n{}",
        dir.read("agent.log")
    );
    assert!(alive(executor_pid), "the same executor keeps running");

    let seen = wait_for("FINISHED_COUNT", 60);
    let log = dir.read("agent.log");
    let finished = seen.iter().filter(|l| l.contains("TASK_FINISHED")).count();
    assert_eq!(
        finished, 1,
        "terminal update must arrive exactly once: {seen:?}\nour agent log:\n{log}"
    );
    assert!(
        seen.iter().any(|l| l.contains("FINISHED_COUNT 1")),
        "{seen:?}\n{log}"
    );
    assert!(
        !seen.iter().any(|l| l.contains("FAILURE")),
        "{seen:?}\n{log}"
    );
    assert!(log.contains(&format!("Recovering agent {id}")), "{log}");
    match executor {
        Executor::Kit => assert!(
            log.contains("Waiting for HTTP executor 'recovery-task-1'"),
            "the executor is recovered as an HTTP executor:\n{log}"
        ),
        Executor::Ours => {
            assert!(
                log.contains("Sending reconnect request to executor 'recovery-task-1'"),
                "the executor is recovered as a driver executor:\n{log}"
            );
            assert!(
                log.contains("Received re-registration message from executor"),
                "{log}"
            );
        }
    }
    assert!(log.contains("Re-registered with master"), "{log}");
    let agents = slaves(master_port);
    assert_eq!(agents.len(), 1, "{agents:?}");
    assert_eq!(agents[0]["id"], id.as_str(), "agent ID kept");
    assert!(
        sandbox_stdouts(&dir.0.join("work"))
            .iter()
            .any(|t| t.contains("upgraded-task-done")),
        "the task (the same process) ran to its end"
    );
    // The executor exits once its update is acknowledged: ours reports
    // the status the real `mesos-containerizer launch` checkpointed, and
    // removes the container's runtime directory as upstream does.
    assert!(
        wait_until(Duration::from_secs(20), || dir
            .read("agent.log")
            .contains("Executor 'recovery-task-1' of framework")
            .then_some(()))
        .is_some(),
        "executor did not end:\n{}",
        dir.read("agent.log")
    );
    let log = dir.read("agent.log");
    assert!(log.contains("exited with status 0"), "{log}");
    let left: Vec<_> = std::fs::read_dir(dir.0.join("run/containers"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "runtime dirs left: {left:?}");
    let st = sched.0.as_mut().unwrap().wait().unwrap();
    assert_eq!(st.code(), Some(0));
}

#[test]
fn mixed_cluster_1_8_1() {
    mixed_cluster("1.8.1");
}

#[test]
fn mixed_cluster_1_9_0() {
    mixed_cluster("1.9.0");
}

#[test]
fn in_place_upgrade_from_1_8_1() {
    in_place_upgrade("1.8.1", Master::Real);
}

#[test]
fn in_place_upgrade_from_1_9_0() {
    in_place_upgrade("1.9.0", Master::Real);
}

#[test]
fn in_place_upgrade_from_1_8_1_under_our_master() {
    in_place_upgrade("1.8.1", Master::Ours);
}

#[test]
fn in_place_upgrade_from_1_9_0_under_our_master() {
    in_place_upgrade("1.9.0", Master::Ours);
}

#[test]
fn in_place_upgrade_from_1_8_1_driver_executor() {
    in_place_upgrade_with("1.8.1", Master::Real, Executor::Ours);
}

#[test]
fn in_place_upgrade_from_1_9_0_driver_executor() {
    in_place_upgrade_with("1.9.0", Master::Real, Executor::Ours);
}
