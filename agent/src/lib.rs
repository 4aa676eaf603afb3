//! The Mesos agent: actor, containerizer, status updates, checkpoints.
