//! The crate's one error type.

/// Errors of the master crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A command-line flag or `MESOS_*` variable that cannot be used.
    #[error("{0}")]
    Flag(String),
    /// A request or message that fails validation (the text is the reason
    /// upstream gives, so it can be returned to the client as is).
    #[error("{0}")]
    Invalid(String),
    /// A request body that does not decode.
    #[error("Failed to parse body into {what}: {reason}")]
    Decode {
        /// The expected message type.
        what: &'static str,
        /// Why decoding failed.
        reason: String,
    },
    /// The registry refused or failed an operation.
    #[error("registrar: {0}")]
    Registrar(String),
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, Error>;
