//! The local authorizer driven by `--acls` (upstream
//! `src/authorizer/local/authorizer.cpp`, `include/mesos/authorizer/acls.proto`).
//!
//! Every ACL list of `mesos.ACLs` is a list of (subjects, objects) pairs. A
//! request is a subject (the principal, or ANY when the caller is not
//! authenticated) and an object (one value, e.g. a role or a user, or ANY
//! when the action carries no object). The first ACL whose subjects and
//! objects both *match* the request decides, by whether they both *allow*
//! it; when none matches, `permissive` decides (default true).
//!
//! Role-valued actions (register framework, reserve, create volume, update
//! quota/weight, ...) also accept recursive role ACLs: a value `a/%` stands
//! for every role strictly below `a` (upstream `LocalHierarchicalRoleApprover`).
//!
//! Without `--acls` the master has no authorizer and skips authorization
//! entirely, as upstream's `authorizer.isNone()` checks do.

use mesos_proto::mesos::acl::entity::Type as EntityType;
use mesos_proto::mesos::acl::Entity;
use mesos_proto::mesos::AcLs;

use crate::flags::MasterFlags;

/// The actions the master authorizes (upstream `authorization::Action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    RegisterFramework,
    RunTask,
    TeardownFramework,
    ReserveResources,
    UnreserveResources,
    CreateVolume,
    DestroyVolume,
    ResizeVolume,
    GetQuota,
    UpdateQuota,
    ViewRole,
    UpdateWeight,
    ViewFramework,
    ViewTask,
    ViewExecutor,
    ViewFlags,
    /// GET_ENDPOINT_WITH_PATH (object: the endpoint's path).
    GetEndpoint,
    SetLogLevel,
    RegisterAgent,
    UpdateMaintenanceSchedule,
    GetMaintenanceSchedule,
    StartMaintenance,
    StopMaintenance,
    GetMaintenanceStatus,
    DrainAgent,
    DeactivateAgent,
    ReactivateAgent,
    MarkAgentGone,
}

impl Action {
    const ALL: [Action; 28] = [
        Action::RegisterFramework,
        Action::RunTask,
        Action::TeardownFramework,
        Action::ReserveResources,
        Action::UnreserveResources,
        Action::CreateVolume,
        Action::DestroyVolume,
        Action::ResizeVolume,
        Action::GetQuota,
        Action::UpdateQuota,
        Action::ViewRole,
        Action::UpdateWeight,
        Action::ViewFramework,
        Action::ViewTask,
        Action::ViewExecutor,
        Action::ViewFlags,
        Action::GetEndpoint,
        Action::SetLogLevel,
        Action::RegisterAgent,
        Action::UpdateMaintenanceSchedule,
        Action::GetMaintenanceSchedule,
        Action::StartMaintenance,
        Action::StopMaintenance,
        Action::GetMaintenanceStatus,
        Action::DrainAgent,
        Action::DeactivateAgent,
        Action::ReactivateAgent,
        Action::MarkAgentGone,
    ];

    /// Actions whose objects are roles, matched with recursive `a/%` ACLs.
    fn hierarchical(self) -> bool {
        matches!(
            self,
            Action::RegisterFramework
                | Action::ReserveResources
                | Action::CreateVolume
                | Action::ResizeVolume
                | Action::GetQuota
                | Action::UpdateQuota
                | Action::ViewRole
                | Action::UpdateWeight
        )
    }
}

/// Endpoints whose GET is authorized by path (upstream
/// `authorization::AUTHORIZABLE_ENDPOINTS`, src/common/authorization.cpp).
pub const AUTHORIZABLE_ENDPOINTS: &[&str] = &[
    "/containers",
    "/containerizer/debug",
    "/files/debug",
    "/logging/toggle",
    "/metrics/snapshot",
    "/monitor/statistics",
];

/// One ACL reduced to its subjects and objects (upstream `GenericACL`).
#[derive(Debug, Clone)]
struct GenericAcl {
    subjects: Entity,
    objects: Entity,
}

/// The request side of a check: an entity of one value, or ANY.
fn request_entity(value: Option<&str>) -> Entity {
    match value {
        Some(v) => Entity {
            r#type: Some(EntityType::Some as i32),
            values: vec![v.to_string()],
        },
        None => Entity {
            r#type: Some(EntityType::Any as i32),
            values: vec![],
        },
    }
}

