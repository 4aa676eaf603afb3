//! The crate's single error type.

use thiserror::Error;

/// Everything that can go wrong in resource arithmetic, parsing and allocator calls.
///
/// Allocator methods return these instead of panicking when the master hands in
/// something inconsistent (unknown ids, resources not held), so a bad peer or
/// operator input never takes the process down.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// A `Resource` failed validation (mirrors `Resources::validate`).
    #[error("invalid resource: {0}")]
    InvalidResource(String),
    /// A `--resources` string or JSON document could not be parsed.
    #[error("failed to parse resources: {0}")]
    Parse(String),
    /// A role name failed `roles::validate`.
    #[error("invalid role: {0}")]
    InvalidRole(String),
    /// An operation would subtract resources that are not there.
    #[error("{have} does not contain {want}")]
    NotContained {
        /// What we have (display form).
        have: String,
        /// What was asked for (display form).
        want: String,
    },
    /// The framework id is not known to the allocator.
    #[error("unknown framework {0}")]
    UnknownFramework(String),
    /// The framework id is already known to the allocator.
    #[error("framework {0} already added")]
    FrameworkExists(String),
    /// The agent id is not known to the allocator.
    #[error("unknown agent {0}")]
    UnknownSlave(String),
    /// The agent id is already known to the allocator.
    #[error("agent {0} already added")]
    SlaveExists(String),
    /// Resources passed to the allocator carry no or several allocation roles.
    #[error("resources must be allocated to exactly one role: {0}")]
    BadAllocation(String),
    /// An offer operation cannot be applied.
    #[error("invalid operation: {0}")]
    InvalidOperation(String),
    /// A quota configuration is not acceptable.
    #[error("invalid quota: {0}")]
    InvalidQuota(String),
    /// A framework's `OfferConstraints` are not valid (upstream's message as is).
    #[error("{0}")]
    InvalidOfferConstraints(String),
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;
