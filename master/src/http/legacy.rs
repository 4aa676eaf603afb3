//! v0 JSON endpoints: `/state`, `/slaves`, `/frameworks`, `/tasks`,
//! `/health`, `/flags`, `/version`, `/metrics/snapshot` (upstream
//! `src/master/readonly_handler.cpp`, `http.cpp`, libprocess `/version`
//! and `/metrics/snapshot`). With `master` as the libprocess delegate they
//! also answer at the root (`/state` == `/master/state`).

use std::collections::{BTreeMap, BTreeSet};

use http::StatusCode;
use libprocess::{Cx, Request, Responder, Response, Routes};
use serde_json::{json, Map, Value};

use super::json_writer::{self as jw, Arr, Obj};
use super::{json_response, model};
use crate::actor::Master;
use crate::build;

/// `/version` as upstream's `VersionProcess` writes it.
pub fn version_json() -> Value {
    let mut v = json!({
        "build_date": build::DATE,
        "build_time": build::time(),
        "build_user": build::USER,
        "git_tag": crate::MESOS_VERSION,
        "version": crate::MESOS_VERSION,
    });
    if let Some(sha) = build::GIT_SHA {
        v["git_sha"] = json!(sha);
    }
    v
}

pub fn install(r: &mut Routes<Master>) {
    r.http(
        "state",
        crate::actor::election::leading_http!(Master::state_endpoint),
    );
    r.http(
        "slaves",
        crate::actor::election::leading_http!(Master::slaves_endpoint),
    );
    r.http(
        "frameworks",
        crate::actor::election::leading_http!(Master::frameworks_endpoint),
    );
    r.http(
        "tasks",
        crate::actor::election::leading_http!(Master::tasks_endpoint),
    );
    r.http("health", Master::health_endpoint);
    r.http("flags", Master::flags_endpoint);
    r.http("version", Master::version_endpoint);
    r.http("metrics/snapshot", Master::metrics_endpoint);
    r.http(
        "quota",
        crate::actor::election::leading_http!(Master::quota_endpoint),
    );
    r.http(
        "weights",
        crate::actor::election::leading_http!(Master::weights_endpoint),
    );
    r.http(
        "state-summary",
        crate::actor::election::leading_http!(Master::state_summary_endpoint),
    );
    r.http(
        "teardown",
        crate::actor::election::leading_http!(Master::teardown_endpoint),
    );
    r.http("redirect", Master::redirect_endpoint);
}

/// Upstream `TaskStateSummary`: how many tasks (live and completed) are in
/// each state, per framework and per agent.
#[derive(Default)]
struct TaskCounts([u64; STATE_NAMES.len()]);

/// The states `/state-summary` reports, in upstream's order.
const STATE_NAMES: [&str; 10] = [
    "TASK_STAGING",
    "TASK_STARTING",
    "TASK_RUNNING",
    "TASK_KILLING",
    "TASK_FINISHED",
    "TASK_KILLED",
    "TASK_FAILED",
    "TASK_LOST",
    "TASK_ERROR",
    "TASK_UNREACHABLE",
];

impl TaskCounts {
    fn count(&mut self, state: i32) {
        let name = mesos_proto::mesos::TaskState::try_from(state)
            .map(|s| s.as_str_name())
            .unwrap_or_default();
        if let Some(i) = STATE_NAMES.iter().position(|n| *n == name) {
            self.0[i] += 1;
        }
    }

    fn write(&self, o: &mut Map<String, Value>) {
        for (name, n) in STATE_NAMES.iter().zip(self.0) {
            o.insert((*name).into(), json!(n));
        }
    }

    fn stream(&self, o: &mut Obj<'_>) {
        for (name, n) in STATE_NAMES.iter().zip(self.0) {
            o.int(name, n);
        }
    }
}

impl Master {
    fn flags_json(&self) -> Value {
        let mut m = Map::new();
        for (k, v) in self.flags.all() {
            m.insert(k.clone(), json!(v));
        }
        Value::Object(m)
    }

