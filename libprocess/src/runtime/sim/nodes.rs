//! Nodes and actors: adding, booting, crashing and restarting simulated
//! process managers; spawning, inspecting and terminating actors.

use super::*;

impl Sim {
    /// Adds an empty, running node (a process manager at `addr`).
    pub fn add_node(&mut self, addr: SocketAddr) -> Arc<Node> {
        assert!(
            !self.nodes.contains_key(&addr),
            "node {addr} added twice to the simulation"
        );
        let node = Node::new(addr);
        self.nodes.insert(
            addr,
            SimNode {
                node: node.clone(),
                up: true,
                epoch: 0,
                boots: 0,
                actors: BTreeMap::new(),
                delegate: None,
                factory: None,
                disk: Disk::new(),
            },
        );
        node
    }

    /// Adds a node whose actors `factory` spawns now and after every restart.
    pub fn add_node_with(
        &mut self,
        addr: SocketAddr,
        factory: impl FnMut(&mut Boot) + Send + 'static,
    ) {
        self.add_node(addr);
        self.set_factory(addr, factory);
        self.boot(addr);
    }

    /// Sets (replaces) the factory used when `addr` restarts.
    pub fn set_factory(
        &mut self,
        addr: SocketAddr,
        factory: impl FnMut(&mut Boot) + Send + 'static,
    ) {
        self.node_mut(addr).factory = Some(Box::new(factory));
    }

    /// Routes HTTP requests for unknown process ids on `addr` to `id`
    /// (cleared by a crash; a factory sets it again with [`Boot::set_delegate`]).
    pub fn set_delegate(&mut self, addr: SocketAddr, id: &str) {
        self.node_mut(addr).delegate = Some(id.to_string());
    }

    pub(super) fn node_mut(&mut self, addr: SocketAddr) -> &mut SimNode {
        match self.nodes.get_mut(&addr) {
            Some(n) => n,
            None => panic!("no node {addr} in the simulation"),
        }
    }

    /// The id generator and address of a running node.
    pub fn node(&self, addr: SocketAddr) -> Option<Arc<Node>> {
        self.nodes
            .get(&addr)
            .filter(|n| n.up)
            .map(|n| n.node.clone())
    }

    pub fn is_up(&self, addr: SocketAddr) -> bool {
        self.nodes.get(&addr).is_some_and(|n| n.up)
    }

    /// Addresses of all nodes, running or crashed.
    pub fn nodes(&self) -> Vec<SocketAddr> {
        self.nodes.keys().copied().collect()
    }

    /// The pids of the actors running on `addr`, in id order.
    pub fn actors(&self, addr: SocketAddr) -> Vec<Upid> {
        self.nodes
            .get(&addr)
            .map(|n| n.actors.values().map(|s| s.pid.clone()).collect())
            .unwrap_or_default()
    }

    /// The current incarnation's handle on a node's disk.
    pub fn disk(&self, addr: SocketAddr) -> Disk {
        match self.nodes.get(&addr) {
            Some(n) => n.disk.current(),
            None => panic!("no node {addr} in the simulation"),
        }
    }

    pub(super) fn boot(&mut self, addr: SocketAddr) {
        let n = self.node_mut(addr);
        let mut factory = n.factory.take();
        let mut boot = Boot {
            addr,
            node: n.node.clone(),
            disk: n.disk.current(),
            boot: n.boots,
            spawns: Vec::new(),
            delegate: None,
        };
        n.boots += 1;
        if let Some(f) = factory.as_mut() {
            f(&mut boot);
        }
        let n = self.node_mut(addr);
        if n.factory.is_none() {
            n.factory = factory;
        }
        if boot.delegate.is_some() {
            n.delegate = boot.delegate;
        }
        for (pid, actor) in boot.spawns {
            self.spawn_boxed(pid, actor);
        }
    }

