//! Where the master asks the local authorizer ([`crate::authorizer`]), as
//! upstream `Master::authorize*` (src/master/master.cpp) and the operator
//! handlers (src/master/http.cpp, quota_handler.cpp, weights_handler.cpp).
//!
//! Without `--acls` the master has no authorizer and every check passes.

use http::StatusCode;
use libprocess::Response;
use mesos_proto::mesos::master::call::Type as CallType;
use mesos_proto::mesos::master::Call;
use mesos_proto::mesos::offer::operation::Type as OpType;
use mesos_proto::mesos::offer::Operation as OfferOperation;
use mesos_proto::mesos::{FrameworkInfo, Resource, TaskInfo};

use super::Master;
use crate::authorizer::Action;

/// Upstream `http::Forbidden()`: libprocess gives it the body
/// `403 Forbidden.` (text/plain), as the real master answers.
pub fn forbidden() -> Response {
    Response::text(StatusCode::FORBIDDEN, "403 Forbidden.")
}

/// The role a reservation is made for (upstream `Resources::reservationRole`,
/// or `*` when unreserved); resources are in the post-refinement format.
fn reservation_role(r: &Resource) -> String {
    match r.reservations.last() {
        Some(res) => res.role.clone().unwrap_or_else(|| "*".into()),
        None => r.role.clone().unwrap_or_else(|| "*".into()),
    }
}

/// The user a task's command (else its executor's command) names, the
/// `user` upstream `protobuf::createTask` copies into the task.
pub fn command_user(task: &TaskInfo) -> Option<String> {
    task.command
        .as_ref()
        .and_then(|c| c.user.clone())
        .or_else(|| {
            task.executor
                .as_ref()
                .and_then(|e| e.command.as_ref())
                .and_then(|c| c.user.clone())
        })
}

/// The user a task runs as for RUN_TASK: [`command_user`], else the
/// framework's (upstream `LocalAuthorizerObjectApprover`).
pub fn task_user(task: &TaskInfo, framework: &FrameworkInfo) -> String {
    command_user(task).unwrap_or_else(|| framework.user.clone())
}

impl Master {
    /// `principal` may do `action` on `object` (always, without `--acls`).
    pub(crate) fn authorized(
        &self,
        principal: Option<&str>,
        action: Action,
        object: Option<&str>,
    ) -> bool {
        let Some(authz) = &self.authz else {
            return true;
        };
        let ok = authz.authorized(principal, action, object);
        // Debug, not info: the VIEW_* filters ask once per task.
        tracing::debug!(
            "Authorizing principal '{}' for {action:?} on '{}': {}",
            principal.unwrap_or("ANY"),
            object.unwrap_or("ANY"),
            if ok { "allowed" } else { "denied" }
        );
        ok
    }

    /// Upstream `Master::authorizeFramework`: the framework's principal may
    /// register with each of its roles; the error is what the subscriber
    /// is told.
    pub(crate) fn authorize_framework(&self, info: &FrameworkInfo) -> Result<(), String> {
        let Some(authz) = &self.authz else {
            return Ok(());
        };
        let roles: std::collections::BTreeSet<String> = crate::state::framework::roles_of(info)
            .into_iter()
            .collect();
        let principal = info.principal.as_deref();
        tracing::info!(
            "Authorizing framework principal '{}' to receive offers for roles '{{ {} }}'",
            principal.unwrap_or(""),
            roles.iter().cloned().collect::<Vec<_>>().join(", ")
        );
        if authz.authorized_roles(principal, roles.iter().map(String::as_str)) {
            Ok(())
        } else {
            Err(format!(
                "Not authorized to use roles '{{ {} }}'",
                roles.into_iter().collect::<Vec<_>>().join(", ")
            ))
        }
    }

    /// Upstream `Master::authorizeTask` (RUN_TASK with the framework's
    /// principal); the error is the TASK_ERROR message.
    pub(crate) fn authorize_task(&self, fid: &str, task: &TaskInfo) -> Result<(), String> {
        if self.authz.is_none() {
            return Ok(());
        }
        let Some(fw) = self.state.frameworks.get(fid) else {
            return Ok(());
        };
        let user = task_user(task, &fw.info);
        if self.authorized(fw.info.principal.as_deref(), Action::RunTask, Some(&user)) {
            Ok(())
        } else {
            Err(format!("Not authorized to launch as user '{user}'"))
        }
    }

