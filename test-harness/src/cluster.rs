//! A simulated cluster: one master node, agent nodes and scheduler nodes on
//! the deterministic simulator, each re-populated by its factory when it
//! restarts (the master with a fresh ID and its registry on disk, agents
//! from their checkpoints, schedulers from their persisted framework state).
//!
//! ```
//! use mesos_test_harness::cluster::ClusterBuilder;
//! use mesos_test_harness::model::scheduler::SchedulerSpec;
//! let mut c = ClusterBuilder::new(7).agents(2).scheduler(SchedulerSpec::default()).build();
//! c.run_for(std::time::Duration::from_secs(30));
//! assert!(c.master().unwrap().state().agents.len() == 2);
//! assert!(c.scheduler(0).unwrap().tasks.len() == 4);
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use http::Method;
use libprocess::runtime::sim::{Sim, SimConfig};
use libprocess::{Request, Upid};
use mesos_master::{Master, MasterFlags};

use crate::ledger::Ledger;
use crate::model::agent::{AgentSpec, ModelAgent};
use crate::model::scheduler::{DriverScheduler, SchedulerSpec};
use crate::registry::DiskRegistrar;
use crate::{Error, Result};

/// The id every model agent runs as (one agent per node, as upstream).
pub const AGENT_ID: &str = "slave(1)";
pub const SCHEDULER_ID: &str = "scheduler(1)";

/// Builds a [`Cluster`].
#[derive(Clone, Debug)]
pub struct ClusterBuilder {
    config: SimConfig,
    agents: Vec<AgentSpec>,
    schedulers: Vec<SchedulerSpec>,
    master_flags: Vec<String>,
    hierarchical: bool,
}

impl ClusterBuilder {
    /// A cluster seeded with `seed` (overridden by `MESOS_SIM_SEED`), 1 ms
    /// one-way latency, no agents and no schedulers yet.
    pub fn new(seed: u64) -> ClusterBuilder {
        let mut config = SimConfig::from_env(seed);
        config.latency = Duration::from_millis(1);
        config.trace_capacity = 400;
        ClusterBuilder {
            config,
            agents: Vec::new(),
            schedulers: Vec::new(),
            master_flags: Vec::new(),
            hierarchical: false,
        }
    }

    /// A cluster with exactly this seed (no environment override).
    pub fn exact_seed(seed: u64) -> ClusterBuilder {
        let mut b = ClusterBuilder::new(0);
        b.config.seed = seed;
        b
    }

    /// `n` agents with the default [`AgentSpec`].
    pub fn agents(mut self, n: usize) -> ClusterBuilder {
        for i in 0..n {
            self.agents.push(AgentSpec {
                hostname: format!("agent-{i}"),
                ..AgentSpec::default()
            });
        }
        self
    }

    pub fn agent(mut self, spec: AgentSpec) -> ClusterBuilder {
        self.agents.push(spec);
        self
    }

    pub fn scheduler(mut self, spec: SchedulerSpec) -> ClusterBuilder {
        self.schedulers.push(spec);
        self
    }

    /// An extra master flag, e.g. `--max_agent_ping_timeouts=3`.
    pub fn master_flag(mut self, flag: &str) -> ClusterBuilder {
        self.master_flags.push(flag.to_string());
        self
    }

    /// The master runs the hierarchical DRF allocator (the production
    /// default, with roles, weights and quota) instead of the simple one.
    pub fn hierarchical_allocator(mut self) -> ClusterBuilder {
        self.hierarchical = true;
        self
    }

    pub fn latency(mut self, d: Duration) -> ClusterBuilder {
        self.config.latency = d;
        self
    }

    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Creates the nodes and spawns everything (nothing runs until the
    /// clock moves).
    pub fn build(self) -> Cluster {
        self.try_build().expect("cluster")
    }

    pub fn try_build(self) -> Result<Cluster> {
        let mut args: Vec<String> = vec!["--registry=in_memory".into()];
        args.extend(self.master_flags.iter().cloned());
        let flags = MasterFlags::load(args, Vec::<(String, String)>::new())
            .map_err(|e| Error::Flags(e.to_string()))?;
        let mut sim = Sim::with_config(self.config.clone());
        let ledger = Ledger::new();
        let maddr = master_addr();
        let master = Upid::new("master", maddr);
        let seed = self.config.seed;
        let hierarchical = self.hierarchical;
        sim.add_node_with(maddr, move |boot| {
            // Every master incarnation gets a new ID, as upstream's random
            // UUID per `Master::initialize`.
            let id = format!(
                "{:08x}-0000-4000-8000-{:012x}",
                (seed as u32),
                boot.boot_count()
            );
            let allocator: Box<dyn mesos_master::allocator::Allocator> = if hierarchical {
                Box::new(mesos_master::allocator::hierarchical::Hierarchical::new(
                    mesos_master::allocator::hierarchical::options_from_flags(&flags),
                ))
            } else {
                Box::new(mesos_master::allocator::SimpleAllocator::new())
            };
            let m = Master::with_parts(
                flags.clone(),
                &id,
                "master-host",
                allocator,
                Box::new(DiskRegistrar::new(boot.disk())),
            );
            boot.spawn("master", m);
            boot.set_delegate("master");
        });
        for (i, spec) in self.agents.iter().enumerate() {
            let (m, spec, l) = (master.clone(), spec.clone(), ledger.clone());
            sim.add_node_with(agent_addr(i), move |boot| {
                let a = ModelAgent::new(m.clone(), spec.clone(), Some(boot.disk()))
                    .with_ledger(l.clone());
                boot.spawn(AGENT_ID, a);
            });
        }
        for (i, spec) in self.schedulers.iter().enumerate() {
            let (m, spec, l) = (master.clone(), spec.clone(), ledger.clone());
            sim.add_node_with(scheduler_addr(i), move |boot| {
                let s = DriverScheduler::new(m.clone(), spec.clone(), Some(boot.disk()))
                    .with_ledger(l.clone());
                boot.spawn(SCHEDULER_ID, s);
            });
        }
        Ok(Cluster {
            sim,
            master,
            agents: self.agents.len(),
            schedulers: self.schedulers.len(),
            agent_specs: self.agents,
            scheduler_specs: self.schedulers,
            ledger,
        })
    }
}

pub fn master_addr() -> SocketAddr {
    "10.0.0.1:5050".parse().expect("address")
}

pub fn agent_addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, 0, 1 + (i / 250) as u8, 1 + (i % 250) as u8], 5051))
}

