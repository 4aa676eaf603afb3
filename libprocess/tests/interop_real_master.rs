//! Interop with a real Mesos 1.9.0 master (the reference kit in
//! /work/shared/ref-mesos, built by its setup.sh into
//! ~/.cache/mesos-ref-1.9.0). A Rust actor registers as an agent over our
//! transport, answers the master's health pings, and the master's own
//! `/master/state` must list it as active. Both directions of the wire are
//! exercised: our outbound requests reach real libprocess, and the real
//! master's messages arrive intact at our inbound side. Skipped, with a
//! message, when the kit is not built.

mod tokio_support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use libprocess::filter::Matcher;
use libprocess::runtime::tokio::Runtime;
use libprocess::transport::TransportConfig;
use libprocess::{Actor, Cx, Routes, Upid};
use mesos_proto::mesos::internal::{
    PingSlaveMessage, PongSlaveMessage, RegisterSlaveMessage, SlaveRegisteredMessage,
};
use mesos_proto::mesos::slave_info::{capability, Capability};
use mesos_proto::mesos::{value, Resource, SlaveInfo, Uuid};
use tokio_support::{get, wait_until};

const T: Duration = Duration::from_secs(30);

fn master_binary() -> Option<PathBuf> {
    let home = std::env::var_os("MESOS_REF_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/mesos-ref-1.9.0"))
        })?;
    let bin = home.join("bin/mesos-ref-local");
    bin.exists().then_some(bin)
}

/// Kills the real master however the test ends.
struct MasterGuard(Child);

impl Drop for MasterGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn scalar(name: &str, v: f64) -> Resource {
    Resource {
        name: name.to_string(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: v }),
        ..Default::default()
    }
}

/// Just enough of an agent to register and stay healthy.
struct TestAgent {
    master: Upid,
    registered: Option<(Upid, SlaveRegisteredMessage)>,
    pings: Vec<(Upid, bool)>,
    exited: Vec<Upid>,
}

impl Actor for TestAgent {
    fn install(r: &mut Routes<Self>) {
        r.message(TestAgent::registered);
        r.message(TestAgent::ping);
    }

    fn initialize(&mut self, cx: &mut Cx<'_, Self>) {
        // Real agents link to the master and learn of its death that way.
        cx.link(&self.master);
        self.register(cx);
    }

    fn exited(&mut self, _cx: &mut Cx<'_, Self>, pid: &Upid) {
        self.exited.push(pid.clone());
    }
}

impl TestAgent {
    /// Sends RegisterSlaveMessage until registered (a master still
    /// recovering ignores it), as `Slave::doReliableRegistration` retries.
    fn register(&mut self, cx: &mut Cx<'_, Self>) {
        if self.registered.is_some() {
            return;
        }
        let msg = register_message(cx.me().port());
        let master = self.master.clone();
        cx.send(&master, &msg);
        cx.delay(Duration::from_secs(1), |a, cx| a.register(cx));
    }

    fn registered(&mut self, _cx: &mut Cx<'_, Self>, from: Upid, m: SlaveRegisteredMessage) {
        self.registered = Some((from, m));
    }

    /// Pongs go to the ping's sender, the master's `slave-observer(N)`.
    fn ping(&mut self, cx: &mut Cx<'_, Self>, from: Upid, m: PingSlaveMessage) {
        self.pings.push((from.clone(), m.connected));
        cx.send(&from, &PongSlaveMessage {});
    }
}

/// Starts `mesos-ref-local --port=P 0` (a master alone) and waits for /version.
fn start_master(bin: &PathBuf) -> (MasterGuard, u16) {
    let port = free_port();
    let child = Command::new(bin)
        .arg(format!("--port={port}"))
        .arg("--ip=127.0.0.1")
        // Ping every second so the test sees several pings quickly.
        .arg("--agent_ping_timeout=1secs")
        .arg("0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the real master");
    let guard = MasterGuard(child);
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let up = wait_until(T, || {
        std::net::TcpStream::connect(addr).is_ok() && get(addr, "/version").status == 200
    });
    assert!(up, "the real master answers /version");
    (guard, port)
}

