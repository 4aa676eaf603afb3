//! Interop with the real Mesos 1.9.0 libprocess over TLS (OpenSSL 1.0.2q in
//! the reference kit, /work/shared/ref-mesos, README section "TLS"):
//! - our TLS client, with upstream's default cipher list and protocol set,
//!   reads `https://…/version` from a real master;
//! - a real master with REQUIRE_CERT (hence VERIFY_CERT), the `openssl`
//!   scheme and VERIFY_IPADD verifies OUR TLS server when it sends us
//!   `FrameworkRegisteredMessage`, accepts our client certificate, and
//!   rejects our server when it presents a certificate from an untrusted CA
//!   or for the wrong IP.
//!
//! Skipped, with a message, when the kit (or its real OpenSSL flavour) is
//! absent: `bash /work/shared/ref-mesos/setup.sh` builds it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use libprocess::tls::testing::{CertSpec, Issued, Pki};
use libprocess::tls::{HostnameValidationScheme, MaybeTlsStream, SslConfig, TlsContext};
use mesos_proto::mesos::internal::RegisterFrameworkMessage;
use mesos_proto::mesos::FrameworkInfo;
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use prost::Message;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

fn kit_bin() -> Option<PathBuf> {
    let home = std::env::var_os("MESOS_REF_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/mesos-ref-1.9.0"))
        })?;
    let bin = home.join("bin");
    if !bin.join("mesos-ref-local").exists() {
        eprintln!(
            "SKIP: no Mesos 1.9.0 reference kit at {} (run `bash /work/shared/ref-mesos/setup.sh`)",
            home.display()
        );
        return None;
    }
    let flavour = Command::new(bin.join("mesos-ref-openssl"))
        .arg("status")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if flavour.as_deref() != Some("real") {
        eprintln!("SKIP: the reference kit uses stub OpenSSL ({flavour:?}); `mesos-ref-openssl real` enables TLS");
        return None;
    }
    Some(bin)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real 1.9.0 master (`mesos-ref-local … 0`), killed on drop.
struct RealMaster {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for RealMaster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RealMaster {
    fn start(bin: &Path, dir: &Path, ssl_env: &[(String, String)]) -> RealMaster {
        let port = free_port();
        let log = dir.join(format!("master-{port}.log"));
        let mut cmd = Command::new(bin.join("mesos-ref-local"));
        cmd.arg(format!("--port={port}"))
            .arg(format!(
                "--work_dir={}",
                dir.join(format!("work-{port}")).display()
            ))
            .arg("0")
            .env("LIBPROCESS_IP", "127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
            .stderr(Stdio::from(
                std::fs::OpenOptions::new().append(true).open(&log).unwrap(),
            ));
        for (k, _) in std::env::vars() {
            if k.starts_with("LIBPROCESS_SSL_") || k.starts_with("SSL_") {
                cmd.env_remove(k);
            }
        }
        cmd.envs(ssl_env.iter().cloned());
        let child = cmd.spawn().expect("start mesos-ref-local");
        RealMaster { child, port, log }
    }

    fn addr(&self) -> std::net::SocketAddr {
        ([127, 0, 0, 1], self.port).into()
    }

    fn log_tail(&self) -> String {
        let s = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

/// Reads one HTTP response (head + Content-Length body).
async fn read_response<S: AsyncRead + Unpin>(s: &mut S) -> std::io::Result<(u16, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let len = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())
                        .flatten()
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let status = head
                    .split_whitespace()
                    .nth(1)
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
                let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string();
                return Ok((status, body));
            }
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        format!("connection closed after {} bytes", buf.len()),
    ))
}

async fn get<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    path: &str,
) -> std::io::Result<(u16, String)> {
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
        .await?;
    s.flush().await?;
    read_response(s).await
}

