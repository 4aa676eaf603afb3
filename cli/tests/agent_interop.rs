//! Interop of OUR `mesos-agent` (and `mesos-executor`) with the REAL Mesos
//! 1.9.0 master, the real libmesos scheduler driver and a v1 HTTP scheduler
//! from the reference kit (/work/shared/ref-mesos, built into
//! ~/.cache/mesos-ref-1.9.0 by its setup.sh).
//!
//! - `driver_framework_task_finishes_on_our_agent`: the libmesos driver
//!   framework's command task reaches TASK_FINISHED on our agent, its stdout
//!   lands in the sandbox, and the master lists our agent as 1.9.0;
//! - `v1_scheduler_task_finishes_on_our_agent`: the same with the v1 HTTP
//!   scheduler;
//! - `agent_sigkill_recovery_reconnects_executor`: a checkpointing
//!   framework's long task survives SIGKILL + restart of our agent; the
//!   restarted agent reconnects to the executor, the task finishes and the
//!   scheduler sees TASK_FINISHED exactly once.
//!
//! Every test prints a SKIP line and passes when the kit is absent. All
//! processes are killed by drop guards (including executors, found through
//! their checkpointed `forked.pid`).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;

use common::{free_port, http_get, http_post_json, kit_dir as kit, Guard};

/// Kills (SIGKILL) and reaps a child on drop.
/// Kills every executor whose pid was checkpointed under `work_dir`.
struct ExecutorReaper(PathBuf);

impl Drop for ExecutorReaper {
    fn drop(&mut self) {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            if let Ok(rd) = std::fs::read_dir(dir) {
                for e in rd.flatten() {
                    let p = e.path();
                    if p.is_dir() && !e.file_type().map(|t| t.is_symlink()).unwrap_or(false) {
                        walk(&p, out);
                    } else if p.file_name().map(|n| n == "forked.pid").unwrap_or(false) {
                        out.push(p);
                    }
                }
            }
        }
        let mut pids = Vec::new();
        walk(&self.0.join("meta"), &mut pids);
        for p in pids {
            if let Ok(s) = std::fs::read_to_string(&p) {
                if let Ok(pid) = s.trim().parse::<i32>() {
                    mesos_agent::launcher::kill_tree(pid, nix_sigkill());
                }
            }
        }
    }
}

fn nix_sigkill() -> mesos_agent::launcher::Signal {
    mesos_agent::launcher::Signal::SIGKILL
}

fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

struct Cluster {
    master_port: u16,
    agent_port: u16,
    work: tempdir::Dir,
    _master: Guard,
    agent: Guard,
    _reaper: ExecutorReaper,
}

mod tempdir {
    use std::path::{Path, PathBuf};

    /// A directory removed on drop.
    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new(tag: &str) -> Dir {
            let p = std::env::temp_dir().join(format!(
                "agent-interop-{tag}-{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos()
            ));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            if std::env::var("AGENT_INTEROP_KEEP").is_err() {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }
}

fn start_agent(work: &Path, master_port: u16, agent_port: u16, log: &str) -> Guard {
    start_agent_with(
        work,
        master_port,
        agent_port,
        log,
        &["--resources=cpus:2;mem:1024;disk:1024;ports:[31000-32000]"],
    )
}

fn start_agent_with(
    work: &Path,
    master_port: u16,
    agent_port: u16,
    log: &str,
    extra: &[&str],
) -> Guard {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(work.join(log))
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_mesos-agent"))
        .arg(format!("--master=127.0.0.1:{master_port}"))
        .arg(format!("--work_dir={}", work.join("work").display()))
        .arg(format!("--port={agent_port}"))
        .arg("--ip=127.0.0.1")
        .args(extra)
        .arg("--recovery_timeout=30secs")
        .env_remove("MESOS_WORK_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start mesos-agent");
    Guard(Some(child))
}

impl Cluster {
    fn start(bin: &Path, tag: &str) -> Cluster {
        let work = tempdir::Dir::new(tag);
        let master_port = free_port();
        let agent_port = free_port();
        let mlog = std::fs::File::create(work.path().join("master.log")).unwrap();
        let master = Guard(Some(
            Command::new(bin.join("mesos-ref-local"))
                .arg(format!("--port={master_port}"))
                .arg(format!(
                    "--work_dir={}",
                    work.path().join("master").display()
                ))
                .arg("0")
                .stdout(Stdio::null())
                .stderr(Stdio::from(mlog))
                .spawn()
                .expect("start the reference master"),
        ));
        assert!(
            wait_until(Duration::from_secs(30), || http_get(master_port, "/health")
                .map(|r| r.0)
                == Some(200)),
            "reference master did not come up"
        );
        let agent = start_agent(work.path(), master_port, agent_port, "agent.log");
        let reaper = ExecutorReaper(work.path().join("work"));
        let c = Cluster {
            master_port,
            agent_port,
            work,
            _master: master,
            agent,
            _reaper: reaper,
        };
        assert!(
            wait_until(Duration::from_secs(30), || c.master_agents().len() == 1),
            "our agent did not register with the real master; agent log:\n{}",
            c.agent_log()
        );
        c
    }

