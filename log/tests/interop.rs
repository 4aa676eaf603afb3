//! Interop with a real Mesos master (the reference kit in /work/shared/ref-mesos):
//! the registry a real 1.9.0 master writes is read by our `RegistryStore`, and a
//! registry we write is recovered by a real 1.9.0 (and 1.8.1) master.
//!
//! Skipped, with a message, when the kit is not built (`bash
//! /work/shared/ref-mesos/setup.sh`; `MESOS_REF_VERSION=1.8.1` for the 1.8.1 one).
//! `mesos-ref-local` runs the master with `--work_dir=<MESOS_WORK_DIR>/master`, so its
//! log lives at `<MESOS_WORK_DIR>/master/replicated_log`.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::TempDir;
use mesos_log::RegistryStore;
use mesos_proto::mesos::internal::{registry, Registry};
use mesos_proto::mesos::{SlaveId, SlaveInfo, WeightInfo};

fn kit(version: &str) -> Option<PathBuf> {
    let home = match version {
        "1.9.0" => std::env::var_os("MESOS_REF_HOME").map(PathBuf::from),
        _ => None,
    }
    .or_else(|| {
        std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(format!(".cache/mesos-ref-{version}")))
    })?;
    let bin = home.join("bin/mesos-ref-local");
    if bin.exists() {
        Some(bin)
    } else {
        eprintln!(
            "SKIP: no real Mesos {version} kit at {} (build it with `MESOS_REF_VERSION={version} bash /work/shared/ref-mesos/setup.sh`)",
            bin.display()
        );
        None
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Master {
    child: Child,
    log: PathBuf,
    port: u16,
}

impl Master {
    fn start(bin: &Path, work_dir: &Path, agents: usize) -> Master {
        let port = free_port();
        let log = work_dir.with_extension(format!("master-{port}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(bin)
            .arg(format!("--port={port}"))
            .arg(agents.to_string())
            .env("MESOS_REGISTRY", "replicated_log")
            .env("MESOS_WORK_DIR", work_dir)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start mesos-ref-local");
        Master { child, log, port }
    }

    fn get(&self, path: &str) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(
            stream,
            "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n"
        )
        .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let (head, body) = response.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.1 200").then(|| body.to_string())
    }

    fn get_json(&self, path: &str) -> Option<serde_json::Value> {
        serde_json::from_str(&self.get(path)?).ok()
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls until `check` holds (a real process: there is no event to wait on).
    fn wait_for<T>(&mut self, what: &str, mut check: impl FnMut(&Master) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(value) = check(self) {
                return value;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "master exited ({status}) waiting for {what}:\n{}",
                    self.output()
                );
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// SIGTERM, as an operator stops it; SIGKILL if it hangs.
    fn stop(mut self) -> String {
        // SAFETY: plain kill(2) on the pid of a child we spawned and have not reaped.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return self.output();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.output()
    }
}

impl Drop for Master {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn we_read_the_registry_a_real_1_9_master_wrote() {
    let Some(bin) = kit("1.9.0") else { return };
    let tmp = TempDir::new("interop-read");
    let work_dir = tmp.path().join("work");
    let mut master = Master::start(&bin, &work_dir, 1);
    let agent = master.wait_for("the agent to register", |m| {
        let slaves = m.get_json("/master/slaves")?;
        let agent = slaves["slaves"].as_array()?.first()?.clone();
        Some(agent)
    });
    // Agents are admitted only after the registry update is durable.
    let output = master.stop();
    assert!(
        output.contains("Successfully updated the registry"),
        "{output}"
    );

    let mut store = RegistryStore::open(work_dir.join("master"), false).unwrap();
    let registry = store.load().unwrap().expect("a registry");
    let agents = registry.slaves.expect("agents").slaves;
    assert_eq!(agents.len(), 1);
    assert_eq!(
        agents[0].info.id.as_ref().unwrap().value,
        agent["id"].as_str().unwrap()
    );
    assert_eq!(agents[0].info.hostname, agent["hostname"].as_str().unwrap());
    assert!(registry.master.is_some());
}

fn our_registry() -> Registry {
    Registry {
        slaves: Some(registry::Slaves {
            slaves: vec![registry::Slave {
                info: SlaveInfo {
                    hostname: "rust-agent.example".into(),
                    port: Some(5051),
                    id: Some(SlaveId {
                        value: "0a1b2c3d-0000-4000-8000-000000000000-S7".into(),
                    }),
                    ..Default::default()
                },
                ..Default::default()
            }],
        }),
        weights: vec![registry::Weight {
            info: WeightInfo {
                weight: 2.5,
                role: Some("rust-role".into()),
            },
        }],
        ..Default::default()
    }
}

/// Writes our registry into a fresh work dir, starts a real master (no agents) on it,
/// and checks it recovered our agent and weight and kept running.
fn real_master_recovers_our_registry(version: &str) {
    let Some(bin) = kit(version) else { return };
    let tmp = TempDir::new(&format!("interop-write-{version}"));
    let work_dir = tmp.path().join("work");
    {
        // Several saves, so the real master also meets our truncations.
        let mut store = RegistryStore::open(work_dir.join("master"), true).unwrap();
        assert!(store.load().unwrap().is_none());
        for weight in [0.5, 1.5, 2.5] {
            let mut registry = our_registry();
            registry.weights[0].info.weight = weight;
            store.save(&registry).unwrap();
        }
    }
    {
        // Reopening compacts (as upstream does on open): the real master must then read
        // a table written by rusty-leveldb, not only its write-ahead log.
        let mut store = RegistryStore::open(work_dir.join("master"), false).unwrap();
        assert_eq!(store.load().unwrap().unwrap().weights[0].info.weight, 2.5);
        let tables = std::fs::read_dir(work_dir.join("master/replicated_log"))
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                name.to_string_lossy().ends_with(".ldb")
            })
            .count();
        assert!(tables > 0, "no .ldb table after reopening");
    }

    let mut master = Master::start(&bin, &work_dir, 0);
    let recovered = master.wait_for("recovery from the registry", |m| {
        m.output()
            .lines()
            .find(|l| l.contains("Recovered 1 agents from the registry"))
            .map(str::to_string)
    });
    eprintln!("[{version}] {recovered}");
    let weights = master.wait_for("/weights", |m| m.get_json("/weights"));
    assert_eq!(weights[0]["role"], "rust-role", "{weights}");
    assert_eq!(weights[0]["weight"], 2.5, "{weights}");
    let registry = master.wait_for("/registrar(1)/registry", |m| {
        m.get_json("/registrar(1)/registry")
    });
    assert_eq!(
        registry["slaves"]["slaves"][0]["info"]["hostname"], "rust-agent.example",
        "{registry}"
    );
    let state = master.wait_for("/master/state", |m| m.get_json("/master/state"));
    assert_eq!(state["version"], version);
    let recovered_agents = state["recovered_slaves"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(recovered_agents.len(), 1, "{state}");
    assert_eq!(recovered_agents[0]["hostname"], "rust-agent.example");
    let output = master.stop();
    assert!(!output.contains("Failed to recover registrar"), "{output}");

    // The real master wrote its own version on top (its MasterInfo); we read it back.
    let mut store = RegistryStore::open(work_dir.join("master"), false).unwrap();
    let registry = store.load().unwrap().expect("a registry");
    let master_info = registry
        .master
        .clone()
        .expect("the real master's info")
        .info;
    assert_eq!(master_info.version.as_deref(), Some(version));
    assert_eq!(
        registry.slaves.as_ref().unwrap().slaves[0].info.hostname,
        "rust-agent.example"
    );
    assert_eq!(registry.weights[0].info.weight, 2.5);

    // And once more the other way: we change the weight on top of the real master's
    // version, and the real master picks it up.
    let mut changed = registry.clone();
    changed.weights[0].info.weight = 3.0;
    store.save(&changed).unwrap();
    drop(store);
    let mut master = Master::start(&bin, &work_dir, 0);
    let weights = master.wait_for("/weights again", |m| {
        m.get_json("/weights").filter(|w| w[0]["weight"] == 3.0)
    });
    assert_eq!(weights[0]["role"], "rust-role");
    let output = master.stop();
    assert!(
        output.contains("Recovered 1 agents from the registry"),
        "{output}"
    );
}

#[test]
fn a_real_1_9_master_recovers_the_registry_we_wrote() {
    real_master_recovers_our_registry("1.9.0");
}

#[test]
fn a_real_1_8_master_recovers_the_registry_we_wrote() {
    real_master_recovers_our_registry("1.8.1");
}
