//! Offers: turning allocations into offers (upstream `Master::offer`,
//! master.cpp:10233), declining, reviving, suppressing, rescinding and
//! offer timeouts.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use libprocess::Cx;
use mesos_proto::mesos::internal::{ResourceOffersMessage, ReviveOffersMessage};
use mesos_proto::mesos::scheduler::call::Decline;
use mesos_proto::mesos::{resource, Address, FrameworkId, Offer, Url};

use super::{Master, ToFramework};
use crate::resources::{downgrade, Resources};

/// Upstream `Filters.refuse_seconds` default (`include/mesos/mesos.proto`).
pub const DEFAULT_REFUSE_SECONDS: f64 = 5.0;

/// Upstream caps filters at one year (`Master::decline` / allocator).
const MAX_REFUSE: Duration = Duration::from_secs(365 * 24 * 3600);

/// The `Filters` duration to apply (negative or absurd values fall back as
/// upstream: negative -> default, huge -> capped).
pub fn refuse_duration(filters: Option<&mesos_proto::mesos::Filters>) -> Duration {
    let secs = filters
        .and_then(|f| f.refuse_seconds)
        .unwrap_or(DEFAULT_REFUSE_SECONDS);
    if !secs.is_finite() || secs < 0.0 {
        return Duration::from_secs_f64(DEFAULT_REFUSE_SECONDS);
    }
    Duration::from_secs_f64(secs).min(MAX_REFUSE)
}

impl Master {
    /// The periodic `--allocation_interval` cycle over every agent.
    pub(crate) fn allocate_all(&mut self, cx: &mut Cx<'_, Self>) {
        let allocations = self.allocator.allocate(cx.now());
        self.send_allocations(cx, allocations);
    }

    /// An event-driven cycle over the agents the last events touched
    /// (upstream batches `allocate(slaveId)` the same way).
    pub(crate) fn allocate(&mut self, cx: &mut Cx<'_, Self>) {
        let allocations = self.allocator.allocate_pending(cx.now());
        self.send_allocations(cx, allocations);
    }

    fn send_allocations(
        &mut self,
        cx: &mut Cx<'_, Self>,
        allocations: Vec<crate::allocator::Allocation>,
    ) {
        let mut per_framework: BTreeMap<String, Vec<_>> = BTreeMap::new();
        for a in allocations {
            per_framework
                .entry(a.framework_id.clone())
                .or_default()
                .push(a);
        }
        for (fid, allocs) in per_framework {
            self.offer(cx, &fid, allocs);
        }
        self.send_inverse_offers(cx);
    }

    /// Upstream `Master::offer`: one `ResourceOffersMessage` per framework.
    fn offer(
        &mut self,
        cx: &mut Cx<'_, Self>,
        fid: &str,
        allocs: Vec<crate::allocator::Allocation>,
    ) {
        let active = self.state.frameworks.get(fid).is_some_and(|f| f.active());
        if !active {
            tracing::warn!(
                "Master returning resources offered to framework {fid} because the framework has terminated or is inactive"
            );
            for a in allocs {
                self.allocator
                    .recover_resources(fid, &a.agent_id, &a.resources, None, cx.now());
            }
            return;
        }
        let (multi_role, refinement) = {
            let f = &self.state.frameworks[fid];
            (f.multi_role(), f.reservation_refinement())
        };
        let mut message = ResourceOffersMessage::default();
        let mut ids = Vec::new();
        for a in allocs {
            let offer_id = self.state.new_offer_id();
            let Some(agent) = self.state.agents.get(&a.agent_id).filter(|s| s.active) else {
                tracing::warn!(
                    "Master returning resources offered to framework {fid} because agent {} is not valid",
                    a.agent_id
                );
                self.allocator
                    .recover_resources(fid, &a.agent_id, &a.resources, None, cx.now());
                continue;
            };
            let url = Url {
                scheme: "http".into(),
                address: Address {
                    hostname: Some(agent.info.hostname.clone()),
                    ip: Some(agent.pid.ip().to_string()),
                    port: agent.pid.port() as i32,
                },
                path: Some(format!("/{}", agent.pid.id())),
                ..Default::default()
            };
            let executor_ids = agent
                .executors
                .get(fid)
                .map(|m| m.values().map(|e| e.executor_id.clone()).collect())
                .unwrap_or_default();
            let agent_pid = agent.pid.to_string();
            let offer = Offer {
                id: offer_id,
                framework_id: FrameworkId {
                    value: fid.to_string(),
                },
                slave_id: agent.info.id.clone().unwrap_or_default(),
                hostname: agent.info.hostname.clone(),
                url: Some(url),
                domain: agent.info.domain.clone(),
                resources: a.resources.allocated_to(&a.role),
                attributes: agent.info.attributes.clone(),
                executor_ids,
                // Upstream `Master::offer`: the machine's maintenance window.
                unavailability: self.agent_unavailability(&a.agent_id),
                allocation_info: Some(resource::AllocationInfo {
                    role: Some(a.role.clone()),
                }),
            };
            self.state.add_offer(offer.clone());
            if let Some(t) = self.flags.offer_timeout() {
                let oid = offer.id.value.clone();
                let timer = cx.delay(t, move |m: &mut Master, cx| m.offer_timeout(cx, &oid));
                self.offer_timers.insert(offer.id.value.clone(), timer);
            }
            // What the framework sees: no ephemeral ports, no allocation
            // info unless MULTI_ROLE, old reservation format unless
            // RESERVATION_REFINEMENT.
            let mut shown = offer;
            shown.resources.retain(|r| r.name != "ephemeral_ports");
            if !multi_role {
                shown.allocation_info = None;
                for r in shown.resources.iter_mut() {
                    r.allocation_info = None;
                }
            }
            if !refinement {
                for r in shown.resources.iter_mut() {
                    downgrade(r);
                }
            }
            ids.push(shown.id.value.clone());
            message.offers.push(shown);
            message.pids.push(agent_pid);
        }
        if message.offers.is_empty() {
            return;
        }
        tracing::info!("Sending offers [ {} ] to framework {fid}", ids.join(", "));
        self.send_framework(cx, fid, ToFramework::Offers(message));
    }

