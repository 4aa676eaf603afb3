//! The pending-operations tracker behind the agent's `/containerizer/debug`
//! endpoint: upstream's `PendingFutureTracker` (src/common/future_tracker.hpp)
//! fed by `IsolatorTracker` / `LauncherTracker`
//! (src/slave/containerizer/mesos/{isolator,launcher}_tracker.cpp), rendered
//! as `Http::_containerizerDebug` does (src/slave/http.cpp): only the
//! containerizer component, `{"pending":[{"operation":..,"args":{..}}]}`.
//!
//! Operations here are synchronous calls on blocking threads: a call
//! registers itself with [`PendingTracker::track`] and the returned guard
//! removes it when the call returns (or panics).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// `COMPONENT_NAME_CONTAINERIZER`.
pub const COMPONENT_NAME_CONTAINERIZER: &str = "containerizer";

/// `FutureMetadata`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperationMetadata {
    pub operation: String,
    pub component: String,
    pub args: BTreeMap<String, String>,
}

#[derive(Default)]
struct Inner {
    next: u64,
    pending: Vec<(u64, OperationMetadata)>,
}

/// Shared registry of operations in progress.
#[derive(Clone, Default)]
pub struct PendingTracker {
    inner: Arc<Mutex<Inner>>,
}

/// Removes its operation from the tracker when dropped.
#[must_use = "the operation is untracked as soon as the guard is dropped"]
pub struct TrackGuard {
    inner: Arc<Mutex<Inner>>,
    id: u64,
}

impl Drop for TrackGuard {
    fn drop(&mut self) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.pending.retain(|(id, _)| *id != self.id);
    }
}

impl PendingTracker {
    pub fn new() -> PendingTracker {
        PendingTracker::default()
    }

    /// Registers an operation (e.g. `namespaces/ipc::prepare`) until the
    /// guard drops.
    pub fn track(&self, operation: &str, component: &str, args: &[(&str, String)]) -> TrackGuard {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.next += 1;
        let id = g.next;
        g.pending.push((
            id,
            OperationMetadata {
                operation: operation.to_string(),
                component: component.to_string(),
                args: args
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            },
        ));
        TrackGuard {
            inner: self.inner.clone(),
            id,
        }
    }

    /// Runs `f` while tracked as a containerizer operation.
    pub fn run<T>(&self, operation: &str, args: &[(&str, String)], f: impl FnOnce() -> T) -> T {
        let _g = self.track(operation, COMPONENT_NAME_CONTAINERIZER, args);
        f()
    }

    /// Operations in progress, oldest first.
    pub fn pending(&self) -> Vec<OperationMetadata> {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.pending.iter().map(|(_, m)| m.clone()).collect()
    }

    /// The `/containerizer/debug` body: containerizer operations only.
    pub fn containerizer_debug_json(&self) -> serde_json::Value {
        let pending: Vec<serde_json::Value> = self
            .pending()
            .into_iter()
            .filter(|m| m.component == COMPONENT_NAME_CONTAINERIZER)
            .map(|m| {
                let args: serde_json::Map<String, serde_json::Value> = m
                    .args
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v)))
                    .collect();
                serde_json::json!({"operation": m.operation, "args": args})
            })
            .collect();
        serde_json::json!({ "pending": pending })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_until_the_guard_drops_and_filters_components() {
        let t = PendingTracker::new();
        assert_eq!(
            t.containerizer_debug_json().to_string(),
            r#"{"pending":[]}"#
        );
        let g = t.track(
            "cgroups::isolate",
            COMPONENT_NAME_CONTAINERIZER,
            &[("containerId", "c1".into()), ("pid", "42".into())],
        );
        let _other = t.track("x", "volume_manager", &[]);
        assert_eq!(
            t.containerizer_debug_json().to_string(),
            r#"{"pending":[{"operation":"cgroups::isolate","args":{"containerId":"c1","pid":"42"}}]}"#
        );
        drop(g);
        assert_eq!(
            t.containerizer_debug_json().to_string(),
            r#"{"pending":[]}"#
        );
        assert_eq!(t.pending().len(), 1);
    }
}
