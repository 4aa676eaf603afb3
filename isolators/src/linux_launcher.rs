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
    let flags = clone_flags(info)?;
    let json = launch_info_json(info)?;

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
            (flags | libc::SIGCHLD) as libc::c_ulong,
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
            libc::execve(exe.as_ptr(), argv_p.as_ptr(), env_p.as_ptr());
            libc::_exit(127);
        }
    }
    drop(rd);
    Ok(Forked {
        pid: pid as i32,
        release: Some(wr),
    })
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
