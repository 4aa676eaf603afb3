//! Quota (Mesos 1.9 "quota limits"): `UPDATE_QUOTA`, `GET_QUOTA` and the
//! legacy `GET /quota` (upstream `Master::QuotaHandler`,
//! src/master/quota_handler.cpp, and `quota::validate(QuotaConfig)` in
//! src/master/quota.cpp).

use std::collections::BTreeMap;

use http::StatusCode;
use libprocess::{Cx, Responder, Response};
use mesos_allocator::resources::quantities::{ResourceLimits, ResourceQuantities};
use mesos_proto::mesos::quota::{QuotaConfig, QuotaInfo, QuotaStatus};
use mesos_proto::mesos::value::{Scalar, Type as ValueType};
use mesos_proto::mesos::Resource;

use super::Master;
use crate::authorizer::Action;
use crate::registrar::Operation;

/// Upstream `common::validation::validateInputScalarValue`.
fn validate_scalar(v: f64) -> Result<(), &'static str> {
    if v.is_infinite() {
        Err("Infinite values not supported")
    } else if v.is_nan() {
        Err("NaN not supported")
    } else if v.is_subnormal() {
        Err("Subnormal values not supported")
    } else if v < 0.0 {
        Err("Negative values not supported")
    } else {
        Ok(())
    }
}

/// stout's `stringify` of a protobuf map: `{ cpus: 2, mem: 10 }` (upstream
/// iterates a hash map; ours is sorted by name).
fn map_text(m: &BTreeMap<String, Scalar>) -> String {
    let items: Vec<String> = m.iter().map(|(k, v)| format!("{k}: {}", v.value)).collect();
    if items.is_empty() {
        "{}".into()
    } else {
        format!("{{ {} }}", items.join(", "))
    }
}

/// Upstream `quota::validate(const QuotaConfig&)`.
pub fn validate_config(config: &QuotaConfig) -> Result<(), String> {
    if config.role.is_empty() {
        return Err("'QuotaConfig.role' must be set".into());
    }
    crate::validation::validate_role(&config.role)
        .map_err(|e| format!("Invalid 'QuotaConfig.role': {e}"))?;
    if config.role == "*" {
        return Err(
            "Invalid 'QuotaConfig.role': setting quota for the default '*' role is not supported"
                .into(),
        );
    }
    for (name, v) in &config.guarantees {
        validate_scalar(v.value).map_err(|e| {
            format!(
                "Invalid guarantee configuration {{'{name}': {}}}: {e}",
                v.value
            )
        })?;
    }
    for (name, v) in &config.limits {
        validate_scalar(v.value)
            .map_err(|e| format!("Invalid limit configuration {{'{name}': {}}}: {e}", v.value))?;
    }
    let limits = ResourceLimits::from_map(&config.limits);
    let guarantees = ResourceQuantities::from_map(&config.guarantees);
    if !limits.contains(&guarantees) {
        return Err(format!(
            "'QuotaConfig.guarantees' {} is not contained within the 'QuotaConfig.limits' {}",
            map_text(&config.guarantees),
            map_text(&config.limits)
        ));
    }
    Ok(())
}

/// The 1.9 `QuotaStatus`: each role's guarantees as the deprecated
/// `QuotaInfo` and its full `QuotaConfig` (upstream `QuotaHandler::_status`).
pub fn quota_status(quotas: &BTreeMap<String, QuotaConfig>) -> QuotaStatus {
    QuotaStatus {
        infos: quotas
            .iter()
            .map(|(role, c)| QuotaInfo {
                role: Some(role.clone()),
                principal: None,
                guarantee: c
                    .guarantees
                    .iter()
                    .map(|(name, v)| Resource {
                        name: name.clone(),
                        r#type: ValueType::Scalar as i32,
                        scalar: Some(*v),
                        ..Default::default()
                    })
                    .collect(),
            })
            .collect(),
        configs: quotas.values().cloned().collect(),
    }
}

/// A legacy `QuotaInfo` (registry `quotas`, `SET_QUOTA`) as a config: its
/// guarantees are also its limits (upstream `Quota(const QuotaInfo&)`).
pub fn config_from_info(info: &QuotaInfo) -> QuotaConfig {
    let mut q = BTreeMap::new();
    for r in &info.guarantee {
        if let Some(s) = &r.scalar {
            q.entry(r.name.clone())
                .and_modify(|v: &mut Scalar| v.value += s.value)
                .or_insert(*s);
        }
    }
    QuotaConfig {
        role: info.role.clone().unwrap_or_default(),
        guarantees: q.clone(),
        limits: q,
    }
}

