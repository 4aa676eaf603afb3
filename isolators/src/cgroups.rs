//! `cgroups/cpu`, `cgroups/mem` (and `cgroups/all`) on cgroups v1 or v2.
//!
//! Upstream (src/slave/containerizer/mesos/isolators/cgroups/cgroups.cpp and
//! subsystems/{cpu,cpuacct,memory}.cpp) is v1 only: one cgroup
//! `<hierarchy>/<subsystem>/<cgroups_root>/<container>` per subsystem,
//! `cpu.shares` = 1024 per cpu (min 2), CFS quota = cpus x 100 ms period
//! (min 1 ms) with `--cgroups_enable_cfs`, `memory.soft_limit_in_bytes` and
//! `memory.limit_in_bytes` = mem (min 32 MB; the hard limit is only ever
//! raised), OOM -> `REASON_CONTAINER_LIMITATION_MEMORY`.
//!
//! The version is chosen by what `--cgroups_hierarchy` is: a cgroup2 root
//! (has `cgroup.controllers`) means v2, with one cgroup
//! `<hierarchy>/<cgroups_root>/<container>` carrying `cpu.weight` (shares
//! mapped onto 1..10000), `cpu.max`, `memory.max` (hard) and `memory.low`
//! (soft); OOMs are read from `memory.events`. That is our extension.
//!
//! OOM detection polls the kernel's `oom_kill` counter (`memory.oom_control`
//! on v1, `memory.events` on v2) from [`Isolator::watch`] instead of
//! upstream's eventfd; the containerizer checks it when the container exits.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use mesos_proto::mesos::slave::{
    ContainerConfig, ContainerLaunchInfo, ContainerLimitation, ContainerState,
};
use mesos_proto::mesos::task_status::Reason;
use mesos_proto::mesos::{ContainerId, Resource, ResourceStatistics};

use crate::flags::IsolatorFlags;
use crate::namespaces::id_string;
use crate::util::{bytes_string, limitation, named, scalar};
use crate::{Error, Isolator};

/// `CPU_SHARES_PER_CPU`.
pub const CPU_SHARES_PER_CPU: u64 = 1024;
/// `MIN_CPU_SHARES`.
pub const MIN_CPU_SHARES: u64 = 2;
/// `CPU_CFS_PERIOD` (100 ms) in microseconds.
pub const CPU_CFS_PERIOD_US: u64 = 100_000;
/// `MIN_CPU_CFS_QUOTA` (1 ms) in microseconds.
pub const MIN_CPU_CFS_QUOTA_US: u64 = 1_000;
/// `MIN_MEMORY` (32 MB).
pub const MIN_MEMORY: u64 = 32 << 20;

/// Which cgroups interface the host offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// The subsystems we manage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subsystem {
    Cpu,
    Mem,
}

/// `cpu.shares` for `cpus`.
pub fn cpu_shares(cpus: f64) -> u64 {
    ((CPU_SHARES_PER_CPU as f64 * cpus) as u64).max(MIN_CPU_SHARES)
}

/// CFS quota (µs per 100 ms period) for `cpus`.
pub fn cfs_quota_us(cpus: f64) -> u64 {
    ((CPU_CFS_PERIOD_US as f64 * cpus) as u64).max(MIN_CPU_CFS_QUOTA_US)
}

/// The v2 `cpu.weight` equivalent of v1 shares (the 2..262144 range mapped
/// linearly onto 1..10000, as container runtimes do).
pub fn shares_to_weight(shares: u64) -> u64 {
    let s = shares.clamp(2, 262_144);
    1 + ((s - 2) * 9999) / 262_142
}

/// Memory limit in bytes for `mem` MB (at least `MIN_MEMORY`).
pub fn memory_limit(mem_mb: f64) -> u64 {
    ((mem_mb * 1024.0 * 1024.0) as u64).max(MIN_MEMORY)
}

/// The statfs magic of cgroup filesystems (to refuse deleting files on a
/// real cgroupfs; on a fake test tree plain directories are removed).
const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

