//! The I/O switchboard of a nested container: holds the parent ends of its
//! stdin/stdout/stderr (pipes, or one pseudo terminal with
//! `ContainerInfo.tty_info`), copies its output to every attached client as
//! RecordIO `ProcessIO` records and to the sandbox `stdout`/`stderr` files,
//! sends heartbeats, and feeds one input client's records to its stdin.
//!
//! Upstream runs this as a separate `mesos-io-switchboard` process per
//! container that the agent proxies to over a unix socket
//! (src/slave/containerizer/mesos/io/switchboard.{hpp,cpp}); here it lives
//! in the agent, one output thread per container, with the same rules:
//!
//! - a container gets a switchboard when it has `tty_info` or is a session
//!   (`ContainerClass::DEBUG`); a session's output is only read once its
//!   first client is attached (`--wait_for_connection`);
//! - with a TTY, stdout and stderr both come out of the terminal as
//!   `STDOUT` data; the window size is set by `TTY_INFO` control records;
//! - an empty `STDIN` data record closes stdin (pipes only; a TTY client
//!   sends EOT instead);
//! - one input client at a time (`Multiple input connections are not allowed`);
//! - output produced while nobody is attached only reaches the sandbox
//!   files (it is not replayed to later clients);
//! - once stdout and stderr reach EOF every output stream ends.
//!
//! Memory is bounded: each client has a queue of [`CLIENT_QUEUE`] records
//! of at most [`READ_SIZE`] bytes; while a client's queue is full the
//! container's output is not read (the container blocks on its pipe), and
//! a client that stays full for [`SLOW_CLIENT`] is disconnected.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use libprocess::http::StreamError;
use libprocess::StreamSender;
use mesos_proto::mesos::agent::process_io::{self, control, data};
use mesos_proto::mesos::agent::ProcessIo as ProcessIO;
use prost::Message;

use crate::launcher::ChildIo;

/// Bytes read from the container per output record (upstream reads with
/// `process::io::BUFFERED_READ_SIZE`, 4 KiB... we take a little more).
pub const READ_SIZE: usize = 16 * 1024;
/// Records queued per attached output client.
pub const CLIENT_QUEUE: usize = 64;
/// A client whose queue stays full this long is disconnected.
pub const SLOW_CLIENT: Duration = Duration::from_secs(10);

/// How records are encoded for one client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Json,
    Protobuf,
}

impl Encoding {
    /// `<length>\n<record>` of `msg` (stout's `recordio::Encoder`).
    pub fn record<M: Message + prost::Name>(self, msg: &M) -> Bytes {
        let body = match self {
            Encoding::Json => mesos_proto::json::to_json(msg)
                .map(String::into_bytes)
                .unwrap_or_default(),
            Encoding::Protobuf => msg.encode_to_vec(),
        };
        Bytes::from(mesos_proto::recordio::encode(&body))
    }
}