pub fn scheduler_addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, 0, 100 + (i / 250) as u8, 1 + (i % 250) as u8], 40000))
}

/// A running simulated cluster.
pub struct Cluster {
    pub sim: Sim,
    pub master: Upid,
    pub agents: usize,
    pub schedulers: usize,
    pub agent_specs: Vec<AgentSpec>,
    pub scheduler_specs: Vec<SchedulerSpec>,
    pub ledger: Ledger,
}

impl Cluster {
    pub fn agent_pid(&self, i: usize) -> Upid {
        Upid::new(AGENT_ID, agent_addr(i))
    }

    pub fn scheduler_pid(&self, i: usize) -> Upid {
        Upid::new(SCHEDULER_ID, scheduler_addr(i))
    }

    /// The master actor, unless its node is down.
    pub fn master(&self) -> Option<&Master> {
        self.sim.actor::<Master>(&self.master)
    }

    pub fn agent(&self, i: usize) -> Option<&ModelAgent> {
        self.sim.actor::<ModelAgent>(&self.agent_pid(i))
    }

    pub fn scheduler(&self, i: usize) -> Option<&DriverScheduler> {
        self.sim.actor::<DriverScheduler>(&self.scheduler_pid(i))
    }

    pub fn run_for(&mut self, d: Duration) {
        self.sim.advance(d);
    }

    pub fn crash_master(&mut self) {
        self.sim.crash_node(master_addr());
    }

    pub fn restart_master(&mut self) {
        self.sim.restart_node(master_addr());
    }

    pub fn crash_agent(&mut self, i: usize) {
        self.sim.crash_node(agent_addr(i));
    }

    pub fn restart_agent(&mut self, i: usize) {
        self.sim.restart_node(agent_addr(i));
    }

    /// Crashes a scheduler; [`Cluster::restart_scheduler`] fails it over.
    pub fn crash_scheduler(&mut self, i: usize) {
        self.sim.crash_node(scheduler_addr(i));
    }

    pub fn restart_scheduler(&mut self, i: usize) {
        self.sim.restart_node(scheduler_addr(i));
    }

    /// Every node address, master first.
    pub fn nodes(&self) -> Vec<SocketAddr> {
        let mut v = vec![master_addr()];
        v.extend((0..self.agents).map(agent_addr));
        v.extend((0..self.schedulers).map(scheduler_addr));
        v
    }

    /// An operator `GET_STATE` over `/api/v1` (JSON), answered within `limit`
    /// of virtual time.
    pub fn get_state(&mut self, limit: Duration) -> Result<serde_json::Value> {
        let mut req = Request::new(Method::POST, "/api/v1");
        req.headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        req.headers.insert(
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/json"),
        );
        req.body = bytes::Bytes::from_static(br#"{"type":"GET_STATE"}"#);
        self.operator(req, limit)
    }

    /// `GET /master/state` (the v0 endpoint).
    pub fn v0_state(&mut self, limit: Duration) -> Result<serde_json::Value> {
        let req = Request::new(Method::GET, "/master/state");
        self.operator(req, limit)
    }

    /// Any v1 operator call given as JSON; the status and body of the
    /// answer, within `limit` of virtual time.
    pub fn operator_call(
        &mut self,
        json: &str,
        limit: Duration,
    ) -> Result<(http::StatusCode, bytes::Bytes)> {
        self.operator_call_observed(json, limit, |_| {})
    }

    /// [`Cluster::operator_call`], calling `on_event` after every
    /// simulator event while it waits (campaigns check invariants there).
    pub fn operator_call_observed(
        &mut self,
        json: &str,
        limit: Duration,
        mut on_event: impl FnMut(&Sim),
    ) -> Result<(http::StatusCode, bytes::Bytes)> {
        let mut req = Request::new(Method::POST, "/api/v1");
        req.headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        req.headers.insert(
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/json"),
        );
        req.body = bytes::Bytes::from(json.to_string());
        let h = self.sim.http(master_addr(), req);
        let done = {
            let h = h.clone();
            self.sim.run_until(
                move |s| {
                    on_event(s);
                    h.is_finished()
                },
                limit,
            )
        };
        if !done {
            return Err(Error::Http("no answer".into()));
        }
        let resp = h
            .response()
            .ok_or_else(|| Error::Http(h.failure().unwrap_or_default()))?;
        Ok((resp.status, resp.body))
    }

    fn operator(&mut self, req: Request, limit: Duration) -> Result<serde_json::Value> {
        let h = self.sim.http(master_addr(), req);
        let done = {
            let h = h.clone();
            self.sim.run_until(move |_| h.is_finished(), limit)
        };
        if !done {
            return Err(Error::Http("no answer".into()));
        }
        let resp = h
            .response()
            .ok_or_else(|| Error::Http(h.failure().unwrap_or_default()))?;
        if !resp.status.is_success() {
            return Err(Error::Http(format!("status {}", resp.status)));
        }
        serde_json::from_slice(&resp.body).map_err(|e| Error::BadResponse(e.to_string()))
    }
}