    fn master_agents(&self) -> Vec<serde_json::Value> {
        http_get(self.master_port, "/master/slaves")
            .and_then(|(_, b)| serde_json::from_str::<serde_json::Value>(&b).ok())
            .and_then(|v| v["slaves"].as_array().cloned())
            .unwrap_or_default()
    }

    fn agent_log(&self) -> String {
        std::fs::read_to_string(self.work.path().join("agent.log")).unwrap_or_default()
    }

    /// Every sandbox `stdout` under the work dir's `slaves/`.
    fn sandbox_stdouts(&self) -> Vec<(PathBuf, String)> {
        let mut out = Vec::new();
        let root = self.work.path().join("work/slaves");
        let Ok(slaves) = std::fs::read_dir(&root) else {
            return out;
        };
        for s in slaves.flatten().filter(|e| e.file_name() != "latest") {
            let fws = s.path().join("frameworks");
            for f in std::fs::read_dir(fws).into_iter().flatten().flatten() {
                for e in std::fs::read_dir(f.path().join("executors"))
                    .into_iter()
                    .flatten()
                    .flatten()
                {
                    for r in std::fs::read_dir(e.path().join("runs"))
                        .into_iter()
                        .flatten()
                        .flatten()
                    {
                        if r.file_name() == "latest" {
                            continue;
                        }
                        let p = r.path().join("stdout");
                        if let Ok(t) = std::fs::read_to_string(&p) {
                            out.push((p, t));
                        }
                    }
                }
            }
        }
        out
    }
}

fn run_to_end(mut cmd: Command, timeout: Duration) -> (Option<i32>, String) {
    let mut child = Guard(Some(
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn"),
    ));
    let c = child.0.as_mut().unwrap();
    let mut stdout = c.stdout.take().unwrap();
    let mut stderr = c.stderr.take().unwrap();
    let t1 = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let t2 = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let code = child.wait_exit(timeout);
    // Past the deadline the pipes close only with the child.
    child.kill();
    let out = format!(
        "{}{}",
        t1.join().unwrap_or_default(),
        t2.join().unwrap_or_default()
    );
    (code, out)
}

#[test]
fn driver_framework_task_finishes_on_our_agent() {
    let Some(bin) = kit() else { return };
    let c = Cluster::start(&bin, "driver");
    let agents = c.master_agents();
    assert_eq!(agents[0]["version"], "1.9.0");
    assert_eq!(
        agents[0]["pid"],
        format!("slave(1)@127.0.0.1:{}", c.agent_port)
    );
    let mut cmd = Command::new(bin.join("mesos-ref-framework"));
    cmd.arg(format!("127.0.0.1:{}", c.master_port))
        .arg("echo hello-from-driver-task")
        .arg("60");
    let (code, out) = run_to_end(cmd, Duration::from_secs(90));
    assert_eq!(
        code,
        Some(0),
        "framework output:\n{out}\nagent log:\n{}",
        c.agent_log()
    );
    assert!(out.contains("TASK_FINISHED"), "{out}");
    assert!(out.contains("Command exited with status 0"), "{out}");
    let outs = c.sandbox_stdouts();
    assert!(
        outs.iter()
            .any(|(_, t)| t.contains("hello-from-driver-task")),
        "no sandbox stdout with the task output: {outs:?}"
    );
    // Our agent's own endpoints answer, /state through the delegate.
    let (status, body) = http_get(c.agent_port, "/state").expect("agent /state");
    assert_eq!(status, 200);
    let state: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(state["id"], agents[0]["id"]);
    assert_eq!(
        http_get(c.agent_port, "/slave(1)/health").map(|r| r.0),
        Some(200)
    );
}

#[test]
fn v1_scheduler_task_finishes_on_our_agent() {
    let Some(bin) = kit() else { return };
    let c = Cluster::start(&bin, "v1");
    let mut cmd = Command::new(bin.join("ref-v1-scheduler"));
    cmd.arg(format!("127.0.0.1:{}", c.master_port))
        .arg("echo hello-from-v1-task")
        .arg("60");
    let (code, out) = run_to_end(cmd, Duration::from_secs(90));
    assert_eq!(
        code,
        Some(0),
        "scheduler output:\n{out}\nagent log:\n{}",
        c.agent_log()
    );
    assert!(
        out.contains("TASK_FINISHED Command exited with status 0"),
        "{out}"
    );
    assert!(c
        .sandbox_stdouts()
        .iter()
        .any(|(p, t)| t.contains("hello-from-v1-task")
            && p.to_string_lossy().contains("/executors/ref-task-1/runs/")));
}

/// In-place upgrade: a work dir written by the REAL 1.9.0 agent is taken over
/// by ours, which recovers `meta/slaves/latest/slave.info`, reregisters
/// under the same agent ID and runs the next task.
#[test]
fn takes_over_a_real_agent_work_dir() {
    let Some(bin) = kit() else { return };
    let work = tempdir::Dir::new("takeover");
    let master_port = free_port();
    let agent_port = free_port();
    let mlog = std::fs::File::create(work.path().join("master.log")).unwrap();
    let _master = Guard(Some(
        Command::new(bin.join("mesos-ref-local"))
            .arg(format!("--port={master_port}"))
            .arg(format!(
                "--work_dir={}",
                work.path().join("master").display()
            ))
            .arg("0")
            .stdout(Stdio::null())
            .stderr(Stdio::from(mlog))
            .spawn()
            .unwrap(),
    ));
    assert!(wait_until(Duration::from_secs(30), || http_get(
        master_port,
        "/health"
    )
    .map(|r| r.0)
        == Some(200)));
    let slaves = || -> Vec<serde_json::Value> {
        http_get(master_port, "/master/slaves")
            .and_then(|(_, b)| serde_json::from_str::<serde_json::Value>(&b).ok())
            .and_then(|v| v["slaves"].as_array().cloned())
            .unwrap_or_default()
    };
    let work_dir = work.path().join("work");
    let alog = std::fs::File::create(work.path().join("real-agent.log")).unwrap();
    let mut real = Guard(Some(
        Command::new(bin.join("mesos-ref-agent"))
            .arg(format!("127.0.0.1:{master_port}"))
            .arg(format!("--port={agent_port}"))
            .arg(format!("--work_dir={}", work_dir.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::from(alog))
            .spawn()
            .unwrap(),
    ));
    assert!(
        wait_until(Duration::from_secs(30), || slaves().len() == 1),
        "real agent did not register"
    );
    let id = slaves()[0]["id"].as_str().unwrap().to_string();
    assert!(work_dir.join("meta/slaves/latest/slave.info").exists());
    real.kill();
    let _reaper = ExecutorReaper(work_dir.clone());
    let mut ours = start_agent_with(work.path(), master_port, agent_port, "agent.log", &[]);
    let log = || std::fs::read_to_string(work.path().join("agent.log")).unwrap_or_default();
    assert!(
        wait_until(Duration::from_secs(60), || log()
            .contains("Re-registered with master")),
        "our agent did not reregister:\n{}",
        log()
    );
    assert!(
        log().contains(&format!("Recovering agent {id}")),
        "{}",
        log()
    );
    let s = slaves();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0]["id"], id.as_str(), "agent ID kept across the upgrade");
    assert_eq!(s[0]["active"], true);
    let mut cmd = Command::new(bin.join("mesos-ref-framework"));
    cmd.arg(format!("127.0.0.1:{master_port}"))
        .arg("echo after-takeover")
        .arg("60");
    let (code, out) = run_to_end(cmd, Duration::from_secs(90));
    assert_eq!(code, Some(0), "{out}\n{}", log());
    ours.kill();
}

