//! Three `log-replica(1)` actors on simulated nodes, driven by a test proposer over
//! the libprocess wire (every message encoded, decoded and required-field checked):
//! the Paxos steps of a coordinator with quorum 2, a replica cut off, a replica
//! crashed and restarted from its (simulated) disk, a stale proposer rejected.
//! Mirrors the scenarios of upstream's `src/tests/log_tests.cpp` (ReplicaTest,
//! CoordinatorTest) at the message level.

use std::net::SocketAddr;
use std::time::Duration;

use libprocess::runtime::sim::{check_determinism, Sim, SimConfig};
use libprocess::{Actor, Cx, Routes, Upid};
use mesos_log::actor::{ReplicaActor, SimDiskKv};
use mesos_log::consensus::{fold_explicit_promise, fold_implicit_promise, fold_write};
use mesos_log::storage::RecordStorage;
use mesos_log::{Replica, Status};
use mesos_proto::mesos::internal::log::{
    action, Action, LearnedMessage, PromiseRequest, PromiseResponse, RecoverRequest,
    RecoverResponse, WriteRequest, WriteResponse,
};

#[derive(Default)]
struct Proposer {
    promises: Vec<PromiseResponse>,
    writes: Vec<WriteResponse>,
    recovers: Vec<RecoverResponse>,
}

impl Actor for Proposer {
    fn install(r: &mut Routes<Self>) {
        r.message::<PromiseResponse>(|p: &mut Proposer, _: &mut Cx<'_, Proposer>, _, m| {
            p.promises.push(m)
        });
        r.message::<WriteResponse>(|p: &mut Proposer, _: &mut Cx<'_, Proposer>, _, m| {
            p.writes.push(m)
        });
        r.message::<RecoverResponse>(|p: &mut Proposer, _: &mut Cx<'_, Proposer>, _, m| {
            p.recovers.push(m)
        });
    }
}

fn addr(i: u8) -> SocketAddr {
    format!("10.0.0.{i}:5050").parse().unwrap()
}

struct Cluster {
    replicas: Vec<Upid>,
    proposer: Upid,
}

fn boot(sim: &mut Sim) -> Cluster {
    let mut replicas = Vec::new();
    for i in 1..=3 {
        sim.add_node_with(addr(i), |boot| {
            let kv = SimDiskKv::new(boot.disk(), "replicated_log");
            let mut replica = Replica::open(RecordStorage::new(kv)).expect("restore");
            if replica.status() == Status::Empty {
                // What `mesos-log initialize` does on each host.
                replica.update(Status::Voting).expect("initialize");
            }
            boot.spawn("log-replica(1)", ReplicaActor::new(replica));
        });
        replicas.push(Upid::new("log-replica(1)", addr(i)));
    }
    sim.add_node_with(addr(9), |boot| {
        boot.spawn("proposer(1)", Proposer::default());
    });
    Cluster {
        replicas,
        proposer: Upid::new("proposer(1)", addr(9)),
    }
}

impl Cluster {
    fn broadcast<M: prost::Message + prost::Name>(&self, sim: &mut Sim, message: &M) {
        for replica in &self.replicas {
            sim.send(&self.proposer, replica, message);
        }
        sim.advance(Duration::from_millis(50));
    }

    fn promises(&self, sim: &mut Sim) -> Vec<PromiseResponse> {
        std::mem::take(&mut sim.actor_mut::<Proposer>(&self.proposer).unwrap().promises)
    }

    fn writes(&self, sim: &mut Sim) -> Vec<WriteResponse> {
        std::mem::take(&mut sim.actor_mut::<Proposer>(&self.proposer).unwrap().writes)
    }

    fn replica<'a>(&self, sim: &'a Sim, i: usize) -> &'a Replica {
        sim.actor::<ReplicaActor>(&self.replicas[i])
            .unwrap()
            .replica()
    }

    /// Write phase then learn phase of one action, as `CoordinatorProcess::write`.
    fn write_and_learn(&self, sim: &mut Sim, proposal: u64, action: Action) -> bool {
        let request = WriteRequest {
            proposal,
            position: action.position,
            learned: None,
            r#type: action.r#type.unwrap(),
            nop: action.nop,
            append: action.append.clone(),
            truncate: action.truncate,
        };
        self.broadcast(sim, &request);
        let folded = fold_write(2, &self.writes(sim)).expect("a quorum of write replies");
        if !folded.okay {
            return false;
        }
        let mut learned = action;
        learned.promised = proposal;
        learned.performed = Some(proposal);
        learned.learned = Some(true);
        self.broadcast(sim, &LearnedMessage { action: learned });
        true
    }
}