fn register_message(port: u16) -> RegisterSlaveMessage {
    RegisterSlaveMessage {
        slave: SlaveInfo {
            hostname: "localhost".into(),
            port: Some(i32::from(port)),
            resources: vec![scalar("cpus", 2.0), scalar("mem", 1024.0)],
            ..Default::default()
        },
        version: Some("1.9.0".into()),
        agent_capabilities: [
            capability::Type::MultiRole,
            capability::Type::HierarchicalRole,
            capability::Type::ReservationRefinement,
            capability::Type::ResourceProvider,
            capability::Type::ResizeVolume,
            capability::Type::AgentOperationFeedback,
            capability::Type::AgentDraining,
        ]
        .into_iter()
        .map(|t| Capability {
            r#type: Some(t as i32),
        })
        .collect(),
        resource_version_uuid: Some(Uuid {
            value: Bytes::from_static(b"0123456789abcdef"),
        }),
        ..Default::default()
    }
}

#[test]
fn rust_agent_registers_with_the_real_master_and_stays_active() {
    let Some(bin) = master_binary() else {
        println!(
            "SKIPPED: the real Mesos 1.9.0 kit is not built \
             (run `bash /work/shared/ref-mesos/setup.sh`)"
        );
        return;
    };
    let (mut master_proc, port) = start_master(&bin);
    let master_addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    assert!(get(master_addr, "/version")
        .text()
        .contains("\"version\":\"1.9.0\""));

    let rt = Runtime::start(TransportConfig::loopback()).unwrap();
    let pongs = rt
        .filters()
        .observe_all(Matcher::message::<PongSlaveMessage>());
    let master = Upid::parse_literal(&format!("master@127.0.0.1:{port}")).unwrap();
    let agent = rt.spawn_generated(
        "slave",
        TestAgent {
            master: master.clone(),
            registered: None,
            pings: Vec::new(),
            exited: Vec::new(),
        },
    );
    assert_eq!(agent.id(), "slave(1)");

    // Real master -> our inbound transport: SlaveRegisteredMessage, intact.
    let registered = || {
        rt.call::<TestAgent, _>(&agent, |a, _| a.registered.clone())
            .flatten()
    };
    assert!(
        wait_until(T, || registered().is_some()),
        "SlaveRegisteredMessage arrives"
    );
    let (from, reg) = registered().unwrap();
    assert_eq!(from, master, "sent by the master pid");
    assert!(
        reg.slave_id.value.ends_with("-S0"),
        "agent id {:?}",
        reg.slave_id.value
    );
    let ping_timeout = reg.connection.and_then(|c| c.total_ping_timeout_seconds);
    assert!(ping_timeout.is_some_and(|t| t > 0.0), "{ping_timeout:?}");

    // Health checks: pings from slave-observer(N), pongs back to it.
    assert!(pongs.wait_for(3, T), "three pongs sent");
    let pings = rt
        .call::<TestAgent, _>(&agent, |a, _| a.pings.clone())
        .unwrap();
    assert!(
        pings.iter().all(|(p, connected)| *connected
            && p.id().starts_with("slave-observer(")
            && p.addr() == master.addr()),
        "{pings:?}"
    );
    assert!(pongs
        .seen()
        .iter()
        .all(|s| s.to == pings[0].0 && s.from == agent));

    // The real master's own view: the agent is registered and active.
    let state = get(master_addr, "/master/state");
    assert_eq!(state.status, 200);
    let json: serde_json::Value = serde_json::from_slice(&state.body).expect("state is JSON");
    let slaves = json["slaves"].as_array().expect("slaves array");
    let me = slaves
        .iter()
        .find(|s| s["id"] == reg.slave_id.value.as_str())
        .unwrap_or_else(|| panic!("agent listed in {slaves:?}"));
    assert_eq!(me["active"], true, "{me}");
    assert_eq!(me["pid"], agent.to_string());
    assert_eq!(me["version"], "1.9.0");
    assert_eq!(me["resources"]["cpus"], 2.0);
    assert_eq!(json["activated_slaves"], 1.0);

    // The master dies: our persistent link notices and the agent gets exited.
    let _ = master_proc.0.kill();
    let _ = master_proc.0.wait();
    let exited = || {
        rt.call::<TestAgent, _>(&agent, |a, _| a.exited.clone())
            .unwrap()
    };
    assert!(
        wait_until(T, || exited() == vec![master.clone()]),
        "{:?}",
        exited()
    );
    drop(master_proc);
}

