//! TLS through the tokio runtime's transport (`TransportConfig::ssl`, i.e.
//! `LIBPROCESS_SSL_*`): our runtimes talk TLS to each other with full 1.9
//! verification, a downgrade-supporting listener also serves plain HTTP, a
//! peer whose certificate fails verification is an exit for linked
//! processes, a bad TLS set-up fails start-up, and a real 1.9.0 master with
//! REQUIRE_CERT talks to our runtime both ways.

mod tokio_support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use libprocess::runtime::tokio::Runtime;
use libprocess::tls::testing::{CertSpec, Issued, Pki};
use libprocess::tls::{HostnameValidationScheme, SslConfig};
use libprocess::transport::TransportConfig;
use libprocess::{Actor, Cx, Routes, Upid};
use mesos_proto::mesos::internal::{FrameworkRegisteredMessage, RegisterFrameworkMessage};
use mesos_proto::mesos::FrameworkInfo;
use prost::Message;
use tokio_support::{wait_until, Echo, Watcher};

const T: Duration = Duration::from_secs(15);

/// The recommended strict 1.9 set-up: REQUIRE_CERT (so VERIFY_CERT), the
/// `openssl` scheme, VERIFY_IPADD (pids carry IPs), no downgrade.
fn strict(pki: &Pki, who: &Issued) -> SslConfig {
    SslConfig {
        require_cert: true,
        verify_ipadd: true,
        hostname_validation_scheme: HostnameValidationScheme::Openssl,
        ..pki.config(who)
    }
    .normalized()
}

fn rt(ssl: SslConfig) -> Runtime {
    Runtime::start(TransportConfig::loopback().worker_threads(2).ssl(ssl)).expect("start runtime")
}

fn pongs(rt: &Runtime, w: &Upid) -> Vec<(Upid, Bytes)> {
    rt.call::<Watcher, _>(w, |a, _| a.pongs.clone())
        .unwrap_or_default()
}

#[test]
fn runtimes_exchange_messages_over_verified_tls() {
    let pki = Pki::generate().unwrap();
    let a = rt(strict(
        &pki,
        &pki.issue(&CertSpec::server("localhost")).unwrap(),
    ));
    let b = rt(strict(
        &pki,
        &pki.issue(&CertSpec::server("localhost")).unwrap(),
    ));
    let w = a.spawn("watcher", Watcher::default());
    let echo = b.spawn("echo", Echo::default());
    let body = Bytes::from(vec![9u8; 200_000]);
    a.send(&w, &echo, "ping", body.clone());
    assert!(wait_until(T, || pongs(&a, &w).len() == 1), "pong over TLS");
    assert_eq!(pongs(&a, &w)[0].1, body);

    // Plain HTTP to a TLS listener without downgrade support is refused.
    let plain = std::panic::catch_unwind(|| tokio_support::get(b.addr(), "/echo/state"));
    assert!(
        plain.map(|r| r.status != 200).unwrap_or(true),
        "plain request served without SUPPORT_DOWNGRADE"
    );
}

#[test]
fn downgrade_listener_serves_plain_and_tls() {
    let pki = Pki::generate().unwrap();
    let server = rt(SslConfig {
        support_downgrade: true,
        ..pki.config(&pki.issue(&CertSpec::server("localhost")).unwrap())
    });
    server.spawn("echo", Echo::default());
    // Plain HTTP (peeked, downgraded).
    let r = tokio_support::get(server.addr(), "/echo/state");
    assert_eq!(r.status, 200, "{}", r.text());
    // And TLS from one of our runtimes.
    let client = rt(pki.config(&pki.issue(&CertSpec::server("localhost")).unwrap()));
    let w = client.spawn("watcher", Watcher::default());
    client.send(&w, &server.pid("echo"), "ping", Bytes::from_static(b"x"));
    assert!(wait_until(T, || pongs(&client, &w).len() == 1));
    // A plain runtime reaches it too.
    let plain = Runtime::start(TransportConfig::loopback().worker_threads(1)).unwrap();
    let w2 = plain.spawn("watcher", Watcher::default());
    plain.send(&w2, &server.pid("echo"), "ping", Bytes::from_static(b"y"));
    assert!(wait_until(T, || pongs(&plain, &w2).len() == 1));
}

#[test]
fn untrusted_peer_is_an_exit_for_linked_processes() {
    let pki = Pki::generate().unwrap();
    let stranger = Pki::generate_named("stranger").unwrap();
    let a = rt(strict(
        &pki,
        &pki.issue(&CertSpec::server("localhost")).unwrap(),
    ));
    // B's certificate comes from a CA A does not trust.
    let b = rt(SslConfig {
        ca_file: Some(pki.ca_file().to_path_buf()),
        ..stranger.config(&stranger.issue(&CertSpec::server("localhost")).unwrap())
    });
    let w = a.spawn("watcher", Watcher::default());
    let echo = b.spawn("echo", Echo::default());
    let e = echo.clone();
    a.call::<Watcher, _>(&w, move |_, cx| cx.link(&e)).unwrap();
    let exited = || {
        a.call::<Watcher, _>(&w, |x, _| x.exited.clone())
            .unwrap_or_default()
    };
    assert!(
        wait_until(T, || exited() == vec![echo.clone()]),
        "the failed TLS connect is an exit"
    );
    assert!(pongs(&a, &w).is_empty());
}

