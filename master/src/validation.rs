//! Validation of scheduler calls, frameworks, offers and task launches, with
//! upstream's messages (`src/master/validation.cpp`,
//! `src/common/validation.cpp`). Each function returns the first error, in
//! upstream's order, as the text the framework will see.

use std::collections::BTreeSet;

use mesos_proto::mesos::framework_info::capability::Type as FwCap;
use mesos_proto::mesos::scheduler::call::Type as CallType;
use mesos_proto::mesos::scheduler::Call;
use mesos_proto::mesos::{FrameworkInfo, OfferId, TaskInfo};

use crate::resources::Resources;
use crate::state::{Agent, Framework, MasterState};

/// Upstream `common::validation::validateID` (task, executor, agent and
/// framework IDs).
pub fn validate_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("ID must not be empty".into());
    }
    if id.len() > 255 {
        return Err("ID must not be greater than 255 characters".into());
    }
    if id == "." || id == ".." {
        return Err(format!("'{id}' is disallowed"));
    }
    if id.chars().any(|c| c.is_control() || c == '/' || c == '\\') {
        return Err(format!("'{id}' contains invalid characters"));
    }
    Ok(())
}

/// Upstream `roles::validate`.
pub fn validate_role(role: &str) -> Result<(), String> {
    if role == "*" {
        return Ok(());
    }
    if role.is_empty() {
        return Err("Empty role name is invalid".into());
    }
    for part in role.split('/') {
        if part.is_empty() {
            return Err(format!("Role '{role}' cannot contain empty path segments"));
        }
        if part == "." || part == ".." {
            return Err(format!(
                "Role '{role}' cannot contain '.' or '..' as a path segment"
            ));
        }
        if part == "*" {
            return Err(format!(
                "Role '{role}' cannot contain '*' as a path segment"
            ));
        }
        if part.starts_with('-') {
            return Err(format!("Role '{role}' cannot start with '-'"));
        }
    }
    if role
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return Err(format!(
            "Role '{role}' cannot contain whitespace or control characters"
        ));
    }
    Ok(())
}

/// Upstream `validation::scheduler::call::validate` (structure only).
pub fn validate_call(call: &Call) -> Result<(), String> {
    let Some(ty) = call.r#type.and_then(|t| CallType::try_from(t).ok()) else {
        return Err("Expecting 'type' to be present".into());
    };
    if ty == CallType::Subscribe {
        let Some(sub) = &call.subscribe else {
            return Err("Expecting 'subscribe' to be present".into());
        };
        if sub.framework_info.id != call.framework_id {
            return Err("'framework_id' differs from 'subscribe.framework_info.id'".into());
        }
        return Ok(());
    }
    if call.framework_id.is_none() {
        return Err("Expecting 'framework_id' to be present".into());
    }
    let missing = |name: &str| Err(format!("Expecting '{name}' to be present"));
    match ty {
        CallType::Accept if call.accept.is_none() => missing("accept"),
        CallType::Decline if call.decline.is_none() => missing("decline"),
        CallType::AcceptInverseOffers if call.accept_inverse_offers.is_none() => {
            missing("accept_inverse_offers")
        }
        CallType::DeclineInverseOffers if call.decline_inverse_offers.is_none() => {
            missing("decline_inverse_offers")
        }
        CallType::Kill if call.kill.is_none() => missing("kill"),
        CallType::Shutdown if call.shutdown.is_none() => missing("shutdown"),
        CallType::Acknowledge => match &call.acknowledge {
            None => missing("acknowledge"),
            Some(a) if a.uuid.len() != 16 => Err(format!(
                "Not a valid UUID: expected 16 bytes, got {}",
                a.uuid.len()
            )),
            Some(_) => Ok(()),
        },
        CallType::AcknowledgeOperationStatus if call.acknowledge_operation_status.is_none() => {
            missing("acknowledge_operation_status")
        }
        CallType::Reconcile if call.reconcile.is_none() => missing("reconcile"),
        CallType::ReconcileOperations if call.reconcile_operations.is_none() => {
            missing("reconcile_operations")
        }
        CallType::Message if call.message.is_none() => missing("message"),
        CallType::Request if call.request.is_none() => missing("request"),
        CallType::UpdateFramework if call.update_framework.is_none() => missing("update_framework"),
        CallType::UpdateFramework
            if call.update_framework.as_ref().map(|u| &u.framework_info.id)
                != Some(&call.framework_id) =>
        {
            Err("'framework_id' differs from 'update_framework.framework_info.id'".into())
        }
        _ => Ok(()),
    }
}

