//! Command tasks with a docker image (`ContainerInfo` type MESOS,
//! `mesos.image` type DOCKER) through OUR `mesos-master` and
//! `mesos-agent --launcher=linux --isolation=filesystem/linux,docker/runtime
//! --image_providers=docker --docker_store_dir=<store>`, scheduled by a
//! pymesos v1 framework (tests/data/pymesos_container_task.py).
//!
//! The docker store is made by the test, in upstream's layout
//! (`<store>/layers/<id>/{json,rootfs,rootfs.overlay}` and `storedImages`,
//! a checkpointed `mesos.internal.slave.docker.Images`), from Debian's
//! static busybox: no registry (the agent keeps the default remote
//! `--docker_registry`, never contacted for a stored image), no daemon,
//! no network.
//!
//! As upstream (src/slave/slave.cpp `getExecutorInfo`,
//! containerizer/mesos/containerizer.cpp `_launch`,
//! src/launcher/executor.cpp): the command executor stays in the host
//! filesystem with `--rootfs`, `--sandbox_directory`, `--user` (and the
//! image's WORKDIR/CMD/ENV as `--working_directory`, `--task_command`,
//! `--task_environment`) and launches only the task inside the image, with
//! the sandbox at `/mnt/mesos/sandbox`.
//!
//! Needs root (mounts, pivot_root), `/bin/busybox` (busybox-static) and a
//! Python with pymesos (`PYMESOS_PYTHON`, or `.venv` from scripts/setup.sh);
//! otherwise each test prints a SKIP line and passes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;

use common::{agents_registered, free_port, http_call, start_master, wait_for, Guard, MasterKind};

const BUSYBOX: &str = "/bin/busybox";
const IMAGE: &str = "mesos-test/image";
const IMAGE_CONTAINER: &str =
    r#"{"type":"MESOS","mesos":{"image":{"type":"DOCKER","docker":{"name":"mesos-test/image"}}}}"#;

/// Root, busybox and pymesos, or a SKIP line.
fn prerequisites() -> Option<PathBuf> {
    if !mesos_isolators::running_as_root() {
        println!("SKIP: this test needs root (mounts, pivot_root into the image)");
        return None;
    }
    if !Path::new(BUSYBOX).exists() {
        println!("SKIP: {BUSYBOX} missing (apt-get install -y busybox-static)");
        return None;
    }
    common::pymesos_python()
}

/// A docker store in upstream's layout holding `IMAGE`: layer 1 has busybox,
/// `/etc/os-release` and a marker file the host does not have; layer 2
/// adds `/data/hello`. The top layer's config carries Env, WorkingDir,
/// Entrypoint and Cmd.
fn make_store(store: &Path) {
    let (id1, id2) = ("1".repeat(64), "2".repeat(64));
    for backend_dir in ["rootfs", "rootfs.overlay"] {
        let l1 = store.join("layers").join(&id1).join(backend_dir);
        std::fs::create_dir_all(l1.join("bin")).unwrap();
        std::fs::create_dir_all(l1.join("etc")).unwrap();
        std::fs::create_dir_all(l1.join("tmp")).unwrap();
        std::fs::copy(BUSYBOX, l1.join("bin/busybox")).unwrap();
        for applet in [
            "sh", "echo", "cat", "ls", "pwd", "grep", "id", "touch", "test", "sleep", "env", "df",
            "tail",
        ] {
            std::os::unix::fs::symlink("busybox", l1.join("bin").join(applet)).unwrap();
        }
        std::fs::write(
            l1.join("etc/os-release"),
            "ID=mesos-test-image\nNAME=\"Mesos test image\"\n",
        )
        .unwrap();
        std::fs::write(l1.join("etc/mesos-image-marker"), "inside-the-image\n").unwrap();
        let l2 = store.join("layers").join(&id2).join(backend_dir);
        std::fs::create_dir_all(l2.join("data")).unwrap();
        std::fs::write(l2.join("data/hello"), "hello from layer 2\n").unwrap();
    }
    let config = serde_json::json!({
        "Env": ["IMG_VAR=from-image", "PATH=/bin"],
        "WorkingDir": "/data",
        "Entrypoint": ["/bin/sh", "-c"],
        "Cmd": ["echo entrypoint-cmd cwd=$(pwd) var=$IMG_VAR; cat hello"],
    });
    std::fs::write(
        store.join("layers").join(&id1).join("json"),
        serde_json::json!({"id": id1, "config": {}}).to_string(),
    )
    .unwrap();
    std::fs::write(
        store.join("layers").join(&id2).join("json"),
        serde_json::json!({"id": id2, "parent": id1, "config": config}).to_string(),
    )
    .unwrap();
    mesos_isolators::provisioner::record_stored_image(store, IMAGE, &[id1, id2]).unwrap();
}

