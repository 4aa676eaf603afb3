//! The master registry in the log: entry `"registry"`, value = serialized
//! `mesos.internal.Registry` (`src/master/registrar.cpp`).

use std::path::{Path, PathBuf};

use mesos_proto::mesos::internal::Registry;
use prost::Message;

use crate::error::{Error, Result};
use crate::state::{State, Variable};

/// The state key the registrar uses.
pub const REGISTRY_KEY: &str = "registry";

/// The log directory of a master work dir (`src/master/main.cpp`: `<work_dir>/replicated_log`).
pub fn log_path(work_dir: impl AsRef<Path>) -> PathBuf {
    work_dir.as_ref().join("replicated_log")
}

/// Load and compare-and-swap save of the registry, as the registrar does: `load` once
/// at recovery, then `save` after each batch of operations. A save that loses the CAS
/// (another writer changed the registry) is [`Error::VersionMismatch`]; upstream's
/// registrar then fails and the master exits.
#[derive(Debug)]
pub struct RegistryStore {
    state: State,
    /// The version last fetched or stored; `None` before `load`.
    variable: Option<Variable>,
}

impl RegistryStore {
    /// Opens the master's log at `<work_dir>/replicated_log` (quorum 1, no ZooKeeper).
    /// `auto_initialize` is `--log_auto_initialize` (upstream default true).
    pub fn open(work_dir: impl AsRef<Path>, auto_initialize: bool) -> Result<Self> {
        Self::open_log_dir(log_path(work_dir), auto_initialize)
    }

    /// Opens a log directory directly.
    pub fn open_log_dir(path: impl AsRef<Path>, auto_initialize: bool) -> Result<Self> {
        Ok(Self::new(State::open(path, auto_initialize)?))
    }

    /// Wraps an existing state.
    pub fn new(state: State) -> Self {
        Self {
            state,
            variable: None,
        }
    }

    /// The state underneath.
    pub fn state(&mut self) -> &mut State {
        &mut self.state
    }

    /// Fetches the registry; `None` when none was ever stored (a brand new cluster:
    /// the registrar then starts from an empty `Registry`).
    pub fn load(&mut self) -> Result<Option<Registry>> {
        let variable = self.state.fetch(REGISTRY_KEY)?;
        let registry = if variable.value().is_empty() {
            None
        } else {
            Some(
                Registry::decode(variable.value().as_ref()).map_err(|source| Error::Decode {
                    what: "Registry".into(),
                    source,
                })?,
            )
        };
        self.variable = Some(variable);
        Ok(registry)
    }

    /// Stores `registry` over the version last loaded or saved (loading first if
    /// nothing was loaded yet).
    pub fn save(&mut self, registry: &Registry) -> Result<()> {
        let current = match &self.variable {
            Some(variable) => variable.clone(),
            None => {
                self.load()?;
                self.variable.clone().ok_or(Error::Closed)?
            }
        };
        let updated = current.mutate(registry.encode_to_vec());
        match self.state.store(&updated)? {
            Some(stored) => {
                self.variable = Some(stored);
                Ok(())
            }
            None => Err(Error::VersionMismatch(REGISTRY_KEY.into())),
        }
    }
}
