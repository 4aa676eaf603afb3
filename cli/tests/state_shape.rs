//! The operator's view of the same scenario on the real 1.9.0 master and on
//! ours: `/master/state`, `/master/state-summary` and the v1 `GET_STATE` and
//! `GET_LOGGING_LEVEL` answers must have the same fields with the same JSON
//! types (ids, timestamps and other values aside).
//!
//! Scenario, run once per master: the real 1.9.0 standalone agent registers,
//! a v1 scheduler launches `sleep` and the task is TASK_RUNNING when we look.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{free_port, http_get, http_post_json, kit_bin, wait_until, Guard};
use serde_json::Value;

/// Every path in a JSON document with the type found there. Array elements
/// share the path `[]`; object keys that are data (resource names in maps
/// such as `offer_filters`) still count, since both masters print the same.
fn shape(v: &Value, path: String, out: &mut BTreeMap<String, &'static str>) {
    let t = match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(a) => {
            for x in a {
                shape(x, format!("{path}[]"), out);
            }
            "array"
        }
        Value::Object(o) => {
            for (k, x) in o {
                shape(x, format!("{path}.{k}"), out);
            }
            "object"
        }
    };
    out.insert(path, t);
}

/// Runs the scenario against the master on `port`; returns the documents.
fn scenario(port: u16, work: &Path) -> Vec<(&'static str, Value)> {
    let agent_port = free_port();
    let agent = Command::new(kit_bin("mesos-ref-agent").unwrap())
        .arg(format!("127.0.0.1:{port}"))
        .arg(format!("--port={agent_port}"))
        .arg(format!("--work_dir={}", work.display()))
        .arg("--resources=cpus:2;mem:1024;disk:1024;ports:[31000-31100]")
        .env("LIBPROCESS_IP", "127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _agent = Guard(Some(agent));
    let sched = Command::new(kit_bin("ref-v1-scheduler").unwrap())
        .args([
            format!("127.0.0.1:{port}"),
            "sleep 30".to_string(),
            "60".to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _sched = Guard(Some(sched));
    let state = wait_until(Duration::from_secs(30), || {
        let (_, body) = http_get(port, "/master/state")?;
        let v: Value = serde_json::from_str(&body).ok()?;
        let running = v["frameworks"].as_array()?.iter().any(|f| {
            f["tasks"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t["state"] == "TASK_RUNNING"))
        });
        running.then_some(v)
    })
    .expect("a running task in /master/state");
    let v1 = |call: &str| -> Value {
        let (_, body) = http_post_json(port, "/api/v1", call).expect(call);
        serde_json::from_str(&body).expect(call)
    };
    let (_, summary) = http_get(port, "/master/state-summary").expect("/master/state-summary");
    vec![
        ("/master/state", state),
        ("GET_STATE", v1(r#"{"type":"GET_STATE"}"#)),
        (
            "/master/state-summary",
            serde_json::from_str(&summary).expect("state-summary JSON"),
        ),
        ("GET_LOGGING_LEVEL", v1(r#"{"type":"GET_LOGGING_LEVEL"}"#)),
    ]
}

fn differences(real: &Value, ours: &Value) -> Vec<String> {
    let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
    shape(real, String::new(), &mut a);
    shape(ours, String::new(), &mut b);
    let mut out = Vec::new();
    for (path, t) in &a {
        match b.get(path) {
            None => out.push(format!("missing {path} ({t})")),
            Some(u) if u != t => out.push(format!("{path}: {t} upstream, {u} ours")),
            _ => {}
        }
    }
    for path in b.keys().filter(|p| !a.contains_key(*p)) {
        out.push(format!("extra {path}"));
    }
    out
}

#[test]
fn state_has_upstreams_fields_and_types() {
    let (Some(local), Some(_), Some(_)) = (
        kit_bin("mesos-ref-local"),
        kit_bin("mesos-ref-agent"),
        kit_bin("ref-v1-scheduler"),
    ) else {
        return;
    };
    let root = std::env::temp_dir().join(format!("mesos-state-shape-{}", free_port()));
    let _ = std::fs::remove_dir_all(&root);

    let real_port = free_port();
    let real = Command::new(local)
        .args([
            format!("--port={real_port}"),
            "--ip=127.0.0.1".to_string(),
            "0".to_string(),
        ])
        .env("MESOS_WORK_DIR", root.join("real-master"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let real = Guard(Some(real));
    wait_until(Duration::from_secs(20), || http_get(real_port, "/version"))
        .expect("real master up");
    let real_docs = scenario(real_port, &root.join("real-agent"));
    drop(real);

    let our_port = free_port();
    let ours = Command::new(env!("CARGO_BIN_EXE_mesos-master"))
        .args([
            "--ip=127.0.0.1".to_string(),
            format!("--port={our_port}"),
            "--registry=in_memory".to_string(),
            format!("--work_dir={}", root.join("our-master").display()),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _ours = Guard(Some(ours));
    wait_until(Duration::from_secs(20), || http_get(our_port, "/version")).expect("our master up");
    let our_docs = scenario(our_port, &root.join("our-agent"));

    let report: Vec<String> = real_docs
        .iter()
        .zip(&our_docs)
        .filter_map(|((name, real), (_, ours))| {
            let d = differences(real, ours);
            (!d.is_empty()).then(|| format!("{name}:\n  {}", d.join("\n  ")))
        })
        .collect();
    let _ = std::fs::remove_dir_all(&root);
    assert!(report.is_empty(), "{}", report.join("\n"));
}
