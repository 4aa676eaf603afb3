//! Handing events to actors and carrying out the effects they record.

use super::*;

impl Sim {
    /// Hands `event` to the actor at `pid` (of incarnation `inc` if given)
    /// and carries out its effects.
    pub(super) fn run_on(&mut self, pid: &Upid, inc: Option<u64>, event: Event) -> Option<Handled> {
        let wall = self.wall_secs();
        let n = self.nodes.get_mut(&pid.addr()).filter(|n| n.up)?;
        let slot = n.actors.get_mut(pid.id())?;
        if inc.is_some_and(|i| i != slot.inc) {
            return None;
        }
        let mut actor = slot.actor.take()?;
        let (me, inc, node) = (slot.pid.clone(), slot.inc, n.node.clone());
        let mut effects = Vec::new();
        let handled = actor.handle(
            event,
            Env {
                me: &me,
                node: &node,
                now: self.now,
                wall,
                rng: &mut self.rng,
                effects: &mut effects,
            },
        );
        if let Some(slot) = self
            .nodes
            .get_mut(&me.addr())
            .and_then(|n| n.actors.get_mut(me.id()))
            .filter(|s| s.inc == inc)
        {
            slot.actor = Some(actor);
        }
        self.apply(&me, effects);
        Some(handled)
    }

    pub(super) fn run_event(&mut self, ev: Ev) {
        match ev {
            Ev::Msg(m) => self.deliver_msg(m),
            Ev::Exited { linker, inc, pid } => {
                if self.inc_of(&linker) == Some(inc) {
                    self.record(Kind::Exited, Some(&pid), Some(&linker), "exited", &[]);
                    self.run_on(&linker, Some(inc), Event::Exited(pid));
                }
            }
            Ev::Dispatch {
                to,
                epoch,
                inc,
                f,
                label,
            } => {
                let alive = self.inc_of(&to);
                if self.epoch_of(to.addr()) == epoch
                    && alive.is_some()
                    && (inc.is_none() || inc == alive)
                {
                    self.record(Kind::Dispatch, None, Some(&to), label, &[]);
                    self.run_on(&to, alive, Event::Dispatch(f));
                }
            }
            Ev::Timer { key, to, inc, f } => {
                if self.live_timers.remove(&key) && self.inc_of(&to) == Some(inc) {
                    let name = format!("timer {}", key.2 .0);
                    self.record(Kind::Timer, None, Some(&to), &name, &[]);
                    self.run_on(&to, Some(inc), Event::Dispatch(f));
                }
            }
            Ev::Http {
                addr,
                client,
                request,
                handle,
            } => self.deliver_http(addr, client, request, handle),
        }
    }

    pub(super) fn apply(&mut self, me: &Upid, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::Send {
                    from,
                    to,
                    name,
                    body,
                } => self.send_msg(from, to, name, body, true),
                Effect::Link { from, to } => self.link(from, to),
                Effect::Unlink { from, to } => self.remove_link(&from, &to),
                Effect::Spawn { pid, actor } => {
                    if pid.addr() == me.addr() {
                        self.spawn_boxed(pid, actor);
                    } else {
                        tracing::warn!("{me}: cannot spawn {pid} on another node");
                    }
                }
                Effect::Timer { id, to, at, f } => {
                    let Some(inc) = self.inc_of(&to) else {
                        continue;
                    };
                    let key = (me.addr(), self.epoch_of(me.addr()), id);
                    self.live_timers.insert(key);
                    self.schedule(at, Ev::Timer { key, to, inc, f });
                }
                Effect::CancelTimer(id) => {
                    let key = (me.addr(), self.epoch_of(me.addr()), id);
                    self.live_timers.remove(&key);
                }
                Effect::Dispatch { to, f } => self.dispatch_boxed(me, to, None, f, "dispatch"),
                Effect::Blocking { to, job } => {
                    // Inline and deterministic; the continuation queues
                    // behind whatever is already due now.
                    let f = job();
                    let inc = self.inc_of(&to);
                    if inc.is_some() {
                        self.dispatch_boxed(me, to, inc, f, "blocking");
                    }
                }
                Effect::Terminate(pid) => {
                    if pid.addr() == me.addr() {
                        self.remove_actor(&pid, true);
                    } else {
                        tracing::warn!("{me}: cannot terminate {pid} on another node");
                    }
                }
            }
        }
    }

    pub(super) fn dispatch_boxed(
        &mut self,
        me: &Upid,
        to: Upid,
        inc: Option<u64>,
        f: Box<dyn Any + Send>,
        label: &'static str,
    ) {
        // Upstream dispatch only reaches processes of the same manager.
        if to.addr() != me.addr() {
            tracing::warn!("{me}: dropping a dispatch to {to} on another node");
            return;
        }
        let epoch = self.epoch_of(to.addr());
        self.schedule(
            self.now,
            Ev::Dispatch {
                to,
                epoch,
                inc,
                f,
                label,
            },
        );
    }

    /// Runs `f` on the actor at `pid` at the current virtual time (after
    /// what is already due), as a test-side `dispatch`.
    pub fn dispatch<A: Actor>(
        &mut self,
        pid: &Pid<A>,
        f: impl for<'c> FnOnce(&mut A, &mut crate::Cx<'c, A>) + Send + 'static,
    ) {
        let f: DispatchFn<A> = Box::new(f);
        let epoch = self.epoch_of(pid.upid.addr());
        self.schedule(
            self.now,
            Ev::Dispatch {
                to: pid.upid.clone(),
                epoch,
                inc: None,
                f: Box::new(f),
                label: "dispatch",
            },
        );
    }

    pub(super) fn drain_notices(&mut self) {
        loop {
            let next = self
                .notices
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop_front();
            let Some(CloseNotice { pid, f }) = next else {
                return;
            };
            // Bound to the incarnation living now, so a later actor under the
            // same id never runs a dead one's closure.
            if let Some(inc) = self.inc_of(&pid) {
                let epoch = self.epoch_of(pid.addr());
                self.schedule(
                    self.now,
                    Ev::Dispatch {
                        to: pid,
                        epoch,
                        inc: Some(inc),
                        f,
                        label: "close-notice",
                    },
                );
            }
        }
    }

    pub(super) fn forget_notices(&mut self, dead: impl Fn(&Upid) -> bool) {
        self.notices
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|n| !dead(&n.pid));
    }
}
