//! The `files` process and the fetcher end to end, with OUR `mesos-local`
//! (master + agent in one process, one `files` process as upstream's
//! local.cpp) and a pymesos (v1 HTTP scheduler) framework:
//!
//! - a task whose `CommandInfo.uris` name a `file://` tar.gz made here
//!   (`extract`) and an `http://` script served by a tiny in-test server
//!   (`executable`) finds both in its sandbox and writes a file;
//! - `/files/debug`, `/files/browse`, `/files/read`, `/files/download`, and
//!   v1 `LIST_FILES` / `READ_FILE` on the agent and the master return it;
//!   hostile paths get 4xx;
//! - a task with a URI that cannot be fetched ends `TASK_FAILED` with
//!   `REASON_CONTAINER_LAUNCH_FAILED`;
//! - the `/files/browse` JSON has the shape of the real 1.9.0 agent's
//!   (kit's `mesos-ref-local`), when the kit is built.
//!
//! Needs pymesos (`$PYMESOS_PYTHON`, `$MESOS_TEST_VENV`, or `.venv`); skips
//! with a SKIP line otherwise.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{free_port, http_get, http_post_json, kit_bin, wait_until, Guard};
use serde_json::{json, Value};

const SCHEDULER: &str = r#"
import json, sys, threading
from addict import Dict
from pymesos import MesosSchedulerDriver, Scheduler

master, task_json, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
result = {"code": 3}
done = threading.Event()

def log(*a):
    print("[pymesos]", *a, flush=True)

class OneTask(Scheduler):
    launched = False
    def registered(self, driver, framework_id, master_info):
        log("framework", framework_id.value)
    def resourceOffers(self, driver, offers):
        for offer in offers:
            if self.launched:
                driver.declineOffer(offer.id, {"refuse_seconds": 60})
                continue
            self.launched = True
            task = Dict(json.loads(task_json))
            task.agent_id.value = offer.agent_id.value
            task.resources = [
                {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}},
            ]
            driver.launchTasks(offer.id, [task], {"refuse_seconds": 60})
    def statusUpdate(self, driver, update):
        log("status", update.state, update.get("reason", ""), update.get("message", ""))
        if update.state == "TASK_FINISHED":
            result["code"] = 0
            done.set()
        elif update.state in ("TASK_FAILED", "TASK_LOST", "TASK_KILLED", "TASK_ERROR", "TASK_DROPPED"):
            result["code"] = 1
            done.set()
    def error(self, driver, message):
        log("error", message)
        result["code"] = 1
        done.set()

framework = Dict()
framework.user = "root"
framework.name = "files-fetcher-test"
framework.hostname = "localhost"
framework.failover_timeout = 300.0
driver = MesosSchedulerDriver(OneTask(), framework, master, use_addict=True)
driver.start()
done.wait(timeout)
driver.stop(failover=True)
sys.exit(result["code"])
"#;

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("files-fetcher-{tag}-{}", free_port()));
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

/// Runs the scheduler with one task; returns (exit code, output).
fn run_task(python: &Path, dir: &Path, master: &str, task: &Value) -> (i32, String) {
    let script = dir.join("scheduler.py");
    std::fs::write(&script, SCHEDULER).unwrap();
    let out = Command::new(python)
        .arg(&script)
        .arg(master)
        .arg(task.to_string())
        .arg("25")
        .output()
        .expect("run pymesos");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// Serves `body` at `/script.sh` and 404 elsewhere, for `n` connections.
fn serve_script(body: &'static [u8], n: usize) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for _ in 0..n {
            let Ok((mut s, _)) = l.accept() else { return };
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => req.extend_from_slice(&buf[..k]),
                }
            }
            let head = String::from_utf8_lossy(&req).into_owned();
            let resp = if head.starts_with("GET /script.sh ") {
                let mut r = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                r.extend_from_slice(body);
                r
            } else {
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
            };
            let _ = s.write_all(&resp);
        }
    });
    port
}

