//! Hierarchical DRF allocator and sorters as pure state machines.
//!
//! # Layout
//! - [`resources`]: Mesos resource arithmetic on `mesos_proto::mesos::Resource`
//!   (`Resources`, quantities and limits, `--resources` parsing, display).
//! - [`sorter`]: the hierarchical DRF and weighted random sorters.
//! - [`hierarchical`]: [`HierarchicalAllocator`], the upstream `Allocator`
//!   interface as a pure state machine: time is an argument, a cycle returns
//!   offers and inverse offers.
//! - [`offer_constraints`]: per-role offer constraints on agent attributes
//!   (upstream 1.11's `OfferConstraintsFilter`, beyond 1.9).
//! - [`error`]: the crate's one error enum.
//!
//! Nothing here reads a clock or an unseeded RNG: the same inputs produce the
//! same allocations.

#![warn(missing_docs)]

#[doc(hidden)]
pub mod bench_support;
pub mod error;
mod fast_hash;
pub mod hierarchical;
pub mod offer_constraints;
pub mod resources;
pub mod sorter;

pub use error::{Error, Result};
pub use hierarchical::{
    AgentCapabilities, Allocation, AllocationResult, AllocatorOptions, FrameworkCapabilities,
    HierarchicalAllocator, InverseOfferAllocation, Quota, Time, UnavailableResources,
};
pub use offer_constraints::{OfferConstraintsFilter, OfferConstraintsOptions};
pub use resources::Resources;
pub use sorter::{Sorter, SorterKind};
