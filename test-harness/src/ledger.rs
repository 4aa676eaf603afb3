//! What the model peers did, recorded outside them so it survives their
//! crashes: the ground truth invariants are checked against. Purely
//! observational; actors never read it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

/// One status update an agent generated.
#[derive(Clone, Debug, PartialEq)]
pub struct Generated {
    pub agent: String,
    pub framework: String,
    pub task: String,
    pub uuid: Bytes,
    pub state: i32,
}

#[derive(Debug, Default)]
pub struct LedgerData {
    /// Per (framework ID, task ID): updates in the order the agent made them.
    pub generated: BTreeMap<(String, String), Vec<Generated>>,
    /// Per (framework name, task ID): the uuids the scheduler received, in
    /// order of first arrival (duplicates not repeated).
    pub delivered: BTreeMap<(String, String), Vec<Bytes>>,
    /// Every update delivery, counting duplicates.
    pub deliveries: u64,
    /// Per (framework name, task ID): launches the scheduler sent.
    pub launched: BTreeMap<(String, String), u32>,
    /// Per (framework ID, task ID): agents that started it (RunTaskMessage
    /// accepted), in order.
    pub started_on: BTreeMap<(String, String), Vec<String>>,
    /// (framework ID, task ID) whose update streams an agent dropped on
    /// purpose (framework shut down, agent told to shut down).
    pub abandoned: Vec<(String, String)>,
}

/// A shared, cloneable ledger.
#[derive(Clone, Debug, Default)]
pub struct Ledger(Arc<Mutex<LedgerData>>);

impl Ledger {
    pub fn new() -> Ledger {
        Ledger::default()
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut LedgerData) -> R) -> R {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }

    pub fn generated(&self, g: Generated) {
        self.with(|d| {
            d.generated
                .entry((g.framework.clone(), g.task.clone()))
                .or_default()
                .push(g)
        });
    }

    pub fn delivered(&self, framework: &str, task: &str, uuid: Option<&Bytes>) {
        self.with(|d| {
            d.deliveries += 1;
            if let Some(u) = uuid {
                let v = d
                    .delivered
                    .entry((framework.to_string(), task.to_string()))
                    .or_default();
                if !v.contains(u) {
                    v.push(u.clone());
                }
            }
        });
    }

    pub fn launched(&self, framework: &str, task: &str) {
        self.with(|d| {
            *d.launched
                .entry((framework.to_string(), task.to_string()))
                .or_default() += 1
        });
    }

    pub fn abandoned(&self, framework_id: &str, task: &str) {
        self.with(|d| {
            d.abandoned
                .push((framework_id.to_string(), task.to_string()))
        });
    }

    pub fn started(&self, framework_id: &str, task: &str, agent: &str) {
        self.with(|d| {
            d.started_on
                .entry((framework_id.to_string(), task.to_string()))
                .or_default()
                .push(agent.to_string())
        });
    }
}
