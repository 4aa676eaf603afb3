//! The fetcher cache end to end (upstream `FetcherCacheHttpTest`,
//! src/tests/fetcher_cache_tests.cpp), with OUR `mesos-master` and
//! `mesos-agent` and a pymesos framework launching batches of tasks whose
//! `CommandInfo.uris` are `cache: true` `http://` URIs served by a tiny
//! in-test server that counts requests:
//!
//! - several tasks launched at once, then more: one download for all, the
//!   file in every sandbox, the agent's `/metrics/snapshot` showing the
//!   cache (`containerizer/fetcher/*`);
//! - under a small `--fetcher_cache_size`: the least recently used file is
//!   evicted and downloaded again when wanted, a file larger than the cache
//!   bypasses it; an agent restart empties the cache directory.
//!
//! Needs pymesos (`$PYMESOS_PYTHON`, `$MESOS_TEST_VENV`, or `.venv`); skips
//! with a SKIP line otherwise.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{free_port, http_get, wait_until, Guard};
use serde_json::{json, Value};

/// Launches `batches` (a list of lists of tasks) one batch at a time: the
/// tasks of a batch together on one offer, the next batch once all of them
/// finished. Exit 0 when every task finished.
const SCHEDULER: &str = r#"
import json, sys, threading
from addict import Dict
from pymesos import MesosSchedulerDriver, Scheduler

master, batches, timeout = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3])
state = {"batch": 0, "launched": False, "pending": set(), "code": 3}
lock = threading.Lock()
done = threading.Event()

def log(*a):
    print("[pymesos]", *a, flush=True)

class Batches(Scheduler):
    def resourceOffers(self, driver, offers):
        with lock:
            for offer in offers:
                if done.is_set() or state["launched"] or state["batch"] >= len(batches):
                    driver.declineOffer(offer.id, {"refuse_seconds": 1})
                    continue
                tasks = []
                for t in batches[state["batch"]]:
                    task = Dict(t)
                    task.agent_id.value = offer.agent_id.value
                    task.resources = [
                        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                        {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}},
                    ]
                    tasks.append(task)
                    state["pending"].add(t["task_id"]["value"])
                state["launched"] = True
                log("launching batch", state["batch"], [t.task_id.value for t in tasks])
                driver.launchTasks(offer.id, tasks, {"refuse_seconds": 1})
    def statusUpdate(self, driver, update):
        log("status", update.task_id.value, update.state, update.get("reason", ""), update.get("message", ""))
        with lock:
            if update.state == "TASK_FINISHED":
                state["pending"].discard(update.task_id.value)
                if state["launched"] and not state["pending"]:
                    state["batch"] += 1
                    state["launched"] = False
                    if state["batch"] == len(batches):
                        state["code"] = 0
                        done.set()
                    else:
                        driver.reviveOffers()
            elif update.state in ("TASK_FAILED", "TASK_LOST", "TASK_KILLED", "TASK_ERROR", "TASK_DROPPED"):
                state["code"] = 1
                done.set()
    def error(self, driver, message):
        log("error", message)
        state["code"] = 1
        done.set()

framework = Dict()
framework.user = "root"
framework.name = "fetcher-cache-test"
framework.hostname = "localhost"
driver = MesosSchedulerDriver(Batches(), framework, master, use_addict=True)
driver.start()
done.wait(timeout)
driver.stop()
sys.exit(state["code"])
"#;

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("fetcher-cache-{tag}-{}", free_port()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Requests seen by the server: (method, path) -> count.
type Counts = Arc<Mutex<BTreeMap<(String, String), usize>>>;

/// Serves `files` at `/<name>` (`GET` after `delay`, so that tasks launched
/// together overlap; `HEAD` at once), 404 elsewhere; counts every request.
fn serve(files: Vec<(&'static str, Vec<u8>)>, delay: Duration) -> (u16, Counts) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let counts: Counts = Arc::default();
    let c2 = counts.clone();
    let files = Arc::new(files);
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            let (counts, files) = (c2.clone(), files.clone());
            std::thread::spawn(move || {
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(k) => req.extend_from_slice(&buf[..k]),
                    }
                }
                let head = String::from_utf8_lossy(&req).into_owned();
                let mut words = head.split_whitespace();
                let method = words.next().unwrap_or_default().to_string();
                let path = words.next().unwrap_or_default().to_string();
                *counts
                    .lock()
                    .unwrap()
                    .entry((method.clone(), path.clone()))
                    .or_default() += 1;
                let Some((_, body)) = files.iter().find(|(n, _)| path == format!("/{n}")) else {
                    let _ = s.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    return;
                };
                let mut resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                if method == "GET" {
                    std::thread::sleep(delay);
                    resp.extend_from_slice(body);
                }
                let _ = s.write_all(&resp);
            });
        }
    });
    (port, counts)
}

fn count(counts: &Counts, method: &str, name: &str) -> usize {
    counts
        .lock()
        .unwrap()
        .get(&(method.to_string(), format!("/{name}")))
        .copied()
        .unwrap_or(0)
}

