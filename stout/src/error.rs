//! The one error type of this crate.
//!
//! Display texts are upstream's messages word for word where upstream has one
//! (stout `duration.hpp`, `bytes.hpp`, `flags/flags.hpp`, `flags/parse.hpp`;
//! Mesos `src/common/values.cpp`, `src/common/roles.cpp`, `src/master/master.cpp`),
//! so operators see the same text a real Mesos prints.

/// Everything that can go wrong in this crate. Nothing here panics on bad input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A duration with no unit, or with nothing but digits (`Duration::parse`).
    #[error("Invalid duration '{0}'")]
    InvalidDuration(String),

    /// A duration whose unit is not one of stout's eight.
    #[error(
        "Unknown duration unit '{0}'; supported units are 'ns', 'us', 'ms', 'secs', 'mins', \
         'hrs', 'days', and 'weeks'"
    )]
    UnknownDurationUnit(String),

    /// A duration that does not fit in a signed 64-bit count of nanoseconds.
    #[error("Argument out of the range that a Duration can represent due to int64_t's size limit")]
    DurationOutOfRange,

    /// A number stout's `numify` could not convert.
    #[error("Failed to convert '{0}' to number")]
    NotANumber(String),

    /// A byte size with a fractional part (`Bytes::parse`).
    #[error("Fractional bytes '{0}'")]
    FractionalBytes(String),

    /// A byte size whose unit is not B, KB, MB, GB or TB.
    #[error("Unknown bytes unit '{0}'")]
    UnknownBytesUnit(String),

    /// A byte size with no unit.
    #[error("Invalid bytes '{0}'")]
    InvalidBytes(String),

    /// A value that does not convert into the flag's type (`flags::parse<T>`),
    /// or that could not be fetched from a `file://` path. The text is upstream's.
    #[error("{0}")]
    Conversion(String),

    /// A flag name the registry does not know (`FlagsBase::load`).
    #[error("Failed to load unknown flag '{name}'{}", via.as_ref().map(|v| format!(" via '{v}'")).unwrap_or_default())]
    UnknownFlag {
        /// The flag name without any `no-` prefix.
        name: String,
        /// The name as given, when it carried a `no-` prefix.
        via: Option<String>,
    },

    /// The same flag given twice (also by its name and its alias).
    #[error("Flag '{name}' is already loaded via name '{loaded_name}'")]
    AlreadyLoaded {
        /// The name used the second time.
        name: String,
        /// The name used the first time.
        loaded_name: String,
    },

    /// `--no-<flag>` for a flag that is not a boolean.
    #[error("Failed to load non-boolean flag '{name}' via '{given}'")]
    NegatedNonBoolean {
        /// The flag name.
        name: String,
        /// The name as given (`no-...`).
        given: String,
    },

    /// A non-boolean flag given without `=value`.
    #[error("Failed to load non-boolean flag '{name}': Missing value")]
    MissingValue {
        /// The flag name.
        name: String,
    },

    /// `--no-<flag>=value` with a non-empty value.
    #[error("Failed to load boolean flag '{name}' via '{given}' with value '{value}'")]
    NegatedBooleanWithValue {
        /// The flag name.
        name: String,
        /// The name as given (`no-...`).
        given: String,
        /// The value that should not have been there.
        value: String,
    },

    /// A value the flag's type rejected.
    #[error("Failed to load flag '{name}': Failed to load value '{value}': {reason}")]
    LoadValue {
        /// The flag name as given.
        name: String,
        /// The raw value as given.
        value: String,
        /// Why the type rejected it.
        reason: String,
    },

    /// A flag without a default that was not given.
    #[error("Flag '{0}' is required, but it was not provided")]
    Required(String),

    /// A flag's own validation rejected its value (text from upstream's validator).
    #[error("{0}")]
    Validation(String),

    /// A programmatic lookup of a flag name that is not registered.
    #[error("No flag named '{0}'")]
    NoSuchFlag(String),

    /// A malformed `--attributes` value (`src/common/attributes.cpp`).
    #[error("{0}")]
    Attribute(String),

    /// A malformed `--roles` or `--weights` value.
    #[error("{0}")]
    Role(String),

    /// A malformed JSON flag value converted into a protobuf message
    /// (`--domain`, `--agent_features`, credentials).
    #[error("{0}")]
    Message(String),

    /// A credentials file that could not be read or parsed
    /// (`src/credentials/credentials.hpp`).
    #[error("{0}")]
    Credentials(String),
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, Error>;
