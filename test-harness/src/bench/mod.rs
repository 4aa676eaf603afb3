//! `mesos-bench`: synthetic agents and frameworks on the real wire.