    fn write_flags(&self, out: &mut Vec<u8>) {
        let mut o = Obj::new(out);
        for (k, v) in self.flags.all() {
            o.str(k, v);
        }
        o.end();
    }

    /// The `/state` body, streamed (upstream `ReadOnlyHandler::state`
    /// writes it with `jsonify`); the same bytes as
    /// `state_json().to_string()`.
    pub fn state_json_bytes(&self) -> String {
        let s = &self.state;
        let usage = s.usage();
        let activated = s.agents.values().filter(|a| a.active).count();
        let mut out = Vec::with_capacity(4096 + 2048 * s.agents.len());
        let mut o = Obj::new(&mut out);
        o.str("version", crate::MESOS_VERSION);
        if let Some(sha) = build::GIT_SHA {
            o.str("git_sha", sha);
        }
        o.str("git_tag", crate::MESOS_VERSION);
        o.str("build_date", build::DATE);
        o.f64("build_time", build::time());
        o.str("build_user", build::USER);
        o.f64("start_time", self.start_time);
        o.f64("elected_time", self.start_time);
        o.str("id", &self.info.id);
        o.str("pid", self.info.pid.as_deref().unwrap_or(""));
        o.str("hostname", self.info.hostname.as_deref().unwrap_or(""));
        jw::str_array(
            o.key("capabilities"),
            ["AGENT_UPDATE", "AGENT_DRAINING", "QUOTA_V2"],
        );
        o.int("activated_slaves", activated);
        o.int("deactivated_slaves", s.agents.len() - activated);
        o.int("unreachable_slaves", s.unreachable.len());
        if let Some(c) = self.flags.cluster() {
            o.str("cluster", c);
        }
        o.str("leader", self.info.pid.as_deref().unwrap_or(""));
        model::write_master_info(o.key("leader_info"), &self.info);
        self.write_flags(o.key("flags"));
        let mut a = Arr::new(o.key("slaves"));
        for ag in s.agents.values() {
            model::write_agent(a.item(), s, &usage, ag, false);
        }
        a.end();
        let mut a = Arr::new(o.key("frameworks"));
        for f in s.frameworks.values() {
            model::write_framework(a.item(), s, &usage, f);
        }
        a.end();
        let mut a = Arr::new(o.key("completed_frameworks"));
        for f in &s.completed_frameworks {
            model::write_framework(a.item(), s, &usage, f);
        }
        a.end();
        let mut a = Arr::new(o.key("recovered_slaves"));
        for r in s.recovered.values() {
            jw::value(a.item(), &model::proto(r));
        }
        a.end();
        o.key("orphan_tasks").extend_from_slice(b"[]");
        o.key("unregistered_frameworks").extend_from_slice(b"[]");
        o.end();
        jw::into_string(out)
    }

