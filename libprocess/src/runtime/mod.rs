//! The two runtimes that carry out actor effects.
//!
//! - [`tokio`]: real sockets and the libprocess HTTP wire.
//! - [`sim`]: one thread, a virtual clock, one seeded RNG, fault injection.

pub mod sim;
pub mod tokio;