struct Cluster {
    dir: PathBuf,
    master_port: u16,
    agent_port: u16,
    _master: Guard,
    agent: Option<Guard>,
    isolation: String,
    extra: Vec<String>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Let the agent destroy the container (the scheduler exits on the
        // terminal update, before the executor's container is gone).
        let port = self.agent_port;
        if self.agent.is_some() {
            wait_for(Duration::from_secs(15), || {
                http_call(port, "POST", "/api/v1", r#"{"type":"GET_CONTAINERS"}"#)
                    .and_then(|(_, b)| serde_json::from_str::<serde_json::Value>(&b).ok())
                    .is_some_and(|v| {
                        v["get_containers"]["containers"]
                            .as_array()
                            .is_some_and(|a| a.is_empty())
                    })
            });
        }
        // Stop the agent before its rootfses are unmounted.
        self.agent = None;
        if std::env::var("AGENT_IMAGE_KEEP").is_err() {
            let _ = mesos_isolators::launch::unmount_all_below(&self.dir.display().to_string());
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Cluster {
    fn start(tag: &str, extra: &[&str]) -> Cluster {
        Cluster::start_on(
            tag,
            extra,
            false,
            "filesystem/linux,docker/runtime,namespaces/pid",
        )
    }

    /// A cluster of our agent with our master, or with the real 1.9.0
    /// master from the kit (`real_master`), the agent using `isolation`.
    fn start_on(tag: &str, extra: &[&str], real_master: bool, isolation: &str) -> Cluster {
        let dir = std::env::temp_dir().join(format!(
            "agent-image-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        make_store(&dir.join("store"));
        let (master_port, agent_port) = (free_port(), free_port());
        let local = real_master.then(|| common::kit_bin("mesos-ref-local").expect("the kit"));
        let kind = local.as_deref().map_or(MasterKind::Ours, MasterKind::Real);
        let master = start_master(kind, master_port, &dir, &[]);
        let mut c = Cluster {
            dir,
            master_port,
            agent_port,
            _master: master,
            agent: None,
            isolation: isolation.to_string(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
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
        let dir = &self.dir;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("agent.log"))
            .unwrap();
        self.agent = Some(Guard(Some(
            Command::new(env!("CARGO_BIN_EXE_mesos-agent"))
                .arg(format!("--master=127.0.0.1:{}", self.master_port))
                .arg(format!("--work_dir={}", dir.join("work").display()))
                .arg(format!("--runtime_dir={}", dir.join("runtime").display()))
                .arg(format!("--port={}", self.agent_port))
                .arg("--ip=127.0.0.1")
                .arg("--launcher=linux")
                .arg(format!("--isolation={}", self.isolation))
                .arg("--image_providers=docker")
                .arg(format!(
                    "--docker_store_dir={}",
                    dir.join("store").display()
                ))
                .args(&self.extra)
                .arg("--resources=cpus:2;mem:1024;disk:1024")
                .arg("--recovery_timeout=30secs")
                .env_remove("MESOS_WORK_DIR")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start mesos-agent"),
        )));
    }

    /// Container rootfses the provisioner holds.
    fn rootfses(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.dir.join("work/provisioner/containers"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect()
    }

    fn agent_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("agent.log")).unwrap_or_default()
    }

    /// Runs one task (a shell `command`, or the CommandInfo `command_json`)
    /// in `container`; returns (scheduler exit code, scheduler output).
    fn run_task(
        &self,
        python: &Path,
        command: &str,
        command_json: Option<&str>,
        container: &str,
    ) -> (Option<i32>, String) {
        let mut g = self.spawn_scheduler(python, command, command_json, container, &[]);
        let code = g.wait_exit(Duration::from_secs(90));
        (code, self.scheduler_log())
    }

    fn scheduler_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("scheduler.log")).unwrap_or_default()
    }

    fn spawn_scheduler(
        &self,
        python: &Path,
        command: &str,
        command_json: Option<&str>,
        container: &str,
        env: &[(&str, &str)],
    ) -> Guard {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pymesos_container_task.py");
        let log = std::fs::File::create(self.dir.join("scheduler.log")).unwrap();
        let mut cmd = Command::new(python);
        cmd.arg(script)
            .arg(format!("127.0.0.1:{}", self.master_port))
            .arg(command)
            .arg(container)
            .arg("60")
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        if let Some(j) = command_json {
            cmd.env("COMMAND_JSON", j);
        }
        cmd.envs(env.iter().copied());
        Guard(Some(cmd.spawn().expect("start the scheduler")))
    }

    /// The (only) run directory of the task's executor on the host.
    fn sandbox(&self) -> Option<PathBuf> {
        fn walk(dir: &Path) -> Option<PathBuf> {
            for e in std::fs::read_dir(dir).ok()?.flatten() {
                let p = e.path();
                if p.is_symlink() {
                    continue;
                }
                if p.join("stdout").is_file() {
                    return Some(p);
                }
                if p.is_dir() {
                    if let Some(found) = walk(&p) {
                        return Some(found);
                    }
                }
            }
            None
        }
        walk(&self.dir.join("work/slaves"))
    }

    fn sandbox_file(&self, name: &str) -> String {
        self.sandbox()
            .and_then(|s| std::fs::read_to_string(s.join(name)).ok())
            .unwrap_or_default()
    }

    fn explain(&self, out: &str) -> String {
        format!(
            "scheduler:\n{out}\ntask stdout:\n{}\ntask stderr:\n{}\nagent log:\n{}",
            self.sandbox_file("stdout"),
            self.sandbox_file("stderr"),
            self.agent_log()
        )
    }
}

/// The task sees the image's filesystem (its /etc/os-release, a marker only
/// the image has, not the host's files), its sandbox at /mnt/mesos/sandbox
/// (MESOS_SANDBOX), the image's ENV and WORKDIR, and a file it writes there
/// appears in the host-side sandbox. The executor itself ran on the host:
/// the image has no `mesos-executor`.
#[test]
fn command_task_runs_inside_docker_image() {
    let Some(python) = prerequisites() else {
        return;
    };
    let c = Cluster::start("run", &[]);
    let probe = "cat /etc/os-release; cat /etc/mesos-image-marker; \
                 test -e /etc/agent-image-host-check && echo host-file-visible; \
                 echo sandbox=$MESOS_SANDBOX cwd=$(pwd) var=$IMG_VAR; \
                 echo written-by-task > $MESOS_SANDBOX/from-task; \
                 ls /mnt/mesos/sandbox";
    // A file on the host that must not be visible inside the image.
    let host_check = Path::new("/etc/agent-image-host-check");
    let created = !host_check.exists() && std::fs::write(host_check, "host").is_ok();
    let (code, out) = c.run_task(&python, probe, None, IMAGE_CONTAINER);
    if created {
        let _ = std::fs::remove_file(host_check);
    }
    assert_eq!(code, Some(0), "{}", c.explain(&out));
    assert!(out.contains("status TASK_FINISHED"), "{out}");
    let stdout = c.sandbox_file("stdout");
    assert!(
        stdout.contains("ID=mesos-test-image"),
        "{}",
        c.explain(&out)
    );
    assert!(stdout.contains("inside-the-image"), "{stdout}");
    assert!(!stdout.contains("host-file-visible"), "{stdout}");
    // Shell command: the image's WORKDIR and ENV still apply.
    assert!(
        stdout.contains("sandbox=/mnt/mesos/sandbox cwd=/data var=from-image"),
        "{stdout}"
    );
    let sandbox = c.sandbox().expect("host sandbox");
    assert_eq!(
        std::fs::read_to_string(sandbox.join("from-task")).unwrap_or_default(),
        "written-by-task\n",
        "file written in /mnt/mesos/sandbox is not in {}",
        sandbox.display()
    );
}

/// A failing command inside the image: TASK_FAILED with the exit status.
#[test]
fn failing_command_in_image_reports_exit_status() {
    let Some(python) = prerequisites() else {
        return;
    };
    let c = Cluster::start("fail", &[]);
    let (code, out) = c.run_task(
        &python,
        "cat /etc/mesos-image-marker; exit 3",
        None,
        IMAGE_CONTAINER,
    );
    assert_eq!(code, Some(1), "{}", c.explain(&out));
    assert!(
        out.contains("status TASK_FAILED  Command exited with status 3"),
        "{}",
        c.explain(&out)
    );
    assert!(c.sandbox_file("stdout").contains("inside-the-image"));
}

/// An image that is neither in the store nor in the (local) registry:
/// TASK_FAILED, REASON_CONTAINER_LAUNCH_FAILED, with the tar puller's
/// message (upstream `ImageTarPullerProcess::pull`, `Slave::executorLaunched`).
#[test]
fn missing_image_fails_the_task_with_launch_failed() {
    let Some(python) = prerequisites() else {
        return;
    };
    let container =
        r#"{"type":"MESOS","mesos":{"image":{"type":"DOCKER","docker":{"name":"no-such-image"}}}}"#;
    // A local registry (an empty directory): upstream's tar puller message.
    let registry =
        std::env::temp_dir().join(format!("agent-image-registry-{}", std::process::id()));
    std::fs::create_dir_all(&registry).unwrap();
    let flag = format!("--docker_registry={}", registry.display());
    let c = Cluster::start("missing", &[&flag]);
    let (code, out) = c.run_task(&python, "true", None, container);
    assert_eq!(code, Some(1), "{}", c.explain(&out));
    let expected = format!(
        "status TASK_FAILED REASON_CONTAINER_LAUNCH_FAILED Failed to launch container: \
         Failed to find archive for image 'no-such-image' at '{}/no-such-image.tar'",
        registry.display()
    );
    assert!(out.contains(&expected), "{}", c.explain(&out));
    drop(c);
    let _ = std::fs::remove_dir_all(&registry);
    // The default (remote) registry is never contacted here: same reason.
    let c = Cluster::start("missing-remote", &[]);
    let (code, out) = c.run_task(&python, "true", None, container);
    assert_eq!(code, Some(1), "{}", c.explain(&out));
    assert!(
        out.contains(
            "status TASK_FAILED REASON_CONTAINER_LAUNCH_FAILED Failed to launch container: \
             Failed to pull image 'no-such-image': pulling from the remote registry \
             'https://registry-1.docker.io' is not supported"
        ),
        "{}",
        c.explain(&out)
    );
}

/// `shell: false` without a value: the image's ENTRYPOINT + CMD run (in
/// WORKDIR, with ENV), as docker/runtime's `getLaunchCommand` decides and
/// the executor gets as `--task_command`.
#[test]
fn image_entrypoint_cmd_and_env_are_honoured() {
    let Some(python) = prerequisites() else {
        return;
    };
    let c = Cluster::start("runtime", &[]);
    let (code, out) = c.run_task(
        &python,
        "unused",
        Some(r#"{"shell":false}"#),
        IMAGE_CONTAINER,
    );
    assert_eq!(code, Some(0), "{}", c.explain(&out));
    let stdout = c.sandbox_file("stdout");
    assert!(
        stdout.contains("entrypoint-cmd cwd=/data var=from-image"),
        "{}",
        c.explain(&out)
    );
    assert!(stdout.contains("hello from layer 2"), "{stdout}");
}

/// `--docker_ignore_runtime` (1.9): the image's ENV and WORKDIR are not
/// applied; the task starts in the sandbox.
#[test]
fn docker_ignore_runtime_ignores_image_config() {
    let Some(python) = prerequisites() else {
        return;
    };
    let c = Cluster::start("ignore", &["--docker_ignore_runtime"]);
    let (code, out) = c.run_task(
        &python,
        "cat /etc/mesos-image-marker; echo cwd=$(pwd) var=${IMG_VAR:-unset}",
        None,
        IMAGE_CONTAINER,
    );
    assert_eq!(code, Some(0), "{}", c.explain(&out));
    let stdout = c.sandbox_file("stdout");
    assert!(stdout.contains("inside-the-image"), "{}", c.explain(&out));
    assert!(
        stdout.contains("cwd=/mnt/mesos/sandbox var=unset"),
        "{}",
        c.explain(&out)
    );
}

/// A checkpointing framework's task in an image survives SIGKILL + restart
/// of the agent: the executor (on the host) reconnects, the task finishes,
/// and the recovered container's rootfs is destroyed once it has ended
/// (upstream `ProvisionerProcess::recover` keeps known rootfses).
#[test]
fn image_task_survives_agent_restart_and_its_rootfs_is_removed() {
    let Some(python) = prerequisites() else {
        return;
    };
    let mut c = Cluster::start("recover", &[]);
    let port = c.agent_port;
    let mut g = c.spawn_scheduler(
        &python,
        "sleep 5; cat /etc/mesos-image-marker",
        None,
        IMAGE_CONTAINER,
        &[("CHECKPOINT", "1")],
    );
    assert!(
        wait_for(Duration::from_secs(30), || http_call(
            port,
            "POST",
            "/api/v1",
            r#"{"type":"GET_TASKS"}"#
        )
        .and_then(|(_, b)| serde_json::from_str::<serde_json::Value>(&b).ok())
        .is_some_and(
            |t| t["get_tasks"]["launched_tasks"][0]["state"] == "TASK_RUNNING"
        )),
        "task did not start; agent log:\n{}",
        c.agent_log()
    );
    assert_eq!(c.rootfses().len(), 1, "{:?}", c.rootfses());
    // SIGKILL the agent (Guard drop) and start it again.
    c.agent = None;
    c.start_agent();
    let code = g.wait_exit(Duration::from_secs(90));
    let out = c.scheduler_log();
    assert_eq!(code, Some(0), "{}", c.explain(&out));
    assert_eq!(out.matches("status TASK_FINISHED").count(), 1, "{out}");
    assert!(c.sandbox_file("stdout").contains("inside-the-image"));
    assert!(
        c.agent_log()
            .contains("Sending reconnect request to executor"),
        "{}",
        c.agent_log()
    );
    assert!(
        wait_for(Duration::from_secs(20), || c.rootfses().is_empty()),
        "rootfs left behind: {:?}",
        c.rootfses()
    );
}

/// Killing a task that runs in an image: the executor's SIGTERM reaches the
/// task behind `mesos-containerizer launch` (same pid, own session) and the
/// task ends TASK_KILLED.
#[test]
fn task_in_image_can_be_killed() {
    let Some(python) = prerequisites() else {
        return;
    };
    let c = Cluster::start("kill", &[]);
    let mut g = c.spawn_scheduler(
        &python,
        "echo started; sleep 120",
        None,
        IMAGE_CONTAINER,
        &[("KILL_ON_RUNNING", "1")],
    );
    let code = g.wait_exit(Duration::from_secs(60));
    let out = c.scheduler_log();
    assert_eq!(code, Some(0), "{}", c.explain(&out));
    assert!(out.contains("status TASK_KILLED"), "{out}");
}

/// The task's `CommandInfo.user` reaches the executor as `--user=` and the
/// task (only) runs as that user inside the image, with its sandbox handed
/// over to it, while the executor stays root (it must pivot).
#[test]
fn task_in_image_runs_as_the_task_user() {
    let Some(python) = prerequisites() else {
        return;
    };
    let Some(uid) = Command::new("id")
        .args(["-u", "nobody"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<u32>()
                .ok()
        })
    else {
        println!("SKIP: no user 'nobody'");
        return;
    };
    let c = Cluster::start("user", &[]);
    let (code, out) = c.run_task(
        &python,
        "unused",
        Some(r#"{"value":"echo uid=$(id -u); touch $MESOS_SANDBOX/by-user","user":"nobody"}"#),
        IMAGE_CONTAINER,
    );
    assert_eq!(code, Some(0), "{}", c.explain(&out));
    let stdout = c.sandbox_file("stdout");
    assert!(
        stdout.contains(&format!("uid={uid}")),
        "{}",
        c.explain(&out)
    );
    let sandbox = c.sandbox().unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(sandbox.join("by-user")).unwrap().uid(),
        uid
    );
    assert_eq!(std::fs::metadata(&sandbox).unwrap().uid(), uid);
}

/// The issue's end-to-end case: a pymesos task with a docker image and
/// `ipc_mode=PRIVATE, shm_size=16` on our agent, registered with our master
/// and with the real 1.9.0 master. Inside the image the task sees the
/// image's files and a private 16 MB `/dev/shm`.
#[test]
fn image_task_with_private_ipc_on_the_real_master_and_ours() {
    let Some(python) = prerequisites() else {
        return;
    };
    let container = r#"{"type":"MESOS","mesos":{"image":{"type":"DOCKER","docker":{"name":"mesos-test/image"}}},"linux_info":{"ipc_mode":"PRIVATE","shm_size":16}}"#;
    let probe = "cat /etc/mesos-image-marker; df -k /dev/shm | tail -n 1; echo shm-file > /dev/shm/probe-shm";
    let isolation = "filesystem/linux,docker/runtime,namespaces/pid,namespaces/ipc";
    let mut masters = vec![false];
    if common::kit_bin("mesos-ref-local").is_some() {
        masters.push(true);
    }
    for real in masters {
        let tag = if real { "ipc-real" } else { "ipc-ours" };
        let c = Cluster::start_on(tag, &[], real, isolation);
        let (code, out) = c.run_task(&python, probe, None, container);
        assert_eq!(code, Some(0), "{tag}: {}", c.explain(&out));
        assert!(out.contains("status TASK_FINISHED"), "{tag}: {out}");
        let stdout = c.sandbox_file("stdout");
        assert!(stdout.contains("inside-the-image"), "{tag}: {stdout}");
        let shm = stdout
            .lines()
            .find(|l| l.contains("/dev/shm") || l.starts_with("shm") || l.starts_with("tmpfs"))
            .unwrap_or_default()
            .to_string();
        assert!(
            shm.split_whitespace().nth(1) == Some("16384"),
            "{tag}: /dev/shm is not the private 16 MB tmpfs: {stdout}"
        );
        assert!(
            !Path::new("/dev/shm/probe-shm").exists(),
            "{tag}: the task wrote into the host's /dev/shm"
        );
    }
}
