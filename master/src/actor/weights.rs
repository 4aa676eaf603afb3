//! Role weights: `GET_WEIGHTS`, `UPDATE_WEIGHTS`, `GET`/`PUT /weights`
//! (upstream `Master::WeightsHandler`, src/master/weights_handler.cpp) and
//! their recovery (`Master::_recover`: the registry's weights win over
//! `--weights`).

use http::StatusCode;
use libprocess::{Cx, Responder, Response};
use mesos_proto::mesos::WeightInfo;

use super::Master;
use crate::registrar::Operation;

impl Master {
    /// The weights as `WeightInfo`s, by role.
    pub fn weight_infos(&self) -> Vec<WeightInfo> {
        self.state
            .weights
            .iter()
            .map(|(role, w)| WeightInfo {
                weight: *w,
                role: Some(role.clone()),
            })
            .collect()
    }

    /// `--weights`, unless the registry holds weights (then those, with a
    /// warning as upstream).
    pub(crate) fn recover_weights(&mut self, registry: &mesos_proto::mesos::internal::Registry) {
        let flag = self.flags.weights();
        if registry.weights.is_empty() {
            self.state.weights = flag;
        } else {
            if !flag.is_empty() {
                tracing::warn!("Ignoring --weights flag and recovering the weights from registry");
            }
            self.state.weights = registry
                .weights
                .iter()
                .filter_map(|w| w.info.role.clone().map(|r| (r, w.info.weight)))
                .collect();
        }
        if !self.state.weights.is_empty() {
            let infos = self.weight_infos();
            self.allocator.update_weights(&infos);
        }
    }

    /// `UPDATE_WEIGHTS` / `PUT /weights` (upstream `_updateWeights`).
    pub(crate) fn update_weights_call(
        &mut self,
        cx: &mut Cx<'_, Self>,
        infos: Vec<WeightInfo>,
        principal: Option<&str>,
        responder: Responder,
    ) {
        let whitelist = self.flags.roles();
        let mut valid = Vec::with_capacity(infos.len());
        for mut info in infos {
            let role = info.role.clone().unwrap_or_default().trim().to_string();
            if let Err(e) = crate::validation::validate_role(&role) {
                responder.respond(Response::bad_request(format!(
                    "Failed to validate update weights request JSON: Invalid role '{role}': {e}"
                )));
                return;
            }
            if whitelist
                .as_ref()
                .is_some_and(|w| !w.iter().any(|r| r == &role))
            {
                responder.respond(Response::bad_request(format!(
                    "Failed to validate update weights request JSON: Unknown role '{role}'"
                )));
                return;
            }
            // NaN is refused too (upstream `weight <= 0` lets NaN through;
            // a NaN weight would poison the sorter).
            if info.weight.is_nan() || info.weight <= 0.0 {
                responder.respond(Response::bad_request(format!(
                    "Failed to validate update weights request JSON for role '{role}': Invalid weight '{}': Weights must be positive",
                    info.weight
                )));
                return;
            }
            info.role = Some(role);
            valid.push(info);
        }
        // Upstream `WeightsHandler::update`: UPDATE_WEIGHT per role after the
        // validation.
        let allowed = valid.iter().all(|w| {
            self.authorized(
                principal,
                crate::authorizer::Action::UpdateWeight,
                w.role.as_deref(),
            )
        });
        if !allowed {
            responder.respond(super::authorization::forbidden());
            return;
        }
        if let Err(e) = self
            .registrar
            .apply(Operation::UpdateWeights(valid.clone()))
        {
            responder.respond(Response::text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("Failed to update weights in the registry: {e}"),
            ));
            return;
        }
        for w in &valid {
            if let Some(role) = &w.role {
                self.state.weights.insert(role.clone(), w.weight);
            }
        }
        self.allocator.update_weights(&valid);
        self.respond_when_persisted(cx, responder);
    }
}
