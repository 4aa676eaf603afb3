//! Time as actors see it: a monotonic instant from the runtime's clock (real
//! under tokio, virtual in the simulator) and a wall clock for timestamps.

use std::ops::{Add, Sub};
use std::time::Duration;

/// A point on the runtime's monotonic clock, measured from the runtime's start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(pub Duration);

impl Time {
    pub const ZERO: Time = Time(Duration::ZERO);

    pub fn since_start(self) -> Duration {
        self.0
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Time) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Time {
    type Output = Time;
    fn add(self, d: Duration) -> Time {
        Time(self.0.saturating_add(d))
    }
}

impl Sub<Time> for Time {
    type Output = Duration;
    fn sub(self, other: Time) -> Duration {
        self.saturating_since(other)
    }
}
