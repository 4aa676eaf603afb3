//! Hierarchical DRF allocator and sorters as pure state machines.
