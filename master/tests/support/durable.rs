//! A simulated master that can sit on the replicated-log registry and be
//! crashed and restarted on it (upstream recovers drain state, deactivation
//! and quota configs in `Master::_recover`), plus v1 operator helpers that
//! speak JSON or protobuf as upstream's `ContentType` parameterised tests.

use std::path::PathBuf;

use bytes::Bytes;
use http::{Method, StatusCode};
use libprocess::runtime::sim::{Sim, SimConfig};
use libprocess::{Pid, Request};
use mesos_master::registrar::{InMemoryRegistrar, ReplicatedLogRegistrar};
use mesos_master::{Master, MasterFlags};
use prost::Message;
use serde_json::{json, Value};

use super::{master_addr, master_of, MASTER_ID};

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "mesos-sim-{name}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn make_master(dir: Option<&TempDir>, extra: &[String]) -> Master {
    let registry = if dir.is_some() {
        "--registry=replicated_log"
    } else {
        "--registry=in_memory"
    };
    let mut args = vec![registry.to_string()];
    args.extend(extra.iter().cloned());
    let flags = MasterFlags::load(args, Vec::<(String, String)>::new()).expect("flags");
    match dir {
        Some(d) => {
            let reg = ReplicatedLogRegistrar::open(&d.0, true).expect("open registry");
            Master::with_registrar(flags, MASTER_ID, "master-host", Box::new(reg))
        }
        None => Master::with_registrar(
            flags,
            MASTER_ID,
            "master-host",
            Box::new(InMemoryRegistrar::new()),
        ),
    }
}

/// The master at `master_addr()`, on the in-memory registry or (durable)
/// on a replicated log in a temp dir that outlives [`Cluster::restart`].
pub struct Cluster {
    pub sim: Sim,
    pub m: Pid<Master>,
    pub dir: Option<TempDir>,
    flags: Vec<String>,
}

impl Cluster {
    pub fn new(seed: u64, durable: bool, extra: &[&str]) -> Cluster {
        let dir = durable.then(|| TempDir::new(&format!("s{seed}")));
        let flags: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let mut sim = Sim::with_config(SimConfig::from_env(seed));
        sim.add_node(master_addr());
        sim.set_delegate(master_addr(), "master");
        let m = sim.spawn(master_addr(), "master", make_master(dir.as_ref(), &flags));
        sim.settle();
        Cluster { sim, m, dir, flags }
    }

    pub fn durable(&self) -> bool {
        self.dir.is_some()
    }

    /// Crashes the master and starts a new one on the same registry.
    pub fn restart(&mut self) {
        self.sim.crash_actor(&self.m.upid);
        self.m = self
            .sim
            .restart_actor(&self.m.upid, make_master(self.dir.as_ref(), &self.flags))
            .expect("restarted");
        self.sim.settle();
    }

    /// [`Cluster::restart`] when durable; a no-op on the in-memory
    /// registry, where the scenario runs straight on.
    pub fn restart_if_durable(&mut self) -> bool {
        if self.durable() {
            self.restart();
        }
        self.durable()
    }

    pub fn master(&self) -> &Master {
        master_of(&self.sim, &self.m)
    }

    pub fn request(&mut self, method: Method, path: &str, body: &str) -> (StatusCode, String) {
        let mut r = Request::new(method, path);
        r.headers
            .insert("content-type", "application/json".parse().unwrap());
        r.body = Bytes::from(body.to_string());
        let h = self.sim.http(master_addr(), r);
        self.sim.settle();
        let resp = h.response().expect("answered");
        (
            resp.status,
            String::from_utf8_lossy(&resp.body).into_owned(),
        )
    }

    pub fn post(&mut self, path: &str, body: &Value) -> StatusCode {
        self.request(Method::POST, path, &body.to_string()).0
    }

    pub fn get_json(&mut self, path: &str) -> Value {
        let (st, body) = self.request(Method::GET, path, "");
        assert_eq!(st, StatusCode::OK, "{path}: {body}");
        serde_json::from_str(&body).expect("json")
    }

    /// A v1 operator call sent and answered as JSON or protobuf; the
    /// response body as JSON (an error's text as a JSON string).
    pub fn operator(&mut self, call: &Value, protobuf: bool) -> (StatusCode, Value) {
        let mut r = Request::new(Method::POST, "/api/v1");
        let ct = if protobuf {
            let c: mesos_proto::mesos::v1::master::Call =
                mesos_proto::json::from_json(&call.to_string()).expect("valid call json");
            r.body = Bytes::from(c.encode_to_vec());
            "application/x-protobuf"
        } else {
            r.body = Bytes::from(call.to_string());
            "application/json"
        };
        r.headers.insert("content-type", ct.parse().unwrap());
        r.headers.insert("accept", ct.parse().unwrap());
        let h = self.sim.http(master_addr(), r);
        self.sim.settle();
        let resp = h.response().expect("answered");
        if resp.status != StatusCode::OK || resp.body.is_empty() {
            let text = String::from_utf8_lossy(&resp.body).into_owned();
            return (resp.status, json!(text));
        }
        let v = if protobuf {
            let r = mesos_proto::mesos::v1::master::Response::decode(&resp.body[..])
                .expect("protobuf response");
            mesos_proto::json::to_json_value(&r).unwrap()
        } else {
            serde_json::from_slice(&resp.body).expect("json response")
        };
        (resp.status, v)
    }
}

/// A v1 operator call given as JSON, sent as JSON or re-encoded as protobuf
/// (upstream's `ContentType` parameter), with the answer asked for as JSON.
pub fn v1_call(sim: &mut Sim, json: &str, protobuf: bool) -> (StatusCode, Bytes) {
    let mut r = Request::new(Method::POST, "/api/v1");
    let ct = if protobuf {
        let c: mesos_proto::mesos::v1::master::Call =
            mesos_proto::json::from_json(json).expect("valid call json");
        r.body = Bytes::from(c.encode_to_vec());
        "application/x-protobuf"
    } else {
        r.body = Bytes::from(json.to_string());
        "application/json"
    };
    r.headers.insert("content-type", ct.parse().unwrap());
    r.headers
        .insert("accept", "application/json".parse().unwrap());
    let h = sim.http(master_addr(), r);
    sim.settle();
    let resp = h.response().expect("answered");
    (resp.status, resp.body)
}
