//! `GET /roles` and the operator `GET_ROLES` (upstream
//! `Master::ReadOnlyHandler::roles`, src/master/readonly_handler.cpp, and
//! `Master::Http::getRoles`): the known roles with weight, quota
//! (guarantee, limit, consumed) and what is allocated and offered.

use std::collections::{BTreeMap, BTreeSet};

use libprocess::{Cx, Request, Responder, Routes};
use serde_json::{json, Map, Value};

use super::json_response;
use crate::actor::Master;

pub fn install(r: &mut Routes<Master>) {
    r.http(
        "roles",
        crate::actor::election::leading_http!(Master::roles_endpoint),
    );
}

/// Scalar quantities by name.
type Quantities = BTreeMap<String, f64>;

fn add_scalars(q: &mut Quantities, rs: &[mesos_proto::mesos::Resource]) {
    for r in rs {
        if r.revocable.is_some() {
            continue;
        }
        if let Some(s) = &r.scalar {
            *q.entry(r.name.clone()).or_default() += s.value;
        }
    }
}

fn quantities_json(q: &Quantities) -> Value {
    Value::Object(q.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

fn allocation_role(r: &mesos_proto::mesos::Resource) -> Option<&str> {
    r.allocation_info.as_ref().and_then(|a| a.role.as_deref())
}

impl Master {
    /// Upstream `Master::knownRoles`: roles with frameworks, weights,
    /// quota or reservations, and the `--roles` whitelist.
    fn known_roles(&self) -> BTreeSet<String> {
        let mut roles: BTreeSet<String> =
            self.flags.roles().unwrap_or_default().into_iter().collect();
        for f in self.state.frameworks.values() {
            roles.extend(f.roles());
        }
        roles.extend(self.state.weights.keys().cloned());
        roles.extend(self.state.quotas.keys().cloned());
        for a in self.state.agents.values() {
            for r in a.total.iter() {
                let role = crate::resources::reservation_role(r);
                if role != "*" {
                    roles.insert(role.to_string());
                }
            }
        }
        roles.remove("*");
        roles
    }

    /// Allocated (tasks and executors) and offered quantities of one role.
    fn role_breakdown(&self, role: &str) -> (Quantities, Quantities, Vec<String>) {
        let mut allocated = Quantities::new();
        let mut frameworks = Vec::new();
        for f in self.state.frameworks.values() {
            if f.roles().iter().any(|r| r == role) {
                frameworks.push(f.id().to_string());
            }
            for t in f.tasks.values() {
                if crate::state::is_terminal(t.state) {
                    continue;
                }
                let mine: Vec<_> = t
                    .resources
                    .iter()
                    .filter(|r| allocation_role(r) == Some(role))
                    .cloned()
                    .collect();
                add_scalars(&mut allocated, &mine);
            }
        }
        let mut offered = Quantities::new();
        for o in self.state.offers.values() {
            let offer_role = o.allocation_info.as_ref().and_then(|a| a.role.as_deref());
            if offer_role == Some(role) {
                add_scalars(&mut offered, &o.resources);
            }
        }
        (allocated, offered, frameworks)
    }

    fn roles_json(&self) -> Value {
        let mut out = Vec::new();
        for name in self.known_roles() {
            let weight = self.state.weights.get(&name).copied().unwrap_or(1.0);
            let (allocated, offered, frameworks) = self.role_breakdown(&name);
            let quota = self.state.quotas.get(&name);
            let scalars = |m: Option<&BTreeMap<String, mesos_proto::mesos::value::Scalar>>| {
                m.map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.value))
                        .collect::<Quantities>()
                })
                .unwrap_or_default()
            };
            let consumed: Quantities = self
                .quota_consumed(&name)
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        mesos_allocator::resources::values::from_fixed(v),
                    )
                })
                .collect();
            let mut resources = allocated.clone();
            for (k, v) in &offered {
                *resources.entry(k.clone()).or_default() += v;
            }
            let mut o = Map::new();
            o.insert("name".into(), json!(name));
            o.insert("weight".into(), json!(weight));
            o.insert(
                "quota".into(),
                json!({
                    "role": name,
                    "guarantee": quantities_json(&scalars(quota.map(|q| &q.guarantees))),
                    "limit": quantities_json(&scalars(quota.map(|q| &q.limits))),
                    "consumed": quantities_json(&consumed),
                }),
            );
            o.insert("resources".into(), quantities_json(&resources));
            o.insert("allocated".into(), quantities_json(&allocated));
            o.insert("offered".into(), quantities_json(&offered));
            o.insert("reserved".into(), json!({}));
            o.insert("frameworks".into(), json!(frameworks));
            out.push(Value::Object(o));
        }
        json!({ "roles": out })
    }

    fn roles_endpoint(&mut self, _cx: &mut Cx<'_, Self>, req: Request, responder: Responder) {
        let mut body = self.roles_json();
        if let Some(list) = body.get_mut("roles").and_then(|r| r.as_array_mut()) {
            self.filter_roles_json(
                req.principal.as_deref(),
                crate::authorizer::Action::ViewRole,
                list,
                "name",
            );
        }
        responder.respond(json_response(&req, body.to_string()));
    }

    /// `GET_ROLES`: name, weight, frameworks and allocated plus offered
    /// resources as scalar `Resource`s (upstream `Master::Http::getRoles`).
    pub(crate) fn get_roles(&self) -> mesos_proto::mesos::master::response::GetRoles {
        let roles = self
            .known_roles()
            .into_iter()
            .map(|name| {
                let (allocated, offered, frameworks) = self.role_breakdown(&name);
                let mut total = allocated;
                for (k, v) in offered {
                    *total.entry(k).or_default() += v;
                }
                mesos_proto::mesos::Role {
                    weight: self.state.weights.get(&name).copied().unwrap_or(1.0),
                    frameworks: frameworks
                        .into_iter()
                        .map(|value| mesos_proto::mesos::FrameworkId { value })
                        .collect(),
                    resources: total
                        .into_iter()
                        .map(|(n, v)| crate::resources::scalar(&n, v))
                        .collect(),
                    name,
                }
            })
            .collect();
        mesos_proto::mesos::master::response::GetRoles { roles }
    }
}
