//! The simulated network: links and their connections, partitions,
//! message sending and delivery (through the libprocess wire format), and
//! the message faults a test installs.

use super::*;

impl Sim {
    pub(super) fn reachable(&self, from: SocketAddr, to: SocketAddr) -> bool {
        self.nodes.get(&to).is_some_and(|n| n.up)
            && (from == to || !self.partitions.contains(&pair(from, to)))
    }

    pub(super) fn link(&mut self, from: Upid, to: Upid) {
        if from == to || self.links.contains(&(from.clone(), to.clone())) {
            return;
        }
        let ok = if from.addr() == to.addr() {
            // Upstream: linking to a missing local process is an immediate exit.
            self.is_alive(&to)
        } else {
            // A remote link needs a connection; the linkee need not exist.
            self.reachable(from.addr(), to.addr())
        };
        if ok {
            self.links.insert((from.clone(), to.clone()));
            self.linkers.insert((to, from));
        } else {
            self.notify_exited(&from, &to);
        }
    }

    /// Whether `linker` holds a link to `linkee` (for invariants in tests).
    pub fn is_linked(&self, linker: &Upid, linkee: &Upid) -> bool {
        self.links.contains(&(linker.clone(), linkee.clone()))
    }

    pub(super) fn remove_link(&mut self, linker: &Upid, linkee: &Upid) {
        self.links.remove(&(linker.clone(), linkee.clone()));
        self.linkers.remove(&(linkee.clone(), linker.clone()));
    }

    pub(super) fn notify_exited(&mut self, linker: &Upid, pid: &Upid) {
        if let Some(inc) = self.inc_of(linker) {
            self.schedule(
                self.now,
                Ev::Exited {
                    linker: linker.clone(),
                    inc,
                    pid: pid.clone(),
                },
            );
        }
    }

    /// The connections between `a` and `b` break: messages in flight are
    /// lost and each side's linkers to the other side get `exited`.
    pub(super) fn break_connection(&mut self, a: SocketAddr, b: SocketAddr) {
        *self.conn_epochs.entry(pair(a, b)).or_insert(0) += 1;
        let broken: Vec<(Upid, Upid)> = self
            .links
            .iter()
            .filter(|(l, t)| a != b && pair(l.addr(), t.addr()) == pair(a, b))
            .cloned()
            .collect();
        for (linker, linkee) in broken {
            self.remove_link(&linker, &linkee);
            self.notify_exited(&linker, &linkee);
        }
    }

    // ----- partitions -----

    /// Cuts `a` off from `b` (both ways) until [`Sim::heal`].
    pub fn partition(&mut self, a: SocketAddr, b: SocketAddr) {
        if a == b || !self.partitions.insert(pair(a, b)) {
            return;
        }
        self.record_fault(format!("partition {a} {b}"));
        self.break_connection(a, b);
        self.reset_http(
            |c| c.client.is_some_and(|cl| pair(cl, c.server) == pair(a, b)),
            true,
        );
    }

    /// Cuts every node in `side_a` off from every node in `side_b`.
    pub fn partition_sets(&mut self, side_a: &[SocketAddr], side_b: &[SocketAddr]) {
        for a in side_a {
            for b in side_b {
                self.partition(*a, *b);
            }
        }
    }

    /// Cuts `addr` off from every other node.
    pub fn isolate(&mut self, addr: SocketAddr) {
        for other in self.nodes() {
            self.partition(addr, other);
        }
    }

    pub fn heal(&mut self, a: SocketAddr, b: SocketAddr) {
        if self.partitions.remove(&pair(a, b)) {
            self.record_fault(format!("heal {a} {b}"));
        }
    }

    pub fn heal_all(&mut self) {
        for (a, b) in std::mem::take(&mut self.partitions) {
            self.record_fault(format!("heal {a} {b}"));
        }
    }

    pub fn is_partitioned(&self, a: SocketAddr, b: SocketAddr) -> bool {
        self.partitions.contains(&pair(a, b))
    }

    // ----- messages -----

    /// The test filters consulted before every delivery (shared handle).
    pub fn filters(&self) -> &Filters {
        &self.filters
    }

    /// Sends a protobuf message from `from` (any pid, e.g. a fake scheduler
    /// that is not on any node) to `to`, as if sent now.
    pub fn send<M: prost::Message + prost::Name>(&mut self, from: &Upid, to: &Upid, msg: &M) {
        self.send_raw(from, to, M::full_name(), Bytes::from(msg.encode_to_vec()));
    }