fn log(dir: &Path, name: &str) -> std::fs::File {
    std::fs::File::create(dir.join(name)).unwrap()
}

fn start_master(dir: &Path, port: u16) -> Guard {
    let g = Guard(Some(
        Command::new(env!("CARGO_BIN_EXE_mesos-master"))
            .arg(format!("--port={port}"))
            .arg("--ip=127.0.0.1")
            .arg("--registry=in_memory")
            .arg(format!("--work_dir={}", dir.join("master").display()))
            .stdout(Stdio::null())
            .stderr(log(dir, "master.log"))
            .spawn()
            .expect("start mesos-master"),
    ));
    wait_until(Duration::from_secs(30), || {
        http_get(port, "/health").filter(|r| r.0 == 200)
    })
    .expect("the master came up");
    g
}

/// Our agent with its fetcher cache in `<dir>/cache`; `extra` flags added.
fn start_agent(dir: &Path, master_port: u16, port: u16, tag: &str, extra: &[String]) -> Guard {
    let g = Guard(Some(
        Command::new(env!("CARGO_BIN_EXE_mesos-agent"))
            .arg(format!("--master=127.0.0.1:{master_port}"))
            .arg(format!(
                "--work_dir={}",
                dir.join(format!("work-{tag}")).display()
            ))
            .arg(format!(
                "--runtime_dir={}",
                dir.join(format!("run-{tag}")).display()
            ))
            .arg(format!(
                "--fetcher_cache_dir={}",
                dir.join("cache").display()
            ))
            .arg(format!("--port={port}"))
            .arg("--ip=127.0.0.1")
            .arg("--resources=cpus:2;mem:1024;disk:1024;ports:[31000-31100]")
            .args(extra)
            .env_remove("MESOS_WORK_DIR")
            .env("MESOS_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log(dir, &format!("agent-{tag}.log")))
            .spawn()
            .expect("start mesos-agent"),
    ));
    wait_until(Duration::from_secs(30), || {
        http_get(port, "/metrics/snapshot").filter(|r| r.0 == 200)
    })
    .expect("the agent came up");
    g
}

/// Runs the scheduler over `batches`; panics with its output unless every
/// task finished.
fn run_batches(python: &Path, dir: &Path, master_port: u16, batches: &Value) {
    let script = dir.join("scheduler.py");
    std::fs::write(&script, SCHEDULER).unwrap();
    let out = Command::new(python)
        .arg(&script)
        .arg(format!("127.0.0.1:{master_port}"))
        .arg(batches.to_string())
        .arg("25")
        .output()
        .expect("run pymesos");
    assert_eq!(
        out.status.code(),
        Some(0),
        "tasks did not all finish:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A task whose only URI is `url`, cached and executable, checked by the
/// task itself.
fn task(id: &str, url: &str, check: &str) -> Value {
    json!({
        "task_id": {"value": id},
        "name": id,
        "command": {
            "value": check,
            "uris": [{"value": url, "cache": true, "executable": true}],
        },
    })
}

/// `<work>/slaves/*/frameworks/*/executors/<task>/runs/latest`.
fn sandbox(work: &Path, task: &str) -> PathBuf {
    let dirs = |p: PathBuf| -> Vec<PathBuf> {
        std::fs::read_dir(p)
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    };
    for slave in dirs(work.join("slaves")) {
        for fw in dirs(slave.join("frameworks")) {
            let p = fw.join("executors").join(task).join("runs/latest");
            if p.exists() {
                return p;
            }
        }
    }
    panic!("no sandbox for {task} under {}", work.display());
}

fn metrics(port: u16) -> Value {
    let (status, body) = http_get(port, "/metrics/snapshot").expect("/metrics/snapshot");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn cache_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn tasks_share_one_cached_download() {
    let Some(python) = common::pymesos_python() else {
        return;
    };
    let scratch = Scratch::new("share");
    let dir = &scratch.0;
    let payload = b"#!/bin/sh\necho cached-payload\n".to_vec();
    let (http_port, counts) = serve(
        vec![("payload.sh", payload.clone())],
        Duration::from_millis(500),
    );
    let url = format!("http://127.0.0.1:{http_port}/payload.sh");
    let master_port = free_port();
    let _master = start_master(dir, master_port);
    let agent_port = free_port();
    let _agent = start_agent(dir, master_port, agent_port, "a", &[]);

    let check = "test -x payload.sh && ./payload.sh | grep -q cached-payload";
    let batches = json!([
        (1..=4)
            .map(|i| task(&format!("t{i}"), &url, check))
            .collect::<Vec<_>>(),
        (5..=6)
            .map(|i| task(&format!("t{i}"), &url, check))
            .collect::<Vec<_>>(),
    ]);
    run_batches(&python, dir, master_port, &batches);

    // One download (and one size request) for six tasks.
    assert_eq!(count(&counts, "GET", "payload.sh"), 1, "{counts:?}");
    assert_eq!(count(&counts, "HEAD", "payload.sh"), 1, "{counts:?}");
    for i in 1..=6 {
        let f = sandbox(&dir.join("work-a"), &format!("t{i}")).join("payload.sh");
        assert_eq!(std::fs::read(&f).unwrap(), payload, "{}", f.display());
        let mode = std::fs::metadata(&f).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755, "{}", f.display());
    }
    // Per-user cache directories: the tasks run as root.
    assert_eq!(cache_files(&dir.join("cache")), ["root"]);
    assert_eq!(cache_files(&dir.join("cache/root")), ["c1-payload.sh"]);
    // What the agent told `mesos-fetcher` (it logs its `FetcherInfo` into
    // the sandbox's stderr): one task downloaded, the others copied.
    let actions: Vec<String> = (1..=6)
        .map(|i| {
            let log = sandbox(&dir.join("work-a"), &format!("t{i}")).join("stderr");
            let text = std::fs::read_to_string(log).unwrap();
            ["DOWNLOAD_AND_CACHE", "RETRIEVE_FROM_CACHE", "BYPASS_CACHE"]
                .into_iter()
                .find(|a| text.contains(&format!("\"action\":\"{a}\"")))
                .unwrap_or("none")
                .to_string()
        })
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "DOWNLOAD_AND_CACHE")
            .count(),
        1,
        "{actions:?}"
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "RETRIEVE_FROM_CACHE")
            .count(),
        5,
        "{actions:?}"
    );

    let m = metrics(agent_port);
    assert_eq!(
        m["containerizer/fetcher/cache_size_total_bytes"],
        json!(2147483648.0),
        "{m}"
    );
    assert_eq!(
        m["containerizer/fetcher/cache_size_used_bytes"],
        json!(payload.len() as f64),
        "{m}"
    );
    assert_eq!(
        m["containerizer/fetcher/task_fetches_succeeded"],
        json!(6.0)
    );
    assert_eq!(m["containerizer/fetcher/task_fetches_failed"], json!(0.0));
}