    /// The `/state` object (upstream `Master::ReadOnlyHandler::state`) as a
    /// `Value`: the reference the streamed [`Master::state_json_bytes`] is
    /// tested against, and for in-process callers that want a tree.
    pub fn state_json(&self) -> Value {
        let s = &self.state;
        let usage = s.usage();
        let activated = s.agents.values().filter(|a| a.active).count();
        let mut o = Map::new();
        o.insert("version".into(), json!(crate::MESOS_VERSION));
        if let Some(sha) = build::GIT_SHA {
            o.insert("git_sha".into(), json!(sha));
        }
        o.insert("git_tag".into(), json!(crate::MESOS_VERSION));
        o.insert("build_date".into(), json!(build::DATE));
        o.insert("build_time".into(), json!(build::time()));
        o.insert("build_user".into(), json!(build::USER));
        o.insert("start_time".into(), json!(self.start_time));
        o.insert("elected_time".into(), json!(self.start_time));
        o.insert("id".into(), json!(self.info.id));
        o.insert(
            "pid".into(),
            json!(self.info.pid.clone().unwrap_or_default()),
        );
        o.insert(
            "hostname".into(),
            json!(self.info.hostname.clone().unwrap_or_default()),
        );
        o.insert(
            "capabilities".into(),
            json!(["AGENT_UPDATE", "AGENT_DRAINING", "QUOTA_V2"]),
        );
        o.insert("activated_slaves".into(), json!(activated));
        o.insert(
            "deactivated_slaves".into(),
            json!(s.agents.len() - activated),
        );
        o.insert("unreachable_slaves".into(), json!(s.unreachable.len()));
        if let Some(c) = self.flags.cluster() {
            o.insert("cluster".into(), json!(c));
        }
        o.insert(
            "leader".into(),
            json!(self.info.pid.clone().unwrap_or_default()),
        );
        o.insert("leader_info".into(), model::master_info(&self.info));
        o.insert("flags".into(), self.flags_json());
        o.insert(
            "slaves".into(),
            Value::Array(
                s.agents
                    .values()
                    .map(|a| model::agent(s, &usage, a, false))
                    .collect(),
            ),
        );
        o.insert(
            "frameworks".into(),
            Value::Array(
                s.frameworks
                    .values()
                    .map(|f| model::framework(s, &usage, f))
                    .collect(),
            ),
        );
        o.insert(
            "completed_frameworks".into(),
            Value::Array(
                s.completed_frameworks
                    .iter()
                    .map(|f| model::framework(s, &usage, f))
                    .collect(),
            ),
        );
        o.insert(
            "recovered_slaves".into(),
            Value::Array(s.recovered.values().map(model::proto).collect()),
        );
        o.insert("orphan_tasks".into(), json!([]));
        o.insert("unregistered_frameworks".into(), json!([]));
        Value::Object(o)
    }

    /// `GET /quota` (upstream `QuotaHandler::status(Request)`): the
    /// `QuotaStatus` as JSON.
    fn quota_endpoint(&mut self, cx: &mut Cx<'_, Self>, req: Request, responder: Responder) {
        if req.method == http::Method::POST {
            let body = String::from_utf8_lossy(&req.body).into_owned();
            match mesos_proto::json::from_json::<mesos_proto::mesos::quota::QuotaRequest>(&body) {
                Ok(q) => self.set_quota_call(cx, q, req.principal.as_deref(), responder),
                Err(e) => responder.respond(Response::bad_request(format!(
                    "Failed to validate set quota request JSON '{body}': {e}"
                ))),
            }
            return;
        }
        if req.method == http::Method::DELETE {
            // `/master/quota/<role>` (upstream takes the third path token;
            // the endpoint is the same with or without the `master` prefix).
            let role = req
                .endpoint
                .strip_prefix("quota")
                .unwrap_or("")
                .trim_start_matches('/')
                .to_string();
            if role.is_empty() {
                responder.respond(Response::bad_request(format!(
                    "Failed to parse remove quota request for path '{}': expected 3 tokens, found 2 tokens",
                    req.path
                )));
                return;
            }
            self.remove_quota_call(cx, &role, req.principal.as_deref(), responder);
            return;
        }
        if req.method != http::Method::GET {
            responder.respond(super::method_not_allowed(
                &["GET", "POST", "DELETE"],
                &req.method,
            ));
            return;
        }
        let status = crate::actor::quota::quota_status(&self.state.quotas);
        let mut body = model::proto(&status);
        for key in ["infos", "configs"] {
            if let Some(list) = body.get_mut(key).and_then(|l| l.as_array_mut()) {
                self.filter_roles_json(
                    req.principal.as_deref(),
                    crate::authorizer::Action::GetQuota,
                    list,
                    "role",
                );
            }
        }
        responder.respond(json_response(&req, body.to_string()));
    }