/// Upstream `validation::framework::validate` (roles, framework ID) plus
/// the `--roles` whitelist check of `Master::validateFramework`.
pub fn validate_framework(
    info: &FrameworkInfo,
    suppressed_roles: &[String],
    whitelist: Option<&[String]>,
) -> Result<(), String> {
    let multi = info
        .capabilities
        .iter()
        .any(|c| c.r#type == Some(FwCap::MultiRole as i32));
    if multi && info.role.is_some() {
        return Err(
            "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable".into(),
        );
    }
    if !multi && !info.roles.is_empty() {
        return Err(
            "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable"
                .into(),
        );
    }
    let roles = crate::state::framework::roles_of(info);
    if multi {
        let mut seen = BTreeSet::new();
        let dups: BTreeSet<&String> = info.roles.iter().filter(|r| !seen.insert(*r)).collect();
        if !dups.is_empty() {
            let list: Vec<&str> = dups.iter().map(|s| s.as_str()).collect();
            return Err(format!(
                "'FrameworkInfo.roles' contains duplicate items: {{ {} }}",
                list.join(", ")
            ));
        }
        for r in &info.roles {
            validate_role(r)
                .map_err(|e| format!("'FrameworkInfo.roles' contains invalid role: {e}"))?;
        }
    } else {
        validate_role(&roles[0])
            .map_err(|e| format!("'FrameworkInfo.role' is not a valid role: {e}"))?;
    }
    if let Some(id) = &info.id {
        validate_id(&id.value).map_err(|e| format!("'FrameworkInfo.id' is invalid: {e}"))?;
    }
    for r in suppressed_roles {
        if !roles.contains(r) {
            return Err(format!(
                "Suppressed role '{r}' is not contained in the list of roles"
            ));
        }
    }
    if let Some(list) = whitelist {
        for r in &roles {
            if r != "*" && !list.contains(r) {
                return Err(format!("Role '{r}' is not present in the master's --roles"));
            }
        }
    }
    Ok(())
}

/// Upstream `validation::offer::validate`: the offers exist, are unique,
/// belong to the framework, share one allocation role and one agent.
pub fn validate_offers(
    offer_ids: &[OfferId],
    state: &MasterState,
    framework_id: &str,
) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for id in offer_ids {
        if !seen.insert(&id.value) {
            return Err(format!("Duplicate offer {} in offer list", id.value));
        }
    }
    let mut role: Option<String> = None;
    let mut agent: Option<&str> = None;
    for id in offer_ids {
        let Some(offer) = state.offers.get(&id.value) else {
            return Err(format!("Offer {} is no longer valid", id.value));
        };
        if offer.framework_id.value != framework_id {
            return Err(format!(
                "Offer {} has invalid framework {} while framework {} is expected",
                id.value, offer.framework_id.value, framework_id
            ));
        }
        let r = offer
            .allocation_info
            .as_ref()
            .and_then(|a| a.role.clone())
            .unwrap_or_default();
        match &role {
            None => role = Some(r),
            Some(prev) if *prev != r => {
                return Err(format!(
                    "Aggregated offers must be allocated to the same role. Offer {} uses role '{} but another is using role '{}",
                    id.value, r, prev
                ))
            }
            _ => {}
        }
        match agent {
            None => agent = Some(&offer.slave_id.value),
            Some(prev) if prev != offer.slave_id.value => {
                return Err(format!(
                    "Aggregated offers must belong to one single agent. Offer {} uses agent {} and agent {}",
                    id.value, offer.slave_id.value, prev
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Upstream `validation::task::validate` for a task in a LAUNCH operation:
/// ID, uniqueness, agent, kill policy, resources, command/executor, and that
/// task plus (new) executor fit in `available`.
pub fn validate_task(
    task: &TaskInfo,
    framework: &Framework,
    agent: &Agent,
    available: &Resources,
) -> Result<(), String> {
    validate_id(&task.task_id.value).map_err(|e| format!("Task has an invalid TaskID: {e}"))?;
    if framework.tasks.contains_key(&task.task_id.value) {
        return Err(format!("Task has duplicate ID: {}", task.task_id.value));
    }
    if task.slave_id.value != agent.id() {
        return Err(format!(
            "Task uses invalid agent {} while agent {} is expected",
            task.slave_id.value,
            agent.id()
        ));
    }
    if let Some(kp) = &task.kill_policy {
        if kp.grace_period.as_ref().is_some_and(|g| g.nanoseconds < 0) {
            return Err("Task's 'kill_policy.grace_period' must be non-negative".into());
        }
    }
    if task
        .max_completion_time
        .as_ref()
        .is_some_and(|d| d.nanoseconds < 0)
    {
        return Err("Task's `max_completion_time` must be non-negative".into());
    }
    if let Some(check) = &task.check {
        validate_check_info(check).map_err(|e| format!("Task uses invalid check: {e}"))?;
    }
    let task_resources = Resources::from_vec(&task.resources);
    if task_resources.is_empty() {
        return Err("Task uses no resources".into());
    }
    validate_resources(&task.resources).map_err(|e| format!("Task uses invalid resources: {e}"))?;
    if task.executor.is_some() == task.command.is_some() {
        return Err(
            "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present"
                .into(),
        );
    }
    let mut total = task_resources;
    if let Some(executor) = &task.executor {
        validate_id(&executor.executor_id.value)
            .map_err(|e| format!("Executor has an invalid ExecutorID: {e}"))?;
        if let Some(fid) = &executor.framework_id {
            if fid.value != framework.id() {
                return Err(format!(
                    "Executor has an invalid FrameworkID '{}' while framework '{}' is expected",
                    fid.value,
                    framework.id()
                ));
            }
        }
        if executor.command.is_none()
            && executor.r#type != Some(mesos_proto::mesos::executor_info::Type::Default as i32)
        {
            return Err("'ExecutorInfo.command' must be set".into());
        }
        validate_resources(&executor.resources)
            .map_err(|e| format!("Executor uses invalid resources: {e}"))?;
        let known = agent
            .executors
            .get(framework.id())
            .is_some_and(|m| m.contains_key(&executor.executor_id.value));
        if !known {
            total.add_all(&Resources::from_vec(&executor.resources));
        }
    }
    if !available.contains(&total) {
        return Err(format!(
            "Total resources {total} required by task and its executor is more than available {available}"
        ));
    }
    Ok(())
}

/// Upstream `common::validation::validateCheckInfo` (run by the master for
/// `TaskInfo.check` before the resources, `validateCheck`); the executors
/// apply the same rules.
pub use mesos_proto::validation::validate_check_info;

/// Basic per-resource checks (upstream `Resources::validate`): a known type
/// with the matching value, non-negative finite scalars, ordered ranges.
pub fn validate_resources(rs: &[mesos_proto::mesos::Resource]) -> Result<(), String> {
    use mesos_proto::mesos::value::Type;
    for r in rs {
        if r.name.is_empty() {
            return Err("Empty resource name".into());
        }
        match Type::try_from(r.r#type) {
            Ok(Type::Scalar) => match &r.scalar {
                Some(s) if s.value.is_finite() && s.value >= 0.0 => {}
                _ => return Err(format!("Invalid scalar resource '{}'", r.name)),
            },
            Ok(Type::Ranges) => match &r.ranges {
                Some(rg) if rg.range.iter().all(|x| x.begin <= x.end) => {}
                _ => return Err(format!("Invalid ranges resource '{}'", r.name)),
            },
            Ok(Type::Set) => {
                if r.set.is_none() {
                    return Err(format!("Invalid set resource '{}'", r.name));
                }
            }
            _ => return Err(format!("Unsupported resource type of '{}'", r.name)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::scalar;
    use crate::state::Connection;
    use libprocess::Upid;
    use mesos_proto::mesos::{CommandInfo, ExecutorId, ExecutorInfo, SlaveId, SlaveInfo, TaskId};

    fn agent() -> Agent {
        let info = SlaveInfo {
            hostname: "h".into(),
            id: Some(SlaveId { value: "S0".into() }),
            ..Default::default()
        };
        Agent::new(
            info,
            Upid::parse_literal("slave(1)@127.0.0.1:5051").unwrap(),
            "1.9.0".into(),
            vec![],
            0.0,
        )
    }

    fn framework() -> Framework {
        let info = FrameworkInfo {
            id: Some(mesos_proto::mesos::FrameworkId { value: "F0".into() }),
            name: "f".into(),
            user: "u".into(),
            ..Default::default()
        };
        Framework::new(info, Connection::Recovered, 0.0)
    }

    fn task(id: &str, cpus: f64) -> TaskInfo {
        TaskInfo {
            name: "t".into(),
            task_id: TaskId { value: id.into() },
            slave_id: SlaveId { value: "S0".into() },
            resources: vec![scalar("cpus", cpus)],
            command: Some(CommandInfo {
                value: Some("true".into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn available() -> Resources {
        Resources::from_vec(&[scalar("cpus", 1.0), scalar("mem", 128.0)])
    }

    #[test]
    fn valid_task_passes() {
        assert_eq!(
            validate_task(&task("t1", 0.5), &framework(), &agent(), &available()),
            Ok(())
        );
    }

    #[test]
    fn task_errors_use_upstream_messages() {
        let (f, a, av) = (framework(), agent(), available());
        assert_eq!(
            validate_task(&task("", 0.5), &f, &a, &av).unwrap_err(),
            "Task has an invalid TaskID: ID must not be empty"
        );
        assert_eq!(
            validate_task(&task("a/b", 0.5), &f, &a, &av).unwrap_err(),
            "Task has an invalid TaskID: 'a/b' contains invalid characters"
        );
        let mut t = task("t1", 0.5);
        t.slave_id.value = "S9".into();
        assert_eq!(
            validate_task(&t, &f, &a, &av).unwrap_err(),
            "Task uses invalid agent S9 while agent S0 is expected"
        );
        let mut t = task("t1", 0.5);
        t.command = None;
        assert!(validate_task(&t, &f, &a, &av)
            .unwrap_err()
            .starts_with("Task should have at least one (but not both)"));
        let mut t = task("t1", 0.5);
        t.resources.clear();
        assert_eq!(
            validate_task(&t, &f, &a, &av).unwrap_err(),
            "Task uses no resources"
        );
        assert!(validate_task(&task("t1", 2.0), &f, &a, &av)
            .unwrap_err()
            .contains("is more than available"));
    }

    #[test]
    fn duplicate_task_id_is_rejected() {
        let mut f = framework();
        f.tasks.insert("t1".into(), Default::default());
        assert_eq!(
            validate_task(&task("t1", 0.5), &f, &agent(), &available()).unwrap_err(),
            "Task has duplicate ID: t1"
        );
    }

    #[test]
    fn executor_resources_count_only_for_a_new_executor() {
        let mut t = task("t1", 0.5);
        t.command = None;
        t.executor = Some(ExecutorInfo {
            executor_id: ExecutorId { value: "e1".into() },
            command: Some(CommandInfo::default()),
            resources: vec![scalar("cpus", 0.6)],
            ..Default::default()
        });
        let f = framework();
        let mut a = agent();
        assert!(validate_task(&t, &f, &a, &available()).is_err());
        a.executors
            .entry("F0".into())
            .or_default()
            .insert("e1".into(), t.executor.clone().unwrap());
        assert_eq!(validate_task(&t, &f, &a, &available()), Ok(()));
    }

    #[test]
    fn calls_need_their_fields() {
        let mut c = Call::default();
        assert_eq!(
            validate_call(&c).unwrap_err(),
            "Expecting 'type' to be present"
        );
        c.r#type = Some(CallType::Accept as i32);
        assert_eq!(
            validate_call(&c).unwrap_err(),
            "Expecting 'framework_id' to be present"
        );
        c.framework_id = Some(mesos_proto::mesos::FrameworkId { value: "F".into() });
        assert_eq!(
            validate_call(&c).unwrap_err(),
            "Expecting 'accept' to be present"
        );
        c.r#type = Some(CallType::Teardown as i32);
        assert_eq!(validate_call(&c), Ok(()));
    }

    #[test]
    fn framework_roles_are_checked() {
        let mut info = FrameworkInfo {
            name: "f".into(),
            user: "u".into(),
            roles: vec!["a".into()],
            ..Default::default()
        };
        assert!(validate_framework(&info, &[], None)
            .unwrap_err()
            .contains("must not be set when the framework is not MULTI_ROLE"));
        info.roles.clear();
        info.role = Some("web".into());
        assert_eq!(validate_framework(&info, &[], None), Ok(()));
        assert!(validate_framework(&info, &[], Some(&["db".to_string()])).is_err());
        info.role = Some("-x".into());
        assert!(validate_framework(&info, &[], None).is_err());
    }
    /// Upstream `TaskValidationTest.TaskUsesInvalidCheck`-style: a task's
    /// `check` is validated before its resources, with upstream's messages.
    #[test]
    fn task_check_is_validated_like_upstream() {
        use mesos_proto::mesos::{check_info, CheckInfo};
        let (f, a, av) = (framework(), agent(), available());
        let with = |c: CheckInfo| {
            let mut t = task("t1", 0.5);
            t.check = Some(c);
            validate_task(&t, &f, &a, &av)
        };
        let mut http = CheckInfo::default();
        http.set_type(check_info::Type::Http);
        assert_eq!(
            with(http.clone()).unwrap_err(),
            "Task uses invalid check: Expecting 'http' to be set for HTTP check"
        );
        http.http = Some(check_info::Http {
            port: 8080,
            path: Some("health".into()),
        });
        assert_eq!(
            with(http.clone()).unwrap_err(),
            "Task uses invalid check: The path 'health' of HTTP check must start with '/'"
        );
        http.http.as_mut().unwrap().path = Some("/health".into());
        assert!(with(http.clone()).is_ok());
        http.timeout_seconds = Some(-1.0);
        assert_eq!(
            with(http).unwrap_err(),
            "Task uses invalid check: Expecting 'timeout_seconds' to be non-negative"
        );
        assert_eq!(
            with(CheckInfo::default()).unwrap_err(),
            "Task uses invalid check: CheckInfo must specify 'type'"
        );
        let mut cmd = CheckInfo::default();
        cmd.set_type(check_info::Type::Command);
        cmd.command = Some(check_info::Command {
            command: CommandInfo {
                shell: Some(false),
                ..Default::default()
            },
        });
        assert_eq!(
            with(cmd).unwrap_err(),
            "Task uses invalid check: Command check must contain 'executable path'"
        );
    }
}
