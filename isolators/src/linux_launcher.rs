//! The Linux launcher's fork (upstream `LinuxLauncherProcess::fork`,
//! src/slave/containerizer/mesos/linux_launcher.cpp): clones the container
//! process with the namespaces the isolators asked for (`clone_namespaces`),
//! in a new session, with the sandbox `stdout`/`stderr`, and has it exec
//! `mesos-containerizer launch --launch_info=<JSON>`.
//!
//! As upstream, the child blocks on a pipe until the containerizer has run
//! every isolator's `isolate(pid)` (cgroup placement must happen before the
//! task runs), then [`Forked::release`] lets it exec.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use mesos_proto::mesos::slave::ContainerLaunchInfo;

use crate::launch::launch_info_json;
use crate::Error;

/// The clone flags a launch info asks for (unknown values are refused so a
/// typo never silently shares a namespace with the host).
pub fn clone_flags(info: &ContainerLaunchInfo) -> Result<libc::c_int, Error> {
    let mut flags = 0;
    for ns in &info.clone_namespaces {
        match *ns {
            libc::CLONE_NEWNS
            | libc::CLONE_NEWIPC
            | libc::CLONE_NEWPID
            | libc::CLONE_NEWUTS
            | libc::CLONE_NEWNET => flags |= *ns,
            other => {
                return Err(Error::Invalid(format!(
                    "unsupported namespace in clone_namespaces: {other:#x}"
                )))
            }
        }
    }
    Ok(flags)
}

/// Where the container's standard streams go.
#[derive(Clone, Debug)]
pub struct LaunchIo {
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

impl LaunchIo {
    /// `<sandbox>/stdout` and `<sandbox>/stderr`, as the agent's sandboxes.
    pub fn sandbox(dir: &Path) -> LaunchIo {
        LaunchIo {
            stdout: dir.join("stdout"),
            stderr: dir.join("stderr"),
        }
    }
}

/// A cloned container process still waiting to exec the launch helper.
#[derive(Debug)]
pub struct Forked {
    pub pid: i32,
    release: Option<OwnedFd>,
}

impl Forked {
    /// Lets the child exec the helper. Dropping a `Forked` without releasing
    /// makes the child exit with status 1 instead.
    pub fn release(mut self) -> Result<i32, Error> {
        if let Some(fd) = self.release.take() {
            let b = [1u8];
            // SAFETY: writing one byte from a valid buffer to an owned fd.
            let n = unsafe { libc::write(fd.as_raw_fd(), b.as_ptr().cast(), 1) };
            if n != 1 {
                return Err(Error::Launch(format!(
                    "failed to release container process {}: {}",
                    self.pid,
                    std::io::Error::last_os_error()
                )));
            }
        }
        Ok(self.pid)
    }
}

fn cstr(s: &str) -> Result<CString, Error> {
    CString::new(s).map_err(|_| Error::Invalid("NUL byte in launch argument".into()))
}

fn open_out(p: &Path) -> Result<OwnedFd, Error> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(p)
        .map_err(|e| Error::Launch(format!("failed to open '{}': {e}", p.display())))?;
    Ok(OwnedFd::from(f))
}

/// Clones the container process (namespaces from `info.clone_namespaces`)
/// running `helper launch --launch_info=<JSON of info>`, held until
/// [`Forked::release`].
pub fn fork(helper: &Path, info: &ContainerLaunchInfo, io: &LaunchIo) -> Result<Forked, Error> {
    fork_nested(helper, info, io, None)
}

fn ns_name(ns: i32) -> Option<&'static str> {
    Some(match ns {
        libc::CLONE_NEWNS => "mnt",
        libc::CLONE_NEWIPC => "ipc",
        libc::CLONE_NEWPID => "pid",
        libc::CLONE_NEWUTS => "uts",
        libc::CLONE_NEWNET => "net",
        _ => return None,
    })
}