/// The switchboard's ends, before its thread starts.
pub struct ParentIo {
    stdin: OwnedFd,
    stdout: OwnedFd,
    /// `None` with a TTY (everything comes out of the terminal).
    stderr: Option<OwnedFd>,
    tty: bool,
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both descriptors are open and ours.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Opens a pseudo terminal (master, slave), as `IOSwitchboard::_prepare`.
fn openpty(user: Option<&str>) -> std::io::Result<(OwnedFd, OwnedFd)> {
    let err = std::io::Error::last_os_error;
    // SAFETY: plain libc calls on descriptors this function owns.
    unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        if m < 0 {
            return Err(err());
        }
        let master = OwnedFd::from_raw_fd(m);
        if libc::grantpt(m) != 0 || libc::unlockpt(m) != 0 {
            return Err(err());
        }
        let mut name = [0 as libc::c_char; 128];
        if libc::ptsname_r(m, name.as_mut_ptr(), name.len()) != 0 {
            return Err(err());
        }
        let path = std::ffi::CStr::from_ptr(name.as_ptr()).to_owned();
        if let Some(u) = user.and_then(|u| nix::unistd::User::from_name(u).ok().flatten()) {
            libc::chown(path.as_ptr(), u.uid.as_raw(), u.gid.as_raw());
        }
        let s = libc::open(
            path.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        if s < 0 {
            return Err(err());
        }
        Ok((master, OwnedFd::from_raw_fd(s)))
    }
}

/// Makes the descriptors of a container with a switchboard.
pub fn prepare(tty: bool, user: Option<&str>) -> std::io::Result<(ChildIo, ParentIo)> {
    if tty {
        let (master, slave) = openpty(user)?;
        let child = ChildIo {
            stdin: slave.try_clone()?,
            stdout: slave.try_clone()?,
            stderr: slave,
            tty: true,
        };
        let parent = ParentIo {
            stdin: master.try_clone()?,
            stdout: master,
            stderr: None,
            tty: true,
        };
        return Ok((child, parent));
    }
    let (in_r, in_w) = pipe()?;
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    Ok((
        ChildIo {
            stdin: in_r,
            stdout: out_w,
            stderr: err_w,
            tty: false,
        },
        ParentIo {
            stdin: in_w,
            stdout: out_r,
            stderr: Some(err_r),
            tty: false,
        },
    ))
}

struct Client {
    sender: StreamSender,
    encoding: Encoding,
}

#[derive(Default)]
struct Outputs {
    clients: Vec<Client>,
    /// The output thread may read (first client came, or no waiting).
    started: bool,
    /// stdout and stderr reached EOF: nothing more will come.
    finished: bool,
}

/// One container's switchboard, shared by the agent and its thread.
pub struct Switchboard {
    pub tty: bool,
    stdin: Mutex<Option<File>>,
    outputs: Mutex<Outputs>,
    wake: Condvar,
    input_connected: Mutex<bool>,
}

impl std::fmt::Debug for Switchboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Switchboard(tty: {})", self.tty)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Switchboard {
    /// Starts the output thread of a launched container. `wait` = read
    /// nothing until the first client attaches (sessions); `sandbox` gets
    /// the `stdout`/`stderr` copies.
    pub fn start(
        io: ParentIo,
        wait: bool,
        sandbox: &Path,
        heartbeat: Option<Duration>,
        name: &str,
    ) -> Arc<Switchboard> {
        let sb = Arc::new(Switchboard {
            tty: io.tty,
            stdin: Mutex::new(Some(File::from(io.stdin))),
            outputs: Mutex::new(Outputs {
                started: !wait,
                ..Default::default()
            }),
            wake: Condvar::new(),
            input_connected: Mutex::new(false),
        });
        let open = |n: &str| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(sandbox.join(n))
                .ok()
        };
        let files = (open("stdout"), open("stderr"));
        let me = sb.clone();
        let (out, err) = (io.stdout, io.stderr);
        let spawned = std::thread::Builder::new()
            .name(format!("switchboard-{name}"))
            .spawn(move || me.pump(out, err, files, heartbeat));
        if let Err(e) = spawned {
            tracing::error!("Failed to start the I/O switchboard of {name}: {e}");
            lock(&sb.outputs).finished = true;
        }
        sb
    }

    /// Attaches an output client (`attachContainerOutput`); `false` if the
    /// output is already over (the stream is then closed).
    pub fn attach_output(&self, mut sender: StreamSender, encoding: Encoding) -> bool {
        let mut o = lock(&self.outputs);
        if o.finished {
            sender.close();
            return false;
        }
        o.clients.push(Client { sender, encoding });
        o.started = true;
        self.wake.notify_all();
        true
    }

    /// Lets the output thread read even though no client came (the
    /// container is gone, so what is left only goes to the sandbox files
    /// and the thread ends at EOF).
    pub fn release(&self) {
        lock(&self.outputs).started = true;
        self.wake.notify_all();
    }

    /// Whether stdout and stderr are over.
    pub fn finished(&self) -> bool {
        lock(&self.outputs).finished
    }

    /// Claims the single input connection; `false` if one is attached.
    pub fn connect_input(&self) -> bool {
        let mut c = lock(&self.input_connected);
        !std::mem::replace(&mut *c, true)
    }

    pub fn disconnect_input(&self) {
        *lock(&self.input_connected) = false;
    }

    /// Writes stdin data; empty data closes stdin (pipes only).
    pub fn write_stdin(&self, data: &[u8]) -> Result<(), String> {
        let mut stdin = lock(&self.stdin);
        if data.is_empty() && !self.tty {
            *stdin = None;
            return Ok(());
        }
        match stdin.as_mut() {
            Some(f) => f
                .write_all(data)
                .map_err(|e| format!("Failed writing to stdin: {e}")),
            None => Err("Failed writing to stdin: stdin is closed".into()),
        }
    }

    /// `os::setWindowSize` on the terminal.
    pub fn set_window_size(&self, rows: u32, columns: u32) -> Result<(), String> {
        let stdin = lock(&self.stdin);
        let Some(f) = stdin.as_ref().filter(|_| self.tty) else {
            return Err("Unable to set the window size: not a terminal".into());
        };
        let ws = libc::winsize {
            ws_row: rows.min(u16::MAX as u32) as u16,
            ws_col: columns.min(u16::MAX as u32) as u16,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads one `winsize` from the pointer.
        if unsafe { libc::ioctl(f.as_raw_fd(), libc::TIOCSWINSZ, &ws) } != 0 {
            return Err(format!(
                "Unable to set the window size: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(())
    }

    /// Closes every output stream (the container is gone for good).
    pub fn close_outputs(&self) {
        let mut o = lock(&self.outputs);
        o.finished = true;
        o.started = true;
        for mut c in o.clients.drain(..) {
            c.sender.close();
        }
        self.wake.notify_all();
    }

    /// Sends one record to every client; drops closed and stuck ones. The
    /// clients are taken out of the lock while sending, so attaching never
    /// waits for a slow client.
    fn broadcast(&self, msg: &ProcessIO) {
        let mut clients = std::mem::take(&mut lock(&self.outputs).clients);
        let mut encoded: [Option<Bytes>; 2] = [None, None];
        clients.retain_mut(|c| {
            let slot = (c.encoding == Encoding::Protobuf) as usize;
            let rec = encoded[slot]
                .get_or_insert_with(|| c.encoding.record(msg))
                .clone();
            let since = Instant::now();
            let keep = loop {
                match c.sender.try_send(rec.clone()) {
                    Ok(()) => break true,
                    Err(StreamError::Closed) => break false,
                    Err(StreamError::Full) if since.elapsed() < SLOW_CLIENT => {
                        // Hold the container back rather than buffer more.
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(StreamError::Full) => {
                        tracing::warn!(
                            "Disconnecting a container output client that stopped reading"
                        );
                        break false;
                    }
                }
            };
            if !keep {
                c.sender.close();
            }
            keep
        });
        let mut o = lock(&self.outputs);
        if o.finished {
            for c in &mut clients {
                c.sender.close();
            }
        } else {
            clients.append(&mut o.clients);
            o.clients = clients;
        }
    }

    fn pump(
        self: Arc<Self>,
        out: OwnedFd,
        err: Option<OwnedFd>,
        files: (Option<File>, Option<File>),
        heartbeat: Option<Duration>,
    ) {
        {
            let mut o = lock(&self.outputs);
            while !o.started {
                o = self.wake.wait(o).unwrap_or_else(|e| e.into_inner());
            }
        }
        let (mut out_file, mut err_file) = files;
        let mut streams: Vec<(File, data::Type)> = vec![(File::from(out), data::Type::Stdout)];
        if let Some(e) = err {
            streams.push((File::from(e), data::Type::Stderr));
        }
        let mut next_beat = heartbeat.map(|h| Instant::now() + h);
        let mut buf = vec![0u8; READ_SIZE];
        while !streams.is_empty() {
            let timeout = next_beat
                .map(|t| t.saturating_duration_since(Instant::now()).as_millis() as i32)
                .unwrap_or(-1);
            let mut fds: Vec<libc::pollfd> = streams
                .iter()
                .map(|(f, _)| libc::pollfd {
                    fd: f.as_fd().as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            // SAFETY: `fds` is a valid array of `fds.len()` pollfds.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
            if n < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                break;
            }
            if let (Some(h), Some(t)) = (heartbeat, next_beat) {
                if Instant::now() >= t {
                    self.broadcast(&heartbeat_record(h));
                    next_beat = Some(Instant::now() + h);
                }
            }
            let mut done = Vec::new();
            for (i, p) in fds.iter().enumerate() {
                if p.revents == 0 {
                    continue;
                }
                let (f, kind) = &mut streams[i];
                match f.read(&mut buf) {
                    // EOF, or EIO from a terminal whose other end closed.
                    Ok(0) | Err(_) => done.push(i),
                    Ok(k) => {
                        let file = match kind {
                            data::Type::Stderr => err_file.as_mut(),
                            _ => out_file.as_mut(),
                        };
                        if let Some(file) = file {
                            let _ = file.write_all(&buf[..k]);
                        }
                        self.broadcast(&data_record(*kind, &buf[..k]));
                    }
                }
            }
            for i in done.into_iter().rev() {
                streams.remove(i);
            }
        }
        self.close_outputs();
    }
}

fn data_record(kind: data::Type, bytes: &[u8]) -> ProcessIO {
    ProcessIO {
        r#type: Some(process_io::Type::Data as i32),
        data: Some(process_io::Data {
            r#type: Some(kind as i32),
            data: Some(Bytes::copy_from_slice(bytes)),
        }),
        control: None,
    }
}

/// `HEARTBEAT` control record carrying the interval.
fn heartbeat_record(interval: Duration) -> ProcessIO {
    ProcessIO {
        r#type: Some(process_io::Type::Control as i32),
        data: None,
        control: Some(process_io::Control {
            r#type: Some(control::Type::Heartbeat as i32),
            tty_info: None,
            heartbeat: Some(control::Heartbeat {
                interval: Some(mesos_proto::mesos::DurationInfo {
                    nanoseconds: interval.as_nanos() as i64,
                }),
            }),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_recordio_framed_in_either_encoding() {
        let r = data_record(data::Type::Stdout, b"hi");
        let j = Encoding::Json.record(&r);
        let text = String::from_utf8(j.to_vec()).unwrap();
        let (len, body) = text.split_once('\n').unwrap();
        assert_eq!(len.parse::<usize>().unwrap(), body.len());
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["type"], "DATA");
        assert_eq!(v["data"]["type"], "STDOUT");
        assert_eq!(v["data"]["data"], "aGk=");
        let p = Encoding::Protobuf.record(&r);
        let nl = p.iter().position(|b| *b == b'\n').unwrap();
        let back = ProcessIO::decode(&p[nl + 1..]).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn pipes_carry_stdin_and_a_terminal_takes_window_sizes() {
        let (child, parent) = prepare(false, None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let sb = Switchboard::start(parent, false, dir.path(), None, "t");
        sb.write_stdin(b"abc").unwrap();
        let mut r = File::from(child.stdin);
        let mut got = [0u8; 3];
        r.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"abc");
        assert!(sb.set_window_size(10, 20).is_err(), "pipes have no window");
        sb.write_stdin(b"").unwrap();
        assert!(sb.write_stdin(b"x").is_err(), "stdin was closed");
        drop((child.stdout, child.stderr));
        let end = Instant::now() + Duration::from_secs(10);
        while !sb.finished() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(sb.finished(), "EOF on both outputs ends the switchboard");
        assert!(sb.connect_input());
        assert!(!sb.connect_input(), "one input client at a time");

        let (child, parent) = prepare(true, None).unwrap();
        let sb = Switchboard::start(parent, true, dir.path(), None, "tty");
        sb.set_window_size(33, 99).unwrap();
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        // SAFETY: TIOCGWINSZ writes one winsize.
        assert_eq!(
            unsafe { libc::ioctl(child.stdin.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) },
            0
        );
        assert_eq!((ws.ws_row, ws.ws_col), (33, 99));
    }
}