    pub fn send_raw(&mut self, from: &Upid, to: &Upid, name: impl Into<String>, body: Bytes) {
        self.send_msg(from.clone(), to.clone(), name.into(), body, true);
    }

    pub(super) fn send_msg(
        &mut self,
        from: Upid,
        to: Upid,
        name: String,
        body: Bytes,
        faults: bool,
    ) {
        let local = from.addr() == to.addr();
        let mut delay = Duration::ZERO;
        if !local {
            delay += self.cfg.latency;
            if !self.cfg.jitter.is_zero() {
                delay += self.random_delay(self.cfg.jitter);
            }
        }
        let mut copies = 1;
        if faults {
            if let Some((id, action)) = self.match_fault(&name, &from, &to) {
                let lost = match action {
                    FaultAction::Drop => true,
                    FaultAction::DropRandomly(pct) => self.rng.gen_range(0..100u8) < pct,
                    _ => false,
                };
                match action {
                    _ if lost => {
                        self.stats.dropped += 1;
                        let note = format!("{name} (fault {})", id.0);
                        self.record(Kind::Dropped, Some(&from), Some(&to), &note, &body);
                        return;
                    }
                    FaultAction::Hold => {
                        let note = format!("hold {name} (fault {})", id.0);
                        self.record(Kind::Fault, Some(&from), Some(&to), &note, &body);
                        self.held.entry(id).or_default().push(Msg {
                            from,
                            to,
                            name,
                            body,
                            dest_epoch: 0,
                            conn_epoch: None,
                            wire: None,
                        });
                        return;
                    }
                    FaultAction::Delay(d) => delay += d,
                    FaultAction::RandomDelay(max) => delay += self.random_delay(max),
                    FaultAction::Duplicate => copies = 2,
                    FaultAction::Drop | FaultAction::DropRandomly(_) => {}
                }
            }
        }
        // A connection is needed at send time: a down or unreachable peer
        // loses the message (upstream drops it when connect fails).
        let sender_is_node = self.nodes.contains_key(&from.addr());
        let can_reach = if sender_is_node {
            self.reachable(from.addr(), to.addr())
        } else {
            self.is_up(to.addr())
        };
        if !can_reach {
            self.stats.dropped += 1;
            let note = format!("{name} (unreachable)");
            self.record(Kind::Dropped, Some(&from), Some(&to), &note, &body);
            return;
        }
        let dest_epoch = self.epoch_of(to.addr());
        let conn_epoch = (!local && sender_is_node)
            .then(|| self.conn_epochs.get(&pair(from.addr(), to.addr())).copied())
            .map(|e| e.unwrap_or(0));
        let wire = (!local && self.cfg.wire)
            .then(|| crate::transport::encode::message_bytes(&from, &to, &name, &body));
        for _ in 1..copies {
            let m = Msg {
                from: from.clone(),
                to: to.clone(),
                name: name.clone(),
                body: body.clone(),
                dest_epoch,
                conn_epoch,
                wire: wire.clone(),
            };
            self.schedule(self.now + delay, Ev::Msg(m));
        }
        let m = Msg {
            from,
            to,
            name,
            body,
            dest_epoch,
            conn_epoch,
            wire,
        };
        self.schedule(self.now + delay, Ev::Msg(m));
    }

    pub(super) fn random_delay(&mut self, max: Duration) -> Duration {
        let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(self.rng.gen_range(0..=nanos))
    }

    pub(super) fn deliver_msg(&mut self, m: Msg) {
        let Msg {
            mut from,
            mut to,
            mut name,
            mut body,
            dest_epoch,
            conn_epoch,
            wire,
        } = m;
        let mut undecodable = false;
        if let Some(wire) = wire {
            match decode_wire(wire, to.addr()) {
                Some((f, t, n, b)) => (from, to, name, body) = (f, t, n, b),
                None => undecodable = true,
            }
        }
        let why = if undecodable {
            Some("undecodable on the wire")
        } else if !self.is_up(to.addr()) || self.epoch_of(to.addr()) != dest_epoch {
            Some("node down")
        } else if conn_epoch.is_some_and(|e| {
            self.conn_epochs
                .get(&pair(from.addr(), to.addr()))
                .copied()
                .unwrap_or(0)
                != e
        }) {
            Some("connection broken")
        } else if !self.filters.admit(&name, &from, &to, &body) {
            Some("filter")
        } else if !self.is_alive(&to) {
            Some("no process")
        } else {
            None
        };
        if let Some(why) = why {
            self.stats.dropped += 1;
            let note = format!("{name} ({why})");
            self.record(Kind::Dropped, Some(&from), Some(&to), &note, &body);
            return;
        }
        self.stats.delivered += 1;
        self.record(Kind::Message, Some(&from), Some(&to), &name, &body);
        self.run_on(&to, None, Event::Message { from, name, body });
    }