    /// RESERVE / UNRESERVE / CREATE / DESTROY by `principal` (upstream
    /// `authorizeReserveResources`, `authorizeUnreserveResources`,
    /// `authorizeCreateVolume`, `authorizeDestroyVolume`): every distinct
    /// role (or reserver / creator principal) must be allowed; with none,
    /// the object is ANY. `op` is in the post-refinement format.
    pub(crate) fn authorize_operation(
        &self,
        principal: Option<&str>,
        op: &OfferOperation,
    ) -> Result<(), String> {
        if self.authz.is_none() {
            return Ok(());
        }
        let ty = op.r#type.and_then(|t| OpType::try_from(t).ok());
        let (action, objects, what): (Action, Vec<String>, &str) = match ty {
            Some(OpType::Reserve) => {
                let rs = op.reserve.as_ref().map(|r| &r.resources[..]).unwrap_or(&[]);
                (
                    Action::ReserveResources,
                    rs.iter().map(reservation_role).collect(),
                    "reserve resources",
                )
            }
            Some(OpType::Unreserve) => {
                let rs = op
                    .unreserve
                    .as_ref()
                    .map(|r| &r.resources[..])
                    .unwrap_or(&[]);
                (
                    Action::UnreserveResources,
                    rs.iter()
                        .filter_map(|r| r.reservations.last().and_then(|x| x.principal.clone()))
                        .collect(),
                    "unreserve resources",
                )
            }
            Some(OpType::Create) => {
                let rs = op.create.as_ref().map(|c| &c.volumes[..]).unwrap_or(&[]);
                (
                    Action::CreateVolume,
                    rs.iter().map(reservation_role).collect(),
                    "create persistent volumes",
                )
            }
            Some(OpType::Destroy) => {
                let rs = op.destroy.as_ref().map(|d| &d.volumes[..]).unwrap_or(&[]);
                (
                    Action::DestroyVolume,
                    rs.iter()
                        .filter_map(|r| r.disk.as_ref()?.persistence.as_ref())
                        .map(|p| p.principal.clone().unwrap_or_default())
                        .collect(),
                    "destroy persistent volumes",
                )
            }
            _ => return Ok(()),
        };
        let mut objects = objects;
        objects.sort();
        objects.dedup();
        let ok = if objects.is_empty() {
            self.authorized(principal, action, None)
        } else {
            objects
                .iter()
                .all(|o| self.authorized(principal, action, Some(o)))
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "Not authorized to {what} as '{}'",
                principal.unwrap_or("")
            ))
        }
    }

    /// The authorization of a v1 operator call, done before the handler
    /// runs; `false` is upstream's `403 Forbidden` ([`forbidden`]). The
    /// RESERVE/UNRESERVE/CREATE/DESTROY, quota and weights calls are
    /// authorized after their validation in their handlers.
    pub(crate) fn authorize_operator_call(
        &self,
        ty: CallType,
        call: &Call,
        principal: Option<&str>,
    ) -> bool {
        if self.authz.is_none() {
            return true;
        }
        match ty {
            // TEARDOWN: `teardown_call` looks the framework up (400) before
            // authorizing on its principal, as upstream's `_teardown`.
            CallType::DrainAgent => {
                let mark_gone = call
                    .drain_agent
                    .as_ref()
                    .and_then(|d| d.mark_gone)
                    .unwrap_or(false);
                self.authorized(principal, Action::DrainAgent, None)
                    && (!mark_gone || self.authorized(principal, Action::MarkAgentGone, None))
            }
            CallType::DeactivateAgent => self.authorized(principal, Action::DeactivateAgent, None),
            CallType::ReactivateAgent => self.authorized(principal, Action::ReactivateAgent, None),
            CallType::MarkAgentGone => self.authorized(principal, Action::MarkAgentGone, None),
            CallType::UpdateMaintenanceSchedule => {
                self.authorized(principal, Action::UpdateMaintenanceSchedule, None)
            }
            CallType::StartMaintenance => {
                self.authorized(principal, Action::StartMaintenance, None)
            }
            CallType::StopMaintenance => self.authorized(principal, Action::StopMaintenance, None),
            CallType::GetFlags => self.authorized(principal, Action::ViewFlags, None),
            CallType::SetLoggingLevel => self.authorized(principal, Action::SetLogLevel, None),
            _ => true,
        }
    }
}

