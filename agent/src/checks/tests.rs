use super::*;
use mesos_proto::mesos::health_check::{HttpCheckInfo, TcpCheckInfo};

fn command_check(value: &str) -> HealthCheck {
    let mut h = HealthCheck {
        command: Some(CommandInfo {
            value: Some(value.into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    h.set_type(health_check::Type::Command);
    h
}

fn config(grace: u64, failures: u32) -> HealthConfig {
    let mut h = command_check("true");
    h.grace_period_seconds = Some(grace as f64);
    h.consecutive_failures = Some(failures);
    HealthConfig::from_proto(&h).unwrap()
}

fn fail() -> Result<(), String> {
    Err("boom".into())
}

#[test]
fn defaults_and_validation_follow_upstream() {
    let c = HealthConfig::from_proto(&command_check("true")).unwrap();
    assert_eq!(c.delay, Duration::from_secs(15));
    assert_eq!(c.interval, Duration::from_secs(10));
    assert_eq!(c.timeout, Some(Duration::from_secs(20)));
    assert_eq!(c.consecutive_failures, 3);
    assert_eq!(c.grace_period, Duration::from_secs(10));
    // timeout 0 = unlimited.
    let mut h = command_check("true");
    h.timeout_seconds = Some(0.0);
    assert_eq!(HealthConfig::from_proto(&h).unwrap().timeout, None);
    // Refused: no type, missing info, negative durations, bad port/path.
    let mut bad = vec![HealthCheck::default()];
    let mut h = command_check("true");
    h.command = None;
    bad.push(h);
    let mut h = command_check("true");
    h.interval_seconds = Some(-1.0);
    bad.push(h);
    let mut h = HealthCheck::default();
    h.set_type(health_check::Type::Http);
    bad.push(h.clone());
    h.http = Some(HttpCheckInfo {
        port: 70000,
        ..Default::default()
    });
    bad.push(h.clone());
    h.http = Some(HttpCheckInfo {
        port: 80,
        path: Some("nope".into()),
        ..Default::default()
    });
    bad.push(h.clone());
    h.http = Some(HttpCheckInfo {
        port: 80,
        scheme: Some("ftp".into()),
        ..Default::default()
    });
    bad.push(h);
    let mut h = HealthCheck::default();
    h.set_type(health_check::Type::Tcp);
    bad.push(h);
    for b in bad {
        assert!(HealthConfig::from_proto(&b).is_err(), "{b:?} accepted");
    }
    let mut h = HealthCheck::default();
    h.set_type(health_check::Type::Http);
    h.http = Some(HttpCheckInfo {
        port: 8080,
        ..Default::default()
    });
    assert_eq!(
        HealthConfig::from_proto(&h).unwrap().kind,
        CheckKind::Http {
            scheme: "http".into(),
            ipv6: false,
            port: 8080,
            path: "/".into()
        }
    );
}

#[test]
fn first_success_and_recovery_are_reported_once() {
    let t0 = Instant::now();
    let mut t = HealthTracker::new(&config(0, 3), t0);
    let healthy = Some(HealthEvent {
        healthy: true,
        consecutive_failures: 0,
        kill_task: false,
    });
    assert_eq!(t.record(t0, &Ok(())), healthy);
    // Further successes change nothing.
    assert_eq!(t.record(t0 + Duration::from_secs(1), &Ok(())), None);
    assert_eq!(t.record(t0 + Duration::from_secs(2), &Ok(())), None);
    // A failure is reported, then the recovery.
    let e = t.record(t0 + Duration::from_secs(3), &fail()).unwrap();
    assert!(!e.healthy && !e.kill_task && e.consecutive_failures == 1);
    assert_eq!(t.record(t0 + Duration::from_secs(4), &Ok(())), healthy);
    assert_eq!(t.consecutive_failures(), 0);
}

#[test]
fn consecutive_failures_ask_for_the_kill() {
    let t0 = Instant::now();
    let mut t = HealthTracker::new(&config(0, 3), t0);
    let s = |n| t0 + Duration::from_secs(n);
    // Without a grace period the first failures count right away.
    let e1 = t.record(s(1), &fail()).unwrap();
    let e2 = t.record(s(2), &fail()).unwrap();
    assert_eq!((e1.consecutive_failures, e1.kill_task), (1, false));
    assert_eq!((e2.consecutive_failures, e2.kill_task), (2, false));
    // A success in between resets the count.
    assert!(t.record(s(3), &Ok(())).unwrap().healthy);
    assert!(!t.record(s(4), &fail()).unwrap().kill_task);
    assert!(!t.record(s(5), &fail()).unwrap().kill_task);
    let e = t.record(s(6), &fail()).unwrap();
    assert_eq!(
        e,
        HealthEvent {
            healthy: false,
            consecutive_failures: 3,
            kill_task: true
        }
    );
}

#[test]
fn grace_period_hides_failures_until_first_success() {
    let t0 = Instant::now();
    let s = |n| t0 + Duration::from_secs(n);
    let mut t = HealthTracker::new(&config(10, 1), t0);
    // Within the grace period (inclusive bound, as upstream's `<=`).
    assert_eq!(t.record(s(1), &fail()), None);
    assert_eq!(t.record(s(10), &fail()), None);
    assert_eq!(t.consecutive_failures(), 0);
    // After it, a failure counts; with consecutive_failures = 1 it kills.
    let e = t.record(s(11), &fail()).unwrap();
    assert!(e.kill_task && !e.healthy);

    // Once healthy, the grace period no longer shields failures.
    let mut t = HealthTracker::new(&config(10, 2), t0);
    assert!(t.record(s(1), &Ok(())).unwrap().healthy);
    let e = t.record(s(2), &fail()).unwrap();
    assert_eq!((e.consecutive_failures, e.kill_task), (1, false));
    assert!(t.record(s(3), &fail()).unwrap().kill_task);
}

#[test]
fn command_checks_run_with_environment_and_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let env: BTreeMap<String, String> = [("HC_VAR".to_string(), "yes".to_string())].into();
    let mut h = command_check(r#"test "$HC_VAR" = yes && test -f marker"#);
    h.timeout_seconds = Some(5.0);
    let c = HealthConfig::from_proto(&h).unwrap();
    // Runs in the sandbox: no marker yet.
    assert_eq!(
        run_check(&c, &env, dir.path(), None),
        Err("Command exited with status 1".into())
    );
    std::fs::write(dir.path().join("marker"), "").unwrap();
    assert_eq!(run_check(&c, &env, dir.path(), None), Ok(()));
    // A hanging check, even one leaving a background child holding its
    // output, fails at the timeout.
    let mut h = command_check("sleep 30 & sleep 30");
    h.timeout_seconds = Some(0.3);
    let c = HealthConfig::from_proto(&h).unwrap();
    let start = Instant::now();
    let r = run_check(&c, &env, dir.path(), None);
    assert!(r.unwrap_err().contains("timed out"));
    assert!(start.elapsed() < Duration::from_secs(20));
}

/// A one-shot HTTP server on an ephemeral port answering `status`.
fn serve(status: &'static str) -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = l.accept() {
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf);
            let req = String::from_utf8_lossy(&buf).to_string();
            let status = if req.starts_with("GET /health HTTP/1.") {
                status
            } else {
                "400 Bad Request"
            };
            let _ =
                s.write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes());
        }
    });
    port
}