    /// `GET /weights` (a JSON array of `WeightInfo`) and `PUT /weights`
    /// (upstream `WeightsHandler::get` / `update`).
    fn weights_endpoint(&mut self, cx: &mut Cx<'_, Self>, req: Request, responder: Responder) {
        if req.method == http::Method::PUT {
            let body = String::from_utf8_lossy(&req.body).into_owned();
            let items: Vec<Value> = match serde_json::from_str(&body) {
                Ok(Value::Array(a)) => a,
                Ok(_) => {
                    responder.respond(Response::bad_request(format!(
                        "Failed to parse update weights request JSON '{body}': not a JSON array"
                    )));
                    return;
                }
                Err(e) => {
                    responder.respond(Response::bad_request(format!(
                        "Failed to parse update weights request JSON '{body}': {e}"
                    )));
                    return;
                }
            };
            let mut infos = Vec::with_capacity(items.len());
            for item in items {
                match mesos_proto::json::from_json_value::<mesos_proto::mesos::WeightInfo>(&item) {
                    Ok(w) => infos.push(w),
                    Err(e) => {
                        responder.respond(Response::bad_request(format!(
                            "Failed to convert weights JSON array to protobuf '{body}': {e}"
                        )));
                        return;
                    }
                }
            }
            self.update_weights_call(cx, infos, req.principal.as_deref(), responder);
            return;
        }
        if req.method != http::Method::GET {
            responder.respond(super::method_not_allowed(&["GET", "PUT"], &req.method));
            return;
        }
        let mut items: Vec<Value> = self.weight_infos().iter().map(model::proto).collect();
        self.filter_roles_json(
            req.principal.as_deref(),
            crate::authorizer::Action::ViewRole,
            &mut items,
            "role",
        );
        responder.respond(json_response(&req, Value::Array(items).to_string()));
    }

    fn state_endpoint(&mut self, _cx: &mut Cx<'_, Self>, req: Request, responder: Responder) {
        // With `--acls` the view is filtered per principal on the model;
        // without, the body is streamed (upstream always filters, but
        // then every object is approved).
        if self.authz.is_some() {
            let mut body = self.state_json();
            self.filter_view_json(req.principal.as_deref(), &mut body);
            responder.respond(json_response(&req, body.to_string()));
        } else {
            responder.respond(json_response(&req, self.state_json_bytes()));
        }
    }

    fn slaves_endpoint(&mut self, _cx: &mut Cx<'_, Self>, req: Request, responder: Responder) {
        let body = self.slaves_json_bytes(req.query_param("slave_id"));
        responder.respond(json_response(&req, body));
    }

    /// The `/slaves` body, streamed.
    pub fn slaves_json_bytes(&self, filter: Option<&str>) -> String {
        let s = &self.state;
        let usage = s.usage();
        let mut out = Vec::with_capacity(4096 + 4096 * s.agents.len());
        let mut o = Obj::new(&mut out);
        let mut a = Arr::new(o.key("slaves"));
        for ag in s
            .agents
            .values()
            .filter(|a| filter.is_none_or(|f| f == a.id()))
        {
            model::write_agent(a.item(), s, &usage, ag, true);
        }
        a.end();
        let mut a = Arr::new(o.key("recovered_slaves"));
        for r in s.recovered.values() {
            jw::value(a.item(), &model::proto(r));
        }
        a.end();
        o.end();
        jw::into_string(out)
    }

    /// The `/slaves` body as a `Value` (the reference for tests).
    pub fn slaves_json(&self, filter: Option<&str>) -> Value {
        let s = &self.state;
        let usage = s.usage();
        let slaves: Vec<Value> = s
            .agents
            .values()
            .filter(|a| filter.is_none_or(|f| f == a.id()))
            .map(|a| model::agent(s, &usage, a, true))
            .collect();
        let recovered: Vec<Value> = s.recovered.values().map(model::proto).collect();
        json!({ "slaves": slaves, "recovered_slaves": recovered })
    }

    fn frameworks_endpoint(&mut self, _cx: &mut Cx<'_, Self>, req: Request, responder: Responder) {
        let filter = req.query_param("framework_id");
        // As `/state`: filtered on the model with `--acls`, else streamed.
        if self.authz.is_some() {
            let mut body = self.frameworks_json(filter);
            self.filter_view_json(req.principal.as_deref(), &mut body);
            responder.respond(json_response(&req, body.to_string()));
        } else {
            responder.respond(json_response(&req, self.frameworks_json_bytes(filter)));
        }
    }