fn subset(request: &Entity, acl: &Entity) -> bool {
    request.values.iter().all(|v| acl.values.contains(v))
}

/// Whether an ACL entity applies to the request entity: NONE requests only
/// meet NONE; ANY requests meet ANY or NONE; a SOME request meets ANY, NONE,
/// or a SOME list holding all its values.
fn matches(request: &Entity, acl: &Entity) -> bool {
    match request.r#type() {
        EntityType::None => acl.r#type() == EntityType::None,
        EntityType::Any => matches!(acl.r#type(), EntityType::Any | EntityType::None),
        EntityType::Some => match acl.r#type() {
            EntityType::Any | EntityType::None => true,
            EntityType::Some => subset(request, acl),
        },
    }
}

/// Whether a matching ACL entity grants the request entity: NONE only
/// grants NONE, ANY grants ANY and SOME, a SOME list grants its values.
fn allows(request: &Entity, acl: &Entity) -> bool {
    match request.r#type() {
        EntityType::None => acl.r#type() == EntityType::None,
        EntityType::Any => acl.r#type() == EntityType::Any,
        EntityType::Some => match acl.r#type() {
            EntityType::Any => true,
            EntityType::None => false,
            EntityType::Some => subset(request, acl),
        },
    }
}

fn is_recursive(acl: &GenericAcl) -> bool {
    acl.objects.values.len() == 1 && acl.objects.values[0].ends_with("/%")
}

/// `child` lies below the recursive ACL value `parent` (`a/%` covers
/// `a/b` and `a/b/c`, not `a` itself).
fn is_nested(parent: &str, child: &str) -> bool {
    child.starts_with(&parent[..parent.len() - 1])
}

/// Upstream `createHierarchicalRoleACLs`: a SOME role list is split so that
/// each `x/%` value becomes its own (recursive) ACL, in list order, and the
/// plain values stay together in one ACL after them.
fn split_recursive(acls: Vec<GenericAcl>) -> Vec<GenericAcl> {
    let mut out = Vec::new();
    for acl in acls {
        if acl.objects.r#type() != EntityType::Some {
            out.push(acl);
            continue;
        }
        let mut plain = Vec::new();
        for v in &acl.objects.values {
            if v.ends_with("/%") {
                out.push(GenericAcl {
                    subjects: acl.subjects.clone(),
                    objects: Entity {
                        r#type: Some(EntityType::Some as i32),
                        values: vec![v.clone()],
                    },
                });
            } else {
                plain.push(v.clone());
            }
        }
        if !plain.is_empty() {
            out.push(GenericAcl {
                subjects: acl.subjects,
                objects: Entity {
                    r#type: Some(EntityType::Some as i32),
                    values: plain,
                },
            });
        }
    }
    out
}

/// One token of the protobuf text format.
#[derive(Debug, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Colon,
    Open,
    Close,
}

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            c if c.is_ascii_whitespace() => i += 1,
            b':' => {
                out.push(Tok::Colon);
                i += 1;
            }
            b'{' => {
                out.push(Tok::Open);
                i += 1;
            }
            b'}' => {
                out.push(Tok::Close);
                i += 1;
            }
            q @ (b'"' | b'\'') => {
                // C escapes, with octal bytes (protobuf's DebugString).
                let mut bytes = Vec::new();
                i += 1;
                loop {
                    let Some(&c) = b.get(i) else {
                        return Err("unterminated string".into());
                    };
                    i += 1;
                    if c == q {
                        break;
                    }
                    if c != b'\\' {
                        bytes.push(c);
                        continue;
                    }
                    let Some(&e) = b.get(i) else {
                        return Err("unterminated escape".into());
                    };
                    i += 1;
                    match e {
                        b'n' => bytes.push(b'\n'),
                        b't' => bytes.push(b'\t'),
                        b'r' => bytes.push(b'\r'),
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match b.get(i) {
                                    Some(&d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        i += 1;
                                    }
                                    _ => break,
                                }
                            }
                            bytes.push((v & 0xff) as u8);
                        }
                        other => bytes.push(other),
                    }
                }
                out.push(Tok::Str(String::from_utf8_lossy(&bytes).into_owned()));
            }
            _ => {
                let start = i;
                while i < b.len() && !b[i].is_ascii_whitespace() && !b":{}\"'".contains(&b[i]) {
                    i += 1;
                }
                out.push(Tok::Word(text[start..i].to_string()));
            }
        }
    }
    Ok(out)
}

