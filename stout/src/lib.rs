//! stout: the parts of upstream's stout library (and of Mesos' flag
//! definitions) that the daemons need: durations, byte sizes, the flag loader,
//! the complete `mesos-master` and `mesos-agent` flag sets, and parsers for
//! the flags with a syntax of their own.
//!
//! # Layout
//! - [`duration`]: [`Duration`], parsed and printed as `stout/duration.hpp`.
//! - [`bytes`]: [`Bytes`], parsed and printed as `stout/bytes.hpp`.
//! - [`numfmt`]: C++ ostream rendering of doubles (`%g`), used by both.
//! - [`flag`]: one flag's declaration, type, value, fetch/parse/stringify rules.
//! - [`flags`]: [`FlagsBase`], the loader (`MESOS_*` environment, `--name=value`,
//!   `--no-name`, `file://`, deprecated aliases, `--help` text, `/flags` listing).
//! - [`logging_flags`]: the flags of `src/logging/flags.cpp` both daemons share.
//! - [`master_flags`]: [`MasterFlags`], every flag of `src/master/flags.cpp`.
//! - [`agent_flags`]: [`AgentFlags`], every flag of `src/slave/flags.cpp`.
//! - [`parsers`]: `--weights`, `--roles`, `--attributes`, `--domain`,
//!   `--agent_features`, `--credentials`/`--credential`, `--acls`,
//!   `--min_allocatable_resources`, `--recovery_agent_removal_limit`,
//!   `--agent_removal_rate_limit`.
//! - [`textformat`]: protobuf `DebugString()`, how upstream prints some
//!   protobuf-typed flags.
//! - [`error`]: the crate's one error enum, [`Error`].
//!
//! # Use in a daemon's `main` (as `src/master/main.cpp`)
//!
//! ```no_run
//! let mut flags = stout::MasterFlags::new();
//! let load = flags.load_from(std::env::vars(), std::env::args());
//! // `--help` and `--version` win over load errors, as upstream.
//! if flags.help() {
//!     println!("{}", flags.usage(None));
//!     std::process::exit(0);
//! }
//! if flags.version() {
//!     println!("mesos 1.9.0");
//!     std::process::exit(0);
//! }
//! let warnings = match load {
//!     Ok(w) => w,
//!     Err(e) => {
//!         eprintln!("{e}\n\nSee `mesos-master --help` for a list of supported flags.");
//!         std::process::exit(1);
//!     }
//! };
//! for w in &warnings.messages {
//!     eprintln!("WARNING: {w}");
//! }
//! // `/flags` and GET_FLAGS: every flag with a value, upstream name and rendering.
//! let listing: Vec<(String, String)> = flags.flags();
//! # let _ = (listing, flags.agent_ping_timeout(), flags.parsed_weights());
//! ```

// `u64::is_multiple_of` needs Rust 1.87; the workspace supports 1.85.
#![allow(clippy::manual_is_multiple_of)]

#[macro_use]
mod macros;

pub mod agent_flags;
pub mod bytes;
pub mod duration;
pub mod error;
pub mod flag;
pub mod flags;
pub mod logging_flags;
pub mod master_flags;
pub mod numfmt;
pub mod parsers;
pub mod textformat;

pub use agent_flags::AgentFlags;
pub use bytes::Bytes;
pub use duration::Duration;
pub use error::{Error, Result};
pub use flag::{FlagSpec, FlagType, FlagValue};
pub use flags::{FlagsBase, LoadOptions, Warnings};
pub use master_flags::MasterFlags;