fn http_config(port: u16) -> HealthConfig {
    let mut h = HealthCheck::default();
    h.set_type(health_check::Type::Http);
    h.timeout_seconds = Some(5.0);
    h.http = Some(HttpCheckInfo {
        port: port as u32,
        path: Some("/health".into()),
        ..Default::default()
    });
    HealthConfig::from_proto(&h).unwrap()
}

#[test]
fn http_checks_accept_200_to_399() {
    let env = BTreeMap::new();
    let dir = std::env::temp_dir();
    for (status, ok) in [
        ("200 OK", true),
        ("302 Found", true),
        ("399 Whatever", true),
        ("404 Not Found", false),
        ("503 Service Unavailable", false),
    ] {
        let r = run_check(&http_config(serve(status)), &env, &dir, None);
        assert_eq!(r.is_ok(), ok, "{status}: {r:?}");
    }
    // Nothing listening: a failure, not a hang.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert!(run_check(&http_config(closed), &env, &dir, None).is_err());
}

#[test]
fn tcp_checks_connect() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let mut h = HealthCheck::default();
    h.set_type(health_check::Type::Tcp);
    h.tcp = Some(TcpCheckInfo {
        port: port as u32,
        ..Default::default()
    });
    let c = HealthConfig::from_proto(&h).unwrap();
    let env = BTreeMap::new();
    assert_eq!(run_check(&c, &env, &std::env::temp_dir(), None), Ok(()));
    drop(l);
    assert!(run_check(&c, &env, &std::env::temp_dir(), None).is_err());
}