/// The text format of `mesos.ACLs` as JSON: every ACL list (depth 0) is
/// repeated, each ACL's entities (depth 1) are singular, and an entity's
/// `values` (depth 2) are repeated; field names are checked by the JSON
/// conversion that follows.
fn acls_text_to_json(text: &str) -> Result<serde_json::Value, String> {
    fn body(
        toks: &[Tok],
        pos: &mut usize,
        depth: usize,
    ) -> Result<serde_json::Map<String, serde_json::Value>, String> {
        use serde_json::Value;
        let mut obj = serde_json::Map::new();
        while *pos < toks.len() {
            let name = match &toks[*pos] {
                Tok::Close if depth > 0 => {
                    *pos += 1;
                    return Ok(obj);
                }
                Tok::Word(w) => w.clone(),
                t => return Err(format!("Failed to parse the ACLs: unexpected {t:?}")),
            };
            *pos += 1;
            if toks.get(*pos) == Some(&Tok::Colon) {
                *pos += 1;
            }
            let value = match toks.get(*pos) {
                Some(Tok::Open) => {
                    *pos += 1;
                    Value::Object(body(toks, pos, depth + 1)?)
                }
                Some(Tok::Str(s)) => {
                    *pos += 1;
                    Value::String(s.clone())
                }
                Some(Tok::Word(w)) => {
                    *pos += 1;
                    match w.as_str() {
                        "true" => Value::Bool(true),
                        "false" => Value::Bool(false),
                        _ => Value::String(w.clone()),
                    }
                }
                _ => return Err(format!("Failed to parse the ACLs: no value for '{name}'")),
            };
            let repeated = (depth == 0 && name != "permissive") || (depth == 2 && name == "values");
            if repeated {
                if let Some(a) = obj
                    .entry(name)
                    .or_insert_with(|| Value::Array(vec![]))
                    .as_array_mut()
                {
                    a.push(value);
                }
            } else {
                obj.insert(name, value);
            }
        }
        if depth > 0 {
            return Err("Failed to parse the ACLs: unbalanced braces".into());
        }
        Ok(obj)
    }
    let toks = tokenize(text).map_err(|e| format!("Failed to parse the ACLs: {e}"))?;
    let mut pos = 0;
    Ok(serde_json::Value::Object(body(&toks, &mut pos, 0)?))
}

/// The local authorizer over a parsed `mesos.ACLs`.
#[derive(Debug, Clone, Default)]
pub struct Authorizer {
    acls: AcLs,
    /// Each action's ACLs as generic ones (recursive role values split
    /// out), built once: the VIEW_* filters ask once per task.
    compiled: std::collections::HashMap<Action, Vec<GenericAcl>>,
}

macro_rules! generic {
    ($list:expr, $subjects:ident, $objects:ident) => {
        $list
            .iter()
            .map(|a| GenericAcl {
                subjects: a.$subjects.clone(),
                objects: a.$objects.clone(),
            })
            .collect()
    };
}

