//! The launch helper: what `mesos-containerizer launch --launch_info=<JSON>`
//! does inside the freshly cloned container process before the task runs.
//!
//! Mirrors `MesosContainerizerLaunch::execute`
//! (src/slave/containerizer/mesos/launch.cpp), in upstream's order:
//! mounts (only when a mount namespace was cloned, with `/` made rslave so
//! nothing propagates back to the host), file operations, masked paths,
//! pre-exec commands (as the agent user, with the agent environment), user
//! lookup (before the root changes), entering the rootfs (pivot_root),
//! working directory, switching user, `PR_SET_NO_NEW_PRIVS`, then exec of the
//! command with exactly the launch environment (plus a default `PATH`).
//!
//! Everything here runs in a single-threaded helper process, so ordinary
//! allocation and std I/O are fine.

use std::ffi::CString;
use std::path::Path;

use mesos_proto::mesos::slave::{
    container_file_operation, ContainerFileOperation, ContainerLaunchInfo, ContainerMountInfo,
};
use mesos_proto::mesos::CommandInfo;

use crate::Error;

/// `os::host_default_path()`: PATH for containers that do not set one.
pub const HOST_DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The namespace clone flags as they travel in `ContainerLaunchInfo`
/// (`clone_namespaces` / `enter_namespaces` carry raw `CLONE_NEW*` values).
pub const CLONE_NEWNS: i32 = libc::CLONE_NEWNS;
pub const CLONE_NEWIPC: i32 = libc::CLONE_NEWIPC;
pub const CLONE_NEWPID: i32 = libc::CLONE_NEWPID;
pub const CLONE_NEWUTS: i32 = libc::CLONE_NEWUTS;
pub const CLONE_NEWNET: i32 = libc::CLONE_NEWNET;

/// Mount flags as `ContainerMountInfo.flags` carries them (u32).
pub const MS_RDONLY: u32 = libc::MS_RDONLY as u32;
pub const MS_NOSUID: u32 = libc::MS_NOSUID as u32;
pub const MS_NODEV: u32 = libc::MS_NODEV as u32;
pub const MS_NOEXEC: u32 = libc::MS_NOEXEC as u32;
pub const MS_BIND: u32 = libc::MS_BIND as u32;
pub const MS_MOVE: u32 = libc::MS_MOVE as u32;
pub const MS_REC: u32 = libc::MS_REC as u32;
pub const MS_STRICTATIME: u32 = libc::MS_STRICTATIME as u32;

/// `protobuf::slave::createContainerMount` (src/common/protobuf_utils.cpp).
pub fn container_mount(
    source: Option<&str>,
    target: &str,
    fstype: Option<&str>,
    options: Option<&str>,
    flags: u32,
) -> ContainerMountInfo {
    ContainerMountInfo {
        source: source.map(str::to_string),
        target: target.to_string(),
        r#type: fstype.map(str::to_string),
        options: options.map(str::to_string),
        flags: Some(flags),
    }
}

/// Joins `rel` (absolute or not) under `root`, as stout's `path::join`.
pub fn join(root: &str, rel: &str) -> String {
    format!(
        "{}/{}",
        root.trim_end_matches('/'),
        rel.trim_start_matches('/')
    )
}

/// Parses the `--launch_info` value: JSON of `mesos.slave.ContainerLaunchInfo`.
pub fn parse_launch_info(json: &str) -> Result<ContainerLaunchInfo, Error> {
    mesos_proto::json::from_json::<ContainerLaunchInfo>(json)
        .map_err(|e| Error::Invalid(format!("failed to parse launch info: {e}")))
}

/// Serialises launch info as `--launch_info` expects it.
pub fn launch_info_json(info: &ContainerLaunchInfo) -> Result<String, Error> {
    mesos_proto::json::to_json(info)
        .map_err(|e| Error::Invalid(format!("failed to serialise launch info: {e}")))
}

fn cstr(s: &str) -> Result<CString, Error> {
    CString::new(s).map_err(|_| Error::Invalid(format!("NUL byte in '{s}'")))
}

fn os_err(what: String) -> Error {
    Error::Launch(format!("{what}: {}", std::io::Error::last_os_error()))
}

