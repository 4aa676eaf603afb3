//! Masters elected through a real ZooKeeper (`--zk`), agents and
//! frameworks finding the leader through it (`--master=zk://`), including
//! the real Mesos 1.9.0 agent and scheduler driver. Skipped when Debian's
//! `zookeeper` package (or, for the interop parts, the kit) is absent.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{free_port, http_call, http_get, kit_bin, wait_until, Guard};
use mesos_zookeeper::testing::ZkServer;

const WAIT: Duration = Duration::from_secs(25);

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mesos-zk-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn start_master(zk: &str, port: u16, dir: &Path) -> Guard {
    let log = std::fs::File::create(dir.join(format!("master-{port}.log"))).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_mesos-master"))
        .arg("--ip=127.0.0.1")
        .arg("--hostname=127.0.0.1")
        .arg(format!("--port={port}"))
        .arg(format!("--zk={zk}"))
        .arg("--quorum=1")
        .arg("--registry=in_memory")
        // Short sessions: a killed leader's znode goes quickly.
        .arg("--zk_session_timeout=2secs")
        .env_remove("MESOS_WORK_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start mesos-master");
    Guard(Some(child))
}

fn start_agent(zk: &str, port: u16, dir: &Path) -> Guard {
    let log = std::fs::File::create(dir.join(format!("agent-{port}.log"))).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_mesos-agent"))
        .arg(format!("--master={zk}"))
        .arg(format!(
            "--work_dir={}",
            dir.join(format!("agent-{port}")).display()
        ))
        .arg(format!("--port={port}"))
        .arg("--ip=127.0.0.1")
        .arg("--resources=cpus:2;mem:1024;disk:1024")
        .arg("--zk_session_timeout=2secs")
        .arg("--recovery_timeout=30secs")
        .env_remove("MESOS_WORK_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start mesos-agent");
    Guard(Some(child))
}

fn elected(port: u16) -> Option<f64> {
    let (_, body) = http_get(port, "/metrics/snapshot")?;
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    v.get("master/elected")?.as_f64()
}

/// `(status, Location)` of one request.
fn location(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out.split_whitespace().nth(1)?.parse().ok()?;
    let loc = out
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("location")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    Some((status, loc))
}