impl Authorizer {
    /// An authorizer over `acls`, refused as upstream
    /// `LocalAuthorizer::validate` refuses ACLs whose object must be NONE
    /// or ANY.
    pub fn new(acls: AcLs) -> Result<Authorizer, String> {
        let any_or_none: [(&str, Vec<&Entity>); 10] = [
            (
                "RegisterAgent",
                acls.register_agents.iter().map(|a| &a.agents).collect(),
            ),
            (
                "UpdateMaintenanceSchedule",
                acls.update_maintenance_schedules
                    .iter()
                    .map(|a| &a.machines)
                    .collect(),
            ),
            (
                "GetMaintenanceSchedule",
                acls.get_maintenance_schedules
                    .iter()
                    .map(|a| &a.machines)
                    .collect(),
            ),
            (
                "StartMaintenance",
                acls.start_maintenances
                    .iter()
                    .map(|a| &a.machines)
                    .collect(),
            ),
            (
                "StopMaintenance",
                acls.stop_maintenances.iter().map(|a| &a.machines).collect(),
            ),
            (
                "GetMaintenanceStatus",
                acls.get_maintenance_statuses
                    .iter()
                    .map(|a| &a.machines)
                    .collect(),
            ),
            (
                "DrainAgent",
                acls.drain_agents.iter().map(|a| &a.agents).collect(),
            ),
            (
                "DeactivateAgent",
                acls.deactivate_agents.iter().map(|a| &a.agents).collect(),
            ),
            (
                "ReactivateAgent",
                acls.reactivate_agents.iter().map(|a| &a.agents).collect(),
            ),
            (
                "ViewFlags",
                acls.view_flags.iter().map(|a| &a.flags).collect(),
            ),
        ];
        for (name, entities) in any_or_none {
            if entities.iter().any(|e| e.r#type() == EntityType::Some) {
                return Err(format!("ACL.{name} type must be either NONE or ANY"));
            }
        }
        for (name, entities) in [
            (
                "AccessMesosLog",
                acls.access_mesos_logs
                    .iter()
                    .map(|a| &a.logs)
                    .collect::<Vec<_>>(),
            ),
            (
                "SetLogLevel",
                acls.set_log_level.iter().map(|a| &a.level).collect(),
            ),
        ] {
            if entities.iter().any(|e| e.r#type() == EntityType::Some) {
                return Err(format!("ACL.{name} type must be either NONE or ANY"));
            }
        }
        for acl in &acls.get_endpoints {
            if acl.paths.r#type() == EntityType::Some {
                if let Some(p) = acl
                    .paths
                    .values
                    .iter()
                    .find(|p| !AUTHORIZABLE_ENDPOINTS.contains(&p.as_str()))
                {
                    return Err(format!("Path: '{p}' is not an authorizable path"));
                }
            }
        }
        let mut authz = Authorizer {
            acls,
            compiled: Default::default(),
        };
        for action in Action::ALL {
            let list = authz.acls_for(action);
            let list = if action.hierarchical() {
                split_recursive(list)
            } else {
                list
            };
            authz.compiled.insert(action, list);
        }
        Ok(authz)
    }

    /// Parses `--acls` into an authorizer: JSON (the flag as given, or a
    /// `file://` path to it), or the protobuf text format that stout's flag
    /// loader renders a loaded `mesos.ACLs` in (what `/flags` shows).
    pub fn parse(text: &str) -> Result<Authorizer, String> {
        let text = match text.strip_prefix("file://") {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| format!("Failed to read '{path}': {e}"))?,
            None => text.to_string(),
        };
        let json = if text.trim_start().starts_with('{') || text.trim().is_empty() {
            serde_json::from_str(if text.trim().is_empty() { "{}" } else { &text })
                .map_err(|e| format!("Failed to parse the ACLs: invalid JSON: {e}"))?
        } else {
            acls_text_to_json(&text)?
        };
        let acls: AcLs = mesos_proto::json::from_json_value(&json)
            .map_err(|e| format!("Failed to parse the ACLs: {e}"))?;
        Authorizer::new(acls)
    }

    /// The master's authorizer: `None` without `--acls` (nothing is
    /// authorized then) or with a non-local `--authorizers` (refused at
    /// start-up by [`check_flags`]).
    pub fn from_flags(flags: &MasterFlags) -> Option<Authorizer> {
        let text = flags.get("acls")?;
        match Authorizer::parse(text) {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::error!("Could not create 'local' authorizer: {e}");
                None
            }
        }
    }

    /// `permissive` (proto default true).
    pub fn permissive(&self) -> bool {
        self.acls.permissive.unwrap_or(true)
    }

    fn acls_for(&self, action: Action) -> Vec<GenericAcl> {
        let a = &self.acls;
        match action {
            Action::RegisterFramework => generic!(a.register_frameworks, principals, roles),
            Action::RunTask => generic!(a.run_tasks, principals, users),
            Action::TeardownFramework => {
                generic!(a.teardown_frameworks, principals, framework_principals)
            }
            Action::ReserveResources => generic!(a.reserve_resources, principals, roles),
            Action::UnreserveResources => {
                generic!(a.unreserve_resources, principals, reserver_principals)
            }
            Action::CreateVolume => generic!(a.create_volumes, principals, roles),
            Action::DestroyVolume => generic!(a.destroy_volumes, principals, creator_principals),
            Action::ResizeVolume => generic!(a.resize_volumes, principals, roles),
            Action::GetQuota => generic!(a.get_quotas, principals, roles),
            Action::UpdateQuota => generic!(a.update_quotas, principals, roles),
            Action::ViewRole => generic!(a.view_roles, principals, roles),
            Action::UpdateWeight => generic!(a.update_weights, principals, roles),
            Action::ViewFramework => generic!(a.view_frameworks, principals, users),
            Action::ViewTask => generic!(a.view_tasks, principals, users),
            Action::ViewExecutor => generic!(a.view_executors, principals, users),
            Action::ViewFlags => generic!(a.view_flags, principals, flags),
            Action::GetEndpoint => generic!(a.get_endpoints, principals, paths),
            Action::SetLogLevel => generic!(a.set_log_level, principals, level),
            Action::RegisterAgent => generic!(a.register_agents, principals, agents),
            Action::UpdateMaintenanceSchedule => {
                generic!(a.update_maintenance_schedules, principals, machines)
            }
            Action::GetMaintenanceSchedule => {
                generic!(a.get_maintenance_schedules, principals, machines)
            }
            Action::StartMaintenance => generic!(a.start_maintenances, principals, machines),
            Action::StopMaintenance => generic!(a.stop_maintenances, principals, machines),
            Action::GetMaintenanceStatus => {
                generic!(a.get_maintenance_statuses, principals, machines)
            }
            Action::DrainAgent => generic!(a.drain_agents, principals, agents),
            Action::DeactivateAgent => generic!(a.deactivate_agents, principals, agents),
            Action::ReactivateAgent => generic!(a.reactivate_agents, principals, agents),
            Action::MarkAgentGone => generic!(a.mark_agents_gone, principals, agents),
        }
    }

    /// Is `principal` (None: unauthenticated, i.e. ANY) allowed `action` on
    /// `object` (None: the action has no object, i.e. ANY)?
    pub fn authorized(
        &self,
        principal: Option<&str>,
        action: Action,
        object: Option<&str>,
    ) -> bool {
        let subject = request_entity(principal);
        let object = request_entity(object);
        // Every action is compiled in `new`; a default-built authorizer
        // (no ACLs) falls back to an empty list.
        let acls = self.compiled.get(&action).map(Vec::as_slice).unwrap_or(&[]);
        if !action.hierarchical() {
            for acl in acls {
                if matches(&subject, &acl.subjects) && matches(&object, &acl.objects) {
                    return allows(&subject, &acl.subjects) && allows(&object, &acl.objects);
                }
            }
            return self.permissive();
        }
        let any = request_entity(None);
        for acl in acls {
            if !is_recursive(acl) {
                if matches(&subject, &acl.subjects) && matches(&object, &acl.objects) {
                    return allows(&subject, &acl.subjects) && allows(&object, &acl.objects);
                }
            } else if object.r#type() == EntityType::Some
                && is_nested(&acl.objects.values[0], &object.values[0])
                && matches(&subject, &acl.subjects)
            {
                // Below a recursive ACL the role itself counts as covered:
                // only the subjects decide (upstream compares the object
                // against an ANY entity here).
                return allows(&subject, &acl.subjects) && allows(&object, &any);
            }
        }
        self.permissive()
    }

    /// REGISTER_FRAMEWORK over all of a framework's roles: each must be
    /// allowed; a framework without roles gets `permissive`.
    pub fn authorized_roles<'a>(
        &self,
        principal: Option<&str>,
        roles: impl IntoIterator<Item = &'a str>,
    ) -> bool {
        let mut any = false;
        for role in roles {
            any = true;
            if !self.authorized(principal, Action::RegisterFramework, Some(role)) {
                return false;
            }
        }
        any || self.permissive()
    }
}

