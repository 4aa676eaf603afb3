//! v0 <-> v1 conversion. The v1 messages are the v0 ones with `slave`
//! renamed `agent` and identical field numbers, so upstream converts by
//! serializing one and parsing the other (`src/internal/evolve.cpp`,
//! `devolve.cpp`); so do we.

use bytes::Bytes;
use mesos_proto::mesos::internal::StatusUpdateMessage;
use mesos_proto::mesos::scheduler::event::{Type as EventType, Update};
use mesos_proto::mesos::scheduler::Event;
use prost::Message;

use crate::error::{Error, Result};

/// Re-encodes a message as another type with the same wire layout.
pub fn recode<A: Message, B: Message + Default>(a: &A) -> Result<B> {
    B::decode(Bytes::from(a.encode_to_vec())).map_err(|e| Error::Decode {
        what: std::any::type_name::<B>(),
        reason: e.to_string(),
    })
}

/// A v0 scheduler event as the v1 type, for HTTP frameworks.
pub fn evolve_event(event: &Event) -> Result<mesos_proto::mesos::v1::scheduler::Event> {
    recode(event)
}

/// A v1 scheduler call as the v0 type the master handles.
///
/// `Subscribe` is the one message whose tags differ (v1 `suppressed_roles = 2`
/// and `offer_constraints = 3` are v0's `force` and `suppressed_roles`), so, as
/// upstream's `devolve(v1::scheduler::Call)` (`src/internal/devolve.cpp`), those
/// fields are moved across by hand.
pub fn devolve_call(
    call: &mesos_proto::mesos::v1::scheduler::Call,
) -> Result<mesos_proto::mesos::scheduler::Call> {
    let Some(sub) = &call.subscribe else {
        return recode(call);
    };
    let mut stripped = call.clone();
    if let Some(s) = stripped.subscribe.as_mut() {
        s.suppressed_roles.clear();
        s.offer_constraints = None;
    }
    let mut out: mesos_proto::mesos::scheduler::Call = recode(&stripped)?;
    if let Some(s) = out.subscribe.as_mut() {
        s.suppressed_roles = sub.suppressed_roles.clone();
        s.offer_constraints = sub.offer_constraints.as_ref().map(recode).transpose()?;
    }
    Ok(out)
}

/// The UPDATE event for a status update (upstream `evolve(StatusUpdateMessage)`):
/// the status carries the agent and executor IDs and the update's
/// timestamp, and its `uuid` only when the update must be acknowledged
/// (it has a uuid and an acknowledgee pid).
pub fn update_event(message: &StatusUpdateMessage) -> Event {
    let update = &message.update;
    let mut status = update.status.clone();
    if let Some(s) = &update.slave_id {
        status.slave_id = Some(s.clone());
    }
    if let Some(e) = &update.executor_id {
        status.executor_id = Some(e.clone());
    }
    status.timestamp = Some(update.timestamp);
    let needs_ack = update.uuid.as_ref().is_some_and(|u| !u.is_empty())
        && message.pid.as_deref().is_some_and(|p| !p.is_empty());
    status.uuid = if needs_ack { update.uuid.clone() } else { None };
    Event {
        r#type: Some(EventType::Update as i32),
        update: Some(Update { status }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_proto::mesos::internal::StatusUpdate;
    use mesos_proto::mesos::{FrameworkId, SlaveId, TaskId, TaskState, TaskStatus};

    fn message(pid: Option<&str>) -> StatusUpdateMessage {
        StatusUpdateMessage {
            update: StatusUpdate {
                framework_id: FrameworkId { value: "f".into() },
                slave_id: Some(SlaveId { value: "s".into() }),
                status: TaskStatus {
                    task_id: TaskId { value: "t".into() },
                    state: TaskState::TaskRunning as i32,
                    ..Default::default()
                },
                timestamp: 12.5,
                uuid: Some(Bytes::from_static(&[1; 16])),
                ..Default::default()
            },
            pid: pid.map(String::from),
        }
    }

    #[test]
    fn update_carries_uuid_only_with_an_acknowledgee() {
        let e = update_event(&message(Some("slave(1)@127.0.0.1:5051")));
        let st = e.update.unwrap().status;
        assert_eq!(st.uuid.unwrap().len(), 16);
        assert_eq!(st.slave_id.unwrap().value, "s");
        assert_eq!(st.timestamp, Some(12.5));
        let e = update_event(&message(None));
        assert!(e.update.unwrap().status.uuid.is_none());
    }

    #[test]
    fn v1_event_has_agent_id_where_v0_has_slave_id() {
        let e = update_event(&message(Some("x@1.2.3.4:5")));
        let v1 = evolve_event(&e).unwrap();
        let st = v1.update.unwrap().status;
        assert_eq!(st.agent_id.unwrap().value, "s");
    }
}
