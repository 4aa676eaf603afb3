//! `slave-observer(N)`: one actor per registered agent that pings it
//! (upstream `SlaveObserver`, `src/master/master.cpp:156-300`).
//!
//! Every `agent_ping_timeout` it sends `PingSlaveMessage{connected}`; the
//! agent answers `PongSlaveMessage` to the observer (not to `master`). A
//! pong resets the count of missed pings; after `max_agent_ping_timeouts`
//! consecutive misses the observer asks the master to mark the agent
//! unreachable, once.

use std::time::Duration;

use libprocess::{Actor, Cx, Pid, Routes, Upid};
use mesos_proto::mesos::internal::{PingSlaveMessage, PongSlaveMessage};

use crate::actor::Master;

/// The per-agent health checker.
pub struct SlaveObserver {
    agent_pid: Upid,
    agent_id: String,
    master: Pid<Master>,
    ping_timeout: Duration,
    max_timeouts: u32,
    /// A ping is outstanding.
    pinged: bool,
    /// Consecutive pings without a pong.
    timeouts: u32,
    /// What the next ping tells the agent about its connection.
    connected: bool,
    /// Already reported to the master.
    reported: bool,
}

impl SlaveObserver {
    pub fn new(
        agent_pid: Upid,
        agent_id: String,
        master: Pid<Master>,
        ping_timeout: Duration,
        max_timeouts: u32,
    ) -> SlaveObserver {
        SlaveObserver {
            agent_pid,
            agent_id,
            master,
            ping_timeout,
            max_timeouts,
            pinged: false,
            timeouts: 0,
            connected: true,
            reported: false,
        }
    }

    /// Consecutive missed pings so far.
    pub fn missed(&self) -> u32 {
        self.timeouts
    }

    fn ping(&mut self, cx: &mut Cx<'_, Self>) {
        let msg = PingSlaveMessage {
            connected: self.connected,
        };
        cx.send(&self.agent_pid, &msg);
        self.pinged = true;
        cx.delay(self.ping_timeout, Self::timeout);
    }

    fn timeout(&mut self, cx: &mut Cx<'_, Self>) {
        if self.pinged {
            self.timeouts += 1;
            if self.timeouts >= self.max_timeouts && !self.reported {
                self.reported = true;
                let agent_id = self.agent_id.clone();
                let missed = self.timeouts;
                cx.dispatch(&self.master, move |m: &mut Master, cx| {
                    m.agent_ping_timed_out(cx, &agent_id, missed)
                });
            }
        }
        self.ping(cx);
    }

    /// Upstream `SlaveObserver::pong`.
    fn pong(&mut self, cx: &mut Cx<'_, Self>, _from: Upid, _msg: PongSlaveMessage) {
        self.timeouts = 0;
        self.pinged = false;
        if self.reported {
            // A transition the rate limit still holds back is cancelled.
            let agent_id = self.agent_id.clone();
            cx.dispatch(&self.master, move |m: &mut Master, _cx| {
                m.agent_pong_after_timeout(&agent_id)
            });
        }
        self.reported = false;
    }

    /// The master saw the agent's connection break or come back.
    pub fn set_connected(&mut self, connected: bool) {
        self.connected = connected;
    }

    /// The agent reregistered from a new pid.
    pub fn set_agent_pid(&mut self, pid: Upid) {
        self.agent_pid = pid;
    }
}

impl Actor for SlaveObserver {
    fn install(r: &mut Routes<Self>) {
        r.message::<PongSlaveMessage>(Self::pong);
    }

    fn initialize(&mut self, cx: &mut Cx<'_, Self>) {
        self.ping(cx);
    }
}
