//! Helpers shared by the real-process tests of the binaries.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, Instant};

pub mod executor_cluster;

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills (SIGKILL) and reaps a child on drop, so failing tests leave nothing.
pub struct Guard(pub Option<Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Guard {
    /// SIGKILLs and reaps the child now (a no-op once it is gone).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Waits up to `timeout` for the child to exit: its exit code (`None`
    /// when killed by a signal, still running at the deadline, or gone).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let child = self.0.as_mut()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(st)) = child.try_wait() {
                return st.code();
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The `bin/` directory of the real Mesos 1.9.0 kit (`$MESOS_REF_HOME`, default
/// `~/.cache/mesos-ref-1.9.0`), or `None` with a SKIP line when it is not built.
pub fn kit_dir() -> Option<PathBuf> {
    let home = std::env::var("MESOS_REF_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/mesos-ref-1.9.0")
        });
    let bin = home.join("bin");
    if bin.join("mesos-ref-local").exists() {
        Some(bin)
    } else {
        println!(
            "SKIP: the Mesos 1.9.0 kit is not built ({} absent); run ../shared/ref-mesos/setup.sh",
            bin.display()
        );
        None
    }
}

/// A program of the real Mesos 1.9.0 kit, or `None` (with a SKIP line).
pub fn kit_bin(name: &str) -> Option<PathBuf> {
    kit_dir().map(|d| d.join(name))
}

/// `GET path` on 127.0.0.1:port; the status and body.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    http_call(port, "GET", path, "")
}

/// `POST path` with a JSON body (answers asked for in JSON); status and body.
pub fn http_post_json(port: u16, path: &str, body: &str) -> Option<(u16, String)> {
    http_call(port, "POST", path, body)
}

/// One request on a kept-alive connection (no `Connection: close`); the
/// response is read by its Content-Length.
pub fn http_call(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let len = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let status = head.split_whitespace().nth(1)?.parse().ok()?;
                let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).into_owned();
                return Some((status, body));
            }
        }
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Polls `f` every 100 ms until it returns `Some` or `timeout` passes.
pub fn wait_until<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Polls `cond` every 100 ms until it holds or `timeout` passes; whether
/// it held.
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    wait_until(timeout, || cond().then_some(())).is_some()
}

/// `mesos-local` on 127.0.0.1:`port` with `agents` agents offering
/// `resources`; killed when the guard drops.
pub fn start_mesos_local(
    port: u16,
    work_dir: &std::path::Path,
    agents: u32,
    resources: &str,
) -> Guard {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_mesos-local"))
        .args([
            "--ip=127.0.0.1".to_string(),
            format!("--port={port}"),
            format!("--work_dir={}", work_dir.display()),
            format!("--num_agents={agents}"),
            format!("--resources={resources}"),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start mesos-local");
    Guard(Some(child))
}

/// The id of the first agent in `/master/slaves`, once there is one.
pub fn first_agent_id(port: u16) -> Option<String> {
    wait_until(Duration::from_secs(20), || {
        let (_, body) = http_get(port, "/master/slaves")?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        v["slaves"][0]["id"].as_str().map(str::to_string)
    })
}

/// Subscribes a v1 framework (role `*`) and keeps its stream open: the
/// stream, its `Mesos-Stream-Id` and the framework id.
pub fn subscribe_v1(port: u16) -> (TcpStream, String, String) {
    let body = r#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"fuzz","roles":["*"],"capabilities":[{"type":"MULTI_ROLE"}]}}}"#;
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "POST /api/v1/scheduler HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let marker = b"\"framework_id\":{\"value\":\"";
    let fid = loop {
        let n = s.read(&mut chunk).expect("SUBSCRIBED event");
        assert!(n > 0, "subscription stream closed");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(marker.len()).position(|w| w == marker) {
            let rest = &buf[i + marker.len()..];
            if let Some(end) = rest.iter().position(|&c| c == b'"') {
                break String::from_utf8_lossy(&rest[..end]).into_owned();
            }
        }
    };
    let text = String::from_utf8_lossy(&buf).into_owned();
    let stream_id = text
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("mesos-stream-id")
                .then(|| v.trim().to_string())
        })
        .expect("Mesos-Stream-Id header");
    (s, stream_id, fid)
}

