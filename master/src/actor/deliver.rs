//! Sending to a framework over whatever connection it has (upstream
//! `Framework::send`, `src/master/master.hpp`): driver frameworks get the
//! legacy libprocess messages, HTTP frameworks the matching v1 event on their
//! RecordIO stream.

use bytes::Bytes;
use libprocess::Cx;
use mesos_proto::mesos::internal::{
    ExecutorToFrameworkMessage, ExitedExecutorMessage, FrameworkErrorMessage,
    FrameworkRegisteredMessage, FrameworkReregisteredMessage, InverseOffersMessage,
    LostSlaveMessage, RescindInverseOfferMessage, RescindResourceOfferMessage,
    ResourceOffersMessage, StatusUpdateMessage,
};
use mesos_proto::mesos::scheduler::event::{self, Type as EventType};
use mesos_proto::mesos::scheduler::Event;
use mesos_proto::mesos::{FrameworkId, OfferId, SlaveId};
use prost::Message;

use super::Master;
use crate::state::Connection;

/// What the master sends a framework.
#[derive(Clone, Debug)]
pub enum ToFramework {
    Registered,
    Reregistered,
    Offers(ResourceOffersMessage),
    Rescind(OfferId),
    Update(Box<StatusUpdateMessage>),
    Error(String),
    LostSlave(SlaveId),
    ExitedExecutor(ExitedExecutorMessage),
    Message(ExecutorToFrameworkMessage),
    /// Maintenance inverse offers (v1 event INVERSE_OFFERS).
    InverseOffers(InverseOffersMessage),
    RescindInverseOffer(OfferId),
}

/// The v0 scheduler event for a message (upstream `evolve(...)` overloads,
/// before the v0 -> v1 re-encoding).
pub fn event_for(msg: &ToFramework) -> Option<Event> {
    let ev = |t: EventType| Event {
        r#type: Some(t as i32),
        ..Default::default()
    };
    Some(match msg {
        ToFramework::Registered | ToFramework::Reregistered => return None,
        ToFramework::Offers(m) => Event {
            offers: Some(event::Offers {
                offers: m.offers.clone(),
            }),
            ..ev(EventType::Offers)
        },
        ToFramework::Rescind(id) => Event {
            rescind: Some(event::Rescind {
                offer_id: id.clone(),
            }),
            ..ev(EventType::Rescind)
        },
        ToFramework::Update(m) => crate::convert::update_event(m),
        ToFramework::Error(message) => Event {
            error: Some(event::Error {
                message: message.clone(),
            }),
            ..ev(EventType::Error)
        },
        ToFramework::LostSlave(id) => Event {
            failure: Some(event::Failure {
                slave_id: Some(id.clone()),
                ..Default::default()
            }),
            ..ev(EventType::Failure)
        },
        ToFramework::ExitedExecutor(m) => Event {
            failure: Some(event::Failure {
                slave_id: Some(m.slave_id.clone()),
                executor_id: Some(m.executor_id.clone()),
                status: Some(m.status),
            }),
            ..ev(EventType::Failure)
        },
        ToFramework::Message(m) => Event {
            message: Some(event::Message {
                slave_id: m.slave_id.clone(),
                executor_id: m.executor_id.clone(),
                data: m.data.clone(),
            }),
            ..ev(EventType::Message)
        },
        ToFramework::InverseOffers(m) => Event {
            inverse_offers: Some(event::InverseOffers {
                inverse_offers: m.inverse_offers.clone(),
            }),
            ..ev(EventType::InverseOffers)
        },
        ToFramework::RescindInverseOffer(id) => Event {
            rescind_inverse_offer: Some(event::RescindInverseOffer {
                inverse_offer_id: id.clone(),
            }),
            ..ev(EventType::RescindInverseOffer)
        },
    })
}

/// One RecordIO record of a v1 scheduler event, JSON or protobuf.
pub fn encode_event(event: &Event, json: bool) -> Option<Bytes> {
    let v1 = crate::convert::evolve_event(event).ok()?;
    let body = if json {
        mesos_proto::json::to_json(&v1).ok()?.into_bytes()
    } else {
        v1.encode_to_vec()
    };
    Some(Bytes::from(mesos_proto::recordio::encode(&body)))
}

impl Master {
    /// Sends `msg` to framework `framework_id` (if it is known and reachable).
    pub(crate) fn send_framework(
        &mut self,
        cx: &mut Cx<'_, Self>,
        framework_id: &str,
        msg: ToFramework,
    ) {
        let Some(fw) = self.state.frameworks.get(framework_id) else {
            return;
        };
        match &fw.conn {
            Connection::Pid(pid) => {
                let pid = pid.clone();
                let fid = FrameworkId {
                    value: framework_id.to_string(),
                };
                match msg {
                    ToFramework::Registered => cx.send(
                        &pid,
                        &FrameworkRegisteredMessage {
                            framework_id: fid,
                            master_info: self.info.clone(),
                        },
                    ),
                    ToFramework::Reregistered => cx.send(
                        &pid,
                        &FrameworkReregisteredMessage {
                            framework_id: fid,
                            master_info: self.info.clone(),
                        },
                    ),
                    ToFramework::Offers(m) => cx.send(&pid, &m),
                    ToFramework::Rescind(offer_id) => {
                        cx.send(&pid, &RescindResourceOfferMessage { offer_id })
                    }
                    ToFramework::Update(m) => cx.send(&pid, &*m),
                    ToFramework::Error(message) => {
                        cx.send(&pid, &FrameworkErrorMessage { message })
                    }
                    ToFramework::LostSlave(slave_id) => {
                        cx.send(&pid, &LostSlaveMessage { slave_id })
                    }
                    ToFramework::ExitedExecutor(m) => cx.send(&pid, &m),
                    ToFramework::Message(m) => cx.send(&pid, &m),
                    ToFramework::InverseOffers(m) => cx.send(&pid, &m),
                    ToFramework::RescindInverseOffer(inverse_offer_id) => {
                        cx.send(&pid, &RescindInverseOfferMessage { inverse_offer_id })
                    }
                }
            }
            Connection::Http { .. } => {
                let Some(event) = event_for(&msg) else { return };
                self.send_event(cx, framework_id, &event);
            }
            Connection::Recovered => {}
        }
    }

    /// Puts one event on an HTTP framework's stream. A closed or full
    /// stream disconnects the framework (upstream closes slow streams too).
    pub(crate) fn send_event(&mut self, cx: &mut Cx<'_, Self>, framework_id: &str, event: &Event) {
        let Some(stream) = self.streams.get_mut(framework_id) else {
            return;
        };
        let Some(record) = encode_event(event, stream.json) else {
            tracing::warn!("Failed to encode event for framework {framework_id}");
            return;
        };
        if let Err(e) = stream.sender.try_send(record) {
            tracing::warn!("Dropping event stream of framework {framework_id}: {e}");
            let id = stream.stream_id.clone();
            self.http_stream_closed(cx, framework_id, &id);
        }
    }
}