    /// The `/frameworks` body, streamed.
    pub fn frameworks_json_bytes(&self, filter: Option<&str>) -> String {
        let s = &self.state;
        let usage = s.usage();
        let keep = |id: &str| filter.is_none_or(|f| f == id);
        let mut out = Vec::with_capacity(4096);
        let mut o = Obj::new(&mut out);
        let mut a = Arr::new(o.key("frameworks"));
        for f in s.frameworks.values().filter(|f| keep(f.id())) {
            model::write_framework(a.item(), s, &usage, f);
        }
        a.end();
        let mut a = Arr::new(o.key("completed_frameworks"));
        for f in s.completed_frameworks.iter().filter(|f| keep(f.id())) {
            model::write_framework(a.item(), s, &usage, f);
        }
        a.end();
        o.key("unregistered_frameworks").extend_from_slice(b"[]");
        o.end();
        jw::into_string(out)
    }

    /// The `/frameworks` body as a `Value` (the reference for tests).
    pub fn frameworks_json(&self, filter: Option<&str>) -> Value {
        let s = &self.state;
        let usage = s.usage();
        let keep = |id: &str| filter.is_none_or(|f| f == id);
        json!({
            "frameworks": s.frameworks.values().filter(|f| keep(f.id())).map(|f| model::framework(s, &usage, f)).collect::<Vec<_>>(),
            "completed_frameworks": s.completed_frameworks.iter().filter(|f| keep(f.id())).map(|f| model::framework(s, &usage, f)).collect::<Vec<_>>(),
            "unregistered_frameworks": [],
        })
    }

    fn tasks_endpoint(&mut self, _cx: &mut Cx<'_, Self>, req: Request, responder: Responder) {
        let limit: usize = req
            .query_param("limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(100);
        let offset: usize = req
            .query_param("offset")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let tasks = self.visible_tasks(req.principal.as_deref());
        responder.respond(json_response(
            &req,
            write_tasks(tasks.into_iter(), limit, offset),
        ));
    }

    /// Upstream `ReadOnlyHandler::tasks`: VIEW_FRAMEWORK, then VIEW_TASK
    /// per task (filtered before the offset and limit).
    fn visible_tasks(&self, principal: Option<&str>) -> Vec<&mesos_proto::mesos::Task> {
        if self.authz.is_none() {
            return self.all_tasks().collect();
        }
        let mut tasks = Vec::new();
        for f in self.state.frameworks.values() {
            let user = &f.info.user;
            if !self.authorized(
                principal,
                crate::authorizer::Action::ViewFramework,
                Some(user),
            ) {
                continue;
            }
            let view = |t: &&mesos_proto::mesos::Task| {
                let u = t.user.as_deref().unwrap_or(user);
                self.authorized(principal, crate::authorizer::Action::ViewTask, Some(u))
            };
            tasks.extend(f.tasks.values().filter(view));
            tasks.extend(f.completed_tasks.iter().filter(view));
        }
        tasks
    }

    fn all_tasks(&self) -> impl Iterator<Item = &mesos_proto::mesos::Task> {
        self.state
            .frameworks
            .values()
            .flat_map(|f| f.tasks.values().chain(f.completed_tasks.iter()))
    }

    /// The `/tasks` body (every task), streamed.
    pub fn tasks_json_bytes(&self, limit: usize, offset: usize) -> String {
        write_tasks(self.all_tasks(), limit, offset)
    }

    /// The `/tasks` body as a `Value` (the reference for tests).
    pub fn tasks_json(&self, limit: usize, offset: usize) -> Value {
        json!({
            "tasks": self.all_tasks().skip(offset).take(limit).map(model::task).collect::<Vec<_>>()
        })
    }

    fn health_endpoint(&mut self, _cx: &mut Cx<'_, Self>, _req: Request, responder: Responder) {
        responder.respond(Response::new(StatusCode::OK));
    }

    fn flags_endpoint(&mut self, _cx: &mut Cx<'_, Self>, req: Request, responder: Responder) {
        // Upstream `Master::Http::_flags`: VIEW_FLAGS or 403.
        if !self.authorized(
            req.principal.as_deref(),
            crate::authorizer::Action::ViewFlags,
            None,
        ) {
            responder.respond(crate::actor::authorization::forbidden());
            return;
        }
        let body = json!({ "flags": self.flags_json() });
        responder.respond(json_response(&req, body.to_string()));
    }

    fn version_endpoint(&mut self, _cx: &mut Cx<'_, Self>, req: Request, responder: Responder) {
        responder.respond(json_response(&req, version_json().to_string()));
    }

    /// The master's part of `/metrics/snapshot`.
    pub fn metrics_json(&self, now: f64) -> Value {
        let mut m = self.metrics.snapshot_with_allocator(
            &self.state,
            (now - self.start_time).max(0.0),
            self.allocator.as_ref(),
        );
        m.insert(
            "master/elected".into(),
            (self.elected() as u8 as f64).into(),
        );
        Value::Object(m)
    }

    fn metrics_endpoint(&mut self, cx: &mut Cx<'_, Self>, req: Request, responder: Responder) {
        // Upstream `MetricsProcess::snapshot`: GET_ENDPOINT_WITH_PATH.
        if !self.authorized(
            req.principal.as_deref(),
            crate::authorizer::Action::GetEndpoint,
            Some("/metrics/snapshot"),
        ) {
            responder.respond(crate::actor::authorization::forbidden());
            return;
        }
        let now = Self::now_secs(cx);
        responder.respond(json_response(&req, self.metrics_json(now).to_string()));
    }
}

/// `/state-summary`, `/teardown` and `/redirect`.
impl Master {
    /// Upstream `ReadOnlyHandler::stateSummary`: agents as `/state` shows
    /// them and frameworks in their summary form, each with task counts per
    /// state and the ids of the other side.
    fn state_summary_endpoint(
        &mut self,
        _cx: &mut Cx<'_, Self>,
        req: Request,
        responder: Responder,
    ) {
        responder.respond(json_response(&req, self.state_summary_json_bytes()));
    }

