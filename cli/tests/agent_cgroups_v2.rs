//! cgroups v2 through OUR `mesos-agent --launcher=linux
//! --isolation=cgroups/cpu,cgroups/mem --cgroups_hierarchy=<cgroup2 root>`
//! (our extension: upstream 1.9 has v1 only, see
//! third_party_docs/isolators.md), with a command task scheduled by pymesos
//! through our `mesos-master`.
//!
//! - On the machine's REAL cgroup2 mount: if it offers free `cpu` and
//!   `memory` controllers, the container's cgroup `<root>/<container>` gets
//!   `memory.max` = executor + task memory and `cpu.weight` from the shares,
//!   and holds the container's processes; if it does not (cgroup v1 holds
//!   them, as on this project's CI host, where the cgroup2 mount at
//!   `/sys/fs/cgroup/unified` only offers `hugetlb`), the agent refuses to
//!   start with a clear message and creates nothing.
//! - The same limits on a fake cgroup2 tree (runs everywhere as root), so
//!   the agent-level plumbing (executor + task resources) is exercised even
//!   where the real hierarchy cannot be used.
//!
//! Needs root (`--launcher=linux`) and, for the task tests, a Python with
//! pymesos; otherwise each test prints a SKIP line and passes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{free_port, http_call, http_get};

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn root() -> bool {
    let r = mesos_isolators::running_as_root();
    if !r {
        println!("SKIP: --launcher=linux and cgroups need root");
    }
    r
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

/// cgroup2 mounts of this machine with the controllers each offers.
fn cgroup2_mounts() -> Vec<(PathBuf, Vec<String>)> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 2 && f[2] == "cgroup2").then(|| PathBuf::from(f[1]))
        })
        .map(|p| {
            let c = std::fs::read_to_string(p.join("cgroup.controllers")).unwrap_or_default();
            let c = c.split_whitespace().map(str::to_string).collect();
            (p, c)
        })
        .collect()
}

fn has_cpu_and_memory(c: &[String]) -> bool {
    c.iter().any(|x| x == "cpu") && c.iter().any(|x| x == "memory")
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "agent-cg2-{tag}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn agent_command(dir: &Path, master_port: u16, agent_port: u16, hierarchy: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mesos-agent"));
    c.arg(format!("--master=127.0.0.1:{master_port}"))
        .arg(format!("--work_dir={}", dir.join("work").display()))
        .arg(format!("--runtime_dir={}", dir.join("runtime").display()))
        .arg(format!("--port={agent_port}"))
        .arg("--ip=127.0.0.1")
        .arg("--launcher=linux")
        .arg("--isolation=cgroups/cpu,cgroups/mem")
        .arg(format!("--cgroups_hierarchy={}", hierarchy.display()))
        .arg(format!("--cgroups_root={}", cgroups_root()))
        .arg("--resources=cpus:2;mem:1024;disk:1024")
        .env_remove("MESOS_WORK_DIR")
        .stdout(Stdio::null());
    c
}

fn cgroups_root() -> String {
    format!("mesos-test-agent-cg2-{}", std::process::id())
}

