//! The crate's error type.

/// Everything that can go wrong in the replicated log and the state on top of it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// LevelDB refused an operation (open, read, write); the text is LevelDB's.
    #[error("leveldb: {0}")]
    LevelDb(String),
    /// A stored value or log entry is not the protobuf it should be.
    #[error("failed to decode {what}: {source}")]
    Decode {
        /// What was being decoded (e.g. "Record at key 0000000003").
        what: String,
        /// The protobuf error.
        source: prost::DecodeError,
    },
    /// The storage holds a record type this position cannot have
    /// (mirrors upstream's "Bad record").
    #[error("bad record: {0}")]
    BadRecord(String),
    /// A read touched a truncated position or ran past the end of the log
    /// (mirrors `ReplicaProcess::read` / `LogReaderProcess::__read` failures).
    #[error("bad read range: {0}")]
    BadRange(String),
    /// The log is EMPTY and auto-initialization is off: upstream waits forever and
    /// tells the operator to run `mesos-log initialize --path=<PATH>`.
    #[error("the replicated log at {0} has not been initialized (run `mesos-log initialize --path={0}` or enable --log_auto_initialize)")]
    NotInitialized(String),
    /// The replica cannot reach VOTING status (e.g. it is RECOVERING and there is no
    /// other replica to catch up from).
    #[error("log recovery failed: {0}")]
    Recovery(String),
    /// The writer could not get elected or lost its leadership (another proposer
    /// won a higher proposal); upstream returns `None` positions in that case.
    #[error("the log writer is not elected: {0}")]
    NotElected(String),
    /// A state operation could not be applied while replaying the log.
    #[error("state replay failed: {0}")]
    Replay(String),
    /// A compare-and-swap store lost: someone else changed the entry since it was fetched.
    #[error("version mismatch: the entry '{0}' was changed by another writer")]
    VersionMismatch(String),
    /// The storage thread went away (it panicked or the storage was closed).
    #[error("storage is closed")]
    Closed,
}

/// Shorthand for results in this crate.
pub type Result<T> = std::result::Result<T, Error>;
