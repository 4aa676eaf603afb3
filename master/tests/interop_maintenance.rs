//! The maintenance endpoints side by side with the real Mesos 1.9.0 master
//! (the kit in ../shared/ref-mesos, built by its setup.sh into
//! ~/.cache/mesos-ref-1.9.0): one scripted HTTP scenario (POST a schedule,
//! GET the status, bring machines down and up, invalid requests, the v1
//! maintenance calls) runs against `mesos-ref-local` and against our master
//! in-process; status codes, the JSON of successful answers and the
//! validation messages must be the same.
//!
//! Skipped, with a printed reason, when the kit is not built.

mod support;

use support::durable::TempDir;
use support::kit::{free_port, kit_bin, ours_in_process, RealMaster};

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use libprocess::runtime::tokio::Runtime;
use serde_json::Value;

/// One HTTP/1.1 exchange (`Connection: close`): status and body.
fn http(addr: SocketAddr, method: &str, path: &str, ct: &str, body: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n")?;
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Some((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn wait_up(addr: SocketAddr) {
    let end = Instant::now() + Duration::from_secs(30);
    while Instant::now() < end {
        if let Some((200, _)) = http(addr, "GET", "/master/maintenance/status", "text/plain", "") {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("master at {addr} did not come up");
}

/// How much of an answer must match.
#[derive(Clone, Copy, PartialEq)]
enum Check {
    /// The status code only (messages of JSON parsers and of the HTTP
    /// layer differ in wording).
    Code,
    /// Code and the exact body text (validation messages, schedule JSON).
    Exact,
    /// Code and the JSON body, machine lists compared as sets (upstream
    /// lists machines in hash-map order).
    Json,
}

struct Step {
    method: &'static str,
    path: &'static str,
    body: &'static str,
    check: Check,
}

const M1: &str = r#"{"hostname":"Machine1"}"#;

fn script() -> Vec<Step> {
    let s = |method, path, body, check| Step {
        method,
        path,
        body,
        check,
    };
    use Check::*;
    vec![
        s("GET", "/master/maintenance/schedule", "", Exact),
        s("GET", "/master/maintenance/status", "", Exact),
        s(
            "POST",
            "/master/machine/down",
            r#"[{"hostname":"Machine1"}]"#,
            Exact,
        ),
        s(
            "POST",
            "/master/maintenance/schedule",
            r#"{"windows":[{"machine_ids":[{"hostname":"Machine1"},{"ip":"0.0.0.2"}],"unavailability":{"start":{"nanoseconds":1443830400000000000},"duration":{"nanoseconds":3600000000000}}},{"machine_ids":[{"hostname":"Machine3","ip":"0.0.0.3"}],"unavailability":{"start":{"nanoseconds":1443834000000000000}}}]}"#,
            Exact,
        ),
        s(
            "POST",
            "/master/maintenance/schedule",
            r#"{"windows":[{"machine_ids":[],"unavailability":{"start":{"nanoseconds":1}}}]}"#,
            Exact,
        ),
        s(
            "POST",
            "/master/maintenance/schedule",
            r#"{"windows":[{"machine_ids":[{"hostname":"a"},{"hostname":"A"}],"unavailability":{"start":{"nanoseconds":1}}}]}"#,
            Exact,
        ),
        s(
            "POST",
            "/master/maintenance/schedule",
            r#"{"windows":[{"machine_ids":[{"hostname":"a"}]}]}"#,
            Exact,
        ),
        s(
            "POST",
            "/master/maintenance/schedule",
            r#"{"windows":[{"machine_ids":[{"hostname":"x","ip":"bad"}],"unavailability":{"start":{"nanoseconds":1}}}]}"#,
            Exact,
        ),
        s(
            "POST",
            "/master/maintenance/schedule",
            r#"{"windows":[{"machine_ids":[{}],"unavailability":{"start":{"nanoseconds":1}}}]}"#,
            Exact,
        ),
        s(
            "POST",
            "/master/maintenance/schedule",
            r#"{"windows":[{"machine_ids":[{"hostname":"x"}],"unavailability":{"start":{"nanoseconds":1},"duration":{"nanoseconds":-5}}}]}"#,
            Exact,
        ),
        s("POST", "/master/maintenance/schedule", "[1]", Exact),
        s("POST", "/master/maintenance/schedule", "{not json", Code),
        s("GET", "/master/maintenance/schedule", "", Exact),
        s("GET", "/master/maintenance/status", "", Json),
        s("POST", "/master/machine/down", "[]", Exact),
        s("POST", "/master/machine/down", r#"{"a":1}"#, Exact),
        s(
            "POST",
            "/master/machine/down",
            r#"[{"hostname":"Machine1"}]"#,
            Exact,
        ),
        s(
            "POST",
            "/master/machine/down",
            r#"[{"hostname":"Machine1"}]"#,
            Exact,
        ),
        s(
            "POST",
            "/master/machine/up",
            r#"[{"hostname":"Machine1"},{"hostname":"machine1"}]"#,
            Exact,
        ),
        s("POST", "/master/machine/up", r#"[{"ip":"0.0.0.2"}]"#, Exact),
        s(
            "POST",
            "/master/maintenance/schedule",
            r#"{"windows":[{"machine_ids":[{"ip":"0.0.0.2"}],"unavailability":{"start":{"nanoseconds":1}}}]}"#,
            Exact,
        ),
        s("GET", "/master/maintenance/status", "", Json),
        s(
            "POST",
            "/api/v1",
            r#"{"type":"GET_MAINTENANCE_STATUS"}"#,
            Json,
        ),
        s(
            "POST",
            "/master/machine/up",
            r#"[{"hostname":"Machine1"}]"#,
            Exact,
        ),
        s("GET", "/master/maintenance/schedule", "", Exact),
        s("GET", "/master/maintenance/status", "", Json),
        s(
            "POST",
            "/api/v1",
            r#"{"type":"GET_MAINTENANCE_SCHEDULE"}"#,
            Exact,
        ),
        s("POST", "/api/v1", r#"{"type":"START_MAINTENANCE"}"#, Exact),
        s(
            "POST",
            "/api/v1",
            r#"{"type":"STOP_MAINTENANCE","stop_maintenance":{"machines":[]}}"#,
            Exact,
        ),
        s(
            "POST",
            "/api/v1",
            r#"{"type":"START_MAINTENANCE","start_maintenance":{"machines":[{"ip":"0.0.0.2"}]}}"#,
            Exact,
        ),
        s(
            "POST",
            "/api/v1",
            r#"{"type":"GET_MAINTENANCE_STATUS"}"#,
            Json,
        ),
        s(
            "POST",
            "/api/v1",
            r#"{"type":"STOP_MAINTENANCE","stop_maintenance":{"machines":[{"ip":"0.0.0.2"}]}}"#,
            Exact,
        ),
        s("GET", "/master/machine/down", "", Code),
        s("PUT", "/master/maintenance/schedule", "", Code),
        s("POST", "/master/maintenance/status", "", Code),
        s("POST", "/master/maintenance/schedule", "{}", Exact),
        s("GET", "/master/maintenance/schedule", "", Exact),
        s("GET", "/master/maintenance/status", "", Exact),
    ]
}

/// Machine lists sorted, so hash-map order does not matter.
fn normalize(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let v = normalize(v);
                    let v = match (k.as_str(), v) {
                        ("draining_machines" | "down_machines", Value::Array(mut a)) => {
                            a.sort_by_key(|x| x.to_string());
                            Value::Array(a)
                        }
                        (_, v) => v,
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(normalize).collect()),
        other => other,
    }
}

fn run(addr: SocketAddr) -> Vec<(u16, String)> {
    script()
        .iter()
        .map(|s| {
            let ct = if s.path == "/api/v1" {
                "application/json"
            } else {
                "text/plain"
            };
            http(addr, s.method, s.path, ct, s.body).expect("an answer")
        })
        .collect()
}

#[test]
fn maintenance_endpoints_match_the_real_master() {
    let Some(bin) = kit_bin() else { return };

    // The real 1.9.0 master alone (`mesos-local` with 0 agents).
    let tmp = TempDir::new("maintenance-ref");
    let dir = tmp.0.clone();
    let work_dir = format!("--work_dir={}", dir.join("work").display());
    let master = RealMaster::start(&bin, 0, &[work_dir], &[], &dir.join("master.log"));
    let real = master.addr;

    // Ours, in-process.
    let (runtime, ours) = ours_in_process(&["--registry=in_memory".into()], None);

    wait_up(real);
    wait_up(ours);
    let want = run(real);
    let got = run(ours);
    runtime.shutdown();

    let mut mismatches = Vec::new();
    for (i, step) in script().iter().enumerate() {
        let (w, g) = (&want[i], &got[i]);
        eprintln!(
            "step {i:2}: {} {} -> real {} / ours {}: {}",
            step.method,
            step.path,
            w.0,
            g.0,
            w.1.chars().take(100).collect::<String>()
        );
        let same = w.0 == g.0
            && match step.check {
                Check::Code => true,
                Check::Exact => w.1 == g.1,
                Check::Json => {
                    let p = |s: &str| serde_json::from_str::<Value>(s).map(normalize).ok();
                    p(&w.1).is_some() && p(&w.1) == p(&g.1)
                }
            };
        if !same {
            mismatches.push(format!(
                "step {i}: {} {} {}\n  real: {} {}\n  ours: {} {}",
                step.method, step.path, step.body, w.0, w.1, g.0, g.1
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} steps differ:\n{}",
        mismatches.len(),
        want.len(),
        mismatches.join("\n")
    );
    // The scenario exercised what it meant to: Machine1 went down and up.
    assert!(want.iter().any(|(c, b)| *c == 200 && b.contains(M1)));
}

// ------------------------------------------------- with a real agent

/// A real agent (`mesos-ref-agent`) on `maint-host` / 127.0.0.1.
struct Agent {
    child: Child,
    log: PathBuf,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_agent(
    bin: &std::path::Path,
    master: SocketAddr,
    dir: &std::path::Path,
    name: &str,
) -> Agent {
    std::fs::create_dir_all(dir).expect("agent dir");
    let log = dir.join(format!("{name}.log"));
    let child = Command::new(bin.join("mesos-ref-agent"))
        .arg(format!("127.0.0.1:{}", master.port()))
        .arg(format!("--port={}", free_port()))
        .arg(format!("--work_dir={}", dir.join(name).display()))
        .arg("--hostname=maint-host")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("agent log"))
        .spawn()
        .expect("start mesos-ref-agent");
    Agent { child, log }
}

/// Waits (up to 30 s) for `cond`; whether it came true.
fn wait_for(mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(30);
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn registered_agents(master: SocketAddr) -> usize {
    http(master, "GET", "/master/slaves", "text/plain", "")
        .and_then(|(_, b)| serde_json::from_str::<Value>(&b).ok())
        .and_then(|v| v["slaves"].as_array().map(|a| a.len()))
        .unwrap_or(0)
}

/// The agent's machine brought down and up again with a real agent: what
/// the operator and the agent observe, step by step.
fn machine_down_scenario(
    bin: &std::path::Path,
    master: SocketAddr,
    dir: &std::path::Path,
) -> Vec<String> {
    let machine = r#"{"hostname":"maint-host","ip":"127.0.0.1"}"#;
    let schedule = format!(
        r#"{{"windows":[{{"machine_ids":[{machine}],"unavailability":{{"start":{{"nanoseconds":1}}}}}}]}}"#
    );
    let mut obs = Vec::new();
    let mut step = |what: &str, v: String| obs.push(format!("{what}: {v}"));
    let post = |path: &str, body: &str| {
        http(master, "POST", path, "text/plain", body)
            .map(|(c, _)| c.to_string())
            .unwrap_or_default()
    };
    let status = || {
        http(
            master,
            "GET",
            "/master/maintenance/status",
            "text/plain",
            "",
        )
        .and_then(|(_, b)| serde_json::from_str::<Value>(&b).ok())
        .map(|v| normalize(v).to_string())
        .unwrap_or_default()
    };

    let mut a1 = start_agent(bin, master, dir, "a1");
    step(
        "a1 registered",
        wait_for(|| registered_agents(master) == 1).to_string(),
    );
    step("schedule", post("/master/maintenance/schedule", &schedule));
    step("status", status());
    step(
        "down",
        post("/master/machine/down", &format!("[{machine}]")),
    );
    let exited = wait_for(|| matches!(a1.child.try_wait(), Ok(Some(_))));
    step("a1 exited", exited.to_string());
    let log = std::fs::read_to_string(&a1.log).unwrap_or_default();
    step(
        "a1 told",
        log.contains("because 'Operator initiated 'Machine DOWN''")
            .to_string(),
    );
    step("agents", registered_agents(master).to_string());
    step("status", status());

    let mut a2 = start_agent(bin, master, dir, "a2");
    let exited = wait_for(|| matches!(a2.child.try_wait(), Ok(Some(_))));
    step("a2 refused", exited.to_string());
    let log = std::fs::read_to_string(&a2.log).unwrap_or_default();
    step(
        "a2 told",
        log.contains("because 'Machine is `DOWN`'").to_string(),
    );
    step("agents", registered_agents(master).to_string());

    step("up", post("/master/machine/up", &format!("[{machine}]")));
    let _a3 = start_agent(bin, master, dir, "a3");
    step(
        "a3 registered",
        wait_for(|| registered_agents(master) == 1).to_string(),
    );
    step("status", status());
    obs
}

#[test]
fn machine_down_shuts_down_a_real_agent_as_the_real_master_does() {
    let Some(bin) = kit_bin() else { return };
    let tmp = TempDir::new("maintenance-agent");
    let dir = tmp.0.clone();
    let work_dir = format!("--work_dir={}", dir.join("master").display());
    let master = RealMaster::start(&bin, 0, &[work_dir], &[], &dir.join("master.log"));
    let real = master.addr;
    wait_up(real);
    let want = machine_down_scenario(&bin, real, &dir.join("real"));

    let (runtime, ours) = ours_in_process(&["--registry=in_memory".into()], None);
    wait_up(ours);
    let got = machine_down_scenario(&bin, ours, &dir.join("ours"));
    runtime.shutdown();

    for (w, g) in want.iter().zip(&got) {
        eprintln!("real {w}\nours {g}");
    }
    assert!(
        want.iter().all(|s| !s.ends_with("false")),
        "real master: {want:#?}"
    );
    assert_eq!(want, got);
}

// ------------------------------------------- with a real v1 framework

/// A Python with pymesos: `PYMESOS_PYTHON`, else the test venv that
/// scripts/setup.sh builds (`MESOS_TEST_VENV`, default `<repo>/.venv`).
fn pymesos_python() -> Option<PathBuf> {
    let candidates = [
        std::env::var("PYMESOS_PYTHON").ok().map(PathBuf::from),
        std::env::var("MESOS_TEST_VENV")
            .ok()
            .map(|v| PathBuf::from(v).join("bin/python")),
        Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python")),
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

/// The answers `/maintenance/status` lists for the agent's machine.
fn answers(master: SocketAddr) -> Vec<String> {
    http(
        master,
        "GET",
        "/master/maintenance/status",
        "text/plain",
        "",
    )
    .and_then(|(_, b)| serde_json::from_str::<Value>(&b).ok())
    .and_then(|v| {
        v["draining_machines"][0]["statuses"].as_array().map(|a| {
            a.iter()
                .map(|s| s["status"].as_str().unwrap_or("").to_string())
                .collect()
        })
    })
    .unwrap_or_default()
}

/// A real agent and a pymesos framework holding its offers; the agent's
/// machine is scheduled: what the framework sees (offers with the window,
/// INVERSE_OFFERS) and the answers the operator sees.
fn inverse_offer_scenario(
    bin: &std::path::Path,
    python: &std::path::Path,
    master: SocketAddr,
    dir: &std::path::Path,
) -> Vec<String> {
    let mut obs = Vec::new();
    let _agent = start_agent(bin, master, dir, "agent");
    obs.push(format!(
        "registered: {}",
        wait_for(|| registered_agents(master) == 1)
    ));
    let out = dir.join("framework.out");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pymesos_inverse.py");
    let mut fw = Agent {
        child: Command::new(python)
            .arg(&script)
            .arg(format!("127.0.0.1:{}", master.port()))
            .arg("60")
            .stdout(std::fs::File::create(&out).expect("framework out"))
            .stderr(std::fs::File::create(dir.join("framework.err")).expect("err"))
            .spawn()
            .expect("start pymesos framework"),
        log: out.clone(),
    };
    let lines = || std::fs::read_to_string(&out).unwrap_or_default();
    obs.push(format!(
        "offered: {}",
        wait_for(|| lines().contains("OFFER none"))
    ));
    let start = 1_900_000_000_000_000_000i64;
    let schedule = format!(
        r#"{{"windows":[{{"machine_ids":[{{"hostname":"maint-host","ip":"127.0.0.1"}}],"unavailability":{{"start":{{"nanoseconds":{start}}}}}}}]}}"#
    );
    let code = http(
        master,
        "POST",
        "/master/maintenance/schedule",
        "text/plain",
        &schedule,
    )
    .map(|(c, _)| c)
    .unwrap_or(0);
    obs.push(format!("schedule: {code}"));
    obs.push(format!(
        "answered: {}",
        wait_for(|| matches!(fw.child.try_wait(), Ok(Some(_))))
    ));
    obs.push(format!(
        "exit: {:?}",
        fw.child.try_wait().ok().flatten().and_then(|s| s.code())
    ));
    // The last answer wins (upstream keeps one status per framework).
    let accepted = wait_for(|| answers(master) == ["ACCEPT"]);
    obs.push(format!("statuses: {accepted} {:?}", answers(master)));
    // What the framework printed, without repeats of the same offer line.
    let mut seen = Vec::new();
    for l in lines().lines() {
        let l = l.to_string();
        if !seen.contains(&l) {
            seen.push(l);
        }
    }
    obs.push(format!("framework: {seen:?}"));
    obs
}

#[test]
fn inverse_offers_reach_a_real_v1_framework_as_from_the_real_master() {
    let Some(bin) = kit_bin() else { return };
    let Some(python) = pymesos_python() else {
        eprintln!("SKIP: no Python with pymesos (run scripts/setup.sh or set MESOS_TEST_VENV)");
        return;
    };
    let tmp = TempDir::new("maintenance-inverse");
    let dir = tmp.0.clone();
    let work_dir = format!("--work_dir={}", dir.join("master").display());
    let master = RealMaster::start(&bin, 0, &[work_dir], &[], &dir.join("master.log"));
    let real = master.addr;
    wait_up(real);
    let want = inverse_offer_scenario(&bin, &python, real, &dir.join("real"));

    let (runtime, ours) = ours_in_process(&["--registry=in_memory".into()], None);
    wait_up(ours);
    let got = inverse_offer_scenario(&bin, &python, ours, &dir.join("ours"));
    runtime.shutdown();

    for (w, g) in want.iter().zip(&got) {
        eprintln!("real {w}\nours {g}");
    }
    assert!(
        want.iter()
            .any(|l| l.contains("INVERSE 1900000000000000000 True /slave(1)")),
        "real master: {want:#?}"
    );
    assert_eq!(want, got);
}

// ----------------------------------------- registry, both directions

fn durable_ours(work_dir: &std::path::Path) -> (Runtime, SocketAddr) {
    let registrar =
        mesos_master::registrar::ReplicatedLogRegistrar::open(work_dir, true).expect("registry");
    let (runtime, addr) = ours_in_process(
        &[
            "--registry=replicated_log".into(),
            format!("--work_dir={}", work_dir.display()),
        ],
        Some(Box::new(registrar)),
    );
    wait_up(addr);
    (runtime, addr)
}

/// Schedule and status as one normalized string.
fn maintenance_view(addr: SocketAddr) -> String {
    let get = |path: &str| {
        http(addr, "GET", path, "text/plain", "")
            .and_then(|(_, b)| serde_json::from_str::<Value>(&b).ok())
            .map(normalize)
            .unwrap_or(Value::Null)
    };
    format!(
        "schedule={} status={}",
        get("/master/maintenance/schedule"),
        get("/master/maintenance/status")
    )
}

fn post_ok(addr: SocketAddr, path: &str, body: &str) {
    let (code, text) = http(addr, "POST", path, "text/plain", body).expect("an answer");
    assert_eq!(code, 200, "{path} {body}: {text}");
}

/// `Registry.schedules` and `Registry.machines` as the real master reads and
/// writes them: ours writes, the real 1.9.0 master (`--registry=
/// replicated_log` on the same work_dir) shows the same schedule and modes
/// and changes them, and ours reads its changes back.
#[test]
fn maintenance_state_crosses_the_replicated_log_with_the_real_master() {
    let Some(bin) = kit_bin() else { return };
    let tmp = TempDir::new("maintenance-registry");
    let dir = tmp.0.clone();
    // Local mode puts the real master's work_dir at `<work_dir>/master`.
    let mdir = dir.join("master");
    std::fs::create_dir_all(&mdir).expect("dir");

    let (runtime, ours) = durable_ours(&mdir);
    post_ok(
        ours,
        "/master/maintenance/schedule",
        r#"{"windows":[{"machine_ids":[{"hostname":"Machine1"},{"ip":"0.0.0.2"}],"unavailability":{"start":{"nanoseconds":1443830400000000000},"duration":{"nanoseconds":3600000000000}}},{"machine_ids":[{"hostname":"Machine3","ip":"0.0.0.3"}],"unavailability":{"start":{"nanoseconds":1443834000000000000}}}]}"#,
    );
    post_ok(
        ours,
        "/master/machine/down",
        r#"[{"hostname":"Machine3","ip":"0.0.0.3"}]"#,
    );
    let written = maintenance_view(ours);
    runtime.shutdown();
    // The log's LevelDB lock goes with the runtime's actors.
    std::thread::sleep(Duration::from_millis(500));

    let real_master = RealMaster::start(
        &bin,
        0,
        &[format!("--work_dir={}", dir.display())],
        &[("MESOS_REGISTRY", "replicated_log")],
        &dir.join("real-master.log"),
    );
    let real = real_master.addr;
    wait_up(real);
    assert_eq!(
        maintenance_view(real),
        written,
        "the real master reads ours"
    );
    // The real master changes it: Machine3 up, a new window, Machine1 down.
    post_ok(
        real,
        "/master/machine/up",
        r#"[{"hostname":"Machine3","ip":"0.0.0.3"}]"#,
    );
    post_ok(
        real,
        "/master/maintenance/schedule",
        r#"{"windows":[{"machine_ids":[{"hostname":"Machine1"},{"ip":"0.0.0.2"}],"unavailability":{"start":{"nanoseconds":1443830400000000000},"duration":{"nanoseconds":3600000000000}}},{"machine_ids":[{"hostname":"Machine4"}],"unavailability":{"start":{"nanoseconds":5}}}]}"#,
    );
    post_ok(real, "/master/machine/down", r#"[{"hostname":"Machine1"}]"#);
    let rewritten = maintenance_view(real);
    assert_ne!(rewritten, written);
    drop(real_master);
    std::thread::sleep(Duration::from_millis(500));

    let (runtime, ours) = durable_ours(&mdir);
    let read_back = maintenance_view(ours);
    runtime.shutdown();
    assert_eq!(read_back, rewritten, "ours reads the real master's");
}