    /// Task counts and the ids of the other side, per framework and per
    /// agent, for `/state-summary`.
    #[allow(clippy::type_complexity)]
    fn summary_counts(
        &self,
    ) -> (
        BTreeMap<&str, (TaskCounts, BTreeSet<&str>)>,
        BTreeMap<&str, (TaskCounts, BTreeSet<&str>)>,
    ) {
        let s = &self.state;
        let mut by_framework: BTreeMap<&str, (TaskCounts, BTreeSet<&str>)> = BTreeMap::new();
        let mut by_agent: BTreeMap<&str, (TaskCounts, BTreeSet<&str>)> = BTreeMap::new();
        for f in s.frameworks.values() {
            let fid = f.id();
            let entry = by_framework.entry(fid).or_default();
            for t in f.tasks.values().chain(f.completed_tasks.iter()) {
                let agent = t.slave_id.value.as_str();
                entry.0.count(t.state);
                entry.1.insert(agent);
                let a = by_agent.entry(agent).or_default();
                a.0.count(t.state);
                a.1.insert(fid);
            }
        }
        (by_framework, by_agent)
    }

    /// The `/state-summary` body, streamed.
    pub fn state_summary_json_bytes(&self) -> String {
        let s = &self.state;
        let usage = s.usage();
        let (mut by_framework, mut by_agent) = self.summary_counts();
        let mut out = Vec::with_capacity(4096 + 2048 * s.agents.len());
        let mut o = Obj::new(&mut out);
        o.str("hostname", self.info.hostname.as_deref().unwrap_or(""));
        if let Some(c) = self.flags.get("cluster") {
            o.str("cluster", c);
        }
        let mut a = Arr::new(o.key("slaves"));
        for ag in s.agents.values() {
            let mut x = Obj::new(a.item());
            model::write_agent_fields(&mut x, s, &usage, ag, false);
            let (counts, frameworks) = by_agent.remove(ag.id()).unwrap_or_default();
            counts.stream(&mut x);
            jw::str_array(x.key("framework_ids"), frameworks);
            x.end();
        }
        a.end();
        let mut a = Arr::new(o.key("frameworks"));
        for f in s.frameworks.values() {
            let mut x = Obj::new(a.item());
            model::write_framework_summary(&mut x, s, &usage, f);
            let (counts, agents) = by_framework.remove(f.id()).unwrap_or_default();
            counts.stream(&mut x);
            jw::str_array(x.key("slave_ids"), agents);
            x.end();
        }
        a.end();
        o.end();
        jw::into_string(out)
    }