    // ----- faults -----

    pub(super) fn match_fault(
        &mut self,
        name: &str,
        from: &Upid,
        to: &Upid,
    ) -> Option<(FaultId, FaultAction)> {
        let r = self
            .faults
            .iter_mut()
            .find(|r| r.remaining != Some(0) && r.matcher.matches(name, from, to))?;
        if let Some(n) = r.remaining.as_mut() {
            *n -= 1;
        }
        r.hits += 1;
        Some((r.id, r.action))
    }

    /// Installs a fault for the next `times` matching messages (`None` =
    /// all, until removed). Faults are tried in installation order; the
    /// first that matches acts.
    pub fn fault(
        &mut self,
        matcher: Matcher,
        action: FaultAction,
        times: Option<usize>,
    ) -> FaultId {
        let id = FaultId(self.next_fault);
        self.next_fault += 1;
        self.faults.push(FaultRule {
            id,
            matcher,
            action,
            remaining: times,
            hits: 0,
        });
        id
    }

    /// Drops every matching message until removed.
    pub fn drop_messages(&mut self, m: Matcher) -> FaultId {
        self.fault(m, FaultAction::Drop, None)
    }

    /// Drops the next matching message.
    pub fn drop_next(&mut self, m: Matcher) -> FaultId {
        self.fault(m, FaultAction::Drop, Some(1))
    }

    /// Holds every matching message until [`Sim::release`].
    pub fn hold(&mut self, m: Matcher) -> FaultId {
        self.fault(m, FaultAction::Hold, None)
    }

    pub fn delay_messages(&mut self, m: Matcher, d: Duration) -> FaultId {
        self.fault(m, FaultAction::Delay(d), None)
    }

    pub fn duplicate(&mut self, m: Matcher) -> FaultId {
        self.fault(m, FaultAction::Duplicate, None)
    }

    /// Loses each matching message with probability `percent`/100.
    pub fn lossy(&mut self, m: Matcher, percent: u8) -> FaultId {
        self.fault(m, FaultAction::DropRandomly(percent.min(100)), None)
    }

    /// Delays each matching message by a random amount up to `max`.
    pub fn reorder(&mut self, m: Matcher, max: Duration) -> FaultId {
        self.fault(m, FaultAction::RandomDelay(max), None)
    }

    /// How many messages the fault acted on so far.
    pub fn fault_hits(&self, id: FaultId) -> usize {
        self.faults
            .iter()
            .find(|r| r.id == id)
            .map_or(0, |r| r.hits)
    }

    /// Messages held by a `Hold` fault and not yet released.
    pub fn held(&self, id: FaultId) -> usize {
        self.held.get(&id).map_or(0, Vec::len)
    }

    /// Sends the messages a `Hold` fault kept, in their original order, as if
    /// sent now (other faults do not apply to them again). Returns how many.
    pub fn release(&mut self, id: FaultId) -> usize {
        let msgs = self.held.remove(&id).unwrap_or_default();
        let n = msgs.len();
        for m in msgs {
            self.send_msg(m.from, m.to, m.name, m.body, false);
        }
        n
    }

    /// Removes a fault; messages it holds stay held until released.
    pub fn remove_fault(&mut self, id: FaultId) {
        self.faults.retain(|r| r.id != id);
    }

    /// Removes every fault and drops every held message.
    pub fn clear_faults(&mut self) {
        self.faults.clear();
        self.held.clear();
    }
}

/// Decodes a message the way the inbound side of a process manager does:
/// an HTTP request whose sender comes from `Libprocess-From` and whose path
/// is `/<to id>/<name>` (process.cpp `parse`).
fn decode_wire(mut wire: BytesMut, at: SocketAddr) -> Option<(Upid, Upid, String, Bytes)> {
    use crate::transport::decode;
    let mut d = decode::RequestDecoder::new(
        crate::transport::DEFAULT_MAX_HEAD,
        crate::transport::DEFAULT_MAX_BODY,
    );
    let req = match d.decode(&mut wire) {
        Ok(Some(r)) if wire.is_empty() && decode::is_message(&r) => r,
        other => {
            tracing::warn!("simulated wire: not one message: {other:?}");
            return None;
        }
    };
    let from = Upid::parse_literal(&decode::message_sender(&req)?).ok()?;
    let (to, name) = decode::message_route(req.path()).ok()?;
    Some((from, Upid::new(to, at), name, req.body))
}