fn start_local(port: u16, work_dir: &Path) -> Guard {
    let child = Command::new(env!("CARGO_BIN_EXE_mesos-local"))
        .args([
            "--ip=127.0.0.1".to_string(),
            format!("--port={port}"),
            format!("--work_dir={}", work_dir.display()),
            "--num_agents=1".to_string(),
            "--resources=cpus:2;mem:1024;disk:1024;ports:[31000-31100]".to_string(),
            // Parsed and otherwise ignored, as the brief allows.
            "--frameworks_home=/nonexistent".to_string(),
            "--hadoop_home=/nonexistent".to_string(),
        ])
        .env("MESOS_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(work_dir.with_extension("log")).unwrap())
        .spawn()
        .expect("start mesos-local");
    Guard(Some(child))
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The attached virtual path of the only executor sandbox, from `/files/debug`.
fn sandbox_virtual_path(port: u16) -> Option<String> {
    let (status, body) = http_get(port, "/files/debug")?;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).ok()?;
    v.as_object()?
        .keys()
        .find(|k| k.starts_with("/frameworks/") && k.ends_with("/runs/latest"))
        .cloned()
}

fn b64decode(s: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = alphabet.iter().position(|a| *a == c).expect("base64") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// Checks one `/files/browse` entry has upstream's keys and value types.
fn assert_file_info_shape(e: &Value) {
    let keys: Vec<&str> = e.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["gid", "mode", "mtime", "nlink", "path", "size", "uid"],
        "{e}"
    );
    assert!(e["path"].is_string() && e["uid"].is_string() && e["gid"].is_string());
    assert!(e["nlink"].is_u64() && e["size"].is_u64() && e["mtime"].is_number());
    let mode = e["mode"].as_str().unwrap();
    assert_eq!(mode.len(), 10, "{mode}");
    assert!("-dlcbps".contains(&mode[..1]), "{mode}");
}

#[test]
fn task_fetches_uris_and_its_sandbox_is_browsable() {
    let Some(python) = common::pymesos_python() else {
        return;
    };
    let scratch = Scratch::new("ok");
    let work = scratch.0.join("work");
    // A tar.gz with pkg/data.txt, made here.
    let src = scratch.0.join("src");
    std::fs::create_dir_all(src.join("pkg")).unwrap();
    std::fs::write(src.join("pkg/data.txt"), "from the archive\n").unwrap();
    let tgz = scratch.0.join("pkg.tar.gz");
    let tar = Command::new("tar")
        .arg("-C")
        .arg(&src)
        .arg("-czf")
        .arg(&tgz)
        .arg("pkg")
        .status()
        .unwrap();
    assert!(tar.success());
    let http_port = serve_script(b"#!/bin/sh\necho from the script\n", 4);

    let port = free_port();
    let _local = start_local(port, &work);
    let master = format!("127.0.0.1:{port}");
    wait_until(Duration::from_secs(20), || {
        let (_, body) = http_get(port, "/master/slaves")?;
        body.contains("\"active\":true").then_some(())
    })
    .expect("agent registered");

    let task = json!({
        "task_id": {"value": "fetch-ok"},
        "name": "fetch-ok",
        "command": {
            "value": "test -f pkg/data.txt && test -x script.sh && ./script.sh > out.txt && cat pkg/data.txt >> out.txt",
            "uris": [
                {"value": format!("file://{}", tgz.display()), "extract": true},
                {"value": format!("http://127.0.0.1:{http_port}/script.sh"), "executable": true},
            ],
        },
    });
    let (code, out) = run_task(&python, &scratch.0, &master, &task);
    assert_eq!(code, 0, "task did not finish:\n{out}");

    // The sandbox is attached at its virtual path (and the real ones).
    let vpath = sandbox_virtual_path(port).expect("sandbox attached");
    assert!(vpath.contains("/executors/fetch-ok/runs/latest"), "{vpath}");

    // /files/browse: sorted entries under the virtual path, upstream's shape.
    let (status, body) = http_get(port, &format!("/files/browse?path={}", enc(&vpath))).unwrap();
    assert_eq!(status, 200, "{body}");
    let listing: Value = serde_json::from_str(&body).unwrap();
    let entries = listing.as_array().unwrap();
    let names: Vec<String> = entries
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_string())
        .collect();
    for want in [
        "out.txt",
        "pkg",
        "pkg.tar.gz",
        "script.sh",
        "stderr",
        "stdout",
    ] {
        assert!(
            names.contains(&format!("{vpath}/{want}")),
            "{want} missing from {names:?}"
        );
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    for e in entries {
        assert_file_info_shape(e);
    }
    let by_name = |n: &str| {
        entries
            .iter()
            .find(|e| e["path"] == format!("{vpath}/{n}"))
            .unwrap()
    };
    assert_eq!(by_name("script.sh")["mode"], "-rwxr-xr-x");
    assert!(by_name("pkg")["mode"].as_str().unwrap().starts_with('d'));
    let expected = "from the script\nfrom the archive\n";
    assert_eq!(by_name("out.txt")["size"], expected.len());

    // /files/read: data at an offset; offset=-1 gives the size.
    let out_path = enc(&format!("{vpath}/out.txt"));
    let (status, body) = http_get(port, &format!("/files/read?path={out_path}&offset=0")).unwrap();
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v, json!({"data": expected, "offset": 0}));
    let (_, body) = http_get(
        port,
        &format!("/files/read?path={out_path}&offset=5&length=4"),
    )
    .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"data": "the ", "offset": 5})
    );
    let (_, body) = http_get(port, &format!("/files/read?path={out_path}&offset=-1")).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"data": "", "offset": expected.len()})
    );
    let (status, body) = http_get(port, &format!("/files/download?path={out_path}")).unwrap();
    assert_eq!((status, body.as_str()), (200, expected));

    // Hostile paths: 4xx, never a file outside the sandbox.
    let hostile = [
        // Far enough up to reach the real /etc/passwd: 400, not its data.
        (
            format!(
                "/files/read?path={}&offset=0",
                enc(&format!("{vpath}{}/etc/passwd", "/..".repeat(40)))
            ),
            400,
        ),
        // Not existing (not far enough up): 404, as upstream.
        (
            format!(
                "/files/read?path={}&offset=0",
                enc(&format!("{vpath}/../../nothing/here"))
            ),
            404,
        ),
        (
            format!(
                "/files/read?path={}%00.txt&offset=0",
                enc(&format!("{vpath}/out.txt"))
            ),
            400,
        ),
        (
            format!("/files/read?path={}&offset=0", enc("/etc/passwd")),
            404,
        ),
        (
            format!("/files/browse?path={}", enc(&format!("{vpath}/.."))),
            400,
        ),
        (format!("/files/browse?path={}", enc("/")), 404),
        (
            format!(
                "/files/read?path={}%252e%252e%252fstdout&offset=0",
                enc(&format!("{vpath}/pkg/"))
            ),
            404,
        ),
        ("/files/read?offset=0".to_string(), 400),
        (format!("/files/read?path={out_path}&offset=-2"), 400),
        (format!("/files/read?path={out_path}&offset=abc"), 400),
        (format!("/files/read?path={}&offset=0", enc(&vpath)), 400),
        (format!("/files/download?path={}", enc(&vpath)), 400),
    ];
    for (path, want) in &hostile {
        let (status, body) = http_get(port, path).expect(path);
        assert_eq!(status, *want, "{path}: {body}");
        assert!(!body.contains("root:"), "{path} leaked: {body}");
    }

    // v1 LIST_FILES / READ_FILE on the agent and on the master.
    for endpoint in ["/slave(1)/api/v1", "/api/v1"] {
        let (status, body) = http_post_json(
            port,
            endpoint,
            &json!({"type": "LIST_FILES", "list_files": {"path": vpath}}).to_string(),
        )
        .unwrap();
        assert_eq!(status, 200, "{endpoint}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["type"], "LIST_FILES");
        let infos = v["list_files"]["file_infos"].as_array().unwrap();
        let out_info = infos
            .iter()
            .find(|i| i["path"] == format!("{vpath}/out.txt"))
            .unwrap_or_else(|| panic!("{endpoint}: no out.txt in {body}"));
        assert_eq!(out_info["size"], expected.len());
        assert!(out_info["mtime"]["nanoseconds"].is_number(), "{out_info}");

        let (status, body) = http_post_json(
            port,
            endpoint,
            &json!({"type": "READ_FILE", "read_file": {"path": format!("{vpath}/out.txt"), "offset": 0}})
                .to_string(),
        )
        .unwrap();
        assert_eq!(status, 200, "{endpoint}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["type"], "READ_FILE");
        assert_eq!(v["read_file"]["size"], expected.len());
        assert_eq!(
            b64decode(v["read_file"]["data"].as_str().unwrap()),
            expected.as_bytes()
        );

        let (status, body) = http_post_json(
            port,
            endpoint,
            &json!({"type": "READ_FILE", "read_file": {"path": format!("{vpath}{}/etc/passwd", "/..".repeat(40)), "offset": 0}})
                .to_string(),
        )
        .unwrap();
        assert_eq!(status, 400, "{endpoint}: {body}");
        let (status, _) = http_post_json(port, endpoint, r#"{"type": "LIST_FILES"}"#).unwrap();
        assert_eq!(status, 400, "{endpoint}: LIST_FILES without list_files");
    }
}

#[test]
fn unfetchable_uri_fails_the_task_with_container_launch_failed() {
    let Some(python) = common::pymesos_python() else {
        return;
    };
    let scratch = Scratch::new("bad");
    let http_port = serve_script(b"unused", 4);
    let port = free_port();
    let _local = start_local(port, &scratch.0.join("work"));
    let master = format!("127.0.0.1:{port}");
    wait_until(Duration::from_secs(20), || {
        let (_, body) = http_get(port, "/master/slaves")?;
        body.contains("\"active\":true").then_some(())
    })
    .expect("agent registered");
    let task = json!({
        "task_id": {"value": "fetch-bad"},
        "name": "fetch-bad",
        "command": {
            "value": "echo should not run > ran.txt",
            "uris": [{"value": format!("http://127.0.0.1:{http_port}/missing.tar.gz"), "extract": true}],
        },
    });
    let (code, out) = run_task(&python, &scratch.0, &master, &task);
    assert_eq!(code, 1, "{out}");
    let line = out
        .lines()
        .find(|l| l.contains("status TASK_FAILED"))
        .unwrap_or_else(|| panic!("no TASK_FAILED:\n{out}"));
    assert!(line.contains("REASON_CONTAINER_LAUNCH_FAILED"), "{line}");
    assert!(
        line.contains("Failed to launch container: Failed to fetch all URIs for container"),
        "{line}"
    );
    // The fetcher's reason is in the sandbox's stderr.
    let vpath = sandbox_virtual_path(port).expect("sandbox attached");
    let (status, body) = http_get(
        port,
        &format!(
            "/files/read?path={}&offset=0",
            enc(&format!("{vpath}/stderr"))
        ),
    )
    .unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("received HTTP return code 404"), "{body}");
    let (status, _) = http_get(
        port,
        &format!(
            "/files/read?path={}&offset=0",
            enc(&format!("{vpath}/ran.txt"))
        ),
    )
    .unwrap();
    assert_eq!(status, 404, "the command must not have run");
}

#[test]
fn browse_json_matches_the_real_agent() {
    let Some(python) = common::pymesos_python() else {
        return;
    };
    let Some(local) = kit_bin("mesos-ref-local") else {
        return;
    };
    let scratch = Scratch::new("ref");
    let port = free_port();
    let child = Command::new(&local)
        .arg(format!("--port={port}"))
        .arg("1")
        .env("MESOS_WORK_DIR", scratch.0.join("work"))
        .current_dir(&scratch.0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mesos-ref-local");
    let _guard = Guard(Some(child));
    let master = format!("127.0.0.1:{port}");
    wait_until(Duration::from_secs(30), || {
        let (_, body) = http_get(port, "/master/slaves")?;
        body.contains("\"active\":true").then_some(())
    })
    .expect("real agent registered");
    let task = json!({
        "task_id": {"value": "ref-files"},
        "name": "ref-files",
        "command": {"value": "echo hello > out.txt"},
    });
    let (code, out) = run_task(&python, &scratch.0, &master, &task);
    assert_eq!(code, 0, "task on the real agent did not finish:\n{out}");
    let vpath = sandbox_virtual_path(port).expect("real agent attached the sandbox");
    let (status, body) = http_get(port, &format!("/files/browse?path={}", enc(&vpath))).unwrap();
    assert_eq!(status, 200, "{body}");
    let listing: Value = serde_json::from_str(&body).unwrap();
    println!("real /files/browse: {body}");
    let entry = listing
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == format!("{vpath}/out.txt"))
        .unwrap_or_else(|| panic!("no out.txt in {body}"))
        .clone();
    // The same keys, types and mode format as ours.
    assert_file_info_shape(&entry);
    assert_eq!(entry["size"], 6);
    assert_eq!(entry["mode"], "-rw-r--r--");
    // Byte for byte: our `files` over the same sandbox renders the same
    // entry text as the real agent (key order, number formats, names).
    let (_, debug) = http_get(port, "/files/debug").unwrap();
    let debug: Value = serde_json::from_str(&debug).unwrap();
    let real_dir = debug[&vpath].as_str().expect("real path of the sandbox");
    let ours = mesos_files::Files::new();
    ours.attach(real_dir, &vpath).unwrap();
    let our_entry = ours
        .browse(&vpath)
        .unwrap()
        .into_iter()
        .find(|i| i.path == format!("{vpath}/out.txt"))
        .unwrap();
    let our_text = mesos_files::model::file_info_json(&our_entry).to_string();
    let at = body.find(&format!("\"path\":\"{vpath}/out.txt\"")).unwrap();
    let start = body[..at].rfind('{').unwrap();
    let end = at + body[at..].find('}').unwrap() + 1;
    assert_eq!(our_text, &body[start..end]);
}