/// `fs::mount`: a thin wrapper over mount(2).
pub fn mount(
    source: Option<&str>,
    target: &str,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    options: Option<&str>,
) -> Result<(), Error> {
    let src = source.map(cstr).transpose()?;
    let tgt = cstr(target)?;
    let ty = fstype.map(cstr).transpose()?;
    let opt = options.map(cstr).transpose()?;
    // SAFETY: every pointer is either null or a valid NUL-terminated string
    // that outlives the call.
    let rc = unsafe {
        libc::mount(
            src.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            tgt.as_ptr(),
            ty.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            flags,
            opt.as_ref()
                .map_or(std::ptr::null(), |s| s.as_ptr() as *const libc::c_void),
        )
    };
    if rc != 0 {
        return Err(os_err(format!(
            "failed to mount '{}' at '{target}'",
            source.unwrap_or("none")
        )));
    }
    // A bind mount ignores MS_RDONLY on creation: remount it read-only, as
    // upstream's fs::mount does (src/linux/fs.cpp).
    let ro_bind = libc::MS_BIND | libc::MS_RDONLY;
    if flags & (ro_bind | libc::MS_REMOUNT) == ro_bind {
        let mask = libc::MS_BIND | libc::MS_RDONLY | libc::MS_REC;
        // SAFETY: as above.
        let rc = unsafe {
            libc::mount(
                std::ptr::null(),
                tgt.as_ptr(),
                std::ptr::null(),
                libc::MS_REMOUNT | (flags & mask),
                std::ptr::null(),
            )
        };
        if rc != 0 {
            return Err(os_err(format!("failed to remount '{target}' read-only")));
        }
    }
    Ok(())
}

/// `fs::unmount` (lazily detaching, as cleanup paths do upstream).
pub fn unmount(target: &str, detach: bool) -> Result<(), Error> {
    let tgt = cstr(target)?;
    let flags = if detach { libc::MNT_DETACH } else { 0 };
    // SAFETY: valid NUL-terminated path.
    if unsafe { libc::umount2(tgt.as_ptr(), flags) } != 0 {
        return Err(os_err(format!("failed to unmount '{target}'")));
    }
    Ok(())
}

/// Mount points of this mount namespace (`/proc/self/mountinfo` targets).
pub fn mount_points() -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(unescape_mountinfo))
        .collect()
}

fn unescape_mountinfo(s: &str) -> String {
    // mountinfo escapes space, tab, newline and backslash as \ooo.
    let mut out = String::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            let digits = std::str::from_utf8(&b[i + 1..i + 4]).unwrap_or("x");
            if let Ok(v) = u8::from_str_radix(digits, 8) {
                out.push(v as char);
                i += 4;
                continue;
            }
        }
        out.push(b[i] as char);
        i += 1;
    }
    out
}

/// Unmounts every mount at or below `root` (deepest first), as
/// `fs::unmountAll` does for container cleanup.
pub fn unmount_all_below(root: &str) -> Result<(), Error> {
    let root = root.trim_end_matches('/');
    let mut targets: Vec<String> = mount_points()
        .into_iter()
        .filter(|t| t == root || t.starts_with(&format!("{root}/")))
        .collect();
    targets.sort_by_key(|t| std::cmp::Reverse(t.len()));
    targets.dedup();
    for t in targets {
        // A target can be stacked several times; detach until it is gone.
        while mount_points().iter().any(|m| m == &t) {
            unmount(&t, true)?;
        }
    }
    Ok(())
}