impl Master {
    /// VIEW_FRAMEWORK / VIEW_TASK / VIEW_EXECUTOR / VIEW_FLAGS filtering of
    /// the v0 JSON of `/state` and `/frameworks` (upstream
    /// `Master::ReadOnlyHandler::state` / `frameworks` with their
    /// `ObjectApprovers`): frameworks whose user the principal may not view
    /// are left out, and so are the tasks and executors of the others it
    /// may not view; `flags` is left out without VIEW_FLAGS.
    pub(crate) fn filter_view_json(&self, principal: Option<&str>, body: &mut serde_json::Value) {
        if self.authz.is_none() {
            return;
        }
        let Some(obj) = body.as_object_mut() else {
            return;
        };
        if obj.contains_key("flags") && !self.authorized(principal, Action::ViewFlags, None) {
            obj.remove("flags");
        }
        let user_of =
            |v: &serde_json::Value| v.get("user").and_then(|u| u.as_str()).map(String::from);
        for key in ["frameworks", "completed_frameworks"] {
            let Some(list) = obj.get_mut(key).and_then(|l| l.as_array_mut()) else {
                continue;
            };
            list.retain(|fw| {
                let user = user_of(fw).unwrap_or_default();
                self.authorized(principal, Action::ViewFramework, Some(&user))
            });
            for fw in list.iter_mut() {
                let fw_user = user_of(fw).unwrap_or_default();
                for tasks in ["tasks", "unreachable_tasks", "completed_tasks"] {
                    if let Some(ts) = fw.get_mut(tasks).and_then(|t| t.as_array_mut()) {
                        ts.retain(|t| {
                            let user = user_of(t).unwrap_or_else(|| fw_user.clone());
                            self.authorized(principal, Action::ViewTask, Some(&user))
                        });
                    }
                }
                if let Some(es) = fw.get_mut("executors").and_then(|e| e.as_array_mut()) {
                    es.retain(|e| {
                        let user = e
                            .get("command")
                            .and_then(user_of)
                            .unwrap_or_else(|| fw_user.clone());
                        self.authorized(principal, Action::ViewExecutor, Some(&user))
                    });
                }
            }
        }
    }
}

impl Master {
    /// The user of a current or completed framework ("" when unknown).
    fn framework_user(&self, fid: &str) -> String {
        self.state
            .frameworks
            .get(fid)
            .or_else(|| {
                self.state
                    .completed_frameworks
                    .iter()
                    .find(|f| f.id() == fid)
            })
            .map(|f| f.info.user.clone())
            .unwrap_or_default()
    }

    /// VIEW_* filtering of the v1 GET_FRAMEWORKS / GET_TASKS /
    /// GET_EXECUTORS / GET_STATE responses (upstream `Master::Http::
    /// _getFrameworks`, `_getTasks`, `_getExecutors`, `_getState`): a task
    /// or executor shows only when its framework does too.
    pub(crate) fn filter_view_response(
        &self,
        principal: Option<&str>,
        resp: &mut mesos_proto::mesos::master::Response,
    ) {
        use mesos_proto::mesos::master::response::{GetExecutors, GetFrameworks, GetTasks};
        if self.authz.is_none() {
            return;
        }
        let view_fw = |user: &str| self.authorized(principal, Action::ViewFramework, Some(user));
        let frameworks = |g: &mut GetFrameworks| {
            g.frameworks.retain(|f| view_fw(&f.framework_info.user));
            g.completed_frameworks
                .retain(|f| view_fw(&f.framework_info.user));
            g.recovered_frameworks.retain(|f| view_fw(&f.user));
        };
        let tasks = |g: &mut GetTasks| {
            for list in [
                &mut g.pending_tasks,
                &mut g.tasks,
                &mut g.unreachable_tasks,
                &mut g.completed_tasks,
                &mut g.orphan_tasks,
            ] {
                list.retain(|t| {
                    let fw_user = self.framework_user(&t.framework_id.value);
                    let user = t.user.clone().unwrap_or_else(|| fw_user.clone());
                    view_fw(&fw_user) && self.authorized(principal, Action::ViewTask, Some(&user))
                });
            }
        };
        let executors = |g: &mut GetExecutors| {
            for list in [&mut g.executors, &mut g.orphan_executors] {
                list.retain(|e| {
                    let fid = e
                        .executor_info
                        .framework_id
                        .as_ref()
                        .map(|f| f.value.clone())
                        .unwrap_or_default();
                    let fw_user = self.framework_user(&fid);
                    let user = e
                        .executor_info
                        .command
                        .as_ref()
                        .and_then(|c| c.user.clone())
                        .unwrap_or_else(|| fw_user.clone());
                    view_fw(&fw_user)
                        && self.authorized(principal, Action::ViewExecutor, Some(&user))
                });
            }
        };
        // VIEW_ROLE (upstream `getRoles`, `WeightsHandler::_filterWeights`)
        // and GET_QUOTA (`QuotaHandler::status`) per role.
        let view_role = |r: &str| self.authorized(principal, Action::ViewRole, Some(r));
        if let Some(g) = resp.get_roles.as_mut() {
            g.roles.retain(|r| view_role(&r.name));
        }
        if let Some(g) = resp.get_weights.as_mut() {
            g.weight_infos
                .retain(|w| view_role(w.role.as_deref().unwrap_or("")));
        }
        if let Some(g) = resp.get_quota.as_mut() {
            let get_quota = |r: &str| self.authorized(principal, Action::GetQuota, Some(r));
            g.status
                .infos
                .retain(|i| get_quota(i.role.as_deref().unwrap_or("")));
            g.status.configs.retain(|c| get_quota(&c.role));
        }
        // GET_MAINTENANCE_SCHEDULE / _STATUS: objects are ANY, so a
        // principal sees all machines or none (upstream filters per machine).
        if let Some(g) = resp.get_maintenance_schedule.as_mut() {
            if !self.authorized(principal, Action::GetMaintenanceSchedule, None) {
                g.schedule = Default::default();
            }
        }
        if let Some(g) = resp.get_maintenance_status.as_mut() {
            if !self.authorized(principal, Action::GetMaintenanceStatus, None) {
                g.status = Default::default();
            }
        }
        if let Some(g) = resp.get_frameworks.as_mut() {
            frameworks(g);
        }
        if let Some(g) = resp.get_tasks.as_mut() {
            tasks(g);
        }
        if let Some(g) = resp.get_executors.as_mut() {
            executors(g);
        }
        if let Some(s) = resp.get_state.as_mut() {
            if let Some(g) = s.get_frameworks.as_mut() {
                frameworks(g);
            }
            if let Some(g) = s.get_tasks.as_mut() {
                tasks(g);
            }
            if let Some(g) = s.get_executors.as_mut() {
                executors(g);
            }
        }
    }
}