/// A Python with pymesos: `PYMESOS_PYTHON`, `$MESOS_TEST_VENV/bin/python` or
/// the repository's `.venv` (scripts/setup.sh); `None` with a SKIP line.
pub fn pymesos_python() -> Option<PathBuf> {
    let candidates = [
        std::env::var("PYMESOS_PYTHON").ok().map(PathBuf::from),
        std::env::var("MESOS_TEST_VENV")
            .ok()
            .map(|v| PathBuf::from(v).join("bin/python")),
        Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python")),
    ];
    let found = candidates.into_iter().flatten().find(|p| {
        std::process::Command::new(p)
            .args(["-c", "import pymesos"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if found.is_none() {
        println!("SKIP: no Python with pymesos (run scripts/setup.sh or set PYMESOS_PYTHON)");
    }
    found
}

/// The `bin/` directory of the real Mesos kit of `version` (`1.9.0` or
/// `1.8.1`): `$MESOS_REF_HOME` when it holds that flavour (its
/// `lib/mesos-ref-version`), else `~/.cache/mesos-ref-<version>`; `None`
/// with a SKIP line when that kit is not built.
pub fn kit_dir_version(version: &str) -> Option<PathBuf> {
    let flavour = |home: &std::path::Path| {
        std::fs::read_to_string(home.join("lib/mesos-ref-version"))
            .map(|s| s.trim().to_string())
            .ok()
    };
    let default = PathBuf::from(std::env::var("HOME").unwrap_or_default())
        .join(format!(".cache/mesos-ref-{version}"));
    let home = std::env::var("MESOS_REF_HOME")
        .map(PathBuf::from)
        .ok()
        .filter(|h| flavour(h).as_deref() == Some(version))
        .unwrap_or(default);
    let bin = home.join("bin");
    // A kit without the flavour file predates 1.8.1 support: 1.9.0.
    let is_version = flavour(&home).map_or(version == "1.9.0", |f| f == version);
    if bin.join("mesos-ref-agent").exists() && is_version {
        Some(bin)
    } else {
        println!(
            "SKIP: the Mesos {version} kit is not built ({} absent); run MESOS_REF_VERSION={version} ../shared/ref-mesos/setup.sh",
            bin.display()
        );
        None
    }
}

/// A program of the real Mesos kit of `version`, or `None` (with a SKIP line).
pub fn kit_bin_version(version: &str, name: &str) -> Option<PathBuf> {
    kit_dir_version(version).map(|d| d.join(name))
}

/// Which master a cluster test runs against: ours (`mesos-master`) or the
/// real one (the kit's `mesos-ref-local` at this path, with no agents of
/// its own).
#[derive(Clone, Copy)]
pub enum MasterKind<'a> {
    Ours,
    Real(&'a std::path::Path),
}

/// A master on 127.0.0.1:`port` with its work_dir at `dir/master` and its
/// log in `dir/master.log` (ours on the in-memory registry), plus `extra`
/// flags; returns once `/health` answers 200 (panics after 30 s).
pub fn start_master(
    kind: MasterKind<'_>,
    port: u16,
    dir: &std::path::Path,
    extra: &[String],
) -> Guard {
    let mut cmd = match kind {
        MasterKind::Ours => {
            let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_mesos-master"));
            c.arg("--registry=in_memory");
            c
        }
        MasterKind::Real(local) => {
            let mut c = std::process::Command::new(local);
            c.arg("0");
            c
        }
    };
    let log = std::fs::File::create(dir.join("master.log")).expect("master log");
    let child = cmd
        .arg(format!("--port={port}"))
        .arg("--ip=127.0.0.1")
        .arg(format!("--work_dir={}", dir.join("master").display()))
        .args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start the master");
    let guard = Guard(Some(child));
    assert!(
        wait_for(Duration::from_secs(30), || http_get(port, "/health")
            .is_some_and(|(code, _)| code == 200)),
        "master did not come up; see {}",
        dir.join("master.log").display()
    );
    guard
}

/// How many agents the master on `port` lists in `/master/slaves` (0 when
/// it does not answer).
pub fn agents_registered(port: u16) -> usize {
    http_get(port, "/master/slaves")
        .and_then(|(_, b)| serde_json::from_str::<serde_json::Value>(&b).ok())
        .and_then(|v| v["slaves"].as_array().map(Vec::len))
        .unwrap_or(0)
}

/// `python3 -c script 127.0.0.1:<master_port> <scenario> <timeout_secs>`
/// for the tests' small v1 schedulers, which import their plumbing from
/// tests/data/v1_scheduler.py.
pub fn v1_scheduler(
    script: &str,
    master_port: u16,
    scenario: &str,
    timeout_secs: u32,
) -> std::process::Command {
    let mut cmd = std::process::Command::new("python3");
    cmd.arg("-c")
        .arg(script)
        .arg(format!("127.0.0.1:{master_port}"))
        .arg(scenario)
        .arg(timeout_secs.to_string())
        .env(
            "PYTHONPATH",
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data"),
        );
    cmd
}

/// Whether `python3` runs here (else a SKIP line).
pub fn python_present() -> bool {
    let ok = std::process::Command::new("python3")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        println!("SKIP: python3 is not installed");
    }
    ok
}

/// The processes whose working directory lies under `dir`.
pub fn pids_under(dir: &std::path::Path) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if std::fs::read_link(e.path().join("cwd")).is_ok_and(|cwd| cwd.starts_with(dir)) {
            out.push(pid);
        }
    }
    out
}

/// SIGKILLs every process whose working directory lies under `dir`
/// (executors and their containers outlive a SIGKILLed agent).
pub fn kill_processes_under(dir: &std::path::Path) {
    let pids: Vec<String> = pids_under(dir).iter().map(i32::to_string).collect();
    if !pids.is_empty() {
        let _ = std::process::Command::new("kill")
            .arg("-KILL")
            .args(&pids)
            .stderr(std::process::Stdio::null())
            .status();
    }
}
