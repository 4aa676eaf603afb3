//! The simulator's trace: one compact record per delivered (or dropped)
//! event, folded into a running hash for the determinism check and kept in a
//! bounded ring for printing when a test fails.

use std::collections::VecDeque;
use std::fmt;

use crate::time::Time;
use crate::Upid;

/// What a trace line records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A message handed to its receiver.
    Message,
    /// A message that did not reach a handler (fault, filter, no process,
    /// unreachable node); the `name` says the message, `note` why.
    Dropped,
    Exited,
    Dispatch,
    Timer,
    Http,
    Spawn,
    Terminate,
    /// Fault injection by the test: crash, restart, partition, heal.
    Fault,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Kind::Message => "msg",
            Kind::Dropped => "drop",
            Kind::Exited => "exited",
            Kind::Dispatch => "dispatch",
            Kind::Timer => "timer",
            Kind::Http => "http",
            Kind::Spawn => "spawn",
            Kind::Terminate => "terminate",
            Kind::Fault => "fault",
        }
    }
}

/// One trace record.
#[derive(Clone, Debug)]
pub struct Line {
    pub at: Time,
    pub kind: Kind,
    pub from: Option<Upid>,
    pub to: Option<Upid>,
    pub name: String,
    /// FNV-1a of the message body (0 for events without one).
    pub body_hash: u64,
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.at.0;
        write!(
            f,
            "{:>6}.{:06} {:<9}",
            t.as_secs(),
            t.subsec_micros(),
            self.kind.tag()
        )?;
        if let Some(from) = &self.from {
            write!(f, " {from} ->")?;
        }
        if let Some(to) = &self.to {
            write!(f, " {to}")?;
        }
        write!(f, " {}", self.name)?;
        if self.body_hash != 0 {
            write!(f, " #{:016x}", self.body_hash)?;
        }
        Ok(())
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a: stable across runs, platforms and Rust versions (unlike std's
/// default hasher), which the replay-by-seed promise needs.
pub fn fnv(bytes: &[u8]) -> u64 {
    fnv_extend(FNV_OFFSET, bytes)
}

fn fnv_extend(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

pub(crate) struct Trace {
    lines: VecDeque<Line>,
    capacity: usize,
    hash: u64,
    count: u64,
}

impl Trace {
    pub(crate) fn new(capacity: usize) -> Trace {
        Trace {
            lines: VecDeque::with_capacity(capacity.min(4096)),
            capacity,
            hash: FNV_OFFSET,
            count: 0,
        }
    }

    fn fold_pid(h: u64, p: Option<&Upid>) -> u64 {
        match p {
            None => fnv_extend(h, &[0]),
            Some(p) => {
                let h = fnv_extend(h, p.id().as_bytes());
                let h = match p.ip() {
                    std::net::IpAddr::V4(ip) => fnv_extend(h, &ip.octets()),
                    std::net::IpAddr::V6(ip) => fnv_extend(h, &ip.octets()),
                };
                fnv_extend(h, &p.port().to_le_bytes())
            }
        }
    }

    /// Folds one event into the hash and, if lines are kept, the ring.
    pub(crate) fn record(
        &mut self,
        at: Time,
        kind: Kind,
        from: Option<&Upid>,
        to: Option<&Upid>,
        name: &str,
        body_hash: u64,
    ) {
        let mut h = self.hash;
        h = fnv_extend(h, &at.0.as_nanos().to_le_bytes());
        h = fnv_extend(h, kind.tag().as_bytes());
        h = Self::fold_pid(h, from);
        h = Self::fold_pid(h, to);
        h = fnv_extend(h, name.as_bytes());
        h = fnv_extend(h, &body_hash.to_le_bytes());
        self.hash = h;
        self.count += 1;
        if self.capacity == 0 {
            return;
        }
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
        }
        self.lines.push_back(Line {
            at,
            kind,
            from: from.cloned(),
            to: to.cloned(),
            name: name.to_string(),
            body_hash,
        });
    }

    pub(crate) fn hash(&self) -> u64 {
        self.hash
    }

    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// The last `n` lines, oldest first.
    pub(crate) fn last(&self, n: usize) -> Vec<Line> {
        let skip = self.lines.len().saturating_sub(n);
        self.lines.iter().skip(skip).cloned().collect()
    }
}