/// Downgrade path / format check: after a checkpointing framework ran a task
/// on OUR agent, the REAL 1.9.0 agent (`--strict` recovery, which exits on
/// any unreadable checkpoint) takes over our work dir, recovers it and
/// reregisters under the same agent ID.
#[test]
fn real_agent_recovers_our_work_dir() {
    let Some(bin) = kit() else { return };
    let mut c = Cluster::start(&bin, "reverse");
    let id = c.master_agents()[0]["id"].as_str().unwrap().to_string();
    let script = checkpoint_scheduler();
    let mut cmd = Command::new("python3");
    cmd.arg(&script)
        .arg(format!("127.0.0.1:{}", c.master_port))
        .arg("echo checkpointed-run")
        .arg("60")
        .arg("1");
    let (code, out) = run_to_end(cmd, Duration::from_secs(90));
    assert_eq!(code, Some(0), "{out}\n{}", c.agent_log());
    let meta = c.work.path().join("work/meta/slaves").join(&id);
    assert!(meta.join("slave.info").exists());
    let fw_dirs: Vec<_> = std::fs::read_dir(meta.join("frameworks"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(fw_dirs.len(), 1, "one checkpointed framework");
    let fw = fw_dirs[0].path();
    assert!(fw.join("framework.info").exists() && fw.join("framework.pid").exists());
    let run = fw.join("executors/recovery-task-1/runs/latest");
    for f in [
        "pids/forked.pid",
        "pids/libprocess.pid",
        "tasks/recovery-task-1/task.info",
        "tasks/recovery-task-1/task.updates",
    ] {
        assert!(run.join(f).exists(), "missing {f}");
    }
    // Let the executor exit and the agent archive it, then hand over.
    assert!(wait_until(Duration::from_secs(20), || run
        .join("executor.sentinel")
        .exists()));
    c.agent.kill();
    let rlog = c.work.path().join("real-agent.log");
    let log = std::fs::File::create(&rlog).unwrap();
    let mut real = Guard(Some(
        Command::new(bin.join("mesos-ref-agent"))
            .arg(format!("127.0.0.1:{}", c.master_port))
            .arg(format!("--port={}", c.agent_port))
            .arg(format!(
                "--work_dir={}",
                c.work.path().join("work").display()
            ))
            // The same resources as ours: upstream refuses a changed
            // SlaveInfo (`--reconfiguration_policy=equal`).
            .arg("--resources=cpus:2;mem:1024;disk:1024;ports:[31000-32000]")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap(),
    ));
    let text = || std::fs::read_to_string(&rlog).unwrap_or_default();
    assert!(
        wait_until(Duration::from_secs(60), || text()
            .contains("Re-registered with master")),
        "the real agent did not recover our work dir:\n{}",
        text()
    );
    assert!(
        real.0.as_mut().unwrap().try_wait().unwrap().is_none(),
        "real agent exited"
    );
    let agents = c.master_agents();
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0]["id"], id.as_str());
    assert_eq!(agents[0]["active"], true);
}

