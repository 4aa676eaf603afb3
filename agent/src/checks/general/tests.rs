use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;

use super::*;
use mesos_proto::mesos::check_info::{Http, Tcp};

fn command_check(value: &str) -> CheckInfo {
    let mut c = CheckInfo {
        command: Some(check_info::Command {
            command: CommandInfo {
                value: Some(value.into()),
                ..Default::default()
            },
        }),
        ..Default::default()
    };
    c.set_type(check_info::Type::Command);
    c
}

fn exit_code(code: i32) -> CheckStatusInfo {
    let mut s = empty_status(check_info::Type::Command);
    s.command = Some(check_status_info::Command {
        exit_code: Some(code),
    });
    s
}

#[test]
fn defaults_and_validation_follow_upstream() {
    let c = CheckConfig::from_proto(&command_check("true")).unwrap();
    assert_eq!(c.delay, Duration::from_secs(15));
    assert_eq!(c.interval, Duration::from_secs(10));
    assert_eq!(c.timeout, Some(Duration::from_secs(20)));
    let mut z = command_check("true");
    z.timeout_seconds = Some(0.0);
    assert_eq!(CheckConfig::from_proto(&z).unwrap().timeout, None);

    let mut cases: Vec<(CheckInfo, &str)> =
        vec![(CheckInfo::default(), "CheckInfo must specify 'type'")];
    let mut c = CheckInfo::default();
    c.set_type(check_info::Type::Unknown);
    cases.push((c, "'UNKNOWN' is not a valid check type"));
    let mut c = command_check("true");
    c.command = None;
    cases.push((c, "Expecting 'command' to be set for COMMAND check"));
    let mut c = command_check("true");
    c.command.as_mut().unwrap().command.value = None;
    cases.push((c, "Command check must contain 'shell command'"));
    let mut c = command_check("true");
    c.interval_seconds = Some(-1.0);
    cases.push((c, "Expecting 'interval_seconds' to be non-negative"));
    let mut c = CheckInfo::default();
    c.set_type(check_info::Type::Http);
    cases.push((c.clone(), "Expecting 'http' to be set for HTTP check"));
    c.http = Some(Http {
        port: 80,
        path: Some("x".into()),
    });
    cases.push((c, "The path 'x' of HTTP check must start with '/'"));
    let mut c = CheckInfo::default();
    c.set_type(check_info::Type::Tcp);
    cases.push((c, "Expecting 'tcp' to be set for TCP check"));
    for (c, want) in cases {
        assert_eq!(validate_check_info(&c).unwrap_err(), want, "{c:?}");
        assert!(CheckConfig::from_proto(&c).is_err());
    }
    // A TCP check with an HTTP field too is accepted, as upstream does.
    let mut c = CheckInfo::default();
    c.set_type(check_info::Type::Tcp);
    c.tcp = Some(Tcp { port: 8080 });
    c.http = Some(Http {
        port: 1,
        path: None,
    });
    assert_eq!(
        CheckConfig::from_proto(&c).unwrap().kind,
        CheckKind::Tcp {
            ipv6: false,
            port: 8080
        }
    );
}