impl Master {
    /// Keeps the JSON objects of `list` whose `key` (a role) `action`
    /// allows: VIEW_ROLE for `/roles` and `/weights`, GET_QUOTA for `/quota`.
    pub(crate) fn filter_roles_json(
        &self,
        principal: Option<&str>,
        action: Action,
        list: &mut Vec<serde_json::Value>,
        key: &str,
    ) {
        if self.authz.is_none() {
            return;
        }
        list.retain(|v| {
            let role = v.get(key).and_then(|r| r.as_str()).unwrap_or("");
            self.authorized(principal, action, Some(role))
        });
    }
}

impl Master {
    /// Upstream `Master::authorizeSlave` (REGISTER_AGENT, object ANY, the
    /// CRAM-MD5 principal of `from` if any): a refused (re)registration is
    /// logged and dropped, as `__registerSlave` / `__reregisterSlave` do.
    pub(crate) fn agent_authorized(
        &self,
        from: &libprocess::Upid,
        info: &mesos_proto::mesos::SlaveInfo,
        what: &str,
    ) -> bool {
        if self.authz.is_none() {
            return true;
        }
        let principal = self.authn.authenticated.get(from).map(String::as_str);
        if self.authorized(principal, Action::RegisterAgent, None) {
            return true;
        }
        tracing::warn!(
            "Refusing {what} of agent at {from} ({}): Not authorized to register agent providing resources '{}' {}",
            info.hostname,
            crate::resources::Resources::from_vec(&info.resources),
            match principal {
                Some(p) => format!("with principal '{p}'"),
                None => "without a principal".to_string(),
            }
        );
        false
    }
}

impl Master {
    /// Whether an operator event goes to a subscriber of `principal`
    /// (upstream `Master::Subscribers::send` with its approvers): framework
    /// events need VIEW_FRAMEWORK, task events VIEW_FRAMEWORK and
    /// VIEW_TASK; the others go to everyone.
    pub(crate) fn event_visible(
        &self,
        principal: Option<&str>,
        e: &mesos_proto::mesos::master::Event,
    ) -> bool {
        if self.authz.is_none() {
            return true;
        }
        let view_fw = |user: &str| self.authorized(principal, Action::ViewFramework, Some(user));
        let view_task = |fid: &str, task_user: Option<&str>| {
            let fw_user = self.framework_user(fid);
            let user = task_user.unwrap_or(&fw_user);
            view_fw(&fw_user) && self.authorized(principal, Action::ViewTask, Some(user))
        };
        if let Some(f) = &e.framework_added {
            return view_fw(&f.framework.framework_info.user);
        }
        if let Some(f) = &e.framework_updated {
            return view_fw(&f.framework.framework_info.user);
        }
        if let Some(f) = &e.framework_removed {
            return view_fw(&f.framework_info.user);
        }
        if let Some(t) = &e.task_added {
            return view_task(&t.task.framework_id.value, t.task.user.as_deref());
        }
        if let Some(t) = &e.task_updated {
            let fid = &t.framework_id.value;
            let task_user = self
                .state
                .frameworks
                .get(fid)
                .and_then(|f| f.tasks.get(&t.status.task_id.value))
                .and_then(|task| task.user.clone());
            return view_task(fid, task_user.as_deref());
        }
        true
    }
}
