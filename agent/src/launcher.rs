//! The posix launcher (upstream `src/slave/containerizer/mesos/launcher.cpp`
//! `SubprocessLauncher`): forks the executor in a new session so the whole
//! process tree can be signalled, with the sandbox as working directory,
//! stdout/stderr redirected to the sandbox's `stdout`/`stderr` files and
//! exactly the container environment (not the agent's).
//!
//! Every call here blocks (fork/exec, waitpid): the agent runs them through
//! `Cx::blocking`.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::Error;

/// Signals, re-exported for callers of [`kill_tree`].
pub use nix::sys::signal::Signal;

/// `os::host_default_path()`: PATH for containers that do not set one.
pub const HOST_DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What to launch.
#[derive(Clone, Debug, Default)]
pub struct LaunchSpec {
    /// With `shell`, the command line run by `sh -c`; else the program path.
    pub value: String,
    /// argv (including `argv[0]`) when not `shell`.
    pub arguments: Vec<String>,
    pub shell: bool,
    pub environment: BTreeMap<String, String>,
    pub directory: PathBuf,
    /// Run as this user (if the agent may switch users).
    pub user: Option<String>,
}

/// A container's ends of its standard streams, when an I/O switchboard
/// holds the other ends (instead of the sandbox files).
#[derive(Debug)]
pub struct ChildIo {
    pub stdin: std::os::fd::OwnedFd,
    pub stdout: std::os::fd::OwnedFd,
    pub stderr: std::os::fd::OwnedFd,
    /// The three are one pseudo terminal, which the child makes its
    /// controlling terminal (as `mesos-containerizer launch` does with
    /// `--tty_slave_path`).
    pub tty: bool,
}

/// Forks and execs `spec` in a new session; returns the child.
pub fn launch(spec: &LaunchSpec) -> Result<Child, Error> {
    launch_io(spec, None)
}

/// [`launch`] with the given standard streams (else stdin is /dev/null and
/// the output goes to the sandbox's `stdout`/`stderr` files).
pub fn launch_io(spec: &LaunchSpec, io: Option<ChildIo>) -> Result<Child, Error> {
    std::fs::create_dir_all(&spec.directory)
        .map_err(|e| Error::Launch(format!("{}: {e}", spec.directory.display())))?;
    let open = |name: &str| {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(spec.directory.join(name))
            .map_err(|e| Error::Launch(format!("failed to open {name}: {e}")))
    };
    let tty = io.as_ref().is_some_and(|io| io.tty);
    let (stdin, stdout, stderr) = match io {
        Some(io) => (
            Stdio::from(io.stdin),
            Stdio::from(io.stdout),
            Stdio::from(io.stderr),
        ),
        None => (
            Stdio::null(),
            Stdio::from(open("stdout")?),
            Stdio::from(open("stderr")?),
        ),
    };
    let mut cmd = if spec.shell {
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg(&spec.value);
        c
    } else {
        let mut c = Command::new(&spec.value);
        if let Some(arg0) = spec.arguments.first() {
            c.arg0(arg0);
        }
        c.args(spec.arguments.iter().skip(1));
        c
    };
    let mut env = spec.environment.clone();
    env.entry("PATH".into())
        .or_insert_with(|| HOST_DEFAULT_PATH.to_string());
    cmd.env_clear()
        .envs(&env)
        .current_dir(&spec.directory)
        .stdin(stdin)
        .stdout(stdout)
        .stderr(stderr);
    if let Some(user) = &spec.user {
        let u = nix::unistd::User::from_name(user)
            .map_err(|e| Error::Launch(format!("failed to look up user '{user}': {e}")))?
            .ok_or_else(|| Error::Launch(format!("no such user '{user}'")))?;
        if nix::unistd::geteuid().as_raw() != u.uid.as_raw() {
            cmd.uid(u.uid.as_raw()).gid(u.gid.as_raw());
        }
    }
    // SAFETY: only async-signal-safe setsid() and ioctl() run between
    // fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            if tty && libc::ioctl(0, libc::TIOCSCTTY, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn()
        .map_err(|e| Error::Launch(format!("failed to exec '{}': {e}", spec.value)))
}

