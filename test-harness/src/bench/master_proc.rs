//! A master process the bench starts, restarts and measures: ours
//! (`mesos-master`) or the real 1.9.0 one (`mesos-ref-local --port=P 0`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// Which master binary.
#[derive(Clone, Debug)]
pub enum MasterKind {
    /// Our `mesos-master`.
    Ours(PathBuf),
    /// The real 1.9.0 master via the reference kit's `mesos-ref-local`.
    Real(PathBuf),
}

/// A running master on 127.0.0.1:port.
pub struct MasterProc {
    pub kind: MasterKind,
    pub port: u16,
    child: Option<Child>,
    log: PathBuf,
}

impl MasterProc {
    pub fn new(kind: MasterKind, port: u16) -> MasterProc {
        let log = std::env::temp_dir().join(format!("mesos-bench-master-{port}.log"));
        MasterProc {
            kind,
            port,
            child: None,
            log,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Starts the process and waits until `/version` answers.
    pub fn start(&mut self) -> Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let mut cmd = match &self.kind {
            MasterKind::Ours(bin) => {
                let mut c = Command::new(bin);
                c.arg("--ip=127.0.0.1")
                    .arg(format!("--port={}", self.port))
                    .arg("--registry=in_memory")
                    .arg("--hostname=127.0.0.1")
                    .arg(format!(
                        "--work_dir={}",
                        std::env::temp_dir()
                            .join(format!("mesos-bench-{}", self.port))
                            .display()
                    ))
                    .env("MESOS_LOG", "warn");
                c
            }
            MasterKind::Real(bin) => {
                let mut c = Command::new(bin);
                c.arg(format!("--port={}", self.port))
                    .arg("0")
                    .env("GLOG_minloglevel", "1");
                c
            }
        };
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        self.child = Some(cmd.spawn()?);
        let end = Instant::now() + Duration::from_secs(30);
        while Instant::now() < end {
            if let Ok((200, _)) =
                super::http_client::request_blocking(self.addr(), "GET", "/version", None)
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(Error::Http(format!(
            "master on port {} did not come up (log: {})",
            self.port,
            self.log.display()
        )))
    }

    /// The resident set size of the master process, from /proc.
    pub fn rss_kb(&self) -> Option<u64> {
        let pid = self.child.as_ref()?.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    }

    /// User plus system CPU time of the master process, from /proc (in
    /// USER_HZ ticks, 100 per second on Linux).
    pub fn cpu_time(&self) -> Option<Duration> {
        let pid = self.child.as_ref()?.id();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the parenthesised command name: state is field 3,
        // utime and stime are fields 14 and 15.
        let rest = &stat[stat.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let utime: u64 = f.get(11)?.parse().ok()?;
        let stime: u64 = f.get(12)?.parse().ok()?;
        Some(Duration::from_millis((utime + stime) * 10))
    }

    /// SIGKILL, as a crash.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for MasterProc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A free loopback port (bound once, then released).
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}
