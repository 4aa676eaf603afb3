//! Authentication as upstream 1.9 does it, against the real thing:
//! - a real 1.9.0 agent with `--credential` authenticates to our master over
//!   CRAM-MD5 and registers under `--authenticate_agents`; one with a wrong
//!   secret never registers;
//! - our agent authenticates the same way to the real 1.9.0 master and to
//!   ours;
//! - HTTP Basic on the read-only, read-write and scheduler realms: the same
//!   requests (no, wrong and right credentials) get the same status codes and
//!   `WWW-Authenticate` challenges from the real 1.9.0 master and from ours,
//!   and likewise from the real 1.9.0 agent and ours.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{free_port, kit_bin, wait_until, Guard};
use serde_json::Value;

const GOOD: &str = "Basic dGVzdC1wcmluY2lwYWw6dGVzdC1zZWNyZXQ="; // test-principal:test-secret
const BAD: &str = "Basic dGVzdC1wcmluY2lwYWw6bm9wZQ=="; // test-principal:nope

/// One request; the status, the `WWW-Authenticate` header and the body.
fn request(
    port: u16,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: &str,
) -> Option<(u16, Option<String>, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let challenge = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("www-authenticate")
            .then(|| v.trim().to_string())
    });
    Some((status, challenge, body.to_string()))
}

fn write_files(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("credentials"),
        r#"{"credentials":[{"principal":"test-principal","secret":"test-secret"},{"principal":"other","secret":"s2"}]}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("good-credential"),
        r#"{"principal":"test-principal","secret":"test-secret"}"#,
    )
    .unwrap();
    std::fs::write(dir.join("bad-credential"), "test-principal wrong-secret\n").unwrap();
}

/// The flags both masters run with.
fn auth_flags(dir: &Path) -> Vec<String> {
    vec![
        "--authenticate_agents=true".into(),
        "--authenticate_http_readonly=true".into(),
        "--authenticate_http_readwrite=true".into(),
        "--authenticate_http_frameworks=true".into(),
        "--http_framework_authenticators=basic".into(),
        format!("--credentials={}", dir.join("credentials").display()),
    ]
}

/// Our `mesos-master` with [`auth_flags`], once it answers.
fn start_our_master(dir: &Path, port: u16, work: &str) -> Guard {
    let g = Guard(Some(
        Command::new(env!("CARGO_BIN_EXE_mesos-master"))
            .args([
                "--ip=127.0.0.1".to_string(),
                format!("--port={port}"),
                "--registry=in_memory".to_string(),
                format!("--work_dir={}", dir.join(work).display()),
            ])
            .args(auth_flags(dir))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    ));
    wait_until(Duration::from_secs(20), || {
        request(port, "GET", "/version", None, "")
    })
    .expect("our master up");
    g
}

