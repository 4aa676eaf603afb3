//! Master failover with a durable registry on the simulator: the registry
//! lives in upstream's replicated-log format in a temporary directory, the
//! master actor is crashed and restarted on it (upstream
//! src/tests/registrar_tests.cpp, master_tests.cpp `RecoveredSlaves*`,
//! partition_tests.cpp).

#![allow(deprecated)]

mod support;

use std::path::PathBuf;
use std::time::Duration;

use libprocess::runtime::sim::{Sim, SimConfig};
use libprocess::Pid;
use mesos_master::registrar::{Registrar, ReplicatedLogRegistrar};
use mesos_master::{Master, MasterFlags};
use mesos_proto::mesos::internal::registry::Slaves;
use mesos_proto::mesos::internal::Registry;
use support::*;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "mesos-master-{name}-{}-{}",
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

fn flags(extra: &[&str]) -> MasterFlags {
    let mut args: Vec<String> = vec!["--registry=replicated_log".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    MasterFlags::load(args, Vec::<(String, String)>::new()).expect("flags")
}

fn durable_master(dir: &TempDir, id: &str) -> Master {
    let reg = ReplicatedLogRegistrar::open(&dir.0, true).expect("open registry");
    Master::with_registrar(flags(&[]), id, "master-host", Box::new(reg))
}

fn sim_with_durable_master(seed: u64, dir: &TempDir) -> (Sim, Pid<Master>) {
    let mut sim = Sim::with_config(SimConfig::from_env(seed));
    sim.add_node(master_addr());
    sim.set_delegate(master_addr(), "master");
    let m = sim.spawn(master_addr(), "master", durable_master(dir, MASTER_ID));
    (sim, m)
}

fn agent(sim: &mut Sim, m: &Pid<Master>) -> Pid<FakeAgent> {
    sim.add_node(agent_addr(1));
    sim.spawn(
        agent_addr(1),
        "slave(1)",
        FakeAgent::new(m.upid.clone(), vec![]),
    )
}

fn admitted(reg: &Registry) -> Vec<String> {
    reg.slaves
        .as_ref()
        .map(|s| {
            s.slaves
                .iter()
                .filter_map(|s| s.info.id.as_ref().map(|i| i.value.clone()))
                .collect()
        })
        .unwrap_or_default()
}

const SECOND_MASTER: &str = "22222222-2222-3333-4444-555555555555";

/// MasterTest.RecoverResources-style failover: an admitted agent is in the
/// log; a restarted master on the same work_dir knows it as recovered and
/// takes its reregistration back with the same ID.
#[test]
fn registrar_recovered_agent_reregisters_after_master_restart() {
    let dir = TempDir::new("reregister");
    let (mut sim, m) = sim_with_durable_master(41, &dir);
    let ag = agent(&mut sim, &m);
    sim.settle();
    let id = sim
        .actor::<FakeAgent>(&ag.upid)
        .unwrap()
        .id
        .clone()
        .unwrap();

    // The crash drops the master and closes the log (LevelDB holds a
    // lock on it); what a second process opening the log reads:
    sim.crash_actor(&m.upid);
    {
        let mut store = mesos_log::RegistryStore::open(&dir.0, false).expect("reopen");
        let reg = store.load().expect("load").expect("a registry");
        assert_eq!(admitted(&reg), vec![id.clone()]);
        assert_eq!(reg.master.as_ref().unwrap().info.id, MASTER_ID);
    }

    let m2 = sim
        .restart_actor(&m.upid, durable_master(&dir, SECOND_MASTER))
        .expect("restarted");
    sim.settle();
    let master = sim.actor::<Master>(&m2.upid).unwrap();
    assert!(
        master.state().recovered.contains_key(&id),
        "agent recovered"
    );
    assert!(master.state().agents.is_empty());
    assert_eq!(
        master
            .registrar()
            .registry()
            .master
            .as_ref()
            .unwrap()
            .info
            .id,
        SECOND_MASTER
    );

    sim.dispatch(&ag, |fa: &mut FakeAgent, cx| fa.reregister(cx));
    sim.settle();
    let master = sim.actor::<Master>(&m2.upid).unwrap();
    assert!(master.state().recovered.is_empty());
    let a = &master.state().agents[&id];
    assert!(a.connected && a.active);
    assert_eq!(sim.actor::<FakeAgent>(&ag.upid).unwrap().reregistered, 1);
    // Well past the reregistration timeout nothing is marked unreachable.
    sim.advance(Duration::from_secs(700));
    let master = sim.actor::<Master>(&m2.upid).unwrap();
    assert!(master.state().unreachable.is_empty());
    assert_eq!(admitted(master.registrar().registry()), vec![id]);
}

/// MasterTest.RecoveredSlaveDoesNotReregister: after
/// `--agent_reregister_timeout` (10mins) a recovered agent that stayed away
/// is marked unreachable, durably: a third master recovers it as such.
#[test]
fn registrar_recovered_agent_that_stays_away_becomes_unreachable() {
    let dir = TempDir::new("unreachable");
    let (mut sim, m) = sim_with_durable_master(42, &dir);
    let ag = agent(&mut sim, &m);
    sim.settle();
    let id = sim
        .actor::<FakeAgent>(&ag.upid)
        .unwrap()
        .id
        .clone()
        .unwrap();
    sim.crash_node(agent_addr(1));

    sim.crash_actor(&m.upid);
    let m2 = sim
        .restart_actor(&m.upid, durable_master(&dir, SECOND_MASTER))
        .expect("restarted");
    sim.advance(Duration::from_secs(9 * 60));
    assert!(sim
        .actor::<Master>(&m2.upid)
        .unwrap()
        .state()
        .recovered
        .contains_key(&id));
    sim.advance(Duration::from_secs(2 * 60));
    let master = sim.actor::<Master>(&m2.upid).unwrap();
    assert!(master.state().recovered.is_empty());
    assert!(master.state().unreachable.contains_key(&id));
    assert!(admitted(master.registrar().registry()).is_empty());

    sim.crash_actor(&m2.upid);
    let m3 = sim
        .restart_actor(&m2.upid, durable_master(&dir, MASTER_ID))
        .expect("restarted");
    sim.settle();
    let master = sim.actor::<Master>(&m3.upid).unwrap();
    assert!(master.state().recovered.is_empty());
    assert!(master.state().unreachable.contains_key(&id));
}

/// Upstream `Master::_recover`: a registry that demands a capability this
/// master does not have stops the master.
#[test]
fn registrar_refuses_registry_with_unknown_minimum_capability() {
    let dir = TempDir::new("mincap");
    {
        let mut store = mesos_log::RegistryStore::open(&dir.0, true).expect("open");
        let reg = Registry {
            slaves: Some(Slaves::default()),
            minimum_capabilities: vec![
                mesos_proto::mesos::internal::registry::MinimumCapability {
                    capability: "AGENT_DRAINING".into(),
                },
                mesos_proto::mesos::internal::registry::MinimumCapability {
                    capability: "SOMETHING_FROM_THE_FUTURE".into(),
                },
            ],
            ..Default::default()
        };
        store.save(&reg).expect("save");
    }
    let reg = ReplicatedLogRegistrar::open(&dir.0, true).expect("open");
    let err = mesos_master::registrar::check_minimum_capabilities(reg.registry()).unwrap_err();
    assert!(
        err.to_string().contains("SOMETHING_FROM_THE_FUTURE"),
        "{err}"
    );
    assert!(!err.to_string().contains("AGENT_DRAINING"), "{err}");
    drop(reg);
    let (sim, m) = sim_with_durable_master(43, &dir);
    assert!(sim.actor::<Master>(&m.upid).is_none(), "master must stop");
}

/// Draining survives a master failover: the restarted master recovers the
/// drain info and deactivation from the log, keeps the agent deactivated
/// and sends it DrainSlaveMessage before SlaveReregisteredMessage.
#[test]
fn registrar_draining_survives_master_restart() {
    use mesos_proto::mesos::slave_info::capability::Type as AgentCap;
    let dir = TempDir::new("draining");
    let (mut sim, m) = sim_with_durable_master(44, &dir);
    sim.add_node(agent_addr(1));
    let mut fake = FakeAgent::new(m.upid.clone(), vec![]);
    fake.capabilities = vec![AgentCap::AgentDraining as i32];
    let ag = sim.spawn(agent_addr(1), "slave(1)", fake);
    sim.settle();
    let id = sim
        .actor::<FakeAgent>(&ag.upid)
        .unwrap()
        .id
        .clone()
        .unwrap();
    let mut req = libprocess::Request::new(http::Method::POST, "/api/v1");
    req.headers
        .insert("content-type", "application/json".parse().unwrap());
    req.body = bytes::Bytes::from(format!(
        r#"{{"type":"DRAIN_AGENT","drain_agent":{{"agent_id":{{"value":"{id}"}}}}}}"#
    ));
    let h = sim.http(master_addr(), req);
    sim.settle();
    assert_eq!(h.status(), Some(http::StatusCode::OK));

    sim.crash_actor(&m.upid);
    let m2 = sim
        .restart_actor(&m.upid, durable_master(&dir, SECOND_MASTER))
        .expect("restarted");
    sim.settle();
    let st = sim.actor::<Master>(&m2.upid).unwrap().state();
    assert_eq!(
        st.draining[&id].state,
        mesos_proto::mesos::DrainState::Drained as i32
    );
    assert!(st.deactivated.contains(&id));
    sim.dispatch(&ag, |fa: &mut FakeAgent, cx| {
        fa.order.clear();
        fa.reregister(cx)
    });
    sim.settle();
    assert_eq!(
        sim.actor::<FakeAgent>(&ag.upid).unwrap().order,
        vec!["drain", "reregistered"]
    );
    let st = sim.actor::<Master>(&m2.upid).unwrap().state();
    assert!(!st.agents[&id].active, "still deactivated");
}

/// Quota configs and weights are in the registry: a restarted master has
/// them back (upstream `Master::_recover`).
#[test]
fn registrar_quota_and_weights_survive_master_restart() {
    let dir = TempDir::new("quota");
    let (mut sim, m) = sim_with_durable_master(45, &dir);
    agent(&mut sim, &m);
    sim.settle();
    for body in [
        r#"{"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"r1","guarantees":{"cpus":{"value":1}},"limits":{"cpus":{"value":2}}}]}}"#,
        r#"{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"r1","weight":3}]}}"#,
    ] {
        let mut req = libprocess::Request::new(http::Method::POST, "/api/v1");
        req.headers
            .insert("content-type", "application/json".parse().unwrap());
        req.body = bytes::Bytes::from(body);
        let h = sim.http(master_addr(), req);
        sim.settle();
        assert_eq!(h.status(), Some(http::StatusCode::OK), "{body}");
    }
    sim.crash_actor(&m.upid);
    let m2 = sim
        .restart_actor(&m.upid, durable_master(&dir, SECOND_MASTER))
        .expect("restarted");
    sim.settle();
    let master = sim.actor::<Master>(&m2.upid).unwrap();
    assert_eq!(master.state().quotas["r1"].limits["cpus"].value, 2.0);
    assert_eq!(master.state().weights["r1"], 3.0);
    let caps: Vec<&str> = master
        .registrar()
        .registry()
        .minimum_capabilities
        .iter()
        .map(|c| c.capability.as_str())
        .collect();
    assert_eq!(caps, vec!["QUOTA_V2"]);
}
