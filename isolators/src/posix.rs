//! The posix isolators: bookkeeping only, no enforcement, as upstream's
//! `PosixIsolatorProcess` (src/slave/containerizer/mesos/isolators/posix.hpp)
//! and `PosixFilesystemIsolatorProcess` (isolators/filesystem/posix.cpp).

use std::collections::BTreeMap;
use std::sync::Mutex;

use mesos_proto::mesos::slave::{ContainerConfig, ContainerLaunchInfo, ContainerState};
use mesos_proto::mesos::{ContainerId, Resource};

use crate::{Error, Isolator};

/// `posix/cpu`, `posix/mem`, `posix/disk` or `filesystem/posix`.
pub struct PosixIsolator {
    name: &'static str,
    /// Container id -> forked pid (once isolated).
    containers: Mutex<BTreeMap<String, Option<u32>>>,
}

impl PosixIsolator {
    pub fn new(name: &str) -> PosixIsolator {
        let name = match name {
            "posix/cpu" => "posix/cpu",
            "posix/mem" => "posix/mem",
            "posix/disk" => "posix/disk",
            _ => "filesystem/posix",
        };
        PosixIsolator {
            name,
            containers: Mutex::new(BTreeMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Option<u32>>> {
        self.containers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Containers currently tracked (for tests and `/state`).
    pub fn containers(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }
}

impl Isolator for PosixIsolator {
    fn name(&self) -> &'static str {
        self.name
    }

    fn supports_nesting(&self) -> bool {
        true
    }

    fn recover(&self, states: &[ContainerState], _orphans: &[ContainerId]) -> Result<(), Error> {
        let mut c = self.lock();
        for s in states {
            c.insert(s.container_id.value.clone(), Some(s.pid as u32));
        }
        Ok(())
    }

    fn prepare(
        &self,
        container_id: &ContainerId,
        _config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, Error> {
        let mut c = self.lock();
        if c.contains_key(&container_id.value) {
            return Err(Error::AlreadyPrepared(container_id.value.clone()));
        }
        c.insert(container_id.value.clone(), None);
        Ok(None)
    }

    fn isolate(&self, container_id: &ContainerId, pid: u32) -> Result<(), Error> {
        match self.lock().get_mut(&container_id.value) {
            Some(p) => {
                *p = Some(pid);
                Ok(())
            }
            None => Err(Error::UnknownContainer(container_id.value.clone())),
        }
    }

    fn update(&self, container_id: &ContainerId, _resources: &[Resource]) -> Result<(), Error> {
        if self.lock().contains_key(&container_id.value) {
            Ok(())
        } else {
            Err(Error::UnknownContainer(container_id.value.clone()))
        }
    }

    fn cleanup(&self, container_id: &ContainerId) -> Result<(), Error> {
        // Upstream ignores cleanup of unknown containers (it may be called
        // for a container whose prepare failed).
        self.lock().remove(&container_id.value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cid(v: &str) -> ContainerId {
        ContainerId {
            value: v.to_string(),
            ..Default::default()
        }
    }

    #[test]
    fn lifecycle() {
        let i = PosixIsolator::new("posix/cpu");
        let c = cid("c1");
        assert!(i
            .prepare(&c, &ContainerConfig::default())
            .unwrap()
            .is_none());
        assert!(matches!(
            i.prepare(&c, &ContainerConfig::default()),
            Err(Error::AlreadyPrepared(_))
        ));
        i.isolate(&c, 42).unwrap();
        i.update(&c, &[]).unwrap();
        assert_eq!(i.containers(), vec!["c1".to_string()]);
        i.cleanup(&c).unwrap();
        assert!(i.update(&c, &[]).is_err());
        assert!(i.isolate(&cid("nope"), 1).is_err());
    }
}
