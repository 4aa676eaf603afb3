//! libprocess: the actor runtime Mesos is built on, byte-compatible with
//! libprocess 1.9 on the wire.
//!
//! # Layout
//! - [`upid`]: `id@ip:port` process identifiers.
//! - [`actor`]: the [`Actor`] trait, its install table ([`Routes`]), the effect
//!   context ([`Cx`]) handlers run with, and the type-erased form runtimes hold.
//! - [`authentication`]: the CRAM-MD5 digest of agent/framework authentication.
//! - [`http`]: requests to endpoints, responses, responders and streams.
//! - [`logging`]: the process-wide verbose level (`SET_LOGGING_LEVEL`).
//! - [`time`]: the runtime clock as actors see it.
//! - [`transport`]: the libprocess HTTP wire (message/response encoding,
//!   request decoding, `LIBPROCESS_*` configuration).
//! - `runtime::tokio` (real sockets) and `runtime::sim` (deterministic) carry
//!   out the effects; both deliver events through [`actor::ErasedActor`].

pub mod actor;
pub mod authentication;
pub mod filter;
pub mod http;
pub mod logging;
pub mod runtime;
pub mod time;
pub mod tls;
pub mod transport;
pub mod upid;

pub use actor::{Actor, Cx, Pid, Routes, TimerId};
pub use http::{Request, Responder, Response, ResponseHead, StreamSender};
pub use time::Time;
pub use upid::Upid;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A string that is not `id@host:port`.
    #[error("failed to parse '{0}' as a PID")]
    BadPid(String),
    /// A message body that is not a valid encoding of its type.
    #[error("failed to decode: {0}")]
    Decode(String),
}

/// Decodes a protobuf message as libprocess does on receipt: it must parse,
/// and every proto2 `required` field must be present.
pub fn decode<M: prost::Message + prost::Name + Default>(body: &[u8]) -> Result<M, Error> {
    // protobuf.hpp:255-272: a message missing a required field is dropped.
    mesos_proto::required::decode_checked::<M>(body).map_err(|e| Error::Decode(e.to_string()))
}