fn is_cgroupfs(p: &Path) -> bool {
    nix::sys::statfs::statfs(p)
        .map(|s| {
            // The field's integer type differs between architectures.
            #[allow(clippy::unnecessary_cast)]
            let t = s.filesystem_type().0 as i64;
            t == CGROUP_SUPER_MAGIC || t == CGROUP2_SUPER_MAGIC
        })
        .unwrap_or(false)
}

fn read(p: &Path) -> Result<String, Error> {
    std::fs::read_to_string(p)
        .map_err(|e| Error::Cgroups(format!("failed to read '{}': {e}", p.display())))
}

fn write(p: &Path, v: &str) -> Result<(), Error> {
    std::fs::write(p, v)
        .map_err(|e| Error::Cgroups(format!("failed to write '{v}' to '{}': {e}", p.display())))
}

/// `key value` lines (memory.stat, cpu.stat, memory.events, ...).
pub fn parse_kv(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect()
}

/// A container's cgroup below `--cgroups_root`: nested containers live
/// inside their parent's cgroup as `<parent>/mesos/<child>`
/// (`containerizer::paths::getCgroupPath`), so the parent's limits bound
/// them.
pub fn cgroup_name(id: &ContainerId) -> PathBuf {
    match id.parent.as_deref() {
        Some(p) => cgroup_name(p).join("mesos").join(&id.value),
        None => PathBuf::from(&id.value),
    }
}

struct Info {
    resources: Vec<Resource>,
    /// Hard memory limit currently applied.
    mem_limit: Option<u64>,
    pid: Option<u32>,
}

/// The cgroups isolator (one instance serves every requested subsystem).
pub struct CgroupsIsolator {
    version: Version,
    hierarchy: PathBuf,
    root: String,
    subsystems: Vec<Subsystem>,
    enable_cfs: bool,
    limit_swap: bool,
    infos: Mutex<BTreeMap<String, Info>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl CgroupsIsolator {
    /// Detects the version from `--cgroups_hierarchy` and checks that every
    /// requested subsystem is available.
    pub fn new(flags: &IsolatorFlags, mut subsystems: Vec<Subsystem>) -> Result<Self, Error> {
        subsystems.sort();
        subsystems.dedup();
        let hierarchy = flags.cgroups_hierarchy.clone();
        let version = if hierarchy.join("cgroup.controllers").exists() {
            Version::V2
        } else {
            Version::V1
        };
        let iso = CgroupsIsolator {
            version,
            hierarchy,
            root: flags.cgroups_root.trim_matches('/').to_string(),
            subsystems,
            enable_cfs: flags.cgroups_enable_cfs,
            limit_swap: flags.cgroups_limit_swap,
            infos: Mutex::new(BTreeMap::new()),
        };
        iso.init()?;
        Ok(iso)
    }

    pub fn version(&self) -> Version {
        self.version
    }

    /// v1 hierarchies a subsystem uses (cpu also reads cpuacct).
    fn v1_hierarchies(&self, s: Subsystem) -> Vec<&'static str> {
        match s {
            Subsystem::Cpu => vec!["cpu", "cpuacct"],
            Subsystem::Mem => vec!["memory"],
        }
    }