/// The ids of the active agents registered with the master at `port`.
fn active_agents(port: u16) -> Vec<String> {
    let Some((200, body)) = http_get(port, "/master/slaves") else {
        return Vec::new();
    };
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    v["slaves"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|s| s["active"] == true)
                .filter_map(|s| s["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn masters_elect_redirect_fail_over_and_agent_follows() {
    let Some(zk) = ZkServer::start() else { return };
    let url = zk.url("/mesos");
    let dir = temp_dir("failover");
    let (pa, pb, pagent) = (free_port(), free_port(), free_port());

    let a = start_master(&url, pa, &dir);
    wait_until(WAIT, || (elected(pa)? == 1.0).then_some(())).expect("the first master never led");
    let b = start_master(&url, pb, &dir);
    // The follower knows the leader: /master/redirect points there.
    let (status, loc) = wait_until(WAIT, || {
        let r = location(pb, "GET", "/master/redirect", "")?;
        (r.0 == 307).then_some(r)
    })
    .expect("the follower never redirected");
    assert_eq!(
        (status, loc.as_str()),
        (307, format!("//127.0.0.1:{pa}").as_str())
    );
    assert_eq!(elected(pb), Some(0.0));
    // Scheduler API calls go to the leader (307 with the same path).
    let sub = r#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n"}}}"#;
    let (status, loc) = location(pb, "POST", "/api/v1/scheduler", sub).unwrap();
    assert_eq!(status, 307);
    // The delegate is `master`, so the path is `/master/...` as upstream
    // libprocess rewrites delegated URLs.
    assert_eq!(loc, format!("//127.0.0.1:{pa}/master/api/v1/scheduler"));
    let (status, loc) = location(pb, "GET", "/master/state?jsonp=f", "").unwrap();
    assert_eq!(
        (status, loc),
        (307, format!("//127.0.0.1:{pa}/master/state?jsonp=f"))
    );
    // Unprotected endpoints stay local.
    assert_eq!(http_get(pb, "/master/health").map(|r| r.0), Some(200));

    // The agent follows the leader.
    let _agent = start_agent(&url, pagent, &dir);
    let ids = wait_until(WAIT, || {
        let ids = active_agents(pa);
        (!ids.is_empty()).then_some(ids)
    })
    .expect("the agent never registered with the leader");
    assert_eq!(ids.len(), 1);

    // The leader dies: the follower takes over and the agent re-registers
    // with it under the same id.
    // SIGKILL: no goodbye to ZooKeeper, the session has to time out.
    drop(a);
    wait_until(WAIT, || (elected(pb)? == 1.0).then_some(())).expect("the follower never took over");
    let ids2 = wait_until(WAIT, || {
        let ids = active_agents(pb);
        (!ids.is_empty()).then_some(ids)
    })
    .expect("the agent never re-registered with the new leader");
    assert_eq!(ids2, ids);
    let (status, loc) = location(pb, "GET", "/master/redirect", "").unwrap();
    assert_eq!((status, loc), (307, format!("//127.0.0.1:{pb}")));
    drop(b);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn no_leader_means_503() {
    let Some(zk) = ZkServer::start() else { return };
    let dir = temp_dir("noleader");
    // A contending master whose ZooKeeper is unreachable never learns a
    // leader: leader-only endpoints are 503 "No leader elected" (upstream
    // `Master::Http::redirect`), and it is not elected.
    let dead = format!("zk://127.0.0.1:{}/mesos", free_port());
    drop(zk);
    let p = free_port();
    let _m = start_master(&dead, p, &dir);
    let r = wait_until(WAIT, || {
        let (status, body) = http_call(p, "GET", "/master/state", "")?;
        Some((status, body))
    })
    .expect("master never answered");
    assert_eq!(r.0, 503, "{}", r.1);
    assert!(r.1.contains("No leader elected"), "{}", r.1);
    assert_eq!(elected(p), Some(0.0));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The real 1.9.0 agent and scheduler driver given `zk://` find our
/// leading master through the `json.info_` znode it wrote, and the agent
/// follows a failover to our other master.
#[test]
fn real_agent_and_driver_detect_our_leader_and_follow_failover() {
    let (Some(ref_agent), Some(framework)) =
        (kit_bin("mesos-ref-agent"), kit_bin("mesos-ref-framework"))
    else {
        return;
    };
    let Some(zk) = ZkServer::start() else { return };
    let url = zk.url("/mesos");
    let dir = temp_dir("interop");
    let (pm, pagent) = (free_port(), free_port());
    let _m = start_master(&url, pm, &dir);
    wait_until(WAIT, || (elected(pm)? == 1.0).then_some(())).expect("master never led");

    let log = std::fs::File::create(dir.join("ref-agent.log")).unwrap();
    let _agent = Guard(Some(
        Command::new(&ref_agent)
            .arg(&url)
            .arg(format!("--port={pagent}"))
            .arg("--ip=127.0.0.1")
            .arg(format!("--work_dir={}", dir.join("ref-agent").display()))
            .arg("--resources=cpus:2;mem:1024;disk:1024")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start mesos-ref-agent"),
    ));
    wait_until(Duration::from_secs(40), || {
        (!active_agents(pm).is_empty()).then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "the real agent never registered through ZooKeeper; its log:\n{}",
            std::fs::read_to_string(dir.join("ref-agent.log")).unwrap_or_default()
        )
    });

    // A second master follows; when ours dies the real agent finds the new
    // leader through ZooKeeper and re-registers under the same id.
    let pm2 = free_port();
    let m2 = start_master(&url, pm2, &dir);
    wait_until(WAIT, || {
        (location(pm2, "GET", "/master/redirect", "")?.0 == 307).then_some(())
    })
    .expect("second master never followed");
    let ids = active_agents(pm);
    drop(_m);
    wait_until(WAIT, || (elected(pm2)? == 1.0).then_some(()))
        .expect("the second master never took over");
    let ids2 = wait_until(Duration::from_secs(40), || {
        let ids = active_agents(pm2);
        (!ids.is_empty()).then_some(ids)
    })
    .expect("the real agent never re-registered with the new leader");
    assert_eq!(ids2, ids);

    let out = Command::new(&framework)
        .arg(&url)
        .arg("echo hello")
        .arg("60")
        .output()
        .expect("run mesos-ref-framework");
    assert!(
        out.status.success(),
        "the real driver failed via zk://: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    drop(m2);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A leader that loses ZooKeeper for longer than `--zk_session_timeout`
/// can no longer know it leads: it exits (upstream "Lost leadership...
/// committing suicide!"), so two masters never act at once.
#[test]
fn leader_exits_when_its_session_expires() {
    let Some(zk) = ZkServer::start() else { return };
    let dir = temp_dir("expiry");
    let p = free_port();
    let mut m = start_master(&zk.url("/mesos"), p, &dir);
    wait_until(WAIT, || (elected(p)? == 1.0).then_some(())).expect("master never led");
    drop(zk);
    let child = m.0.as_mut().unwrap();
    let status = wait_until(WAIT, || child.try_wait().ok().flatten())
        .expect("the leader kept running without ZooKeeper");
    assert!(!status.success(), "{status:?}");
    let log = std::fs::read_to_string(dir.join(format!("master-{p}.log"))).unwrap();
    assert!(log.contains("committing suicide"), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}
