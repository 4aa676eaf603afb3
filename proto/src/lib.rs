//! The Mesos 1.9.0 wire schema and its encodings.
//!
//! # Layout
//! - `proto/**/*.proto`: our reproduction of every package compiled into the real 1.9.0
//!   library (except Google's well-known types and the CSI spec), generated from the
//!   1.9.0 descriptor set by `tools/descriptors_to_proto.py`.
//! - The prost types, one Rust module per protobuf package (`mesos`, `mesos::v1`,
//!   `mesos::internal`, ...), each message implementing [`prost::Name`] so its fully
//!   qualified name (what libprocess puts on the wire) is known.
//! - [`pool`]: the descriptor pool of the same schema, for reflection.
//! - [`json`]: Mesos-style JSON <-> protobuf, following stout's rules.
//! - [`required`]: the proto2 `required`-field check libprocess applies on receipt.
//! - [`recordio`]: the `<length>\n<bytes>` framing of streaming HTTP APIs.
//! - [`validation`]: upstream's `common::validation` rules shared by master and agent.
//!
//! Inside [`json`]: `write.rs` holds per-message write plans (field order, quoted
//! keys, printed defaults) and the `DynamicMessage` writer; `wire.rs` prints straight
//! from protobuf bytes with the same plans (the fast path behind [`json::to_json`]);
//! `parse.rs` is the lenient reader. Tests: `tests/golden` holds captures of a real
//! 1.9.0 master (`capture.py` regenerates them), `tests/schema.rs` compares our schema
//! with upstream's descriptor set; `benches/json.rs` measures a cluster-sized GET_STATE.

#![allow(clippy::all, missing_docs)]

include!(concat!(env!("OUT_DIR"), "/mesos_proto.rs"));

// The crate-level `allow` above is for the generated code; our own modules are linted.
#[warn(clippy::all, missing_docs)]
pub mod json;
#[warn(clippy::all, missing_docs)]
pub mod pool;
#[warn(clippy::all, missing_docs)]
pub mod recordio;
#[warn(clippy::all, missing_docs)]
pub mod required;
#[warn(clippy::all, missing_docs)]
pub mod validation;