/// Like [`fork`], for a nested container whose launch info asks to enter
/// namespaces (`enter_namespaces`) of the process `parent_pid` (its parent
/// container) before cloning its own (as upstream's `ns::clone` with a
/// target pid). The forked process (our child, the pid returned) joins the
/// parent's namespaces, unshares the cloned ones and forks the helper into
/// them (namespaces such as pid only apply to children); it then waits for
/// the helper and exits the same way, so waiting and killing work as for a
/// top-level container.
pub fn fork_nested(
    helper: &Path,
    info: &ContainerLaunchInfo,
    io: &LaunchIo,
    parent_pid: Option<i32>,
) -> Result<Forked, Error> {
    let flags = clone_flags(info)?;
    let json = launch_info_json(info)?;
    let nested = !info.enter_namespaces.is_empty();
    let mut ns_fds: Vec<(OwnedFd, libc::c_int)> = Vec::new();
    if nested {
        let ppid = parent_pid.ok_or_else(|| {
            Error::Launch("entering namespaces needs the parent container's pid".into())
        })?;
        // The mount namespace is entered last: the others are looked up
        // through the host's /proc.
        let mut order: Vec<i32> = info.enter_namespaces.clone();
        order.sort_by_key(|ns| *ns == libc::CLONE_NEWNS);
        for ns in order {
            let name = ns_name(ns).ok_or_else(|| {
                Error::Invalid(format!(
                    "unsupported namespace in enter_namespaces: {ns:#x}"
                ))
            })?;
            let path = format!("/proc/{ppid}/ns/{name}");
            let f = std::fs::File::open(&path)
                .map_err(|e| Error::Launch(format!("failed to open '{path}': {e}")))?;
            ns_fds.push((OwnedFd::from(f), ns));
        }
    }
    let outer_flags = if nested { 0 } else { flags };

    // Everything the child touches is prepared here: after clone only
    // async-signal-safe calls are allowed (the agent is multi-threaded).
    let exe = cstr(&helper.display().to_string())?;
    let argv_s = [
        "mesos-containerizer".to_string(),
        "launch".to_string(),
        format!("--launch_info={json}"),
    ];
    let argv: Vec<CString> = argv_s.iter().map(|s| cstr(s)).collect::<Result<_, _>>()?;
    let env: Vec<CString> = std::env::vars()
        .map(|(k, v)| cstr(&format!("{k}={v}")))
        .collect::<Result<_, _>>()?;
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|c| c.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut env_p: Vec<*const libc::c_char> = env.iter().map(|c| c.as_ptr()).collect();
    env_p.push(std::ptr::null());

    let out = open_out(&io.stdout)?;
    let err = open_out(&io.stderr)?;
    let null = OwnedFd::from(
        std::fs::File::open("/dev/null")
            .map_err(|e| Error::Launch(format!("failed to open /dev/null: {e}")))?,
    );
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: fds is a valid two-int array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(Error::Launch(format!(
            "failed to create pipe: {}",
            std::io::Error::last_os_error()
        )));
    }
    // SAFETY: pipe2 just returned these two fresh descriptors.
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };

    // A fork-like clone: no new stack, SIGCHLD on exit, plus namespaces.
    // SAFETY: raw clone without CLONE_VM behaves like fork(); the child
    // only makes async-signal-safe calls before execve or _exit.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (outer_flags | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if pid < 0 {
        return Err(Error::Launch(format!(
            "failed to clone container process: {}",
            std::io::Error::last_os_error()
        )));
    }
    if pid == 0 {
        // Child.
        // SAFETY: async-signal-safe calls only; every pointer was prepared
        // before the clone.
        unsafe {
            libc::close(wr.as_raw_fd());
            libc::setsid();
            libc::dup2(null.as_raw_fd(), 0);
            libc::dup2(out.as_raw_fd(), 1);
            libc::dup2(err.as_raw_fd(), 2);
            let mut b = 0u8;
            let n = libc::read(rd.as_raw_fd(), (&mut b as *mut u8).cast(), 1);
            if n != 1 {
                libc::_exit(1);
            }
            if nested {
                for (fd, ns) in &ns_fds {
                    if libc::setns(fd.as_raw_fd(), *ns) != 0 {
                        die(b"Failed to enter the parent container's namespaces\n");
                    }
                }
                // A new pid namespace must be unshared by a process already
                // active in the parent's one (the kernel refuses it while
                // only `pid_for_children` was switched), hence one more fork.
                let others = flags & !libc::CLONE_NEWPID;
                if others != 0 && libc::unshare(others) != 0 {
                    die(b"Failed to unshare namespaces\n");
                }
                let g1 = raw_fork();
                if g1 == 0 {
                    if flags & libc::CLONE_NEWPID != 0 {
                        if libc::unshare(libc::CLONE_NEWPID) != 0 {
                            die(b"Failed to unshare the pid namespace\n");
                        }
                        let g2 = raw_fork();
                        if g2 == 0 {
                            libc::execve(exe.as_ptr(), argv_p.as_ptr(), env_p.as_ptr());
                            libc::_exit(127);
                        }
                        wait_and_exit_alike(g2);
                    }
                    libc::execve(exe.as_ptr(), argv_p.as_ptr(), env_p.as_ptr());
                    libc::_exit(127);
                }
                wait_and_exit_alike(g1);
            }
            libc::execve(exe.as_ptr(), argv_p.as_ptr(), env_p.as_ptr());
            libc::_exit(127);
        }
    }
    drop(ns_fds);
    drop(rd);
    Ok(Forked {
        pid: pid as i32,
        release: Some(wr),
    })
}

