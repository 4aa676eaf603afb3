//! How sorters are charged for shared resources (mirrors
//! `DRFSorter::Allocation::add/subtract`): a client holding several copies of
//! a shared resource on one agent is charged for it once.

use super::state::{Framework, RoleState};
use crate::resources::{resource as r, ResourceQuantities, Resources};

/// Quantities to charge when `added` joins `held` (what the client already
/// holds on the agent).
pub(crate) fn added_quantities(held: Option<&Resources>, added: &Resources) -> ResourceQuantities {
    if !added.any(r::is_shared) {
        return added.scalar_quantities();
    }
    let mut q = added.scalar_quantities_where(|x| !r::is_shared(x));
    for x in added.iter().filter(|x| r::is_shared(x) && r::is_scalar(x)) {
        if !held.is_some_and(|h| h.contains_resource(x)) {
            q.add_fixed_value(&x.name, crate::resources::values::to_fixed(r::scalar(x)));
        }
    }
    q
}

/// Quantities to refund when `removed` leaves and `remaining` stays.
pub(crate) fn removed_quantities(
    remaining: Option<&Resources>,
    removed: &Resources,
) -> ResourceQuantities {
    added_quantities(remaining, removed)
}

/// The shared resources that the frameworks of `role` hold on an agent,
/// allocated to `role` (what the role sorter's client holds there).
pub(crate) fn role_shared_held(
    role: &str,
    agent: &str,
    roles: &std::collections::BTreeMap<String, RoleState>,
    frameworks: &[Option<Framework>],
    index: &crate::fast_hash::FastMap<String, usize>,
) -> Resources {
    let mut out = Resources::new();
    let Some(state) = roles.get(role) else {
        return out;
    };
    for id in &state.frameworks {
        let Some(f) = index.get(id).and_then(|&i| frameworks[i].as_ref()) else {
            continue;
        };
        if let Some(held) = f.allocated.get(agent) {
            out += held.filter(|x| {
                r::is_shared(x)
                    && x.allocation_info.as_ref().and_then(|a| a.role.as_deref()) == Some(role)
            });
        }
    }
    out
}