    fn init(&self) -> Result<(), Error> {
        match self.version {
            Version::V1 => {
                for s in &self.subsystems {
                    for h in self.v1_hierarchies(*s) {
                        let dir = self.hierarchy.join(h);
                        if !dir.join("cgroup.procs").exists() && !dir.join("tasks").exists() {
                            return Err(Error::Cgroups(format!(
                                "The '{h}' subsystem is not mounted at '{}'",
                                dir.display()
                            )));
                        }
                        std::fs::create_dir_all(dir.join(&self.root))?;
                    }
                }
                // memory.use_hierarchy is left as the host has it; on modern
                // kernels it is always on.
            }
            Version::V2 => {
                let controllers = read(&self.hierarchy.join("cgroup.controllers"))?;
                let have: Vec<&str> = controllers.split_whitespace().collect();
                let mut need = Vec::new();
                for s in &self.subsystems {
                    let c = match s {
                        Subsystem::Cpu => "cpu",
                        Subsystem::Mem => "memory",
                    };
                    if !have.contains(&c) {
                        return Err(Error::Cgroups(format!(
                            "The '{c}' controller is not available in the cgroup2 \
                             hierarchy at '{}'",
                            self.hierarchy.display()
                        )));
                    }
                    need.push(format!("+{c}"));
                }
                let root = self.hierarchy.join(&self.root);
                std::fs::create_dir_all(&root)?;
                // Delegate the controllers down to <root>/<container>.
                for dir in [&self.hierarchy, &root] {
                    let sc = dir.join("cgroup.subtree_control");
                    for c in &need {
                        write(&sc, c)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The container's cgroup directories (v1: one per hierarchy).
    pub fn cgroup_dirs(&self, id: &ContainerId) -> Vec<PathBuf> {
        let name = cgroup_name(id);
        match self.version {
            Version::V1 => {
                let mut hs: Vec<&str> = self
                    .subsystems
                    .iter()
                    .flat_map(|s| self.v1_hierarchies(*s))
                    .collect();
                hs.sort();
                hs.dedup();
                hs.into_iter()
                    .map(|h| self.hierarchy.join(h).join(&self.root).join(&name))
                    .collect()
            }
            Version::V2 => vec![self.hierarchy.join(&self.root).join(&name)],
        }
    }

    fn dir(&self, id: &ContainerId, v1_hierarchy: &str) -> PathBuf {
        let name = cgroup_name(id);
        match self.version {
            Version::V1 => self
                .hierarchy
                .join(v1_hierarchy)
                .join(&self.root)
                .join(name),
            Version::V2 => self.hierarchy.join(&self.root).join(name),
        }
    }

    fn has(&self, s: Subsystem) -> bool {
        self.subsystems.contains(&s)
    }

    fn apply_cpu(&self, id: &ContainerId, cpus: f64) -> Result<(), Error> {
        let d = self.dir(id, "cpu");
        let shares = cpu_shares(cpus);
        match self.version {
            Version::V1 => {
                write(&d.join("cpu.shares"), &shares.to_string())?;
                if self.enable_cfs {
                    write(&d.join("cpu.cfs_period_us"), &CPU_CFS_PERIOD_US.to_string())?;
                    write(&d.join("cpu.cfs_quota_us"), &cfs_quota_us(cpus).to_string())?;
                }
            }
            Version::V2 => {
                write(&d.join("cpu.weight"), &shares_to_weight(shares).to_string())?;
                let max = if self.enable_cfs {
                    format!("{} {CPU_CFS_PERIOD_US}", cfs_quota_us(cpus))
                } else {
                    format!("max {CPU_CFS_PERIOD_US}")
                };
                write(&d.join("cpu.max"), &max)?;
            }
        }
        Ok(())
    }

    fn apply_mem(&self, id: &ContainerId, info: &mut Info, mem_mb: f64) -> Result<(), Error> {
        let d = self.dir(id, "memory");
        let limit = memory_limit(mem_mb);
        match self.version {
            Version::V1 => {
                write(&d.join("memory.soft_limit_in_bytes"), &limit.to_string())?;
                // Only raise the hard limit: lowering it below the current
                // usage would trigger the OOM killer (upstream memory.cpp).
                if info.mem_limit.is_none_or(|cur| limit > cur) {
                    write(&d.join("memory.limit_in_bytes"), &limit.to_string())?;
                    if self.limit_swap {
                        write(&d.join("memory.memsw.limit_in_bytes"), &limit.to_string())?;
                    }
                    info.mem_limit = Some(limit);
                }
            }
            Version::V2 => {
                write(&d.join("memory.low"), &limit.to_string())?;
                if info.mem_limit.is_none_or(|cur| limit > cur) {
                    write(&d.join("memory.max"), &limit.to_string())?;
                    if self.limit_swap {
                        write(&d.join("memory.swap.max"), "0")?;
                    }
                    info.mem_limit = Some(limit);
                }
            }
        }
        Ok(())
    }

    fn oom_kills(&self, id: &ContainerId) -> u64 {
        let d = self.dir(id, "memory");
        let file = match self.version {
            Version::V1 => d.join("memory.oom_control"),
            Version::V2 => d.join("memory.events"),
        };
        std::fs::read_to_string(file)
            .map(|t| parse_kv(&t).get("oom_kill").copied().unwrap_or(0))
            .unwrap_or(0)
    }

    fn max_usage(&self, id: &ContainerId) -> Option<u64> {
        let d = self.dir(id, "memory");
        let f = match self.version {
            Version::V1 => d.join("memory.max_usage_in_bytes"),
            Version::V2 => d.join("memory.peak"),
        };
        std::fs::read_to_string(f).ok()?.trim().parse().ok()
    }

    /// Pids in the container's cgroups.
    pub fn pids(&self, id: &ContainerId) -> Vec<i32> {
        let mut out = Vec::new();
        for d in self.cgroup_dirs(id) {
            if let Ok(t) = std::fs::read_to_string(d.join("cgroup.procs")) {
                out.extend(t.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
            }
        }
        out.sort();
        out.dedup();
        out
    }

    fn destroy_cgroup(&self, dir: &Path) -> Result<(), Error> {
        if !dir.exists() {
            return Ok(());
        }
        let real = is_cgroupfs(dir);
        if real {
            // Child cgroups (nested containers) go first: a cgroup with
            // children cannot be removed.
            if let Ok(rd) = std::fs::read_dir(dir) {
                for e in rd.flatten() {
                    if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                        self.destroy_cgroup(&e.path())?;
                    }
                }
            }
        }
        // Kill whatever still runs in the cgroup (upstream freezes then
        // kills; SIGKILL on every member reaches the same end).
        for _ in 0..100 {
            let procs: Vec<i32> = std::fs::read_to_string(dir.join("cgroup.procs"))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect();
            let live: Vec<i32> = procs
                .into_iter()
                .filter(|p| *p > 0 && crate::alive(*p))
                .collect();
            if live.is_empty() {
                break;
            }
            for p in live {
                // SAFETY: plain kill(2).
                unsafe { libc::kill(p, libc::SIGKILL) };
            }
            if !real {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        if real {
            // rmdir can fail with EBUSY for a moment after the last task died.
            let mut last = None;
            for _ in 0..100 {
                match std::fs::remove_dir(dir) {
                    Ok(()) => return Ok(()),
                    Err(e) => last = Some(e),
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(Error::Cgroups(format!(
                "Failed to remove cgroup '{}': {}",
                dir.display(),
                last.map(|e| e.to_string()).unwrap_or_default()
            )))
        } else {
            std::fs::remove_dir_all(dir)?;
            Ok(())
        }
    }
}

impl Isolator for CgroupsIsolator {
    fn name(&self) -> &'static str {
        "cgroups"
    }

    fn supports_nesting(&self) -> bool {
        true
    }

    fn recover(&self, states: &[ContainerState], orphans: &[ContainerId]) -> Result<(), Error> {
        let mut infos = lock(&self.infos);
        for s in states {
            infos.insert(
                id_string(&s.container_id),
                Info {
                    resources: s
                        .executor_info
                        .as_ref()
                        .map(|e| e.resources.clone())
                        .unwrap_or_default(),
                    mem_limit: None,
                    pid: Some(s.pid as u32),
                },
            );
        }
        drop(infos);
        // Orphan cgroups are destroyed, as upstream does at recovery.
        for o in orphans {
            for d in self.cgroup_dirs(o) {
                self.destroy_cgroup(&d)?;
            }
        }
        Ok(())
    }

    fn prepare(
        &self,
        id: &ContainerId,
        config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, Error> {
        let key = id_string(id);
        if lock(&self.infos).contains_key(&key) {
            return Err(Error::AlreadyPrepared(key));
        }
        for d in self.cgroup_dirs(id) {
            if d.exists() {
                return Err(Error::Cgroups(format!(
                    "The cgroup '{}' already exists",
                    d.display()
                )));
            }
            std::fs::create_dir_all(&d)?;
            // v2 delegates the controllers into a parent that gets nested
            // containers below it.
            if self.version == Version::V2 {
                if let (Some(parent), Some(_)) = (d.parent(), id.parent.as_deref()) {
                    let sc = parent.join("cgroup.subtree_control");
                    for s in &self.subsystems {
                        let c = match s {
                            Subsystem::Cpu => "+cpu",
                            Subsystem::Mem => "+memory",
                        };
                        let _ = std::fs::write(&sc, c);
                    }
                }
            }
        }
        let mut info = Info {
            resources: Vec::new(),
            mem_limit: None,
            pid: None,
        };
        // Nested containers share their parent's limits (upstream applies
        // resources to top-level containers only).
        if id.parent.is_none() {
            self.apply(id, &mut info, &config.resources)?;
        }
        lock(&self.infos).insert(key, info);
        Ok(None)
    }

    fn isolate(&self, id: &ContainerId, pid: u32) -> Result<(), Error> {
        let key = id_string(id);
        {
            let mut infos = lock(&self.infos);
            let info = infos
                .get_mut(&key)
                .ok_or_else(|| Error::UnknownContainer(key.clone()))?;
            info.pid = Some(pid);
        }
        for d in self.cgroup_dirs(id) {
            write(&d.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    fn watch(&self, id: &ContainerId) -> Option<ContainerLimitation> {
        if !self.has(Subsystem::Mem) {
            return None;
        }
        let key = id_string(id);
        let infos = lock(&self.infos);
        let info = infos.get(&key)?;
        if self.oom_kills(id) == 0 {
            return None;
        }
        let mut msg = String::from("Memory limit exceeded: ");
        if let Some(l) = info.mem_limit {
            msg.push_str(&format!("Requested: {} ", bytes_string(l)));
        }
        if let Some(u) = self.max_usage(id) {
            msg.push_str(&format!("Maximum Used: {}\n", bytes_string(u)));
        }
        let stat_file = self.dir(id, "memory").join("memory.stat");
        if let Ok(stat) = std::fs::read_to_string(stat_file) {
            msg.push_str(&format!("\nMEMORY STATISTICS: \n{stat}\n"));
        }
        Some(limitation(
            named(&info.resources, "mem"),
            msg,
            Reason::ContainerLimitationMemory,
        ))
    }

    fn update(&self, id: &ContainerId, resources: &[Resource]) -> Result<(), Error> {
        let key = id_string(id);
        let mut infos = lock(&self.infos);
        let info = infos
            .get_mut(&key)
            .ok_or_else(|| Error::UnknownContainer(key.clone()))?;
        self.apply(id, info, resources)
    }

    fn usage(&self, id: &ContainerId) -> Result<ResourceStatistics, Error> {
        let key = id_string(id);
        let infos = lock(&self.infos);
        let info = infos
            .get(&key)
            .ok_or_else(|| Error::UnknownContainer(key.clone()))?;
        let mut st = ResourceStatistics {
            timestamp: crate::util::now_secs(),
            ..Default::default()
        };
        if self.has(Subsystem::Cpu) {
            st.cpus_limit = scalar(&info.resources, "cpus");
            match self.version {
                Version::V1 => {
                    // cpuacct.stat is in USER_HZ ticks.
                    // SAFETY: sysconf has no preconditions.
                    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
                    let acct = parse_kv(&read(&self.dir(id, "cpuacct").join("cpuacct.stat"))?);
                    st.cpus_user_time_secs = acct.get("user").map(|v| *v as f64 / hz);
                    st.cpus_system_time_secs = acct.get("system").map(|v| *v as f64 / hz);
                    if let Ok(t) = std::fs::read_to_string(self.dir(id, "cpu").join("cpu.stat")) {
                        let s = parse_kv(&t);
                        st.cpus_nr_periods = s.get("nr_periods").map(|v| *v as u32);
                        st.cpus_nr_throttled = s.get("nr_throttled").map(|v| *v as u32);
                        st.cpus_throttled_time_secs =
                            s.get("throttled_time").map(|v| *v as f64 / 1e9);
                    }
                }
                Version::V2 => {
                    let s = parse_kv(&read(&self.dir(id, "cpu").join("cpu.stat"))?);
                    st.cpus_user_time_secs = s.get("user_usec").map(|v| *v as f64 / 1e6);
                    st.cpus_system_time_secs = s.get("system_usec").map(|v| *v as f64 / 1e6);
                    st.cpus_nr_periods = s.get("nr_periods").map(|v| *v as u32);
                    st.cpus_nr_throttled = s.get("nr_throttled").map(|v| *v as u32);
                    st.cpus_throttled_time_secs = s.get("throttled_usec").map(|v| *v as f64 / 1e6);
                }
            }
        }
        if self.has(Subsystem::Mem) {
            let d = self.dir(id, "memory");
            match self.version {
                Version::V1 => {
                    st.mem_total_bytes =
                        read(&d.join("memory.usage_in_bytes"))?.trim().parse().ok();
                    st.mem_limit_bytes =
                        read(&d.join("memory.limit_in_bytes"))?.trim().parse().ok();
                    st.mem_soft_limit_bytes =
                        std::fs::read_to_string(d.join("memory.soft_limit_in_bytes"))
                            .ok()
                            .and_then(|s| s.trim().parse().ok());
                    let s = parse_kv(&read(&d.join("memory.stat"))?);
                    st.mem_cache_bytes = s.get("total_cache").copied();
                    st.mem_rss_bytes = s.get("total_rss").copied();
                    st.mem_anon_bytes = s.get("total_rss").copied();
                    st.mem_file_bytes = s.get("total_cache").copied();
                    st.mem_mapped_file_bytes = s.get("total_mapped_file").copied();
                    st.mem_swap_bytes = s.get("total_swap").copied();
                    st.mem_unevictable_bytes = s.get("total_unevictable").copied();
                }
                Version::V2 => {
                    st.mem_total_bytes = read(&d.join("memory.current"))?.trim().parse().ok();
                    st.mem_limit_bytes = read(&d.join("memory.max"))?.trim().parse().ok();
                    st.mem_soft_limit_bytes = std::fs::read_to_string(d.join("memory.low"))
                        .ok()
                        .and_then(|s| s.trim().parse().ok());
                    let s = parse_kv(&read(&d.join("memory.stat"))?);
                    st.mem_anon_bytes = s.get("anon").copied();
                    st.mem_rss_bytes = s.get("anon").copied();
                    st.mem_file_bytes = s.get("file").copied();
                    st.mem_cache_bytes = s.get("file").copied();
                    st.mem_mapped_file_bytes = s.get("file_mapped").copied();
                    st.mem_unevictable_bytes = s.get("unevictable").copied();
                }
            }
        }
        Ok(st)
    }

    fn cleanup(&self, id: &ContainerId) -> Result<(), Error> {
        lock(&self.infos).remove(&id_string(id));
        for d in self.cgroup_dirs(id) {
            self.destroy_cgroup(&d)?;
        }
        Ok(())
    }
}

impl CgroupsIsolator {
    fn apply(
        &self,
        id: &ContainerId,
        info: &mut Info,
        resources: &[Resource],
    ) -> Result<(), Error> {
        if self.has(Subsystem::Cpu) {
            if let Some(cpus) = scalar(resources, "cpus") {
                self.apply_cpu(id, cpus)?;
            }
        }
        if self.has(Subsystem::Mem) {
            if let Some(mem) = scalar(resources, "mem") {
                self.apply_mem(id, info, mem)?;
            }
        }
        info.resources = resources.to_vec();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_values() {
        assert_eq!(cpu_shares(1.0), 1024);
        assert_eq!(cpu_shares(0.5), 512);
        assert_eq!(cpu_shares(0.0001), MIN_CPU_SHARES);
        assert_eq!(cfs_quota_us(0.5), 50_000);
        assert_eq!(cfs_quota_us(0.001), MIN_CPU_CFS_QUOTA_US);
        assert_eq!(memory_limit(64.0), 64 << 20);
        assert_eq!(memory_limit(1.0), MIN_MEMORY);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(1024), 39);
    }

    #[test]
    fn kv_parsing() {
        let m = parse_kv("oom_kill_disable 0\nunder_oom 0\noom_kill 3\nbogus\n");
        assert_eq!(m.get("oom_kill"), Some(&3));
        assert_eq!(m.len(), 3);
    }
}