impl Master {
    /// Non-revocable scalar capacity of the registered agents.
    fn cluster_capacity(&self) -> ResourceQuantities {
        let mut total = ResourceQuantities::new();
        for a in self.state.agents.values() {
            let scalars: Vec<Resource> = a
                .total
                .to_vec()
                .into_iter()
                .filter(|r| r.revocable.is_none() && r.r#type == ValueType::Scalar as i32)
                .collect();
            total.add_assign(&ResourceQuantities::from_scalar_resources(
                &mesos_allocator::Resources::from_vec(scalars),
            ));
        }
        total
    }

    /// `UPDATE_QUOTA` (upstream `QuotaHandler::update` / `_update`).
    pub(crate) fn update_quota_call(
        &mut self,
        cx: &mut Cx<'_, Self>,
        call: mesos_proto::mesos::master::call::UpdateQuota,
        principal: Option<&str>,
        responder: Responder,
    ) {
        let force = call.force.unwrap_or(false);
        let whitelist = self.flags.roles();
        for config in &call.quota_configs {
            if whitelist
                .as_ref()
                .is_some_and(|w| !w.iter().any(|r| r == &config.role))
            {
                responder.respond(Response::bad_request(format!(
                    "Invalid QuotaConfig: '{}' is not on the roles whitelist",
                    config.role
                )));
                return;
            }
            if config.role.contains('/') {
                responder.respond(Response::bad_request(format!(
                    "Updating quota on nested role '{}' is not supported yet",
                    config.role
                )));
                return;
            }
            if let Err(e) = validate_config(config) {
                responder.respond(Response::bad_request(format!("Invalid QuotaConfig: {e}")));
                return;
            }
        }
        for config in &call.quota_configs {
            let limits = ResourceLimits::from_map(&config.limits);
            let consumed = self.quota_consumed(&config.role);
            if !limits.contains(&consumed) {
                if force {
                    tracing::info!(
                        "Updating '{}' quota limit to '{limits}'; this is below its current quota consumption '{consumed}'; Ignored violation since the force flag is provided.",
                        config.role
                    );
                } else {
                    responder.respond(Response::bad_request(format!(
                        "Invalid QuotaConfig: Role '{}' is already consuming '{consumed}'; this is more than the requested limits '{limits}' (use 'force' flag to bypass this check)",
                        config.role
                    )));
                    return;
                }
            }
        }
        // Nested roles are refused above, so the quota tree is flat and its
        // parent/child containment check cannot fail; only the total of the
        // guarantees is checked against the cluster.
        let mut merged = self.state.quotas.clone();
        for config in &call.quota_configs {
            merged.insert(config.role.clone(), config.clone());
        }
        let mut guarantees = ResourceQuantities::new();
        for c in merged.values() {
            guarantees.add_assign(&ResourceQuantities::from_map(&c.guarantees));
        }
        let capacity = self.cluster_capacity();
        if !capacity.contains(&guarantees) {
            if force {
                tracing::info!("Using force flag to override quota overcommit check");
            } else {
                responder.respond(Response::bad_request(format!(
                    "Invalid QuotaConfig: total quota guarantees '{guarantees}' exceed cluster capacity '{capacity}' (use 'force' flag to bypass this check)"
                )));
                return;
            }
        }
        // Upstream `QuotaHandler::update`: UPDATE_QUOTA per config after the
        // validation.
        let allowed = call
            .quota_configs
            .iter()
            .all(|c| self.authorized(principal, Action::UpdateQuota, Some(&c.role)));
        if !allowed {
            responder.respond(super::authorization::forbidden());
            return;
        }
        if let Err(e) = self
            .registrar
            .apply(Operation::UpdateQuota(call.quota_configs.clone()))
        {
            responder.respond(Response::text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("Failed to update quota in the registry: {e}"),
            ));
            return;
        }
        for config in &call.quota_configs {
            tracing::info!("Updating quota of role '{}'", config.role);
            self.state
                .quotas
                .insert(config.role.clone(), config.clone());
            self.allocator.update_quota(config);
        }
        for config in &call.quota_configs {
            self.rescind_offers_for_quota(cx, config);
        }
        self.respond_when_persisted(cx, responder);
    }

    /// Upstream `RoleResourceBreakdown::consumedQuota` (src/master/master.cpp):
    /// what the role subtree's tasks and executors use plus its unallocated
    /// reservations, not its outstanding offers. The allocator counts
    /// offered resources as allocated, so the unreserved part of the
    /// subtree's offers is taken back out.
    pub(crate) fn quota_consumed(&self, role: &str) -> ResourceQuantities {
        let mut consumed = self.allocator.quota_consumed(role);
        let prefix = format!("{role}/");
        let offered = self
            .state
            .offers
            .values()
            .filter(|o| {
                o.allocation_info
                    .as_ref()
                    .and_then(|a| a.role.as_deref())
                    .is_some_and(|r| r == role || r.starts_with(&prefix))
            })
            .flat_map(|o| &o.resources)
            .filter(|r| {
                r.revocable.is_none()
                    && r.reservations.is_empty()
                    && r.role.as_deref().is_none_or(|x| x == "*")
            })
            .filter_map(|r| r.scalar.as_ref().map(|s| (r.name.as_str(), s.value)));
        consumed.sub_assign(&ResourceQuantities::from_pairs(offered));
        consumed
    }