fn append(position: u64, data: &'static str) -> Action {
    Action {
        position,
        r#type: Some(action::Type::Append as i32),
        append: Some(action::Append {
            bytes: data.into(),
            cksum: None,
        }),
        ..Default::default()
    }
}

fn scenario(sim: &mut Sim) {
    let c = boot(sim);

    // Recover protocol: everyone VOTING at [0, 0].
    c.broadcast(sim, &RecoverRequest {});
    let recovers = std::mem::take(&mut sim.actor_mut::<Proposer>(&c.proposer).unwrap().recovers);
    assert_eq!(recovers.len(), 3);
    assert!(recovers
        .iter()
        .all(|r| r.status == Status::Voting as i32 && r.end == Some(0)));

    // Election: implicit promise 1, then fill the hole at 0 with proposal 2.
    c.broadcast(
        sim,
        &PromiseRequest {
            proposal: 1,
            position: None,
        },
    );
    let elected = fold_implicit_promise(2, &c.promises(sim)).unwrap();
    assert!(elected.okay);
    assert_eq!(elected.position, Some(0));
    c.broadcast(
        sim,
        &PromiseRequest {
            proposal: 2,
            position: Some(0),
        },
    );
    let filled = fold_explicit_promise(2, 2, &c.promises(sim)).unwrap();
    assert!(
        filled.okay && filled.action.is_none(),
        "nobody accepted anything at 0"
    );
    let nop = Action {
        position: 0,
        r#type: Some(action::Type::Nop as i32),
        nop: Some(action::Nop::default()),
        ..Default::default()
    };
    assert!(c.write_and_learn(sim, 2, nop));
    for i in 0..3 {
        assert!(!c.replica(sim, i).missing(0), "replica {i} learned the NOP");
    }

    // Replica 3 is cut off; a quorum of 2 still accepts and learns position 1.
    sim.isolate(addr(3));
    assert!(c.write_and_learn(sim, 1, append(1, "registry-v1")));
    assert!(!c.replica(sim, 0).missing(1));
    assert!(!c.replica(sim, 1).missing(1));
    assert!(
        c.replica(sim, 2).missing(1),
        "the isolated replica missed it"
    );

    // Replica 1 crashes and restarts from its disk: every put was synced.
    sim.crash_node(addr(1));
    sim.restart_node(addr(1));
    sim.heal_all();
    let restarted = c.replica(sim, 0);
    assert_eq!(restarted.status(), Status::Voting);
    assert_eq!(restarted.promised(), 1);
    assert!(!restarted.missing(1));
    assert_eq!(restarted.ending(), 1);

    // A new coordinator (proposal 3) catching up position 1: a learned action in any
    // reply wins at once, and learning it fills the lagging replica.
    c.broadcast(
        sim,
        &PromiseRequest {
            proposal: 3,
            position: Some(1),
        },
    );
    let found = fold_explicit_promise(2, 3, &c.promises(sim)).unwrap();
    let learned = found.action.expect("the learned append");
    assert_eq!(learned.learned, Some(true));
    c.broadcast(sim, &LearnedMessage { action: learned });
    assert!(!c.replica(sim, 2).missing(1), "replica 3 caught up");

    // The new coordinator takes over with an implicit promise 3; the old one
    // (proposal 1) is now rejected everywhere.
    c.broadcast(
        sim,
        &PromiseRequest {
            proposal: 3,
            position: None,
        },
    );
    assert!(fold_implicit_promise(2, &c.promises(sim)).unwrap().okay);
    assert!(!c.write_and_learn(sim, 1, append(2, "stale")));
    assert!(c.write_and_learn(sim, 3, append(2, "registry-v2")));
    for i in 0..3 {
        assert!(
            !c.replica(sim, i).missing(2),
            "replica {i} learned position 2"
        );
    }
}

#[test]
fn three_replicas_over_the_wire() {
    let mut sim = Sim::from_env(11);
    scenario(&mut sim);
}

#[test]
fn three_replica_scenario_is_deterministic() {
    check_determinism(SimConfig::from_env(5), scenario);
}
