//! The operator event stream: `SUBSCRIBE` on `/api/v1` (upstream
//! `Master::Http::subscribe`, `Master::subscribe` and `Master::Subscribers`,
//! src/master/http.cpp and master.cpp).
//!
//! Each subscriber has a bounded buffer (the stream's capacity); a
//! subscriber that falls that far behind is dropped (its stream closed)
//! rather than letting the master's memory grow. At most
//! `--max_operator_event_stream_subscribers` streams are kept; a new one
//! closes the oldest, as upstream.

use std::time::Duration;

use bytes::Bytes;
use libprocess::{Cx, Responder, Response, ResponseHead, StreamSender};
use mesos_proto::mesos::master::event::{
    AgentAdded, AgentRemoved, FrameworkAdded, FrameworkRemoved, FrameworkUpdated, Subscribed,
    TaskAdded, TaskUpdated, Type as EventType,
};
use mesos_proto::mesos::master::Event;
use prost::Message;

use super::Master;

/// Records buffered per subscriber before it counts as too slow.
pub const SUBSCRIBER_CAPACITY: usize = 1024;

/// Upstream `DEFAULT_HEARTBEAT_INTERVAL`.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(15);

/// One operator event stream.
pub struct OperatorSubscriber {
    pub sender: StreamSender,
    pub json: bool,
    /// Who subscribed: the VIEW_* ACLs decide which events it gets.
    pub principal: Option<String>,
}

/// One RecordIO record of a v1 operator event, JSON or protobuf.
fn encode(event: &Event, json: bool) -> Option<Bytes> {
    let v1: mesos_proto::mesos::v1::master::Event = crate::convert::recode(event).ok()?;
    let body = if json {
        mesos_proto::json::to_json(&v1).ok()?.into_bytes()
    } else {
        v1.encode_to_vec()
    };
    Some(Bytes::from(mesos_proto::recordio::encode(&body)))
}

fn event(ty: EventType) -> Event {
    Event {
        r#type: Some(ty as i32),
        ..Default::default()
    }
}

impl Master {
    /// `SUBSCRIBE`: a 200 stream with SUBSCRIBED (the full state) and a
    /// first HEARTBEAT, then events and a HEARTBEAT every 15 s.
    pub(crate) fn operator_subscribe(
        &mut self,
        cx: &mut Cx<'_, Self>,
        json: bool,
        principal: Option<String>,
        responder: Responder,
    ) {
        let max = self
            .flags
            .get("max_operator_event_stream_subscribers")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(1000);
        if max == 0 {
            responder.respond(Response::text(
                http::StatusCode::SERVICE_UNAVAILABLE,
                "Operator event stream subscribers are disabled (--max_operator_event_stream_subscribers=0)",
            ));
            return;
        }
        while self.subscribers.len() >= max {
            if let Some((id, mut s)) = self.subscribers.pop_first() {
                tracing::info!(
                    "Reached the maximum number of operator event stream subscribers ({max}) so the oldest connection ({id}) will be closed"
                );
                s.sender.close();
            }
        }
        let ct = if json {
            super::super::http::APPLICATION_JSON
        } else {
            super::super::http::APPLICATION_PROTOBUF
        };
        let mut headers = http::HeaderMap::new();
        if let Ok(v) = ct.parse() {
            headers.insert(http::header::CONTENT_TYPE, v);
        }
        let head = ResponseHead {
            status: http::StatusCode::OK,
            headers,
        };
        let id = self.next_subscriber;
        self.next_subscriber += 1;
        let Some(mut sender) = cx.stream(
            responder,
            head,
            SUBSCRIBER_CAPACITY,
            move |m: &mut Master, _cx| {
                if m.subscribers.remove(&id).is_some() {
                    tracing::info!("Removed operator event stream subscriber {id}");
                }
            },
        ) else {
            return;
        };
        let mut subscribed = event(EventType::Subscribed);
        let mut state = self.operator_response(mesos_proto::mesos::master::call::Type::GetState);
        if let Some(r) = state.as_mut() {
            self.filter_view_response(principal.as_deref(), r);
        }
        subscribed.subscribed = Some(Subscribed {
            get_state: state.and_then(|r| r.get_state),
            heartbeat_interval_seconds: Some(HEARTBEAT_INTERVAL.as_secs_f64()),
        });
        for e in [subscribed, event(EventType::Heartbeat)] {
            if let Some(rec) = encode(&e, json) {
                if sender.try_send(rec).is_err() {
                    return;
                }
            }
        }
        tracing::info!("Added operator event stream subscriber {id}");
        self.subscribers.insert(
            id,
            OperatorSubscriber {
                sender,
                json,
                principal,
            },
        );
        if !self.heartbeat_armed {
            self.heartbeat_armed = true;
            cx.delay(HEARTBEAT_INTERVAL, |m: &mut Master, cx| {
                m.operator_heartbeat(cx)
            });
        }
    }