/// The real 1.9.0 master (no agents of its own) with [`auth_flags`].
fn start_real_master(local: &Path, dir: &Path, port: u16) -> Guard {
    let g = Guard(Some(
        Command::new(local)
            .args([
                format!("--port={port}"),
                "--ip=127.0.0.1".to_string(),
                "0".into(),
            ])
            .args(auth_flags(dir))
            .env("MESOS_WORK_DIR", dir.join("real-master"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    ));
    wait_until(Duration::from_secs(20), || {
        request(port, "GET", "/version", None, "")
    })
    .expect("real master up");
    g
}

fn agents(port: u16) -> Vec<Value> {
    request(port, "GET", "/master/slaves", Some(GOOD), "")
        .and_then(|(_, _, b)| serde_json::from_str::<Value>(&b).ok())
        .and_then(|v| v["slaves"].as_array().cloned())
        .unwrap_or_default()
}

fn metric(port: u16, name: &str) -> f64 {
    request(port, "GET", "/metrics/snapshot", Some(GOOD), "")
        .and_then(|(_, _, b)| serde_json::from_str::<Value>(&b).ok())
        .and_then(|v| v[name].as_f64())
        .unwrap_or(0.0)
}

fn start_real_agent(master_port: u16, dir: &Path, name: &str, credential: &str) -> Guard {
    let port = free_port();
    Guard(Some(
        Command::new(kit_bin("mesos-ref-agent").unwrap())
            .arg(format!("127.0.0.1:{master_port}"))
            .arg(format!("--port={port}"))
            .arg(format!("--work_dir={}", dir.join(name).display()))
            .arg(format!("--credential={}", dir.join(credential).display()))
            .arg("--resources=cpus:1;mem:256;disk:256")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    ))
}

#[test]
fn real_agents_authenticate_with_crammd5_to_our_master() {
    if kit_bin("mesos-ref-agent").is_none() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("mesos-authn-agents-{}", free_port()));
    let _ = std::fs::remove_dir_all(&dir);
    write_files(&dir);
    let port = free_port();
    let _master = start_our_master(&dir, port, "master");

    let _good = start_real_agent(port, &dir, "good", "good-credential");
    let registered = wait_until(Duration::from_secs(30), || {
        let a = agents(port);
        (a.len() == 1).then_some(a)
    })
    .expect("the agent with the right secret registers");
    assert_eq!(registered[0]["resources"]["cpus"], 1.0);

    // The wrong secret: the agent tries (the master counts the request) but
    // is refused registration.
    let _bad = start_real_agent(port, &dir, "bad", "bad-credential");
    assert_second_agent_refused(port);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A second agent, with the wrong secret, tries to authenticate (the
/// master counts it) and is not registered: one agent stays.
fn assert_second_agent_refused(port: u16) {
    wait_until(Duration::from_secs(30), || {
        (metric(port, "master/messages_authenticate") >= 2.0).then_some(())
    })
    .expect("the agent with the wrong secret tries to authenticate");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        agents(port).len(),
        1,
        "an agent with a wrong secret registered"
    );
}

fn start_our_agent(master_port: u16, dir: &Path, name: &str, credential: &str) -> Guard {
    Guard(Some(
        Command::new(env!("CARGO_BIN_EXE_mesos-agent"))
            .arg(format!("--master=127.0.0.1:{master_port}"))
            .arg(format!("--work_dir={}", dir.join(name).display()))
            .arg(format!("--port={}", free_port()))
            .arg("--ip=127.0.0.1")
            .arg(format!("--credential={}", dir.join(credential).display()))
            .arg("--resources=cpus:1;mem:256;disk:256")
            .arg("--authentication_timeout_min=2secs")
            .env_remove("MESOS_WORK_DIR")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mesos-agent"),
    ))
}

#[test]
fn our_agent_authenticates_with_the_real_master_and_ours() {
    let Some(local) = kit_bin("mesos-ref-local") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("mesos-authn-ours-{}", free_port()));
    let _ = std::fs::remove_dir_all(&dir);
    write_files(&dir);

    // The real 1.9.0 master (no agents of its own) takes our agent.
    let real_port = free_port();
    let _real = start_real_master(&local, &dir, real_port);
    let _a = start_our_agent(real_port, &dir, "agent-real", "good-credential");
    wait_until(Duration::from_secs(30), || {
        (agents(real_port).len() == 1).then_some(())
    })
    .expect("our agent registers with the real master after CRAM-MD5");

    // Ours: the right secret registers, the wrong one does not.
    let port = free_port();
    let _master = start_our_master(&dir, port, "master");
    let _b = start_our_agent(port, &dir, "agent-ours", "good-credential");
    wait_until(Duration::from_secs(30), || {
        (agents(port).len() == 1).then_some(())
    })
    .expect("our agent registers with our master after CRAM-MD5");
    let _c = start_our_agent(port, &dir, "agent-bad", "bad-credential");
    assert_second_agent_refused(port);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn http_authentication_matches_the_real_master() {
    let Some(local) = kit_bin("mesos-ref-local") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("mesos-authn-http-{}", free_port()));
    let _ = std::fs::remove_dir_all(&dir);
    write_files(&dir);
    let cases: Vec<(&str, &str, Option<&str>, &str)> = vec![
        ("GET", "/master/state", None, ""),
        ("GET", "/master/state", Some(BAD), ""),
        ("GET", "/master/state", Some(GOOD), ""),
        ("GET", "/master/state", Some("Bearer abc"), ""),
        ("GET", "/master/state", Some("Basic !!!"), ""),
        ("GET", "/master/health", None, ""),
        ("GET", "/metrics/snapshot", None, ""),
        ("GET", "/metrics/snapshot", Some(GOOD), ""),
        ("GET", "/master/flags", None, ""),
        ("GET", "/master/roles", Some(GOOD), ""),
        ("POST", "/master/api/v1", None, r#"{"type":"GET_HEALTH"}"#),
        (
            "POST",
            "/master/api/v1",
            Some(BAD),
            r#"{"type":"GET_HEALTH"}"#,
        ),
        (
            "POST",
            "/master/api/v1",
            Some(GOOD),
            r#"{"type":"GET_HEALTH"}"#,
        ),
        ("POST", "/master/teardown", None, "frameworkId=x"),
        ("GET", "/master/weights", None, ""),
        ("POST", "/master/api/v1/scheduler", None, "{}"),
        ("POST", "/master/api/v1/scheduler", Some(GOOD), "{}"),
        ("GET", "/version", None, ""),
    ];
    // Calls whose answer bodies must match too: a subscriber whose
    // FrameworkInfo.principal is not the one it authenticated as.
    let subscribe = |principal: &str| {
        format!(
            r#"{{"type":"SUBSCRIBE","subscribe":{{"framework_info":{{"user":"root","name":"x","principal":"{principal}"}}}}}}"#
        )
    };
    let exact = [subscribe("other")];
    let run = |port: u16| {
        let mut lines = matrix(port, &cases);
        for body in &exact {
            let answer = request(port, "POST", "/master/api/v1/scheduler", Some(GOOD), body);
            lines.push(format!("SUBSCRIBE {body}: {answer:?}"));
        }
        lines
    };

    let real_port = free_port();
    let real = start_real_master(&local, &dir, real_port);
    let upstream = run(real_port);
    drop(real);
    assert!(upstream[0].contains("Some((401"), "{}", upstream[0]);

    let our_port = free_port();
    let _ours = start_our_master(&dir, our_port, "our-master");
    let ours = run(our_port);
    let _ = std::fs::remove_dir_all(&dir);
    let d = differences(&upstream, &ours);
    assert!(d.is_empty(), "{}", d.join("\n"));
}

/// Answers to the same requests, one line each, for comparison.
fn matrix(port: u16, cases: &[(&str, &str, Option<&str>, &str)]) -> Vec<String> {
    cases
        .iter()
        .map(|(method, path, auth, body)| {
            let answer = request(port, method, path, *auth, body);
            format!(
                "{method} {path} {auth:?}: {:?}",
                answer.map(|(s, c, _)| (s, c))
            )
        })
        .collect()
}

fn differences(upstream: &[String], ours: &[String]) -> Vec<String> {
    upstream
        .iter()
        .zip(ours)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("upstream {a}\n    ours {b}"))
        .collect()
}

#[test]
fn agent_http_authentication_matches_the_real_agent() {
    let Some(real_agent) = kit_bin("mesos-ref-agent") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("mesos-authn-agent-http-{}", free_port()));
    let _ = std::fs::remove_dir_all(&dir);
    write_files(&dir);
    let flags = [
        "--authenticate_http_readonly=true".to_string(),
        "--authenticate_http_readwrite=true".to_string(),
        format!("--http_credentials={}", dir.join("credentials").display()),
        "--resources=cpus:1;mem:256;disk:256".to_string(),
    ];
    let cases: Vec<(&str, &str, Option<&str>, &str)> = vec![
        ("GET", "/slave(1)/state", None, ""),
        ("GET", "/slave(1)/state", Some(BAD), ""),
        ("GET", "/slave(1)/state", Some(GOOD), ""),
        ("GET", "/slave(1)/flags", None, ""),
        ("GET", "/slave(1)/health", None, ""),
        ("GET", "/slave(1)/containers", None, ""),
        ("GET", "/slave(1)/monitor/statistics", None, ""),
        ("POST", "/slave(1)/api/v1", None, r#"{"type":"GET_HEALTH"}"#),
        (
            "POST",
            "/slave(1)/api/v1",
            Some(GOOD),
            r#"{"type":"GET_HEALTH"}"#,
        ),
    ];
    // Neither agent needs its master for these endpoints.
    let nowhere = free_port();
    let real_port = free_port();
    let real = Guard(Some(
        Command::new(real_agent)
            .arg(format!("127.0.0.1:{nowhere}"))
            .arg(format!("--port={real_port}"))
            .arg(format!("--work_dir={}", dir.join("real").display()))
            .args(&flags)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    ));
    wait_until(Duration::from_secs(20), || {
        request(real_port, "GET", "/slave(1)/health", None, "")
    })
    .expect("real agent up");
    let upstream = matrix(real_port, &cases);
    drop(real);
    assert!(upstream[0].contains("Some((401"), "{}", upstream[0]);

    let our_port = free_port();
    let _ours = Guard(Some(
        Command::new(env!("CARGO_BIN_EXE_mesos-agent"))
            .arg(format!("--master=127.0.0.1:{nowhere}"))
            .arg(format!("--port={our_port}"))
            .arg("--ip=127.0.0.1")
            .arg(format!("--work_dir={}", dir.join("ours").display()))
            .args(&flags)
            .env_remove("MESOS_WORK_DIR")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    ));
    wait_until(Duration::from_secs(20), || {
        request(our_port, "GET", "/slave(1)/health", None, "")
    })
    .expect("our agent up");
    let ours = matrix(our_port, &cases);
    let _ = std::fs::remove_dir_all(&dir);
    let d = differences(&upstream, &ours);
    assert!(d.is_empty(), "{}", d.join("\n"));
}

#[test]
fn a_master_refuses_to_start_with_authentication_but_no_credentials() {
    let out = Command::new(env!("CARGO_BIN_EXE_mesos-master"))
        .args([
            "--ip=127.0.0.1",
            "--registry=in_memory",
            "--work_dir=/nonexistent-unused",
            "--authenticate_http_readonly",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("No credentials provided for the default 'basic' HTTP authenticator for realm 'mesos-master-readonly'"),
        "{stderr}"
    );
}