    /// Kills every actor of `addr` at once (no `finalize`), as when the
    /// machine or process dies: its unsynced disk writes, timers, pending
    /// messages and HTTP connections are lost, and actors elsewhere linked to
    /// any of its pids get `exited`.
    pub fn crash_node(&mut self, addr: SocketAddr) {
        let Some(n) = self.nodes.get_mut(&addr) else {
            return;
        };
        if !n.up {
            return;
        }
        n.up = false;
        n.epoch += 1;
        // A dead process is no longer paused; what waited for it goes back
        // to the heap, to be dropped (and traced) like anything else sent
        // to the dead incarnation.
        if self.paused.remove(&addr) {
            let frozen = std::mem::take(&mut self.frozen);
            for s in frozen {
                if s.ev.node() == addr {
                    self.schedule(self.now, s.ev);
                } else {
                    self.frozen.push(s);
                }
            }
        }
        let n = self.nodes.get_mut(&addr).expect("node checked above");
        n.delegate = None;
        n.disk.crash();
        let actors = std::mem::take(&mut n.actors);
        self.record_fault(format!("crash node {addr}"));
        // Clients of its endpoints see a reset connection; nobody on the dead
        // node is told. Connections it had opened as a client break, and the
        // servers' streams learn that their client went away.
        self.reset_http(|c| c.server == addr, false);
        self.reset_http(|c| c.client == Some(addr), true);
        // Links held by the dead actors vanish with them; every other node's
        // connection to this address breaks, so their linkers to any pid
        // here get `exited` (one pass over the links, not one per peer).
        let peers: Vec<SocketAddr> = self.nodes.keys().copied().filter(|a| *a != addr).collect();
        for p in peers {
            *self.conn_epochs.entry(pair(p, addr)).or_insert(0) += 1;
        }
        let touched: Vec<(Upid, Upid)> = self
            .links
            .iter()
            .filter(|(linker, linkee)| linker.addr() == addr || linkee.addr() == addr)
            .cloned()
            .collect();
        for (linker, linkee) in touched {
            self.remove_link(&linker, &linkee);
            if linker.addr() != addr {
                self.notify_exited(&linker, &linkee);
            }
        }
        self.live_timers.retain(|k| k.0 != addr);
        drop(actors);
        self.forget_notices(|pid| pid.addr() == addr);
    }

    /// Stops the process at `addr` without breaking its connections (as
    /// SIGSTOP or a long GC pause): nothing runs there, messages and timers
    /// wait, peers notice only through their own timeouts (which is why
    /// upstream's master pings agents, src/master/master.cpp `SlaveObserver`).
    pub fn pause_node(&mut self, addr: SocketAddr) {
        if self.is_up(addr) && self.paused.insert(addr) {
            self.record_fault(format!("pause node {addr}"));
        }
    }

    /// Lets a paused node run again: everything that waited is due now, in
    /// its original order.
    pub fn resume_node(&mut self, addr: SocketAddr) {
        if !self.paused.remove(&addr) {
            return;
        }
        self.record_fault(format!("resume node {addr}"));
        let frozen = std::mem::take(&mut self.frozen);
        for s in frozen {
            if s.ev.node() == addr {
                self.schedule(self.now, s.ev);
            } else {
                self.frozen.push(s);
            }
        }
    }

    pub fn is_paused(&self, addr: SocketAddr) -> bool {
        self.paused.contains(&addr)
    }

    /// Starts `addr` again (crashing it first if it is running): a fresh
    /// process manager whose actors the node's factory spawns.
    pub fn restart_node(&mut self, addr: SocketAddr) {
        if self.is_up(addr) {
            self.crash_node(addr);
        }
        let n = self.node_mut(addr);
        n.up = true;
        n.node = Node::new(addr);
        self.record_fault(format!("restart node {addr}"));
        self.boot(addr);
    }

    // ----- actors -----

    /// Spawns `actor` as `id` on `addr` and runs its `initialize`.
    /// Panics if the node is missing or down, or the id is taken.
    pub fn spawn<A: Actor>(&mut self, addr: SocketAddr, id: &str, actor: A) -> Pid<A> {
        match self.try_spawn(addr, id, actor) {
            Some(p) => p,
            None => panic!("cannot spawn {id} on {addr}: node down or id taken"),
        }
    }

    /// Like [`Sim::spawn`], `None` where upstream `spawn` returns an empty UPID.
    pub fn try_spawn<A: Actor>(&mut self, addr: SocketAddr, id: &str, actor: A) -> Option<Pid<A>> {
        let pid = Upid::new(id, addr);
        self.spawn_boxed(pid.clone(), Box::new(Holder::new(actor)))
            .then(|| Pid::new(pid))
    }