    /// Best-effort offer rescinding after a quota update, as upstream
    /// `QuotaHandler::_update` (src/master/quota_handler.cpp): first the
    /// role subtree's offers until its consumption plus offers fit the
    /// limits (nothing is rescinded when they already fit), then other
    /// roles' offers, agent by agent, until what was rescinded plus the
    /// role's consumption and offers covers its guarantees.
    fn rescind_offers_for_quota(&mut self, cx: &mut Cx<'_, Self>, config: &QuotaConfig) {
        let role = config.role.clone();
        let in_subtree = |o: &mesos_proto::mesos::Offer| {
            o.allocation_info
                .as_ref()
                .and_then(|a| a.role.as_deref())
                .is_some_and(|r| r == role || r.starts_with(&format!("{role}/")))
        };
        let quantities = |o: &mesos_proto::mesos::Offer| {
            ResourceQuantities::from_pairs(
                o.resources
                    .iter()
                    .filter_map(|r| r.scalar.as_ref().map(|s| (r.name.as_str(), s.value))),
            )
        };
        let mut consumed_and_offered = self.quota_consumed(&role);
        let subtree: Vec<String> = self
            .state
            .offers
            .iter()
            .filter(|(_, o)| in_subtree(o))
            .map(|(id, o)| {
                consumed_and_offered.add_assign(&quantities(o));
                id.clone()
            })
            .collect();
        let limits = ResourceLimits::from_map(&config.limits);
        for id in subtree {
            if limits.contains(&consumed_and_offered) {
                break;
            }
            if let Some(o) = self.state.offers.get(&id) {
                consumed_and_offered.sub_assign(&quantities(o));
            }
            self.remove_offer(cx, &id, true);
        }

        let guarantees = ResourceQuantities::from_map(&config.guarantees);
        let mut covered = consumed_and_offered;
        let agents: Vec<String> = self.state.agents.keys().cloned().collect();
        'agents: for agent in agents {
            for id in self.state.offers_on_agent(&agent) {
                if covered.contains(&guarantees) {
                    break 'agents;
                }
                let Some(o) = self.state.offers.get(&id) else {
                    continue;
                };
                if in_subtree(o) {
                    continue;
                }
                covered.add_assign(&quantities(o));
                self.remove_offer(cx, &id, true);
            }
        }
    }

    /// Recovers quota from the registry: 1.9 `quota_configs` and the legacy
    /// `quotas` (upstream `Master::_recover`).
    pub(crate) fn recover_quotas(&mut self, registry: &mesos_proto::mesos::internal::Registry) {
        for q in &registry.quotas {
            let c = config_from_info(&q.info);
            self.state.quotas.insert(c.role.clone(), c);
        }
        for c in &registry.quota_configs {
            self.state.quotas.insert(c.role.clone(), c.clone());
        }
        for c in self.state.quotas.values() {
            self.allocator.update_quota(c);
        }
    }
}

/// Upstream `quota::validation::quotaInfo` (after `upgradeResources`).
fn validate_quota_info(info: &QuotaInfo) -> Result<(), String> {
    let Some(role) = info.role.as_deref() else {
        return Err("QuotaInfo must specify a role".into());
    };
    crate::validation::validate_role(role)
        .map_err(|e| format!("QuotaInfo with invalid role: {e}"))?;
    if role == "*" {
        return Err("QuotaInfo must not specify the default '*' role".into());
    }
    if info.guarantee.is_empty() {
        return Err("QuotaInfo with empty 'guarantee'".into());
    }
    let mut names = std::collections::BTreeSet::new();
    for r in &info.guarantee {
        if !r.reservations.is_empty() {
            return Err("QuotaInfo must not contain any ReservationInfo".into());
        }
        if r.disk.is_some() {
            return Err("QuotaInfo must not contain DiskInfo".into());
        }
        if r.revocable.is_some() {
            return Err("QuotaInfo must not contain RevocableInfo".into());
        }
        if r.r#type != ValueType::Scalar as i32 {
            return Err("QuotaInfo must not include non-scalar resources".into());
        }
        if !names.insert(r.name.clone()) {
            return Err(format!(
                "QuotaInfo contains duplicate resource name '{}'",
                r.name
            ));
        }
    }
    Ok(())
}

