//! Shared fixtures of the containerizer tests: temp dirs, a
//! `LinuxContainerizer` wired to the built `mesos-containerizer`, and
//! helpers to build configs and read results.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use mesos_isolators::containerizer::{LaunchRequest, LinuxContainerizer};
use mesos_isolators::{Isolator, IsolatorFlags};
use mesos_proto::mesos::linux_info::IpcMode;
use mesos_proto::mesos::slave::{
    ContainerConfig, ContainerLaunchInfo, ContainerState, ContainerTermination,
};
use mesos_proto::mesos::{
    container_info, environment, CommandInfo, ContainerId, ContainerInfo, Environment, LinuxInfo,
    Resource,
};

pub fn helper() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mesos-containerizer"))
}

pub fn require_root() -> bool {
    if mesos_isolators::running_as_root() {
        true
    } else {
        eprintln!("SKIP: this test needs root (geteuid() != 0)");
        false
    }
}

pub fn have_python3() -> bool {
    let ok = Path::new("/usr/bin/python3").exists();
    if !ok {
        eprintln!("SKIP: /usr/bin/python3 is needed by this test");
    }
    ok
}

pub fn cgroups_v1_available() -> bool {
    let ok = Path::new("/sys/fs/cgroup/memory/cgroup.procs").exists()
        && Path::new("/sys/fs/cgroup/cpu/cgroup.procs").exists()
        && Path::new("/sys/fs/cgroup/cpuacct/cgroup.procs").exists();
    if !ok {
        eprintln!("SKIP: cgroups v1 cpu/cpuacct/memory are not mounted under /sys/fs/cgroup");
    }
    ok
}

/// A cgroup2 mount whose root offers `controllers`.
pub fn cgroup2_with(controllers: &[&str]) -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    for l in mounts.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() > 2 && f[2] == "cgroup2" {
            let p = PathBuf::from(f[1]);
            let have = std::fs::read_to_string(p.join("cgroup.controllers")).unwrap_or_default();
            if controllers
                .iter()
                .all(|c| have.split_whitespace().any(|h| h == *c))
            {
                return Some(p);
            }
        }
    }
    None
}