/// Waits until the master answers `/version` over TLS with `ctx`.
async fn wait_ready(master: &RealMaster, ctx: &Arc<TlsContext>) -> MaybeTlsStream {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let connector = ctx
            .connector()
            .with_handshake_timeout(Duration::from_secs(5));
        if let Ok(mut s) = connector.connect(master.addr(), Some("localhost")).await {
            if let Ok((200, _)) = get(&mut s, "/version").await {
                if let Ok(s) = connector.connect(master.addr(), Some("localhost")).await {
                    return s;
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "real master did not come up over TLS; log:\n{}",
            master.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_reads_version_from_a_real_tls_master() {
    let Some(bin) = kit_bin() else { return };
    let pki = Pki::generate().unwrap();
    let master_cert = pki.issue(&CertSpec::server("localhost")).unwrap();
    let our_cert = pki.issue(&CertSpec::server("localhost")).unwrap();
    // The kit's documented TLS set-up: enabled, key + cert, no downgrade.
    let master = RealMaster::start(
        &bin,
        pki.dir(),
        &[
            ("LIBPROCESS_SSL_ENABLED".into(), "true".into()),
            (
                "LIBPROCESS_SSL_KEY_FILE".into(),
                master_cert.key_file.display().to_string(),
            ),
            (
                "LIBPROCESS_SSL_CERT_FILE".into(),
                master_cert.cert_file.display().to_string(),
            ),
            ("LIBPROCESS_SSL_SUPPORT_DOWNGRADE".into(), "false".into()),
        ],
    );
    // Our client: upstream defaults (cipher list, TLS 1.2 only) plus full
    // verification of the master's certificate with the `openssl` scheme.
    let config = SslConfig {
        verify_cert: true,
        hostname_validation_scheme: HostnameValidationScheme::Openssl,
        ..pki.config(&our_cert)
    };
    assert_eq!(config.ciphers, libprocess::tls::DEFAULT_CIPHERS);
    let ctx = TlsContext::new(config).unwrap();
    let mut s = wait_ready(&master, &ctx).await;
    assert!(s.is_tls());
    assert_eq!(s.protocol_version(), Some("TLSv1.2"));
    let cipher = s.cipher_name().unwrap();
    assert!(
        libprocess::tls::DEFAULT_CIPHERS
            .split(':')
            .any(|c| c == cipher),
        "negotiated {cipher}, not one of upstream's defaults"
    );
    eprintln!(
        "negotiated {} {cipher} with the real master",
        s.protocol_version().unwrap()
    );
    let (status, body) = get(&mut s, "/version").await.unwrap();
    assert_eq!(status, 200, "{body}");
    // libprocess' JSON writer has no spaces: `"version":"1.9.0"`.
    assert!(body.contains("\"version\":\"1.9.0\""), "{body}");
    assert!(body.contains("\"git_tag\":\"1.9.0\""), "{body}");

    // Plain HTTP is refused by the real master (downgrade off)…
    let mut plain = TcpStream::connect(master.addr()).await.unwrap();
    let r = tokio::time::timeout(Duration::from_secs(10), get(&mut plain, "/version")).await;
    assert!(
        !matches!(r, Ok(Ok((200, _)))),
        "real master served plain HTTP with downgrade off"
    );
    // …and our client with downgrade support falls back to it only when the
    // TLS attempt fails: here TLS works, so it stays TLS.
    let downgrading = TlsContext::new(SslConfig {
        support_downgrade: true,
        ..pki.config(&our_cert)
    })
    .unwrap();
    let s = downgrading
        .connector()
        .connect(master.addr(), None)
        .await
        .unwrap();
    assert!(s.is_tls());

    // Our client verifying against a CA that did not sign the master's
    // certificate is refused with the reason.
    let stranger = Pki::generate_named("stranger").unwrap();
    let strict = TlsContext::new(SslConfig {
        verify_cert: true,
        ca_file: Some(stranger.ca_file().to_path_buf()),
        ..pki.config(&our_cert)
    })
    .unwrap();
    let e = strict
        .connector()
        .connect(master.addr(), Some("localhost"))
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("unable to get local issuer certificate"),
        "{e}"
    );
}

/// Our minimal libprocess endpoint: reads requests, answers 202, reports
/// each request path.
async fn serve_messages(
    listener: TcpListener,
    ctx: Arc<TlsContext>,
    tx: mpsc::UnboundedSender<String>,
) {
    let acceptor = ctx.acceptor();
    while let Ok((tcp, peer)) = listener.accept().await {
        let acceptor = acceptor.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut s = match acceptor.accept(tcp).await {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(format!("REJECTED {peer}: {e}"));
                    return;
                }
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            loop {
                // Parse as many complete requests as are buffered.
                while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..end]).to_string();
                    let len = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())
                                .flatten()
                        })
                        .unwrap_or(0);
                    if buf.len() < end + 4 + len {
                        break;
                    }
                    let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                    buf.drain(..end + 4 + len);
                    let _ = tx.send(path);
                    let _ = s
                        .write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                        .await;
                }
                match s.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
        });
    }
}