impl Master {
    /// Deprecated `SET_QUOTA` and `POST /quota` (upstream
    /// `QuotaHandler::_set` / `__set`): guarantees that are also limits, for a
    /// role without quota.
    pub(crate) fn set_quota_call(
        &mut self,
        cx: &mut Cx<'_, Self>,
        request: mesos_proto::mesos::quota::QuotaRequest,
        principal: Option<&str>,
        responder: Responder,
    ) {
        let mut info = QuotaInfo {
            role: request.role.clone(),
            principal: None,
            guarantee: request.guarantee.clone(),
        };
        if let Err(e) = crate::validation::validate_resources(&info.guarantee) {
            responder.respond(Response::bad_request(format!(
                "Failed to validate set quota request: QuotaInfo with invalid resource: {e}"
            )));
            return;
        }
        for r in info.guarantee.iter_mut() {
            crate::resources::upgrade(r);
        }
        if let Err(e) = validate_quota_info(&info) {
            responder.respond(Response::bad_request(format!(
                "Failed to validate set quota request: {e}"
            )));
            return;
        }
        let role = info.role.clone().unwrap_or_default();
        if self
            .flags
            .roles()
            .is_some_and(|w| !w.iter().any(|r| r == &role))
        {
            responder.respond(Response::bad_request(format!(
                "Failed to validate set quota request: Unknown role '{role}'"
            )));
            return;
        }
        if self.state.quotas.contains_key(&role) {
            responder.respond(Response::bad_request(format!(
                "Failed to validate set quota request: Cannot set quota for role '{role}' which already has quota"
            )));
            return;
        }
        if role.contains('/') {
            responder.respond(Response::bad_request(format!(
                "Setting quota on nested role '{role}' is not supported yet"
            )));
            return;
        }
        let config = config_from_info(&info);
        if !request.force.unwrap_or(false) {
            let mut guarantees = ResourceQuantities::from_map(&config.guarantees);
            for c in self.state.quotas.values() {
                guarantees.add_assign(&ResourceQuantities::from_map(&c.guarantees));
            }
            let capacity = self.cluster_capacity();
            if !capacity.contains(&guarantees) {
                responder.respond(Response::text(
                    StatusCode::CONFLICT,
                    format!(
                        "Quota guarantees overcommit the cluster (use 'force' to bypass this check): Total quota guarantees '{guarantees}' exceed cluster capacity '{capacity}'"
                    ),
                ));
                return;
            }
        }
        // Upstream `QuotaHandler::_set` / `_remove`: UPDATE_QUOTA after the
        // validation.
        if !self.authorized(principal, Action::UpdateQuota, Some(&config.role)) {
            responder.respond(super::authorization::forbidden());
            return;
        }
        if let Err(e) = self
            .registrar
            .apply(Operation::UpdateQuota(vec![config.clone()]))
        {
            responder.respond(Response::text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("Failed to update quota in the registry: {e}"),
            ));
            return;
        }
        tracing::info!("Setting quota of role '{role}'");
        self.state.quotas.insert(role, config.clone());
        self.allocator.update_quota(&config);
        self.respond_when_persisted(cx, responder);
    }

    /// Deprecated `REMOVE_QUOTA` and `DELETE /quota/<role>` (upstream
    /// `QuotaHandler::__remove`). Upstream's REMOVE_QUOTA for a role without
    /// quota reaches a failing `hashmap::at`; here it is a 400.
    pub(crate) fn remove_quota_call(
        &mut self,
        cx: &mut Cx<'_, Self>,
        role: &str,
        principal: Option<&str>,
        responder: Responder,
    ) {
        if !self.state.quotas.contains_key(role) {
            responder.respond(Response::bad_request(format!(
                "Failed to remove quota: Role '{role}' has no quota set"
            )));
            return;
        }
        let config = QuotaConfig {
            role: role.to_string(),
            ..Default::default()
        };
        // Upstream `QuotaHandler::_set` / `_remove`: UPDATE_QUOTA after the
        // validation.
        if !self.authorized(principal, Action::UpdateQuota, Some(&config.role)) {
            responder.respond(super::authorization::forbidden());
            return;
        }
        if let Err(e) = self
            .registrar
            .apply(Operation::UpdateQuota(vec![config.clone()]))
        {
            responder.respond(Response::text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("Failed to update quota in the registry: {e}"),
            ));
            return;
        }
        tracing::info!("Removing quota of role '{role}'");
        self.state.quotas.remove(role);
        self.allocator.update_quota(&config);
        self.respond_when_persisted(cx, responder);
    }
}
