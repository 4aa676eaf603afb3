//! Protocol models of the master's peers, usable on both runtimes.

pub mod agent;
pub mod scheduler;