/// Start-up check (upstream `main.cpp` exits with "Could not create
/// 'local' authorizer: ..."): `--acls` must parse and validate; only the
/// `local` authorizer exists.
pub fn check_flags(flags: &MasterFlags) -> Result<(), String> {
    let authorizers = flags.get("authorizers").unwrap_or("local");
    if authorizers.contains(',') {
        return Err("Multiple authorizers not supported".into());
    }
    if authorizers != "local" {
        return Err(format!(
            "Could not create '{authorizers}' authorizer: authorizer modules are not supported"
        ));
    }
    if let Some(text) = flags.get("acls") {
        Authorizer::parse(text).map_err(|e| format!("Could not create 'local' authorizer: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authz(json: &str) -> Authorizer {
        Authorizer::parse(json).unwrap()
    }

    #[test]
    fn no_matching_acl_falls_back_to_permissive() {
        let a = authz(
            r#"{"run_tasks": [{"principals": {"values": ["x"]}, "users": {"values": ["u"]}}]}"#,
        );
        assert!(a.authorized(Some("y"), Action::RunTask, Some("u")));
        let a = authz(
            r#"{"permissive": false,
                "run_tasks": [{"principals": {"values": ["x"]}, "users": {"values": ["u"]}}]}"#,
        );
        assert!(!a.authorized(Some("y"), Action::RunTask, Some("u")));
        assert!(a.authorized(Some("x"), Action::RunTask, Some("u")));
        // Another action's list never applies.
        assert!(!a.authorized(Some("x"), Action::TeardownFramework, Some("x")));
    }

    #[test]
    fn any_and_none_entities() {
        let a = authz(
            r#"{"permissive": true, "teardown_frameworks": [
                {"principals": {"values": ["ops"]}, "framework_principals": {"type": "ANY"}},
                {"principals": {"type": "ANY"}, "framework_principals": {"type": "NONE"}}]}"#,
        );
        assert!(a.authorized(Some("ops"), Action::TeardownFramework, Some("f")));
        // The second ACL matches everyone else and allows nothing.
        assert!(!a.authorized(Some("dev"), Action::TeardownFramework, Some("f")));
        // An unauthenticated request (ANY subject) matches ANY subjects
        // but is not granted by a NONE object list.
        assert!(!a.authorized(None, Action::TeardownFramework, Some("f")));
        // ANY subject does not match a SOME subject list.
        let a = authz(
            r#"{"permissive": true, "teardown_frameworks": [
                {"principals": {"values": ["ops"]}, "framework_principals": {"type": "NONE"}}]}"#,
        );
        assert!(a.authorized(None, Action::TeardownFramework, Some("f")));
        assert!(!a.authorized(Some("ops"), Action::TeardownFramework, Some("f")));
    }

    #[test]
    fn first_matching_acl_wins() {
        let a = authz(
            r#"{"permissive": false, "run_tasks": [
                {"principals": {"values": ["a"]}, "users": {"type": "NONE"}},
                {"principals": {"values": ["a"]}, "users": {"type": "ANY"}}]}"#,
        );
        assert!(!a.authorized(Some("a"), Action::RunTask, Some("root")));
        let a = authz(
            r#"{"permissive": false, "run_tasks": [
                {"principals": {"values": ["a"]}, "users": {"values": ["nobody"]}},
                {"principals": {"values": ["a"]}, "users": {"type": "ANY"}}]}"#,
        );
        // "root" is not in the first list, so the first ACL does not match
        // and the second one allows it.
        assert!(a.authorized(Some("a"), Action::RunTask, Some("root")));
        assert!(a.authorized(Some("a"), Action::RunTask, Some("nobody")));
    }

    #[test]
    fn values_are_listed_subjects_and_objects() {
        let a = authz(
            r#"{"permissive": false, "register_frameworks": [
                {"principals": {"values": ["p1", "p2"]}, "roles": {"values": ["web", "db"]}}]}"#,
        );
        assert!(a.authorized(Some("p2"), Action::RegisterFramework, Some("db")));
        assert!(!a.authorized(Some("p3"), Action::RegisterFramework, Some("db")));
        assert!(!a.authorized(Some("p1"), Action::RegisterFramework, Some("batch")));
        assert!(a.authorized_roles(Some("p1"), ["web", "db"]));
        assert!(!a.authorized_roles(Some("p1"), ["web", "batch"]));
        // No roles: permissive decides.
        assert!(!a.authorized_roles(Some("p1"), []));
    }

    #[test]
    fn recursive_role_acls_cover_roles_below() {
        let a = authz(
            r#"{"permissive": false, "reserve_resources": [
                {"principals": {"values": ["p"]}, "roles": {"values": ["eng/%", "ops"]}}]}"#,
        );
        assert!(a.authorized(Some("p"), Action::ReserveResources, Some("eng/a")));
        assert!(a.authorized(Some("p"), Action::ReserveResources, Some("eng/a/b")));
        // Not the parent itself, not a sibling with a common prefix.
        assert!(!a.authorized(Some("p"), Action::ReserveResources, Some("eng")));
        assert!(!a.authorized(Some("p"), Action::ReserveResources, Some("engx/a")));
        assert!(a.authorized(Some("p"), Action::ReserveResources, Some("ops")));
        assert!(!a.authorized(Some("q"), Action::ReserveResources, Some("eng/a")));
        // A recursive value is literal (not a wildcard) for other actions.
        let a = authz(
            r#"{"permissive": false, "run_tasks": [
                {"principals": {"values": ["p"]}, "users": {"values": ["eng/%"]}}]}"#,
        );
        assert!(!a.authorized(Some("p"), Action::RunTask, Some("eng/a")));
    }

    #[test]
    fn recursive_acl_denies_below_a_role() {
        // A NONE subject list on `a/%` denies everyone below `a`, before a
        // later ANY/ANY ACL.
        let a = authz(
            r#"{"permissive": true, "update_weights": [
                {"principals": {"type": "NONE"}, "roles": {"values": ["a/%"]}},
                {"principals": {"type": "ANY"}, "roles": {"type": "ANY"}}]}"#,
        );
        assert!(!a.authorized(Some("p"), Action::UpdateWeight, Some("a/b")));
        assert!(a.authorized(Some("p"), Action::UpdateWeight, Some("a")));
    }

    #[test]
    fn text_format_as_the_flag_loader_renders_it() {
        let json = r#"{"permissive": false, "register_frameworks": [
            {"principals": {"values": ["a", "b\u00e9"]}, "roles": {"type": "ANY"}}]}"#;
        let acls: AcLs = mesos_proto::json::from_json(json).unwrap();
        let dynamic = prost::Message::encode_to_vec(&acls);
        // What stout's DebugString prints for these ACLs.
        let text = "permissive: false\nregister_frameworks {\n  principals {\n    values: \"a\"\n    values: \"b\\303\\251\"\n  }\n  roles {\n    type: ANY\n  }\n}\n";
        let parsed = Authorizer::parse(text).unwrap();
        assert_eq!(prost::Message::encode_to_vec(&parsed.acls), dynamic);
        assert!(!parsed.permissive());
        assert!(Authorizer::parse("register_frameworks { principals {").is_err());
    }

    #[test]
    fn every_action_is_compiled() {
        let a = authz("{}");
        assert_eq!(a.compiled.len(), Action::ALL.len());
        // A match without a wildcard: a new action fails to build until it
        // is listed here, and the count above keeps `ALL` in step.
        let n = Action::ALL
            .iter()
            .filter(|x| match x {
                Action::RegisterFramework
                | Action::RunTask
                | Action::TeardownFramework
                | Action::ReserveResources
                | Action::UnreserveResources
                | Action::CreateVolume
                | Action::DestroyVolume
                | Action::ResizeVolume
                | Action::GetQuota
                | Action::UpdateQuota
                | Action::ViewRole
                | Action::UpdateWeight
                | Action::ViewFramework
                | Action::ViewTask
                | Action::ViewExecutor
                | Action::ViewFlags
                | Action::GetEndpoint
                | Action::SetLogLevel
                | Action::RegisterAgent
                | Action::UpdateMaintenanceSchedule
                | Action::GetMaintenanceSchedule
                | Action::StartMaintenance
                | Action::StopMaintenance
                | Action::GetMaintenanceStatus
                | Action::DrainAgent
                | Action::DeactivateAgent
                | Action::ReactivateAgent
                | Action::MarkAgentGone => true,
            })
            .count();
        assert_eq!(n, 28);
    }

    #[test]
    fn validation_and_parsing() {
        let e = Authorizer::parse(
            r#"{"drain_agents": [{"principals": {"type": "ANY"}, "agents": {"values": ["x"]}}]}"#,
        )
        .unwrap_err();
        assert_eq!(e, "ACL.DrainAgent type must be either NONE or ANY");
        assert!(Authorizer::parse(r#"{"permissive": "maybe"}"#).is_err());
        assert!(Authorizer::parse(r#"{"run_tasks": [{"users": {"type": "ANY"}}]}"#).is_err());
        assert_eq!(
            Authorizer::parse(
                r#"{"get_endpoints": [{"principals": {"type": "ANY"}, "paths": {"values": ["/state"]}}]}"#
            )
            .unwrap_err(),
            "Path: '/state' is not an authorizable path"
        );
        assert!(authz("{}").permissive());
        assert!(!authz(r#"{"permissive": false}"#).permissive());
    }
}