/// Creates a mount target the way upstream's `prepareMounts` does: a
/// directory unless the source is an existing non-directory.
fn create_mount_target(m: &ContainerMountInfo) -> Result<(), Error> {
    let target = Path::new(&m.target);
    if target.exists() {
        return Ok(());
    }
    let source_is_file = m
        .source
        .as_deref()
        .map(Path::new)
        .is_some_and(|s| s.exists() && !s.is_dir());
    let res = if source_is_file {
        if let Some(p) = target.parent() {
            std::fs::create_dir_all(p)?;
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(target)
            .map(|_| ())
    } else {
        std::fs::create_dir_all(target)
    };
    res.map_err(|e| Error::Launch(format!("failed to create mount target '{}': {e}", m.target)))
}

fn mount_info(m: &ContainerMountInfo) -> Result<(), Error> {
    mount(
        m.source.as_deref(),
        &m.target,
        m.r#type.as_deref(),
        libc::c_ulong::from(m.flags.unwrap_or(0)),
        m.options.as_deref(),
    )
}

/// `prepareMounts`: refuses mounts without a private mount namespace (they
/// would pollute the host), marks `/` rslave, then mounts in order.
pub fn prepare_mounts(info: &ContainerLaunchInfo) -> Result<(), Error> {
    if !info.clone_namespaces.contains(&CLONE_NEWNS) {
        if !info.mounts.is_empty() {
            return Err(Error::Launch(
                "Mounts are not supported if the mount namespace is not cloned".into(),
            ));
        }
        return Ok(());
    }
    mount(None, "/", None, libc::MS_SLAVE | libc::MS_REC, None)?;
    for m in &info.mounts {
        if m.source.is_some() {
            create_mount_target(m)?;
        }
        mount_info(m)?;
    }
    Ok(())
}

/// `executeFileOperation`.
fn file_operation(op: &ContainerFileOperation) -> Result<(), Error> {
    use container_file_operation::Parameters;
    let o = |s: &Option<String>| s.clone().unwrap_or_default();
    match &op.parameters {
        Some(Parameters::Symlink(s)) => {
            let (src, dst) = (o(&s.source), o(&s.target));
            std::os::unix::fs::symlink(&src, &dst)
                .map_err(|e| Error::Launch(format!("Failed to link '{src}' as '{dst}': {e}")))
        }
        Some(Parameters::Mount(m)) => mount_info(m),
        Some(Parameters::Rename(r)) => {
            let (src, dst) = (o(&r.source), o(&r.target));
            std::fs::rename(&src, &dst)
                .map_err(|e| Error::Launch(format!("Failed to rename '{src}' to '{dst}': {e}")))
        }
        Some(Parameters::Mkdir(m)) => {
            let t = o(&m.target);
            let res = if m.recursive.unwrap_or(true) {
                std::fs::create_dir_all(&t)
            } else {
                std::fs::create_dir(&t)
            };
            res.map_err(|e| Error::Launch(format!("Failed to create directory '{t}': {e}")))
        }
        None => Ok(()),
    }
}

/// `maskPath`: `/dev/null` over files, an empty read-only tmpfs over
/// directories; missing paths are left alone.
pub fn mask_path(target: &str) -> Result<(), Error> {
    let p = Path::new(target);
    if p.is_file() {
        mount(
            Some("/dev/null"),
            target,
            None,
            libc::MS_BIND | libc::MS_RDONLY,
            None,
        )
    } else if p.is_dir() {
        mount(None, target, Some("tmpfs"), libc::MS_RDONLY, Some("size=0"))
    } else {
        Ok(())
    }
}

fn run_pre_exec(cmd: &CommandInfo) -> Result<(), Error> {
    let value = cmd.value.clone().unwrap_or_default();
    let status = if cmd.shell.unwrap_or(true) {
        std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(&value)
            .status()
    } else {
        let mut c = std::process::Command::new(&value);
        c.args(cmd.arguments.iter().skip(1));
        c.status()
    };
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(Error::Launch(format!(
            "Failed to execute pre-exec command '{value}': {s}"
        ))),
        Err(e) => Err(Error::Launch(format!(
            "Failed to execute pre-exec command '{value}': {e}"
        ))),
    }
}

/// `fs::chroot::enter`: pivot_root into `rootfs` (which filesystem/linux
/// bind-mounted onto itself so it is a mount point), then detach the old
/// root so no host mount stays reachable.
pub fn enter_rootfs(rootfs: &str) -> Result<(), Error> {
    let old = format!("{}/.mesos-old-root", rootfs.trim_end_matches('/'));
    std::fs::create_dir_all(&old)?;
    let new_c = cstr(rootfs)?;
    let old_c = cstr(&old)?;
    // SAFETY: valid NUL-terminated paths.
    let rc = unsafe { libc::syscall(libc::SYS_pivot_root, new_c.as_ptr(), old_c.as_ptr()) };
    if rc != 0 {
        return Err(os_err(format!("failed to pivot_root to '{rootfs}'")));
    }
    std::env::set_current_dir("/")?;
    unmount("/.mesos-old-root", true)?;
    let _ = std::fs::remove_dir("/.mesos-old-root");
    Ok(())
}

struct UserIds {
    uid: libc::uid_t,
    gid: libc::gid_t,
    groups: Vec<libc::gid_t>,
}