    fn operator_heartbeat(&mut self, cx: &mut Cx<'_, Self>) {
        if self.subscribers.is_empty() {
            self.heartbeat_armed = false;
            return;
        }
        self.publish(event(EventType::Heartbeat));
        cx.delay(HEARTBEAT_INTERVAL, |m: &mut Master, cx| {
            m.operator_heartbeat(cx)
        });
    }

    /// Sends one event to every subscriber; a closed or full stream drops
    /// its subscriber.
    pub(crate) fn publish(&mut self, e: Event) {
        if self.subscribers.is_empty() {
            return;
        }
        let (mut json_rec, mut pb_rec) = (None, None);
        let mut dead = Vec::new();
        let hidden: Vec<u64> = self
            .subscribers
            .iter()
            .filter(|(_, s)| !self.event_visible(s.principal.as_deref(), &e))
            .map(|(id, _)| *id)
            .collect();
        for (id, s) in self.subscribers.iter_mut() {
            if hidden.contains(id) {
                continue;
            }
            let slot = if s.json { &mut json_rec } else { &mut pb_rec };
            if slot.is_none() {
                *slot = encode(&e, s.json);
            }
            let Some(rec) = slot.clone() else { continue };
            if let Err(err) = s.sender.try_send(rec) {
                tracing::warn!(
                    "Dropping operator event stream subscriber {id}: {err:?} (buffer of {SUBSCRIBER_CAPACITY} records)"
                );
                s.sender.close();
                dead.push(*id);
            }
        }
        for id in dead {
            self.subscribers.remove(&id);
        }
    }

    pub(crate) fn publish_agent_added(&mut self, agent_id: &str) {
        if self.subscribers.is_empty() {
            return;
        }
        let Some(agent) = self.get_agents().agents.into_iter().find(|a| {
            a.agent_info
                .id
                .as_ref()
                .is_some_and(|i| i.value == agent_id)
        }) else {
            return;
        };
        let mut e = event(EventType::AgentAdded);
        e.agent_added = Some(AgentAdded { agent });
        self.publish(e);
    }

    pub(crate) fn publish_agent_removed(&mut self, agent_id: &str) {
        let mut e = event(EventType::AgentRemoved);
        e.agent_removed = Some(AgentRemoved {
            agent_id: mesos_proto::mesos::SlaveId {
                value: agent_id.to_string(),
            },
        });
        self.publish(e);
    }

    pub(crate) fn publish_framework_added(&mut self, fid: &str) {
        self.publish_framework(fid, false);
    }

    /// FRAMEWORK_UPDATED: a framework resubscribed or failed over.
    pub(crate) fn publish_framework_updated(&mut self, fid: &str) {
        self.publish_framework(fid, true);
    }

    fn publish_framework(&mut self, fid: &str, updated: bool) {
        if self.subscribers.is_empty() {
            return;
        }
        let Some(mut framework) = self
            .get_frameworks()
            .frameworks
            .into_iter()
            .find(|f| f.framework_info.id.as_ref().is_some_and(|i| i.value == fid))
        else {
            return;
        };
        // Upstream 1.11 never reports offer constraints in events.
        framework.offer_constraints = None;
        let e = if updated {
            let mut e = event(EventType::FrameworkUpdated);
            e.framework_updated = Some(FrameworkUpdated { framework });
            e
        } else {
            let mut e = event(EventType::FrameworkAdded);
            e.framework_added = Some(FrameworkAdded { framework });
            e
        };
        self.publish(e);
    }

    pub(crate) fn publish_framework_removed(&mut self, info: mesos_proto::mesos::FrameworkInfo) {
        let mut e = event(EventType::FrameworkRemoved);
        e.framework_removed = Some(FrameworkRemoved {
            framework_info: info,
        });
        self.publish(e);
    }

    pub(crate) fn publish_task_added(&mut self, fid: &str, task_id: &str) {
        if self.subscribers.is_empty() {
            return;
        }
        let Some(task) = self
            .state
            .frameworks
            .get(fid)
            .and_then(|f| f.tasks.get(task_id))
            .cloned()
        else {
            return;
        };
        let mut e = event(EventType::TaskAdded);
        e.task_added = Some(TaskAdded { task });
        self.publish(e);
    }

    pub(crate) fn publish_task_updated(
        &mut self,
        fid: &str,
        status: &mesos_proto::mesos::TaskStatus,
    ) {
        if self.subscribers.is_empty() {
            return;
        }
        let state = self
            .state
            .frameworks
            .get(fid)
            .and_then(|f| f.tasks.get(&status.task_id.value))
            .map_or(status.state, |t| t.state);
        let mut e = event(EventType::TaskUpdated);
        e.task_updated = Some(TaskUpdated {
            framework_id: mesos_proto::mesos::FrameworkId {
                value: fid.to_string(),
            },
            status: status.clone(),
            state,
        });
        self.publish(e);
    }
}
