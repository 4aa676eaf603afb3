//! The Mesos agent (`mesos-agent`, upstream `src/slave/`).
//!
//! # Layout
//! - [`paths`]: the `--work_dir` layout (sandboxes and `meta/` checkpoints).
//! - [`checkpoint`]: framed protobuf records, atomic writes.
//! - [`state`]: reading the checkpointed `meta/` tree back for recovery.
//! - [`status_update_manager`]: per-task update streams (checkpoint, forward,
//!   retry, acknowledge), pure apart from file appends.
//! - [`resources`]: `--resources` plus auto-detected cpus/mem/disk/ports.
//! - [`config`]: the agent's settings, loaded from flags / `MESOS_*` env.
//! - [`launcher`]: the posix launcher (fork/exec in a new session).
//! - [`slave`]: the agent actor (`slave(1)`): registration, tasks, executors,
//!   status updates, recovery, HTTP endpoints.
//! - [`fetcher`]: `CommandInfo.uris` into the sandbox (`mesos-fetcher`).
//! - [`executor`]: the command executor (`mesos-executor`) and the executor
//!   driver protocol it speaks.
//! - [`default_executor`]: the default executor (`mesos-default-executor`):
//!   task groups in nested containers over the v1 HTTP APIs.

// Upstream still sets deprecated fields (ExecutorInfo.source, RunTaskMessage.framework_id,
// FrameworkInfo.role) for old peers; so do we.
#![allow(deprecated)]

pub mod checkpoint;
pub mod checks;
pub mod config;
pub mod default_executor;
pub mod executor;
pub mod fetcher;
pub mod launcher;
pub mod paths;
pub mod resources;
pub mod slave;
pub mod state;
pub mod status_update_manager;

pub use config::AgentConfig;
pub use slave::Slave;

/// Errors of the agent crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file operation on the work dir or a checkpoint failed.
    #[error("I/O error: {0}")]
    Io(String),
    /// A checkpoint file is corrupt or truncated.
    #[error("bad checkpoint: {0}")]
    Checkpoint(String),
    /// A status update or acknowledgement was rejected.
    #[error("status update: {0}")]
    StatusUpdate(String),
    /// A flag or configuration value is invalid.
    #[error("{0}")]
    Flags(String),
    /// Launching a container failed.
    #[error("launch failed: {0}")]
    Launch(String),
    /// Fetching the executor's URIs failed (upstream's message as is).
    #[error("{0}")]
    Fetch(String),
    /// Recovery of checkpointed state failed.
    #[error("recovery failed: {0}")]
    Recovery(String),
}