/// Agent draining through the REAL master's `DRAIN_AGENT`: the running task
/// is killed (TASK_KILLED, REASON_SLAVE_DRAINING) and the master marks our
/// agent DRAINED.
#[test]
fn real_master_drains_our_agent() {
    let Some(bin) = kit() else { return };
    let c = Cluster::start(&bin, "drain");
    let id = c.master_agents()[0]["id"].as_str().unwrap().to_string();
    // The v1 scheduler acknowledges every update (the master only marks an
    // agent DRAINED once the killed task's update is acknowledged; a
    // framework that leaves without acknowledging keeps it DRAINING, with
    // the real agent too).
    let script = checkpoint_scheduler();
    let mut fw = Guard(Some(
        Command::new("python3")
            .arg(&script)
            .arg(format!("127.0.0.1:{}", c.master_port))
            .arg("sleep 60")
            .arg("60")
            .arg("1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    ));
    let running = || {
        http_get(c.agent_port, "/state")
            .map(|(_, b)| b.contains("\"state\":\"TASK_RUNNING\""))
            .unwrap_or(false)
    };
    assert!(
        wait_until(Duration::from_secs(60), running),
        "task never ran:\n{}",
        c.agent_log()
    );
    let body = format!(
        r#"{{"type":"DRAIN_AGENT","drain_agent":{{"agent_id":{{"value":"{id}"}},"max_grace_period":{{"nanoseconds":1000000000}}}}}}"#
    );
    let (status, text) = http_post_json(c.master_port, "/api/v1", &body).expect("DRAIN_AGENT");
    assert_eq!(status, 200, "{text}");
    let code = {
        let child = fw.0.as_mut().unwrap();
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st.code();
            }
            assert!(Instant::now() < end, "framework did not see the kill");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let mut out = String::new();
    let _ =
        fw.0.as_mut()
            .unwrap()
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out);
    assert_eq!(
        code,
        Some(1),
        "the scheduler exits 1 on a killed task:\n{out}"
    );
    assert!(out.contains("status recovery-task-1 TASK_KILLED"), "{out}");
    let drained = || {
        http_post_json(c.master_port, "/api/v1", r#"{"type":"GET_AGENTS"}"#)
            .map(|(_, b)| b.contains("DRAINED"))
            .unwrap_or(false)
    };
    assert!(
        wait_until(Duration::from_secs(30), drained),
        "master never marked the agent DRAINED"
    );
    assert!(
        wait_until(Duration::from_secs(30), || c
            .agent_log()
            .contains("Agent finished draining")),
        "{}",
        c.agent_log()
    );
}

/// A v1 scheduler with `checkpoint: true` that acknowledges every update
/// (tests/data/ckpt_scheduler.py, shared with the upgrade tests).
fn checkpoint_scheduler() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ckpt_scheduler.py")
}

#[test]
fn agent_sigkill_recovery_reconnects_executor() {
    let Some(bin) = kit() else { return };
    let mut c = Cluster::start(&bin, "recovery");
    let script = checkpoint_scheduler();
    let mut sched = Guard(Some(
        Command::new("python3")
            .arg(&script)
            .arg(format!("127.0.0.1:{}", c.master_port))
            .arg("sleep 8; echo recovered-after-agent-restart")
            .arg("90")
            .arg("5")
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
    let wait_for = |pat: &str, lines: &mut Vec<String>, secs: u64| -> bool {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            if lines.iter().any(|l| l.contains(pat)) {
                return true;
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match rx.recv_timeout(left) {
                Ok(l) => lines.push(l),
                Err(mpsc::RecvTimeoutError::Timeout) => return false,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return lines.iter().any(|l| l.contains(pat))
                }
            }
        }
    };
    assert!(
        wait_for("TASK_RUNNING", &mut lines, 60),
        "task never ran: {lines:?}\nagent log:\n{}",
        c.agent_log()
    );
    // SIGKILL the agent while the task runs, then restart it on the same
    // work dir.
    c.agent.kill();
    std::thread::sleep(Duration::from_millis(500));
    c.agent = start_agent(c.work.path(), c.master_port, c.agent_port, "agent.log");
    assert!(
        wait_for("FINISHED_COUNT", &mut lines, 60),
        "scheduler did not finish: {lines:?}\nagent log:\n{}",
        c.agent_log()
    );
    let finished: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("TASK_FINISHED"))
        .collect();
    assert_eq!(
        finished.len(),
        1,
        "terminal update must arrive exactly once: {lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("FINISHED_COUNT 1")),
        "{lines:?}"
    );
    let log = c.agent_log();
    assert!(
        log.contains("Sending reconnect request to executor"),
        "{log}"
    );
    assert!(
        log.contains("Received re-registration message from executor"),
        "{log}"
    );
    assert!(log.contains("Re-registered with master"), "{log}");
    assert!(
        c.sandbox_stdouts()
            .iter()
            .any(|(_, t)| t.contains("recovered-after-agent-restart")),
        "task output missing from the sandbox"
    );
    let st = sched.0.as_mut().unwrap().wait().unwrap();
    assert_eq!(st.code(), Some(0));
}