    /// The `/state-summary` body as a `Value` (the reference for tests).
    pub fn state_summary_json(&self) -> Value {
        let s = &self.state;
        let usage = s.usage();
        let (mut by_framework, mut by_agent) = self.summary_counts();
        let slaves: Vec<Value> = s
            .agents
            .values()
            .map(|a| {
                let mut v = model::agent(s, &usage, a, false);
                if let Some(o) = v.as_object_mut() {
                    let (counts, frameworks) = by_agent.remove(a.id()).unwrap_or_default();
                    counts.write(o);
                    o.insert("framework_ids".into(), json!(frameworks));
                }
                v
            })
            .collect();
        let frameworks: Vec<Value> = s
            .frameworks
            .values()
            .map(|f| {
                let mut o = model::framework_summary(s, &usage, f);
                let (counts, agents) = by_framework.remove(f.id()).unwrap_or_default();
                counts.write(&mut o);
                o.insert("slave_ids".into(), json!(agents));
                Value::Object(o)
            })
            .collect();
        let mut o = Map::new();
        o.insert(
            "hostname".into(),
            json!(self.info.hostname.clone().unwrap_or_default()),
        );
        if let Some(c) = self.flags.get("cluster") {
            o.insert("cluster".into(), json!(c));
        }
        o.insert("slaves".into(), Value::Array(slaves));
        o.insert("frameworks".into(), Value::Array(frameworks));
        Value::Object(o)
    }

    /// Upstream `Master::Http::teardown(Request)`: a form-encoded POST with
    /// `frameworkId`.
    fn teardown_endpoint(&mut self, cx: &mut Cx<'_, Self>, req: Request, responder: Responder) {
        if req.method != http::Method::POST {
            responder.respond(super::method_not_allowed(&["POST"], &req.method));
            return;
        }
        let body = String::from_utf8_lossy(&req.body);
        let values = match libprocess::transport::decode::parse_query(&body) {
            Ok(v) => v,
            Err(e) => {
                responder.respond(Response::bad_request(format!(
                    "Unable to decode query string: {e}"
                )));
                return;
            }
        };
        let Some((_, fid)) = values.iter().find(|(k, _)| k == "frameworkId") else {
            responder.respond(Response::bad_request(
                "Missing 'frameworkId' query parameter in the request body",
            ));
            return;
        };
        let fid = fid.clone();
        self.teardown_call(cx, &fid, req.principal.as_deref(), responder);
    }

    /// Upstream `Master::Http::redirect`: to the leader (itself when
    /// leading), see [`Master::redirect_to_leader`].
    fn redirect_endpoint(&mut self, _cx: &mut Cx<'_, Self>, req: Request, responder: Responder) {
        responder.respond(self.redirect_to_leader(&req));
    }
}

/// A `/tasks` body of `tasks` after `offset`, at most `limit`, streamed.
fn write_tasks<'a>(
    tasks: impl Iterator<Item = &'a mesos_proto::mesos::Task>,
    limit: usize,
    offset: usize,
) -> String {
    let mut out = Vec::with_capacity(4096);
    let mut o = Obj::new(&mut out);
    let mut a = Arr::new(o.key("tasks"));
    for t in tasks.skip(offset).take(limit) {
        model::write_task(a.item(), t);
    }
    a.end();
    o.end();
    jw::into_string(out)
}
