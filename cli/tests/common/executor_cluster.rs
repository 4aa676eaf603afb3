//! One master and one agent for the executor-level tests (task checks,
//! health checks): ours, or one of them the real 1.9.0 kit's, with a v1
//! scheduler script (built on tests/data/v1_scheduler.py) that prints each
//! status update as `UPDATE <json>`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::{free_port, kit_dir, start_master, v1_scheduler, Guard, MasterKind};

pub struct Cluster {
    pub dir: PathBuf,
    pub master_port: u16,
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

/// Which master and agent a test runs (ours unless the kit's).
#[derive(Clone, Copy, PartialEq)]
pub enum Peers {
    Ours,
    /// The kit's agent, with OUR `mesos-executor` and
    /// `mesos-default-executor` in its launcher dir.
    RealAgent,
    /// The kit's master.
    RealMaster,
}

impl Cluster {
    pub fn start(name: &str, agent_args: &[&str], peers: Peers) -> Cluster {
        let dir = std::env::temp_dir().join(format!(
            "executor-cluster-{name}-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let (master_port, agent_port) = (free_port(), free_port());
        let log = |n: &str| std::fs::File::create(dir.join(n)).unwrap();
        let kit = kit_dir().filter(|_| peers != Peers::Ours);
        let local = kit
            .as_ref()
            .filter(|_| peers == Peers::RealMaster)
            .map(|bin| bin.join("mesos-ref-local"));
        let kind = local.as_deref().map_or(MasterKind::Ours, MasterKind::Real);
        let master = start_master(kind, master_port, &dir, &[]);
        // A port range of its own per test: parallel tests' servers must
        // not fight over ports.
        let base = 20000 + (free_port() % 20000);
        let resources = format!(
            "--resources=cpus:2;mem:1024;disk:1024;ports:[{base}-{}]",
            base + 9
        );
        if peers == Peers::RealAgent {
            let bin = kit.as_ref().expect("kit checked by the caller");
            let ld = dir.join("launcher");
            std::fs::create_dir_all(&ld).unwrap();
            for b in ["mesos-containerizer", "mesos-fetcher"] {
                std::os::unix::fs::symlink(bin.join(b), ld.join(b)).unwrap();
            }
            for (ours, name) in [
                (env!("CARGO_BIN_EXE_mesos-executor"), "mesos-executor"),
                (
                    env!("CARGO_BIN_EXE_mesos-default-executor"),
                    "mesos-default-executor",
                ),
            ] {
                std::os::unix::fs::symlink(ours, ld.join(name)).unwrap();
            }
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

    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }

    /// Runs the scheduler `script` for `scenario` to its end: its exit code and the
    /// updates it saw.
    pub fn run(&self, script: &str, scenario: &str) -> (Option<i32>, Vec<Value>) {
        let log = std::fs::File::create(self.dir.join("scheduler.log")).unwrap();
        let mut g = Guard(Some(
            v1_scheduler(script, self.master_port, scenario, 60)
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

    pub fn diagnostics(&self) -> String {
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
            "scheduler:\n{}\nexecutor:\n{executor}\nagent:\n{}\nmaster:\n{}",
            self.log("scheduler.log"),
            tail(self.log("agent.log"), 60),
            tail(self.log("master.log"), 20),
        )
    }
}

pub fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
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