#[test]
fn empty_status_has_the_field_of_its_type() {
    let s = empty_status(check_info::Type::Http);
    assert_eq!(s.r#type(), check_info::Type::Http);
    assert!(s.http.is_some() && s.command.is_none() && s.tcp.is_none());
    assert_eq!(s.http.unwrap().status_code, None);
    let s = empty_status(check_info::Type::Tcp);
    assert!(s.tcp.is_some_and(|t| t.succeeded.is_none()));
}

#[test]
fn results_map_probes_like_upstream() {
    let t = check_info::Type::Command;
    // Exit status 3 (wait status 3 << 8).
    assert_eq!(
        result_of(t, Ok(Probe::Exited(3 << 8))),
        Ok(Some(exit_code(3)))
    );
    // Killed by a signal, timed out: the check failed.
    assert!(result_of(t, Ok(Probe::Exited(libc::SIGKILL))).is_err());
    assert!(result_of(t, Err("Command timed out".into())).is_err());
    let s = result_of(check_info::Type::Http, Ok(Probe::HttpStatus(503)))
        .unwrap()
        .unwrap();
    assert_eq!(s.http.unwrap().status_code, Some(503));
    let s = result_of(check_info::Type::Tcp, Ok(Probe::Tcp(Err("refused".into()))))
        .unwrap()
        .unwrap();
    assert_eq!(s.tcp.unwrap().succeeded, Some(false));
}

#[test]
fn tracker_reports_only_changes() {
    let mut t = CheckTracker::new(check_info::Type::Command);
    assert_eq!(t.current(), &empty_status(check_info::Type::Command));
    // A failure while nothing was known: still the empty status, no update.
    assert_eq!(t.record(Err("timed out".into())), None);
    // Transient: nothing.
    assert_eq!(t.record(Ok(None)), None);
    assert_eq!(t.record(Ok(Some(exit_code(1)))), Some(exit_code(1)));
    assert_eq!(t.record(Ok(Some(exit_code(1)))), None);
    assert_eq!(t.record(Ok(None)), None);
    assert_eq!(t.record(Ok(Some(exit_code(0)))), Some(exit_code(0)));
    // A failure after a result: back to the empty status, reported once.
    assert_eq!(
        t.record(Err("timed out".into())),
        Some(empty_status(check_info::Type::Command))
    );
    assert_eq!(t.record(Err("timed out".into())), None);
    assert_eq!(t.record(Ok(Some(exit_code(0)))), Some(exit_code(0)));
}

fn run(c: &CheckInfo, dir: &std::path::Path) -> CheckResult {
    let config = CheckConfig::from_proto(c).unwrap();
    run_general_check(&config, &BTreeMap::new(), dir, None)
}

#[test]
fn command_check_reports_the_exit_code_and_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = command_check("test -f flag || exit 7");
    let s = run(&c, dir.path()).unwrap().unwrap();
    assert_eq!(s, exit_code(7));
    std::fs::write(dir.path().join("flag"), b"").unwrap();
    assert_eq!(run(&c, dir.path()).unwrap().unwrap(), exit_code(0));
    // The timeout bounds one check: a failure (the empty status).
    c = command_check("sleep 5");
    c.timeout_seconds = Some(0.3);
    let started = std::time::Instant::now();
    let r = run(&c, dir.path());
    assert!(r.is_err(), "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(4));
    let mut t = CheckTracker::new(check_info::Type::Command);
    t.record(Ok(Some(exit_code(0))));
    assert_eq!(t.record(r), Some(empty_status(check_info::Type::Command)));
}

#[test]
fn http_and_tcp_checks_report_what_they_see() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let mut c = CheckInfo {
        http: Some(Http {
            port: u32::from(port),
            path: Some("/ready".into()),
        }),
        timeout_seconds: Some(5.0),
        ..Default::default()
    };
    c.set_type(check_info::Type::Http);
    let s = run(&c, dir.path()).unwrap().unwrap();
    assert_eq!(s.http.unwrap().status_code, Some(503));
    let mut t = CheckInfo {
        tcp: Some(Tcp {
            port: u32::from(port),
        }),
        timeout_seconds: Some(5.0),
        ..Default::default()
    };
    t.set_type(check_info::Type::Tcp);
    let s = run(&t, dir.path()).unwrap().unwrap();
    assert_eq!(s.tcp.unwrap().succeeded, Some(true));
    // Nothing listens on a port just released: not connected; the HTTP
    // check cannot be performed at all (the empty status).
    let free = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = free.local_addr().unwrap().port();
    drop(free);
    t.tcp = Some(Tcp {
        port: u32::from(closed),
    });
    let s = run(&t, dir.path()).unwrap().unwrap();
    assert_eq!(s.tcp.unwrap().succeeded, Some(false));
    c.http.as_mut().unwrap().port = u32::from(closed);
    assert!(run(&c, dir.path()).is_err());
}

#[test]
fn nested_check_commands_start_in_the_task_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flag"), b"").unwrap();
    let sandbox = dir.path().display().to_string();
    let other = tempfile::tempdir().unwrap();
    let run_in_other = |c: &CommandInfo| {
        let mut cmd = if c.shell.unwrap_or(true) {
            let mut cmd = std::process::Command::new("/bin/sh");
            cmd.arg("-c").arg(c.value.clone().unwrap());
            cmd
        } else {
            let mut cmd = std::process::Command::new(c.value.clone().unwrap());
            cmd.args(c.arguments.iter().skip(1));
            cmd
        };
        for v in &c.environment.as_ref().unwrap().variables {
            cmd.env(&v.name, v.value.clone().unwrap());
        }
        cmd.current_dir(other.path()).status().unwrap().code()
    };
    let shell = CommandInfo {
        value: Some("test -f flag && test \"$MESOS_SANDBOX\" = \"$PWD\"".into()),
        ..Default::default()
    };
    assert_eq!(
        run_in_other(&nested_check_command(&shell, &sandbox)),
        Some(0)
    );
    let argv = CommandInfo {
        shell: Some(false),
        value: Some("/bin/test".into()),
        arguments: vec!["test".into(), "-f".into(), "flag".into()],
        ..Default::default()
    };
    assert_eq!(
        run_in_other(&nested_check_command(&argv, &sandbox)),
        Some(0)
    );
    std::fs::remove_file(dir.path().join("flag")).unwrap();
    assert_eq!(
        run_in_other(&nested_check_command(&argv, &sandbox)),
        Some(1)
    );
}

#[test]
fn check_status_validation_follows_upstream() {
    assert!(validate_check_status_info(&empty_status(check_info::Type::Tcp)).is_ok());
    assert_eq!(
        validate_check_status_info(&CheckStatusInfo::default()).unwrap_err(),
        "CheckStatusInfo must specify 'type'"
    );
    let mut s = CheckStatusInfo::default();
    s.set_type(check_info::Type::Http);
    assert_eq!(
        validate_check_status_info(&s).unwrap_err(),
        "Expecting 'http' to be set for HTTP check's status"
    );
    s.set_type(check_info::Type::Unknown);
    assert!(validate_check_status_info(&s).is_err());
}