    pub(super) fn spawn_boxed(&mut self, pid: Upid, actor: Box<dyn ErasedActor>) -> bool {
        let Some(n) = self.nodes.get_mut(&pid.addr()).filter(|n| n.up) else {
            tracing::warn!("cannot spawn {pid}: no running node at its address");
            return false;
        };
        if n.actors.contains_key(pid.id()) {
            tracing::warn!("cannot spawn {pid}: a process with that id exists");
            return false;
        }
        self.next_inc += 1;
        let inc = self.next_inc;
        n.actors.insert(
            pid.id().to_string(),
            Slot {
                pid: pid.clone(),
                actor: Some(actor),
                inc,
            },
        );
        self.record(Kind::Spawn, None, Some(&pid), "spawn", &[]);
        self.run_on(&pid, Some(inc), Event::Initialize);
        true
    }

    pub fn is_alive(&self, pid: &Upid) -> bool {
        self.inc_of(pid).is_some()
    }

    pub(super) fn inc_of(&self, pid: &Upid) -> Option<u64> {
        self.nodes
            .get(&pid.addr())
            .filter(|n| n.up)
            .and_then(|n| n.actors.get(pid.id()))
            .map(|s| s.inc)
    }

    pub(super) fn epoch_of(&self, addr: SocketAddr) -> u64 {
        self.nodes.get(&addr).map_or(0, |n| n.epoch)
    }

    /// The actor behind `pid`, for assertions on its state.
    pub fn actor<A: Actor>(&self, pid: &Upid) -> Option<&A> {
        self.nodes
            .get(&pid.addr())
            .filter(|n| n.up)?
            .actors
            .get(pid.id())?
            .actor
            .as_ref()?
            .as_any()
            .downcast_ref()
    }

    pub fn actor_mut<A: Actor>(&mut self, pid: &Upid) -> Option<&mut A> {
        self.nodes
            .get_mut(&pid.addr())
            .filter(|n| n.up)?
            .actors
            .get_mut(pid.id())?
            .actor
            .as_mut()?
            .as_any_mut()
            .downcast_mut()
    }

    /// Terminates an actor as upstream `terminate(pid)`: `finalize` runs, then
    /// linkers on its node get `exited`.
    pub fn terminate(&mut self, pid: &Upid) {
        self.remove_actor(pid, true);
    }

    /// Kills one actor without `finalize`; local linkers get `exited`.
    pub fn crash_actor(&mut self, pid: &Upid) {
        if self.is_alive(pid) {
            self.record_fault(format!("crash actor {pid}"));
        }
        self.remove_actor(pid, false);
    }

    /// Crashes `pid` if alive and spawns `actor` under the same id.
    pub fn restart_actor<A: Actor>(&mut self, pid: &Upid, actor: A) -> Option<Pid<A>> {
        self.crash_actor(pid);
        self.record_fault(format!("restart actor {pid}"));
        self.try_spawn(pid.addr(), pid.id(), actor)
    }

    pub(super) fn remove_actor(&mut self, pid: &Upid, graceful: bool) {
        let Some(inc) = self.inc_of(pid) else {
            return;
        };
        if !self.terminating.insert(inc) {
            return;
        }
        if graceful {
            self.run_on(pid, Some(inc), Event::Finalize);
        }
        self.terminating.remove(&inc);
        let Some(slot) = self
            .nodes
            .get_mut(&pid.addr())
            .and_then(|n| n.actors.remove(pid.id()))
        else {
            return;
        };
        self.record(Kind::Terminate, None, Some(&slot.pid), "terminate", &[]);
        // Its own links go; local linkers are told (upstream
        // `SocketManager::exited(ProcessBase*)`); remote linkers are not.
        let own: Vec<Upid> = self
            .links
            .range((slot.pid.clone(), Upid::default())..)
            .take_while(|(l, _)| *l == slot.pid)
            .map(|(_, t)| t.clone())
            .collect();
        for t in own {
            self.remove_link(&slot.pid, &t);
        }
        let local_linkers: Vec<Upid> = self
            .linkers
            .range((slot.pid.clone(), Upid::default())..)
            .take_while(|(t, _)| *t == slot.pid)
            .map(|(_, l)| l.clone())
            .filter(|l| l.addr() == slot.pid.addr())
            .collect();
        for l in local_linkers {
            self.remove_link(&l, &slot.pid);
            self.notify_exited(&l, &slot.pid);
        }
        drop(slot);
        let p = pid.clone();
        self.forget_notices(|n| *n == p);
    }
}