/// On the real cgroup2 mount without free cpu/memory controllers the agent
/// does not start, says why, and leaves the hierarchy untouched.
#[test]
fn agent_refuses_real_cgroup2_without_cpu_and_memory_controllers() {
    if !root() {
        return;
    }
    let Some((mount, controllers)) = cgroup2_mounts()
        .into_iter()
        .find(|(_, c)| !has_cpu_and_memory(c))
    else {
        println!("SKIP: every cgroup2 mount here offers cpu and memory");
        return;
    };
    println!("cgroup2 at {} offers {:?}", mount.display(), controllers);
    let dir = temp_dir("refuse");
    let mut agent = Guard(
        agent_command(&dir, free_port(), free_port(), &mount)
            .stderr(std::fs::File::create(dir.join("agent.log")).unwrap())
            .spawn()
            .expect("start mesos-agent"),
    );
    let mut status = None;
    wait_until(Duration::from_secs(30), || {
        status = agent.0.try_wait().ok().flatten();
        status.is_some()
    });
    let log = std::fs::read_to_string(dir.join("agent.log")).unwrap_or_default();
    let status = status.unwrap_or_else(|| panic!("the agent kept running:\n{log}"));
    assert!(!status.success(), "{log}");
    let missing = if controllers.iter().any(|c| c == "cpu") {
        "memory"
    } else {
        "cpu"
    };
    assert!(
        log.contains(&format!(
            "The '{missing}' controller is not available in the cgroup2 hierarchy at '{}'",
            mount.display()
        )),
        "{log}"
    );
    assert!(
        !mount.join(cgroups_root()).exists(),
        "the agent created its cgroups root anyway"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Master + agent on `hierarchy`; runs a task that waits for a `release`
/// file in its sandbox, checks its container's v2 files from the host while
/// it runs, then releases it. Returns the container's cgroup files as read.
fn limits_through_the_agent(hierarchy: &Path, python: &Path, tag: &str) {
    let dir = temp_dir(tag);
    let (master_port, agent_port) = (free_port(), free_port());
    let _master = Guard(
        Command::new(env!("CARGO_BIN_EXE_mesos-master"))
            .arg(format!("--port={master_port}"))
            .arg("--ip=127.0.0.1")
            .arg("--registry=in_memory")
            .arg(format!("--work_dir={}", dir.join("master").display()))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("master.log")).unwrap())
            .spawn()
            .expect("start mesos-master"),
    );
    assert!(wait_until(Duration::from_secs(30), || http_get(
        master_port,
        "/health"
    )
    .map(|r| r.0)
        == Some(200)));
    let agent = Guard(
        agent_command(&dir, master_port, agent_port, hierarchy)
            .stderr(std::fs::File::create(dir.join("agent.log")).unwrap())
            .spawn()
            .expect("start mesos-agent"),
    );
    let agent_log = || std::fs::read_to_string(dir.join("agent.log")).unwrap_or_default();
    assert!(
        wait_until(Duration::from_secs(30), || http_get(
            master_port,
            "/master/slaves"
        )
        .and_then(|(_, b)| serde_json::from_str::<serde_json::Value>(&b).ok())
        .and_then(|v| v["slaves"].as_array().map(|a| a.len()))
            == Some(1)),
        "agent did not register:\n{}",
        agent_log()
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pymesos_container_task.py");
    let sched_log = dir.join("scheduler.log");
    let log = std::fs::File::create(&sched_log).unwrap();
    let mut sched = Guard(
        Command::new(python)
            .arg(script)
            .arg(format!("127.0.0.1:{master_port}"))
            .arg("while [ ! -e release ]; do sleep 0.1; done; echo released")
            .arg(r#"{"type":"MESOS"}"#)
            .arg("60")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start the scheduler"),
    );
    // The container's cgroup, once the task runs.
    let croot = hierarchy.join(cgroups_root());
    let container = || -> Option<PathBuf> {
        let running = http_call(agent_port, "POST", "/api/v1", r#"{"type":"GET_TASKS"}"#)
            .and_then(|(_, b)| serde_json::from_str::<serde_json::Value>(&b).ok())
            .is_some_and(|t| t["get_tasks"]["launched_tasks"][0]["state"] == "TASK_RUNNING");
        if !running {
            return None;
        }
        std::fs::read_dir(&croot)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.join("memory.max").exists())
    };
    let mut cg = None;
    assert!(
        wait_until(Duration::from_secs(30), || {
            cg = container();
            cg.is_some()
        }),
        "no running task with a cgroup under {}:\n{}",
        croot.display(),
        agent_log()
    );
    let cg = cg.unwrap();
    let read = |f: &str| {
        std::fs::read_to_string(cg.join(f))
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    // Executor (0.1 cpus, 32 MB) + task (0.1 cpus, 64 MB): the agent
    // resizes the container when it hands the task over.
    let want_mem = (96u64 << 20).to_string();
    let cpus = 0.2;
    let want_weight =
        mesos_isolators::cgroups::shares_to_weight(mesos_isolators::cgroups::cpu_shares(cpus))
            .to_string();
    assert!(
        wait_until(Duration::from_secs(20), || read("memory.max") == want_mem
            && read("cpu.weight") == want_weight),
        "memory.max={} (want {want_mem}) cpu.weight={} (want {want_weight})\n{}",
        read("memory.max"),
        read("cpu.weight"),
        agent_log()
    );
    assert!(
        !read("cgroup.procs").is_empty(),
        "no process in {}",
        cg.display()
    );
    // Release the task through its sandbox.
    let sandbox = std::fs::read_dir(dir.join("work/slaves"))
        .into_iter()
        .flatten()
        .flatten()
        .next()
        .map(|s| {
            s.path()
                .join("frameworks")
                .read_dir()
                .unwrap()
                .flatten()
                .next()
                .unwrap()
                .path()
                .join("executors/container-task-1/runs/latest")
        })
        .expect("sandbox");
    std::fs::write(sandbox.join("release"), "").unwrap();
    let end = Instant::now() + Duration::from_secs(60);
    let code = loop {
        if let Ok(Some(st)) = sched.0.try_wait() {
            break st.code();
        }
        if Instant::now() > end {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = std::fs::read_to_string(&sched_log).unwrap_or_default();
    assert_eq!(code, Some(0), "{out}\n{}", agent_log());
    // The container's cgroup goes with the container.
    assert!(
        wait_until(Duration::from_secs(20), || !cg.exists()),
        "{} left behind",
        cg.display()
    );
    drop(agent);
    let _ = std::fs::remove_dir(&croot);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Real cgroup2 with free cpu + memory: limits applied by the agent.
#[test]
fn agent_applies_cpu_and_memory_limits_on_real_cgroup2() {
    if !root() {
        return;
    }
    let Some((mount, _)) = cgroup2_mounts()
        .into_iter()
        .find(|(_, c)| has_cpu_and_memory(c))
    else {
        println!(
            "SKIP: no cgroup2 mount here offers free cpu and memory controllers \
             (they are bound to cgroup v1): {:?}",
            cgroup2_mounts()
        );
        return;
    };
    let Some(python) = common::pymesos_python() else {
        return;
    };
    limits_through_the_agent(&mount, &python, "real");
}

/// The same on a fake cgroup2 tree (plain files), wherever we are root.
#[test]
fn agent_applies_cpu_and_memory_limits_on_fake_cgroup2() {
    if !root() {
        return;
    }
    let Some(python) = common::pymesos_python() else {
        return;
    };
    let fake = temp_dir("fake");
    std::fs::write(fake.join("cgroup.controllers"), "cpu memory io\n").unwrap();
    limits_through_the_agent(&fake, &python, "fake");
    let _ = std::fs::remove_dir_all(&fake);
}