/// Byte-exactness, both ways, with no runtime of ours in the path: a plain
/// socket plays the agent. Our encoder writes the registration, the real
/// master accepts it; the real master's reply, captured raw, decodes with
/// our decoder and re-encodes with our encoder to the very same bytes.
#[test]
fn real_libprocess_bytes_equal_ours() {
    use libprocess::transport::decode::{message_route, message_sender, RequestDecoder};
    use libprocess::transport::encode::message_bytes;
    use std::io::{Read, Write};

    let Some(bin) = master_binary() else {
        println!(
            "SKIPPED: the real Mesos 1.9.0 kit is not built \
             (run `bash /work/shared/ref-mesos/setup.sh`)"
        );
        return;
    };
    let (_master_proc, port) = start_master(&bin);
    let master = Upid::parse_literal(&format!("master@127.0.0.1:{port}")).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let me = Upid::new("slave(1)", listener.local_addr().unwrap());

    let wire = message_bytes(&me, &master, "mesos.internal.RegisterSlaveMessage", &{
        use prost::Message;
        register_message(me.port()).encode_to_vec()
    });
    // The real master answers our request with 202 once its `master`
    // process exists (404 while it starts up), and ignores registrations
    // while it recovers; so register, as a real agent does, until the
    // master connects back to the address in our pid to reply.
    listener.set_nonblocking(true).unwrap();
    let mut accepted = 0;
    let mut conn = None;
    let end = std::time::Instant::now() + T;
    while conn.is_none() && std::time::Instant::now() < end {
        let mut out = std::net::TcpStream::connect(master.addr()).unwrap();
        out.set_read_timeout(Some(T)).unwrap();
        out.write_all(&wire).unwrap();
        let mut reply = [0u8; 12];
        if out.read_exact(&mut reply).is_ok() && &reply == b"HTTP/1.1 202" {
            accepted += 1;
        }
        for _ in 0..50 {
            if let Ok((c, _)) = listener.accept() {
                conn = Some(c);
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    assert!(
        accepted > 0,
        "the real master accepts our encoding with 202"
    );
    let mut conn = conn.expect("the real master connects back");
    conn.set_nonblocking(false).unwrap();
    conn.set_read_timeout(Some(T)).unwrap();
    let mut decoder = RequestDecoder::new(80 * 1024, 1 << 20);
    let mut buf = bytes::BytesMut::new();
    // Every request the master sends (the registration reply, and pings
    // from its slave-observer that may come first) must re-encode exactly.
    let mut registered = None;
    let mut checked = 0;
    while registered.is_none() {
        assert!(
            checked < 50,
            "no SlaveRegisteredMessage among {checked} messages"
        );
        let mut raw = buf.to_vec();
        let req = loop {
            if let Some(r) = decoder.decode(&mut buf).unwrap() {
                break r;
            }
            let mut tmp = [0u8; 4096];
            let n = conn.read(&mut tmp).unwrap();
            assert!(n > 0, "master closed the connection");
            raw.extend_from_slice(&tmp[..n]);
            buf.extend_from_slice(&tmp[..n]);
        };
        let consumed = raw.len() - buf.len();
        let from = Upid::parse_literal(&message_sender(&req).unwrap()).unwrap();
        let (to, name) = message_route(req.path()).unwrap();
        assert_eq!(from.addr(), master.addr());
        assert_eq!(to, "slave(1)");
        let ours = message_bytes(&from, &me, &name, &req.body);
        assert_eq!(
            String::from_utf8_lossy(&raw[..consumed]),
            String::from_utf8_lossy(&ours),
            "real libprocess and our encoder write the same bytes"
        );
        assert_eq!(&raw[..consumed], &ours[..]);
        checked += 1;
        if name == "mesos.internal.SlaveRegisteredMessage" {
            assert_eq!(from, master);
            let reg: SlaveRegisteredMessage = libprocess::decode(&req.body).unwrap();
            assert!(reg.slave_id.value.ends_with("-S0"));
            registered = Some(reg);
        }
    }
}
