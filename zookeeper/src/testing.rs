//! A throwaway ZooKeeper server for tests: Debian's `zookeeper` package
//! (`/usr/share/java/zookeeper.jar`) run as a standalone server on a free
//! port with a temporary data directory.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running standalone ZooKeeper server; killed on drop.
pub struct ZkServer {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

fn jar() -> Option<PathBuf> {
    let dir = std::env::var_os("ZOOKEEPER_JAVA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/java"));
    let jar = dir.join("zookeeper.jar");
    jar.exists().then_some(dir)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// The server answers the `srvr` four-letter command (it accepts
/// connections a little before it serves sessions).
fn serving(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if s.write_all(b"srvr").is_err() {
        return false;
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.contains("Mode:")
}

impl ZkServer {
    /// Starts a server, or returns `None` (after printing why) when
    /// ZooKeeper or Java is not installed, so the caller can skip.
    pub fn start() -> Option<ZkServer> {
        let Some(java_dir) = jar() else {
            eprintln!(
                "SKIP: ZooKeeper is not installed (no /usr/share/java/zookeeper.jar; \
                 `apt-get install zookeeper`)"
            );
            return None;
        };
        let dir = std::env::temp_dir().join(format!(
            "mesos-zk-test-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        std::fs::create_dir_all(&dir).ok()?;
        for _ in 0..3 {
            let port = free_port();
            let child = Command::new("java")
                .arg("-cp")
                .arg(format!("{}/*", java_dir.display()))
                .arg("-Dzookeeper.admin.enableServer=false")
                .arg("-Dzookeeper.jmx.log4j.disable=true")
                .arg("-Xmx128m")
                .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
                .arg(port.to_string())
                .arg(&dir)
                // A 500 ms tick lets sessions be as short as 1 s (the
                // server's minimum is two ticks), so expiry tests are fast.
                .arg("500")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let mut child = match child {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("SKIP: cannot run java for ZooKeeper: {e}");
                    return None;
                }
            };
            // The JVM takes a few seconds on a loaded machine.
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if serving(port) {
                    return Some(ZkServer { child, port, dir });
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("ZooKeeper server did not start");
    }

    /// `127.0.0.1:<port>`.
    pub fn servers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `zk://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("zk://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for ZkServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