/// Writes a fixed message to stderr and exits (async-signal-safe).
unsafe fn die(msg: &[u8]) -> ! {
    // SAFETY: write(2) and _exit(2) are async-signal-safe.
    unsafe {
        libc::write(2, msg.as_ptr().cast(), msg.len());
        libc::_exit(1)
    }
}

/// fork(2) as a raw clone (async-signal-safe, no atfork handlers).
unsafe fn raw_fork() -> libc::pid_t {
    // SAFETY: a fork-like clone; the caller only makes async-signal-safe
    // calls afterwards.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            libc::SIGCHLD as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if pid < 0 {
        // SAFETY: as above.
        unsafe { die(b"Failed to fork\n") }
    }
    pid as libc::pid_t
}

/// Waits for `child` and ends this process the same way (exit code or
/// signal), so the intermediate processes of a nested launch are invisible
/// to whoever waits for the outermost one.
unsafe fn wait_and_exit_alike(child: libc::pid_t) -> ! {
    let mut status = 0;
    // SAFETY: waitpid/signal/kill/_exit are async-signal-safe.
    unsafe {
        loop {
            let rc = libc::waitpid(child, &mut status, 0);
            if rc == child {
                break;
            }
            if rc < 0 && *libc::__errno_location() != libc::EINTR {
                libc::_exit(1);
            }
        }
        if libc::WIFSIGNALED(status) {
            let sig = libc::WTERMSIG(status);
            libc::signal(sig, libc::SIG_DFL);
            libc::kill(libc::getpid(), sig);
            libc::_exit(128 + sig);
        }
        libc::_exit(libc::WEXITSTATUS(status))
    }
}

/// Blocks until child `pid` exits; its raw wait status (`ContainerTermination.status`).
pub fn wait(pid: i32) -> Option<i32> {
    let mut status = 0;
    loop {
        // SAFETY: status is a valid out-pointer.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            return Some(status);
        }
        if rc < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        return None;
    }
}

/// Non-blocking: the wait status if child `pid` has exited.
pub fn try_wait(pid: i32) -> Result<Option<i32>, Error> {
    let mut status = 0;
    // SAFETY: status is a valid out-pointer.
    let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    if rc == pid {
        Ok(Some(status))
    } else if rc == 0 {
        Ok(None)
    } else {
        Err(Error::Launch(format!(
            "waitpid({pid}) failed: {}",
            std::io::Error::last_os_error()
        )))
    }
}

/// Kills the container's process tree: the session (it was made a session
/// leader) and the process itself, which, as the init of its own pid
/// namespace, takes every process of the namespace with it.
pub fn kill(pid: i32) {
    if pid <= 0 {
        return;
    }
    // SAFETY: plain signal syscalls.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
        libc::kill(pid, libc::SIGKILL);
    }
}
