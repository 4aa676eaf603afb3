//! Message faults the test installs: drop, hold, delay, duplicate or
//! randomly delay (reorder) messages matched by name, sender and receiver.
//! They act when a message is sent (on the simulated wire); the test
//! [`crate::filter::Filters`] act when it is delivered, as upstream's filter
//! is consulted when a process dequeues an event.

use std::time::Duration;

use crate::filter::Matcher;

/// What a fault does to a matching message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// The message never arrives.
    Drop,
    /// The message is kept aside until [`super::Sim::release`].
    Hold,
    /// The message arrives this much later than it would.
    Delay(Duration),
    /// The message arrives twice.
    Duplicate,
    /// The message is lost with this probability in percent (0-100), drawn
    /// from the sim's RNG: a lossy network.
    DropRandomly(u8),
    /// The message arrives up to this much later, drawn from the sim's RNG;
    /// messages on one connection may overtake each other.
    RandomDelay(Duration),
}

/// Names an installed fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FaultId(pub u64);

pub(crate) struct FaultRule {
    pub id: FaultId,
    pub matcher: Matcher,
    pub action: FaultAction,
    /// How many more messages this fault applies to; `None` = unlimited.
    pub remaining: Option<usize>,
    pub hits: usize,
}
