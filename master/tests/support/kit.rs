//! The real Mesos 1.9.0 kit (`../shared/ref-mesos`) for interop tests.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use libprocess::runtime::tokio::Runtime;
use libprocess::transport::TransportConfig;
use mesos_master::registrar::Registrar;
use mesos_master::{Master, MasterFlags};

/// The kit's `bin/` (`$MESOS_REF_HOME`, default `~/.cache/mesos-ref-1.9.0`),
/// or `None` with a SKIP line when it is not built.
pub fn kit_bin() -> Option<PathBuf> {
    let home = std::env::var("MESOS_REF_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/mesos-ref-1.9.0")
        });
    let bin = home.join("bin");
    if bin.join("mesos-ref-local").exists() && bin.join("mesos-ref-agent").exists() {
        Some(bin)
    } else {
        eprintln!(
            "SKIP: real Mesos 1.9.0 kit not found at {} (run /work/shared/ref-mesos/setup.sh)",
            bin.display()
        );
        None
    }
}

/// A child process killed (and reaped) when the test ends, pass or fail.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The real 1.9.0 master: `mesos-ref-local` with `agents` in-process
/// agents, on a free port, its stderr in `log`; killed on drop.
pub struct RealMaster {
    pub addr: SocketAddr,
    _child: Guard,
}

impl RealMaster {
    /// `args` are extra `mesos-local` flags (`--work_dir=...`), `env`
    /// extra `MESOS_*` variables.
    pub fn start(
        bin: &Path,
        agents: u32,
        args: &[String],
        env: &[(&str, &str)],
        log: &Path,
    ) -> RealMaster {
        let port = free_port();
        let child = Command::new(bin.join("mesos-ref-local"))
            .arg(format!("--port={port}"))
            .arg(agents.to_string())
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).expect("master log"))
            .spawn()
            .expect("start mesos-ref-local");
        RealMaster {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            _child: Guard(child),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

/// Our master in-process on a loopback tokio runtime (shut the runtime down
/// to stop it) with `flags`, on `registrar` if given.
pub fn ours_in_process(
    flags: &[String],
    registrar: Option<Box<dyn Registrar>>,
) -> (Runtime, SocketAddr) {
    let flags = MasterFlags::load(flags.to_vec(), Vec::<(String, String)>::new()).expect("flags");
    let id = mesos_master::new_master_id();
    let master = match registrar {
        Some(r) => Master::with_registrar(flags, &id, "localhost", r),
        None => Master::new(flags, &id, "localhost"),
    };
    let runtime = Runtime::start(TransportConfig::loopback()).expect("runtime");
    runtime.set_delegate(Some("master"));
    let addr = runtime.addr();
    runtime.spawn("master", master);
    (runtime, addr)
}