fn lookup_user(user: &str, extra: &[u32]) -> Result<UserIds, Error> {
    let u = nix::unistd::User::from_name(user)
        .map_err(|e| Error::Launch(format!("Failed to get user information for '{user}': {e}")))?
        .ok_or_else(|| Error::Launch(format!("Failed to get user information for '{user}'")))?;
    let name = cstr(user)?;
    let mut groups: Vec<libc::gid_t> = nix::unistd::getgrouplist(&name, u.gid)
        .map(|g| g.into_iter().map(|g| g.as_raw()).collect())
        .unwrap_or_else(|_| vec![u.gid.as_raw()]);
    for g in extra {
        if !groups.contains(g) {
            groups.push(*g);
        }
    }
    Ok(UserIds {
        uid: u.uid.as_raw(),
        gid: u.gid.as_raw(),
        groups,
    })
}

fn switch_user(ids: &UserIds) -> Result<(), Error> {
    // SAFETY: plain syscalls with valid arguments; the group list outlives
    // the call.
    unsafe {
        if libc::setgid(ids.gid) != 0 {
            return Err(os_err(format!("Failed to set gid to {}", ids.gid)));
        }
        if libc::setgroups(ids.groups.len(), ids.groups.as_ptr()) != 0 {
            return Err(os_err("Failed to set supplementary gids".into()));
        }
        if libc::setuid(ids.uid) != 0 {
            return Err(os_err(format!("Failed to set uid to {}", ids.uid)));
        }
    }
    Ok(())
}