    /// Forgets an offer and returns its resources to the allocator,
    /// optionally telling the framework (upstream `removeOffer(offer, rescind)`).
    pub(crate) fn remove_offer(&mut self, cx: &mut Cx<'_, Self>, offer_id: &str, rescind: bool) {
        let Some(offer) = self.state.remove_offer(offer_id) else {
            return;
        };
        if let Some(t) = self.offer_timers.remove(offer_id) {
            cx.cancel(t);
        }
        let fid = offer.framework_id.value.clone();
        self.allocator.recover_resources(
            &fid,
            &offer.slave_id.value,
            &Resources::from_vec(&offer.resources),
            None,
            cx.now(),
        );
        if rescind {
            self.send_framework(cx, &fid, ToFramework::Rescind(offer.id));
        }
    }

    /// Rescinds every offer on an agent (it went away or was deactivated).
    pub(crate) fn rescind_offers_on_agent(&mut self, cx: &mut Cx<'_, Self>, agent_id: &str) {
        for o in self.state.offers_on_agent(agent_id) {
            self.remove_offer(cx, &o, true);
        }
        self.rescind_inverse_offers_on_agent(cx, agent_id);
    }

    /// `--offer_timeout` expired for an offer (upstream `offerTimeout`).
    fn offer_timeout(&mut self, cx: &mut Cx<'_, Self>, offer_id: &str) {
        self.offer_timers.remove(offer_id);
        if self.state.offers.contains_key(offer_id) {
            tracing::info!("Offer {offer_id} timed out; rescinding it");
            self.remove_offer(cx, offer_id, true);
        }
    }

    /// DECLINE (upstream `Master::decline`): the offers' resources go back
    /// with the framework's filter.
    pub(crate) fn decline(&mut self, cx: &mut Cx<'_, Self>, fid: &str, decline: Decline) {
        self.metrics.messages_decline_offers += 1;
        let refuse = refuse_duration(decline.filters.as_ref());
        tracing::info!(
            "Processing DECLINE call for offers: [ {} ] for framework {fid}",
            decline
                .offer_ids
                .iter()
                .map(|o| o.value.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        for id in decline.offer_ids {
            let owned = self
                .state
                .offers
                .get(&id.value)
                .is_some_and(|o| o.framework_id.value == fid);
            if !owned {
                tracing::warn!(
                    "Ignoring decline of offer {} since it is no longer valid",
                    id.value
                );
                continue;
            }
            if let Some(offer) = self.state.remove_offer(&id.value) {
                if let Some(t) = self.offer_timers.remove(&id.value) {
                    cx.cancel(t);
                }
                self.allocator.recover_resources(
                    fid,
                    &offer.slave_id.value,
                    &Resources::from_vec(&offer.resources),
                    Some(refuse),
                    cx.now(),
                );
            }
        }
    }

    /// REVIVE (upstream `Master::revive`): clears filters, un-suppresses.
    pub(crate) fn revive(&mut self, cx: &mut Cx<'_, Self>, fid: &str, roles: Vec<String>) {
        self.metrics.messages_revive_offers += 1;
        tracing::info!("Processing REVIVE call for framework {fid}");
        let roles: BTreeSet<String> = roles.into_iter().collect();
        if let Some(fw) = self.state.frameworks.get_mut(fid) {
            if roles.is_empty() {
                fw.suppressed_roles.clear();
            } else {
                fw.suppressed_roles.retain(|r| !roles.contains(r));
            }
        }
        self.allocator.revive_offers(fid, &roles);
        self.allocate(cx);
    }

    /// SUPPRESS (upstream `Master::suppress`).
    pub(crate) fn suppress(&mut self, _cx: &mut Cx<'_, Self>, fid: &str, roles: Vec<String>) {
        self.metrics.messages_suppress_offers += 1;
        tracing::info!("Processing SUPPRESS call for framework {fid}");
        let roles: BTreeSet<String> = roles.into_iter().collect();
        if let Some(fw) = self.state.frameworks.get_mut(fid) {
            if roles.is_empty() {
                fw.suppressed_roles = fw.roles().into_iter().collect();
            } else {
                fw.suppressed_roles.extend(roles.iter().cloned());
            }
        }
        self.allocator.suppress_offers(fid, &roles);
    }

    /// Legacy `ReviveOffersMessage`.
    pub(crate) fn revive_offers(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: libprocess::Upid,
        msg: ReviveOffersMessage,
    ) {
        let fid = msg.framework_id.value;
        if self.state.frameworks.get(&fid).and_then(|f| f.pid()) != Some(&from) {
            tracing::warn!("Ignoring revive offers message for framework {fid} from {from}");
            return;
        }
        self.revive(cx, &fid, msg.roles);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_proto::mesos::Filters;

    #[test]
    fn refuse_seconds_defaults_and_caps() {
        assert_eq!(refuse_duration(None), Duration::from_secs(5));
        let f = |s| Filters {
            refuse_seconds: Some(s),
        };
        assert_eq!(refuse_duration(Some(&f(-1.0))), Duration::from_secs(5));
        assert_eq!(refuse_duration(Some(&f(f64::NAN))), Duration::from_secs(5));
        assert_eq!(refuse_duration(Some(&f(1e12))), MAX_REFUSE);
        assert_eq!(refuse_duration(Some(&f(0.5))), Duration::from_millis(500));
    }
}