/// Waits for a child to exit; returns its raw wait status (as upstream's
/// `ContainerTermination.status`), `None` if waiting failed.
pub fn wait_child(mut child: Child) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    child.wait().ok().map(|s| s.into_raw())
}

/// Whether a process exists (and is not a zombie).
pub fn alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // State is the first field after the ')' that closes comm.
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .unwrap_or("");
            state != "Z" && state != "X"
        }
        Err(_) => nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok(),
    }
}

/// Waits for a process that is not our child (recovered after an agent
/// restart) to go away, polling. Its exit status is unknown (`None`), as
/// upstream's posix launcher reports for recovered containers.
pub fn wait_gone(pid: i32, poll: Duration) -> Option<i32> {
    while alive(pid) {
        std::thread::sleep(poll);
    }
    None
}

/// Sends `signal` to the process group (session) led by `pid`, falling back
/// to the process itself.
pub fn kill_tree(pid: i32, signal: nix::sys::signal::Signal) {
    use nix::sys::signal::{kill, killpg};
    use nix::unistd::Pid;
    if pid <= 0 {
        return;
    }
    if killpg(Pid::from_raw(pid), signal).is_err() {
        let _ = kill(Pid::from_raw(pid), signal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launches_in_sandbox_with_exact_environment() {
        let dir = tempfile::tempdir().unwrap();
        let mut env = BTreeMap::new();
        env.insert(
            "MESOS_SANDBOX".to_string(),
            dir.path().display().to_string(),
        );
        let spec = LaunchSpec {
            value: "echo out:$MESOS_SANDBOX; echo err >&2; pwd; echo ${HOME:-nohome}; exit 3"
                .into(),
            shell: true,
            environment: env,
            directory: dir.path().to_path_buf(),
            ..Default::default()
        };
        let child = launch(&spec).unwrap();
        let pid = child.id() as i32;
        // The child leads its own session.
        let status = wait_child(child).unwrap();
        assert_eq!(libc::WEXITSTATUS(status), 3);
        assert!(!alive(pid));
        let out = std::fs::read_to_string(dir.path().join("stdout")).unwrap();
        let d = dir.path().canonicalize().unwrap();
        assert!(
            out.contains(&format!("out:{}", dir.path().display())),
            "{out}"
        );
        assert!(out.contains(&d.display().to_string()), "{out}");
        assert!(out.contains("nohome"), "agent env must not leak: {out}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("stderr")).unwrap(),
            "err\n"
        );
    }

    #[test]
    fn kill_tree_signals_the_session_and_non_children_can_be_awaited() {
        let dir = tempfile::tempdir().unwrap();
        let spec = LaunchSpec {
            value: "/bin/sh".into(),
            arguments: vec!["sh".into(), "-c".into(), "sleep 30 & wait".into()],
            directory: dir.path().to_path_buf(),
            ..Default::default()
        };
        let child = launch(&spec).unwrap();
        let pid = child.id() as i32;
        assert!(alive(pid));
        let sid = nix::unistd::getsid(Some(nix::unistd::Pid::from_raw(pid))).unwrap();
        assert_eq!(sid.as_raw(), pid, "child runs in a new session");
        kill_tree(pid, nix::sys::signal::Signal::SIGKILL);
        let status = wait_child(child).unwrap();
        assert!(libc::WIFSIGNALED(status));
        assert_eq!(wait_gone(pid, Duration::from_millis(10)), None);
    }

    #[test]
    fn exec_failure_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let spec = LaunchSpec {
            value: "/nonexistent/binary".into(),
            arguments: vec!["x".into()],
            directory: dir.path().to_path_buf(),
            ..Default::default()
        };
        assert!(matches!(launch(&spec), Err(Error::Launch(_))));
    }
}