/// Sets `PR_SET_NO_NEW_PRIVS` (linux/nnp).
pub fn set_no_new_privs(on: bool) -> Result<(), Error> {
    // SAFETY: prctl with integer arguments.
    let rc = unsafe {
        libc::prctl(
            libc::PR_SET_NO_NEW_PRIVS,
            libc::c_ulong::from(on),
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if rc != 0 {
        return Err(os_err("Failed to set NO_NEW_PRIVS".into()));
    }
    Ok(())
}

/// Searches `PATH` (of the launch environment) for `program`, plus the
/// working directory as upstream does for relative executables.
fn which(program: &str, path: &str, cwd: Option<&str>) -> Option<String> {
    let mut dirs: Vec<&str> = path.split(':').filter(|d| !d.is_empty()).collect();
    if let Some(c) = cwd {
        dirs.push(c);
    }
    for d in dirs {
        let cand = Path::new(d).join(program);
        if let Ok(md) = std::fs::metadata(&cand) {
            use std::os::unix::fs::PermissionsExt;
            if md.is_file() && md.permissions().mode() & 0o111 != 0 {
                return Some(cand.display().to_string());
            }
        }
    }
    None
}

/// Runs the whole launch sequence and execs the command. Only returns on
/// failure (the caller prints the error and exits non-zero, as upstream's
/// helper does with `EXIT_FAILURE`).
pub fn execute(info: &ContainerLaunchInfo) -> Error {
    execute_with(info, false)
}

/// [`execute`] with upstream's `--unshare_namespace_mnt`: the helper first
/// moves into a mount namespace of its own, so that entering the task's
/// rootfs does not change the caller's (the command executor launches its
/// task this way, src/launcher/executor.cpp).
pub fn execute_with(info: &ContainerLaunchInfo, unshare_namespace_mnt: bool) -> Error {
    match execute_inner(info, unshare_namespace_mnt) {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

fn execute_inner(
    info: &ContainerLaunchInfo,
    unshare_namespace_mnt: bool,
) -> Result<std::convert::Infallible, Error> {
    if unshare_namespace_mnt {
        // SAFETY: unshare with a plain flag.
        if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
            return Err(os_err("Failed to unshare mount namespace".into()));
        }
        // The copied mounts keep their propagation: make them slaves so
        // nothing done here reaches the executor and pivot_root accepts
        // the (then non-shared) root (as `fs::chroot::enter` does).
        mount(None, "/", None, libc::MS_SLAVE | libc::MS_REC, None)?;
    }
    let command = info
        .command
        .as_ref()
        .ok_or_else(|| Error::Invalid("Launch command is not specified".into()))?;
    let shell = command.shell.unwrap_or(true);
    if shell && command.value.is_none() {
        return Err(Error::Invalid("Shell command is not specified".into()));
    }

    prepare_mounts(info)?;
    for op in &info.file_operations {
        file_operation(op)?;
    }
    for p in &info.masked_paths {
        mask_path(p)?;
    }
    #[allow(deprecated)]
    for cmd in &info.pre_exec_commands {
        run_pre_exec(cmd)?;
    }

    // Resolve the user before the root changes: the image may not have
    // the host's /etc/passwd.
    let ids = match &info.user {
        Some(u)
            if nix::unistd::User::from_uid(nix::unistd::geteuid())
                .ok()
                .flatten()
                .is_none_or(|me| &me.name != u) =>
        {
            Some(lookup_user(u, &info.supplementary_groups)?)
        }
        _ => None,
    };

    if let Some(rootfs) = &info.rootfs {
        if !rootfs.starts_with('/') {
            return Err(Error::Invalid(format!(
                "Rootfs path '{rootfs}' is not absolute"
            )));
        }
        enter_rootfs(rootfs)?;
    }

    if let Some(wd) = &info.working_directory {
        std::env::set_current_dir(wd).map_err(|e| {
            Error::Launch(format!(
                "Failed to chdir into current working directory '{wd}': {e}"
            ))
        })?;
    }

    if let Some(ids) = &ids {
        switch_user(ids)?;
    }

    if let Some(nnp) = info.no_new_privileges {
        set_no_new_privs(nnp)?;
    }

    // The environment: exactly the launch environment (default PATH), or
    // the helper's own when none is given.
    let env: Vec<(String, String)> = match &info.environment {
        Some(e) => {
            let mut m = std::collections::BTreeMap::new();
            for v in &e.variables {
                m.insert(v.name.clone(), v.value.clone().unwrap_or_default());
            }
            m.entry("PATH".to_string())
                .or_insert_with(|| HOST_DEFAULT_PATH.to_string());
            m.into_iter().collect()
        }
        None => std::env::vars().collect(),
    };
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| HOST_DEFAULT_PATH.to_string());

    let (executable, argv): (String, Vec<String>) = if shell {
        (
            "/bin/sh".into(),
            vec![
                "sh".into(),
                "-c".into(),
                command.value.clone().unwrap_or_default(),
            ],
        )
    } else {
        let value = command.value.clone().unwrap_or_default();
        let exe = if value.contains('/') {
            value.clone()
        } else {
            which(&value, &path, info.working_directory.as_deref()).unwrap_or(value.clone())
        };
        let args = if command.arguments.is_empty() {
            vec![value]
        } else {
            command.arguments.clone()
        };
        (exe, args)
    };

    let exe_c = cstr(&executable)?;
    let argv_c: Vec<CString> = argv.iter().map(|a| cstr(a)).collect::<Result<_, _>>()?;
    let env_c: Vec<CString> = env
        .iter()
        .map(|(k, v)| cstr(&format!("{k}={v}")))
        .collect::<Result<_, _>>()?;
    let mut argv_p: Vec<*const libc::c_char> = argv_c.iter().map(|c| c.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut env_p: Vec<*const libc::c_char> = env_c.iter().map(|c| c.as_ptr()).collect();
    env_p.push(std::ptr::null());
    // SAFETY: NULL-terminated arrays of valid C strings kept alive above.
    unsafe { libc::execve(exe_c.as_ptr(), argv_p.as_ptr(), env_p.as_ptr()) };
    Err(os_err(format!("Failed to execute '{executable}'")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launch_info_round_trips_through_json() {
        let info = ContainerLaunchInfo {
            clone_namespaces: vec![CLONE_NEWNS, CLONE_NEWPID],
            mounts: vec![container_mount(
                Some("proc"),
                "/proc",
                Some("proc"),
                None,
                MS_NOSUID | MS_NODEV | MS_NOEXEC,
            )],
            no_new_privileges: Some(true),
            command: Some(CommandInfo {
                value: Some("echo hi".into()),
                // Set explicitly: stout prints defaulted fields.
                shell: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        };
        let json = launch_info_json(&info).unwrap();
        assert!(json.contains("\"no_new_privileges\":true"), "{json}");
        assert_eq!(parse_launch_info(&json).unwrap(), info);
        assert!(parse_launch_info("{\"clone_namespaces\":\"x\"}").is_err());
    }

    #[test]
    fn mounts_without_mount_namespace_are_refused() {
        let info = ContainerLaunchInfo {
            mounts: vec![container_mount(None, "/x", Some("tmpfs"), None, 0)],
            ..Default::default()
        };
        let e = prepare_mounts(&info).unwrap_err().to_string();
        assert!(e.contains("mount namespace is not cloned"), "{e}");
    }

    #[test]
    fn join_and_unescape() {
        assert_eq!(join("/a/", "/dev/shm"), "/a/dev/shm");
        assert_eq!(join("/a", "b"), "/a/b");
        assert_eq!(unescape_mountinfo("/a\\040b"), "/a b");
    }
}
