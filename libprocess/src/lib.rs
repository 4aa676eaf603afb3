//! The libprocess actor runtime: UPIDs, actors, the libprocess HTTP wire (tokio) and a deterministic simulator.
