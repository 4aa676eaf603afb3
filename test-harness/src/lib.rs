//! Simulated clusters with seeded faults, interop tests against real Mesos, mesos-bench.