/// Sends `RegisterFrameworkMessage` from `scheduler-tls@127.0.0.1:<our_port>`
/// to the master over our TLS client; returns the master's reply status.
async fn register_framework(ctx: &Arc<TlsContext>, master: &RealMaster, our_port: u16) -> u16 {
    let from = format!("scheduler-tls@127.0.0.1:{our_port}");
    let body = RegisterFrameworkMessage {
        framework: FrameworkInfo {
            user: "root".into(),
            name: "tls-interop".into(),
            ..Default::default()
        },
    }
    .encode_to_vec();
    let mut s = ctx
        .connector()
        .with_handshake_timeout(Duration::from_secs(10))
        .connect(master.addr(), Some("localhost"))
        .await
        .unwrap_or_else(|e| panic!("connect to real master: {e}\n{}", master.log_tail()));
    let head = format!(
        "POST /master/mesos.internal.RegisterFrameworkMessage HTTP/1.1\r\n\
         User-Agent: libprocess/{from}\r\nLibprocess-From: {from}\r\n\
         Connection: Keep-Alive\r\nHost: \r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&body).await.unwrap();
    s.flush().await.unwrap();
    let (status, _) = tokio::time::timeout(Duration::from_secs(10), read_response(&mut s))
        .await
        .expect("master reply")
        .expect("master reply");
    status
}

/// Waits for the master's `FrameworkRegisteredMessage`; `None` after `wait`.
async fn framework_registered(
    rx: &mut mpsc::UnboundedReceiver<String>,
    wait: Duration,
) -> (bool, Vec<String>) {
    let deadline = tokio::time::Instant::now() + wait;
    let mut seen = Vec::new();
    while let Ok(Some(p)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        let done = p == "/scheduler-tls/mesos.internal.FrameworkRegisteredMessage";
        seen.push(p);
        if done {
            return (true, seen);
        }
    }
    (false, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_master_verifies_our_tls_server() {
    let Some(bin) = kit_bin() else { return };
    let pki = Pki::generate().unwrap();
    let stranger = Pki::generate_named("stranger").unwrap();
    let master_cert = pki.issue(&CertSpec::server("localhost")).unwrap();
    let valid = pki.issue(&CertSpec::server("localhost")).unwrap();
    let untrusted = stranger.issue(&CertSpec::server("localhost")).unwrap();
    let wrong_ip = pki
        .issue(&CertSpec {
            ips: vec![[10, 9, 8, 7].into()],
            ..CertSpec::server("localhost")
        })
        .unwrap();

    // The strict 1.9 set-up: REQUIRE_CERT (implies VERIFY_CERT), the openssl
    // scheme, and VERIFY_IPADD since pids carry IPs, not names.
    let master_config = SslConfig {
        require_cert: true,
        verify_ipadd: true,
        hostname_validation_scheme: HostnameValidationScheme::Openssl,
        ..pki.config(&master_cert)
    };
    let master = RealMaster::start(&bin, pki.dir(), &master_config.to_env());

    let client_ctx = TlsContext::new(SslConfig {
        verify_cert: true,
        ..pki.config(&valid)
    })
    .unwrap();
    drop(wait_ready(&master, &client_ctx).await);

    // A client without a certificate is refused by the real master.
    {
        let mut b = SslConnector::builder(SslMethod::tls()).unwrap();
        b.set_verify(SslVerifyMode::NONE);
        let ssl = b
            .build()
            .configure()
            .unwrap()
            .into_ssl("localhost")
            .unwrap();
        let tcp = TcpStream::connect(master.addr()).await.unwrap();
        let mut s = tokio_openssl::SslStream::new(ssl, tcp).unwrap();
        let refused = match std::pin::Pin::new(&mut s).connect().await {
            Err(_) => true,
            Ok(()) => !matches!(get(&mut s, "/version").await, Ok((200, _))),
        };
        assert!(
            refused,
            "real master with REQUIRE_CERT served a client without a certificate"
        );
    }

    for (name, cert, should_verify) in [
        ("valid", &valid, true),
        ("untrusted CA", &untrusted, false),
        ("wrong IP", &wrong_ip, false),
    ] {
        let server_ctx = TlsContext::new(pki.config(cert)).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let our_port = listener.local_addr().unwrap().port();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let server = tokio::spawn(serve_messages(listener, server_ctx, tx));

        // Our client (valid certificate) is accepted by REQUIRE_CERT.
        let status = register_framework(&client_ctx, &master, our_port).await;
        assert_eq!(
            status,
            202,
            "master did not take our message:\n{}",
            master.log_tail()
        );

        let wait = if should_verify { 20 } else { 6 };
        let (registered, seen) = framework_registered(&mut rx, Duration::from_secs(wait)).await;
        assert_eq!(
            registered,
            should_verify,
            "{name}: real master {} our server; saw {seen:?}\nmaster log:\n{}",
            if should_verify {
                "did not reach"
            } else {
                "accepted"
            },
            master.log_tail()
        );
        eprintln!("{name}: {seen:?}");
        if !should_verify {
            // The master did try to reach us, and aborted the handshake on
            // our certificate: nothing got through.
            assert!(!seen.is_empty(), "{name}: the master never connected");
            assert!(
                seen.iter().all(|p| p.starts_with("REJECTED")),
                "{name}: {seen:?}"
            );
        }
        server.abort();
    }
    let _keep: &Issued = &master_cert;
}