#[test]
fn small_cache_evicts_and_restart_clears_it() {
    let Some(python) = common::pymesos_python() else {
        return;
    };
    let scratch = Scratch::new("evict");
    let dir = &scratch.0;
    let a = [b'a'; 60].to_vec();
    let b = [b'b'; 60].to_vec();
    let big = [b'x'; 200].to_vec();
    let (http_port, counts) = serve(
        vec![("a.bin", a.clone()), ("b.bin", b), ("big.bin", big)],
        Duration::ZERO,
    );
    let url = |n: &str| format!("http://127.0.0.1:{http_port}/{n}");
    let master_port = free_port();
    let _master = start_master(dir, master_port);
    let agent_port = free_port();
    let agent = start_agent(
        dir,
        master_port,
        agent_port,
        "a",
        &["--fetcher_cache_size=100B".to_string()],
    );

    // a, then b (evicting a: 60 + 60 > 100), a again (evicting b), then a
    // file larger than the whole cache.
    let batches = json!([
        [task("a1", &url("a.bin"), "test -s a.bin")],
        [task("b1", &url("b.bin"), "test -s b.bin")],
        [task("a2", &url("a.bin"), "test -s a.bin")],
        [task("big", &url("big.bin"), "test -s big.bin")],
    ]);
    run_batches(&python, dir, master_port, &batches);

    assert_eq!(count(&counts, "GET", "a.bin"), 2, "{counts:?}");
    assert_eq!(count(&counts, "GET", "b.bin"), 1, "{counts:?}");
    assert_eq!(count(&counts, "GET", "big.bin"), 1, "{counts:?}");
    let work = dir.join("work-a");
    assert_eq!(
        std::fs::read(sandbox(&work, "a2").join("a.bin")).unwrap(),
        a
    );
    assert_eq!(
        std::fs::metadata(sandbox(&work, "big").join("big.bin"))
            .unwrap()
            .len(),
        200
    );
    // Only the second download of a.bin is left; big.bin never entered.
    assert_eq!(cache_files(&dir.join("cache/root")), ["c3-a.bin"]);
    let m = metrics(agent_port);
    assert_eq!(
        m["containerizer/fetcher/cache_size_total_bytes"],
        json!(100.0),
        "{m}"
    );
    assert_eq!(
        m["containerizer/fetcher/cache_size_used_bytes"],
        json!(60.0),
        "{m}"
    );
    assert_eq!(
        m["containerizer/fetcher/task_fetches_succeeded"],
        json!(4.0)
    );

    // A restarted agent starts with an empty cache (upstream's `Fetcher`
    // constructor deletes the directory).
    drop(agent);
    let agent_port = free_port();
    let _agent = start_agent(
        dir,
        master_port,
        agent_port,
        "b",
        &["--fetcher_cache_size=100B".to_string()],
    );
    assert!(cache_files(&dir.join("cache")).is_empty());
    let m = metrics(agent_port);
    assert_eq!(
        m["containerizer/fetcher/cache_size_used_bytes"],
        json!(0.0),
        "{m}"
    );
}