/// A unique cgroups root per test and run.
pub fn cg_root(tag: &str) -> String {
    format!("mesos-test-{tag}-{}", std::process::id())
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "mesos-cz-{tag}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&p).unwrap();
        chmod(&p, 0o755);
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = mesos_isolators::launch::unmount_all_below(&self.0.display().to_string());
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

pub fn cid(v: &str) -> ContainerId {
    ContainerId {
        value: v.to_string(),
        ..Default::default()
    }
}

pub fn shell(cmd: &str) -> CommandInfo {
    CommandInfo {
        value: Some(cmd.to_string()),
        shell: Some(true),
        ..Default::default()
    }
}

pub fn env(vars: &[(&str, &str)]) -> Environment {
    Environment {
        variables: vars
            .iter()
            .map(|(k, v)| environment::Variable {
                name: k.to_string(),
                value: Some(v.to_string()),
                ..Default::default()
            })
            .collect(),
    }
}

pub fn resources(cpus: f64, mem: f64) -> Vec<Resource> {
    vec![
        mesos_isolators::util::scalar_resource("cpus", cpus),
        mesos_isolators::util::scalar_resource("mem", mem),
    ]
}

pub fn mesos_container_info(c: &mut ContainerConfig) -> &mut ContainerInfo {
    c.container_info.get_or_insert_with(|| ContainerInfo {
        r#type: container_info::Type::Mesos as i32,
        ..Default::default()
    })
}

pub fn set_linux_info(
    c: &mut ContainerConfig,
    ipc: Option<IpcMode>,
    shm_mb: Option<u32>,
    share_pid: Option<bool>,
) {
    let ci = mesos_container_info(c);
    ci.linux_info = Some(LinuxInfo {
        ipc_mode: ipc.map(|m| m as i32),
        shm_size: shm_mb,
        share_pid_namespace: share_pid,
        ..Default::default()
    });
}

/// The text after `prefix` up to the end of its line.
pub fn field(s: &str, prefix: &str) -> String {
    s.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or("")
        .trim()
        .to_string()
}

pub fn request(
    id: &ContainerId,
    sandbox: &Path,
    cmd: &str,
    cpus: f64,
    mem: f64,
    modify: impl FnOnce(&mut ContainerConfig),
) -> LaunchRequest {
    let mut config = ContainerConfig {
        directory: sandbox.display().to_string(),
        resources: resources(cpus, mem),
        command_info: shell(cmd),
        ..Default::default()
    };
    modify(&mut config);
    let mut environment = std::collections::BTreeMap::new();
    environment.insert("MESOS_SANDBOX".to_string(), sandbox.display().to_string());
    LaunchRequest {
        container_id: id.clone(),
        config,
        environment,
        io: None,
    }
}

#[derive(Debug)]
pub struct RunResult {
    pub termination: ContainerTermination,
    pub stdout: String,
    pub stderr: String,
}

impl RunResult {
    pub fn ok(&self) -> bool {
        self.termination.status == Some(0)
    }
}

pub struct Fixture {
    pub cz: Arc<LinuxContainerizer>,
    pub dir: TempDir,
    pub flags: IsolatorFlags,
}

impl Fixture {
    pub fn flags_in(dir: &Path, isolation: &str) -> IsolatorFlags {
        IsolatorFlags {
            isolation: isolation.to_string(),
            runtime_dir: dir.join("runtime"),
            work_dir: dir.join("work"),
            docker_store_dir: dir.join("store"),
            ..Default::default()
        }
    }

    pub fn new(isolation: &str, modify: impl FnOnce(&mut IsolatorFlags)) -> Fixture {
        let dir = TempDir::new("fx");
        let mut flags = Fixture::flags_in(dir.path(), isolation);
        modify(&mut flags);
        let cz = LinuxContainerizer::new(flags.clone(), helper()).unwrap();
        Fixture {
            cz: Arc::new(cz),
            dir,
            flags,
        }
    }

    pub fn with_isolators(isolators: Vec<Box<dyn Isolator>>) -> Fixture {
        let dir = TempDir::new("fx");
        let flags = Fixture::flags_in(dir.path(), "");
        let cz = LinuxContainerizer::with_isolators(flags.clone(), helper(), isolators).unwrap();
        Fixture {
            cz: Arc::new(cz),
            dir,
            flags,
        }
    }

    pub fn sandbox(&self, name: &str) -> PathBuf {
        let p = self.dir.path().join("sandboxes").join(name);
        std::fs::create_dir_all(&p).unwrap();
        chmod(&self.dir.path().join("sandboxes"), 0o755);
        chmod(&p, 0o777);
        p
    }

    pub fn launch(
        &self,
        id: &ContainerId,
        cmd: &str,
        cpus: f64,
        mem: f64,
        modify: impl FnOnce(&mut ContainerConfig),
    ) -> Result<i32, mesos_isolators::Error> {
        let sandbox = self.sandbox(&id.value);
        self.cz
            .launch(&request(id, &sandbox, cmd, cpus, mem, modify))
    }

    pub fn try_run_with(
        &self,
        name: &str,
        cmd: &str,
        cpus: f64,
        mem: f64,
        modify: impl FnOnce(&mut ContainerConfig),
    ) -> Result<RunResult, String> {
        let id = cid(name);
        self.launch(&id, cmd, cpus, mem, modify)
            .map_err(|e| e.to_string())?;
        let termination = self.cz.wait(&id).map_err(|e| e.to_string())?;
        let sandbox = self.sandbox(name);
        Ok(RunResult {
            termination,
            stdout: std::fs::read_to_string(sandbox.join("stdout")).unwrap_or_default(),
            stderr: std::fs::read_to_string(sandbox.join("stderr")).unwrap_or_default(),
        })
    }

    pub fn try_run(
        &self,
        name: &str,
        cmd: &str,
        modify: impl FnOnce(&mut ContainerConfig),
    ) -> Result<RunResult, String> {
        self.try_run_with(name, cmd, 0.1, 32.0, modify)
    }

    pub fn run(
        &self,
        name: &str,
        cmd: &str,
        modify: impl FnOnce(&mut ContainerConfig),
    ) -> RunResult {
        self.try_run(name, cmd, modify).unwrap()
    }

    pub fn run_with(
        &self,
        name: &str,
        cmd: &str,
        cpus: f64,
        mem: f64,
        modify: impl FnOnce(&mut ContainerConfig),
    ) -> RunResult {
        self.try_run_with(name, cmd, cpus, mem, modify).unwrap()
    }

    /// Nothing of the container is left mounted on the host, and its
    /// runtime directory holds no shm mount.
    pub fn assert_clean(&self, name: &str) {
        let root = self.dir.path().display().to_string();
        let leaked: Vec<String> = mesos_isolators::launch::mount_points()
            .into_iter()
            .filter(|m| m.starts_with(&root))
            .collect();
        assert!(leaked.is_empty(), "mounts leaked: {leaked:?}");
        let shm = self
            .flags
            .runtime_dir
            .join("containers")
            .join(name)
            .join("shm");
        assert!(!shm.exists(), "{} left behind", shm.display());
    }

    pub fn assert_cgroups_gone(&self, name: &str) {
        for h in ["cpu", "cpuacct", "memory"] {
            let p = self
                .flags
                .cgroups_hierarchy
                .join(h)
                .join(&self.flags.cgroups_root)
                .join(name);
            assert!(!p.exists(), "cgroup {} leaked", p.display());
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // A failed test may leave containers running: kill and reap them.
        for id in self.cz.containers() {
            self.cz.destroy(&id);
            let _ = self.cz.wait(&id);
        }
        if self.flags.cgroups_root.starts_with("mesos-test-") {
            for h in ["cpu", "cpuacct", "memory"] {
                let _ = std::fs::remove_dir(
                    self.flags
                        .cgroups_hierarchy
                        .join(h)
                        .join(&self.flags.cgroups_root),
                );
            }
            let _ =
                std::fs::remove_dir(self.flags.cgroups_hierarchy.join(&self.flags.cgroups_root));
        }
    }
}

/// An isolator whose `prepare` blocks until released (to observe pending
/// operations).
pub struct BlockingIsolator {
    rx: Mutex<std::sync::mpsc::Receiver<()>>,
}

impl BlockingIsolator {
    pub fn new() -> (BlockingIsolator, std::sync::mpsc::Sender<()>) {
        let (tx, rx) = std::sync::mpsc::channel();
        (BlockingIsolator { rx: Mutex::new(rx) }, tx)
    }
}

impl Isolator for BlockingIsolator {
    fn name(&self) -> &'static str {
        "test/block"
    }
    fn recover(
        &self,
        _: &[ContainerState],
        _: &[ContainerId],
    ) -> Result<(), mesos_isolators::Error> {
        Ok(())
    }
    fn prepare(
        &self,
        _: &ContainerId,
        _: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, mesos_isolators::Error> {
        let _ = self.rx.lock().unwrap().recv();
        Ok(None)
    }
    fn isolate(&self, _: &ContainerId, _: u32) -> Result<(), mesos_isolators::Error> {
        Ok(())
    }
    fn update(&self, _: &ContainerId, _: &[Resource]) -> Result<(), mesos_isolators::Error> {
        Ok(())
    }
    fn cleanup(&self, _: &ContainerId) -> Result<(), mesos_isolators::Error> {
        Ok(())
    }
}