#[test]
fn bad_tls_setup_fails_start_up() {
    let pki = Pki::generate().unwrap();
    let me = pki.issue(&CertSpec::server("localhost")).unwrap();
    let e = Runtime::start(TransportConfig::loopback().ssl(SslConfig {
        ciphers: "NOPE".into(),
        ..pki.config(&me)
    }))
    .unwrap_err();
    assert!(
        e.to_string().contains("Could not set ciphers 'NOPE'"),
        "{e}"
    );
    // From the environment, as master/agent read it.
    let env = |k: &str| match k {
        "LIBPROCESS_SSL_ENABLED" => Some("true".to_string()),
        "LIBPROCESS_SSL_CERT_FILE" => Some(me.cert_file.display().to_string()),
        _ => None,
    };
    let config = TransportConfig::from_lookup(env).unwrap();
    assert!(config.ssl.enabled);
    let e = Runtime::start(config).unwrap_err();
    assert!(e.to_string().contains("LIBPROCESS_SSL_KEY_FILE"), "{e}");
}

// ---- against a real 1.9.0 master --------------------------------------

fn kit_bin() -> Option<PathBuf> {
    let home = std::env::var_os("MESOS_REF_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/mesos-ref-1.9.0"))
        })?;
    let bin = home.join("bin");
    let real = Command::new(bin.join("mesos-ref-openssl"))
        .arg("status")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "real")
        .unwrap_or(false);
    if !real {
        eprintln!(
            "SKIP: no Mesos 1.9.0 reference kit with real OpenSSL at {} (run `bash /work/shared/ref-mesos/setup.sh`)",
            home.display()
        );
        return None;
    }
    Some(bin)
}

struct MasterGuard(Child);

impl Drop for MasterGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Records `FrameworkRegisteredMessage`s.
#[derive(Default)]
struct Scheduler {
    registered: Vec<String>,
}

impl Actor for Scheduler {
    fn install(r: &mut Routes<Self>) {
        r.raw(
            "mesos.internal.FrameworkRegisteredMessage",
            Scheduler::registered,
        );
    }
}

impl Scheduler {
    fn registered(&mut self, _cx: &mut Cx<'_, Self>, _from: Upid, body: Bytes) {
        if let Ok(m) = FrameworkRegisteredMessage::decode(body) {
            self.registered.push(m.framework_id.value);
        }
    }
}

#[test]
fn real_master_with_require_cert_talks_tls_to_our_runtime() {
    let Some(bin) = kit_bin() else { return };
    let pki = Pki::generate().unwrap();
    let master_cert = pki.issue(&CertSpec::server("localhost")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = pki.dir().join("master.log");
    let mut cmd = Command::new(bin.join("mesos-ref-local"));
    cmd.arg(format!("--port={port}"))
        .arg(format!("--work_dir={}", pki.dir().join("work").display()))
        .arg("0")
        .env("LIBPROCESS_IP", "127.0.0.1")
        .envs(strict(&pki, &master_cert).to_env())
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
        .stderr(Stdio::null());
    let _master = MasterGuard(cmd.spawn().unwrap());

    let ours = rt(strict(
        &pki,
        &pki.issue(&CertSpec::server("localhost")).unwrap(),
    ));
    let sched = ours.spawn("scheduler-tls", Scheduler::default());
    let master = Upid::parse(&format!("master@127.0.0.1:{port}")).unwrap();
    let body = RegisterFrameworkMessage {
        framework: FrameworkInfo {
            user: "root".into(),
            name: "tls-runtime".into(),
            ..Default::default()
        },
    }
    .encode_to_vec();
    let registered = || {
        ours.call::<Scheduler, _>(&sched, |s, _| s.registered.clone())
            .unwrap_or_default()
    };
    // The master may still be starting: re-send until it answers (a
    // framework driver retries registration the same way).
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    while registered().is_empty() && std::time::Instant::now() < deadline {
        ours.send(
            &sched,
            &master,
            "mesos.internal.RegisterFrameworkMessage",
            Bytes::from(body.clone()),
        );
        wait_until(Duration::from_secs(2), || !registered().is_empty());
    }
    let ids = registered();
    assert!(
        !ids.is_empty(),
        "no FrameworkRegisteredMessage over TLS; master log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(ids[0].contains("-0000"), "{ids:?}");
}
