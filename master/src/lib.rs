//! The Mesos master: state, actor, registrar, HTTP and operator APIs.
