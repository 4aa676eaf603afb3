//! Framework subscription, failover, deactivation and removal (upstream
//! `Master::receive`, `subscribe`, `failoverFramework`, `deactivate`,
//! `removeFramework`; master.cpp:2395-3330, 11086-11480).

use std::collections::BTreeSet;
use std::time::Duration;

use libprocess::{Cx, Upid};
use mesos_proto::mesos::internal::{
    DeactivateFrameworkMessage, FrameworkErrorMessage, RegisterFrameworkMessage,
    ReregisterFrameworkMessage, ShutdownFrameworkMessage, UnregisterFrameworkMessage,
    UpdateFrameworkMessage,
};
use mesos_proto::mesos::scheduler::call::{Subscribe, Type as CallType};
use mesos_proto::mesos::scheduler::event::{Subscribed, Type as EventType};
use mesos_proto::mesos::scheduler::{Call, Event};
use mesos_proto::mesos::task_status::{Reason, Source};
use mesos_proto::mesos::{FrameworkId, FrameworkInfo, TaskState};

use super::{HttpStream, Master, ToFramework};
use crate::state::{Connection, Framework, FrameworkState};

/// Upstream `DEFAULT_HEARTBEAT_INTERVAL` (`src/master/constants.hpp`).
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(15);

/// The connection a SUBSCRIBE arrived on.
pub enum NewConnection {
    Pid(Upid),
    Http(HttpStream),
}

impl Master {
    /// `mesos.scheduler.Call` from a scheduler driver (upstream
    /// `Master::receive(const UPID&, scheduler::Call&&)`).
    pub(crate) fn receive(&mut self, cx: &mut Cx<'_, Self>, from: Upid, mut call: Call) {
        if let Err(e) = crate::validation::validate_call(&call) {
            self.metrics.invalid_scheduler_calls += 1;
            self.drop_call(&from, &call, &e);
            return;
        }
        let ty = CallType::try_from(call.r#type.unwrap_or(0)).unwrap_or(CallType::Unknown);
        if ty == CallType::Subscribe {
            let Some(sub) = call.subscribe.take() else {
                return;
            };
            self.subscribe_pid(cx, from, sub);
            return;
        }
        let fid = call.framework_id.clone().unwrap_or_default().value;
        let Some(fw) = self.state.frameworks.get(&fid) else {
            self.drop_call(&from, &call, "Framework cannot be found");
            return;
        };
        if fw.pid() != Some(&from) {
            self.drop_call(&from, &call, "Call is not from registered framework");
            return;
        }
        if !fw.connected() {
            tracing::info!(
                "Refusing {} call from framework {}: Framework disconnected",
                ty.as_str_name(),
                fw.describe()
            );
            cx.send(
                &from,
                &FrameworkErrorMessage {
                    message: "Framework disconnected".into(),
                },
            );
            return;
        }
        self.dispatch_call(cx, &fid, call);
    }

    fn drop_call(&mut self, from: &Upid, call: &Call, reason: &str) {
        self.metrics.dropped_messages += 1;
        let ty = CallType::try_from(call.r#type.unwrap_or(0))
            .map(|t| t.as_str_name())
            .unwrap_or("UNKNOWN");
        let fid = call
            .framework_id
            .as_ref()
            .map(|f| f.value.as_str())
            .unwrap_or("");
        tracing::warn!("Dropping {ty} call from framework {fid} at {from}: {reason}");
    }

    /// Runs a validated non-SUBSCRIBE call of a connected framework (shared
    /// by the driver and the HTTP API).
    pub(crate) fn dispatch_call(&mut self, cx: &mut Cx<'_, Self>, fid: &str, call: Call) {
        let ty = CallType::try_from(call.r#type.unwrap_or(0)).unwrap_or(CallType::Unknown);
        match ty {
            CallType::Teardown => self.teardown(cx, fid),
            CallType::Accept => {
                if let Some(a) = call.accept {
                    self.accept(cx, fid, a)
                }
            }
            CallType::Decline => {
                if let Some(d) = call.decline {
                    self.decline(cx, fid, d)
                }
            }
            CallType::Revive => {
                let roles = call.revive.map(|r| r.roles).unwrap_or_default();
                self.revive(cx, fid, roles)
            }
            CallType::Suppress => {
                let roles = call.suppress.map(|r| r.roles).unwrap_or_default();
                self.suppress(cx, fid, roles)
            }
            CallType::Kill => {
                if let Some(k) = call.kill {
                    self.kill(cx, fid, k)
                }
            }
            CallType::Shutdown => {
                if let Some(s) = call.shutdown {
                    self.shutdown_executor(cx, fid, s)
                }
            }
            CallType::Acknowledge => {
                if let Some(a) = call.acknowledge {
                    self.acknowledge(cx, fid, a)
                }
            }
            CallType::Reconcile => {
                if let Some(r) = call.reconcile {
                    self.reconcile(cx, fid, r)
                }
            }
            CallType::Message => {
                if let Some(m) = call.message {
                    self.framework_message(cx, fid, m)
                }
            }
            CallType::Request => {
                tracing::info!("Requesting resources for framework {fid}");
            }
            CallType::AcceptInverseOffers => {
                if let Some(a) = call.accept_inverse_offers {
                    self.accept_inverse_offers(cx, fid, a)
                }
            }
            CallType::DeclineInverseOffers => {
                if let Some(d) = call.decline_inverse_offers {
                    self.decline_inverse_offers(cx, fid, d)
                }
            }
            CallType::AcknowledgeOperationStatus => {
                if let Some(a) = call.acknowledge_operation_status {
                    self.acknowledge_operation_status(cx, fid, a);
                }
            }
            CallType::ReconcileOperations => {
                tracing::warn!(
                    "Dropping {} call from framework {fid}: operation feedback is not supported",
                    ty.as_str_name()
                );
            }
            CallType::UpdateFramework => {
                if let Some(u) = call.update_framework {
                    // Upstream's driver path: a refusal is the response
                    // body, sent as a FrameworkErrorMessage.
                    if let Err((_, e)) = self.update_framework(cx, fid, u) {
                        self.send_framework(cx, fid, ToFramework::Error(e));
                    }
                }
            }
            CallType::Subscribe | CallType::Unknown => {
                tracing::warn!("'UNKNOWN' call");
            }
        }
    }

    /// Legacy `RegisterFrameworkMessage` (pre-Call drivers).
    pub(crate) fn register_framework(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        msg: RegisterFrameworkMessage,
    ) {
        if msg
            .framework
            .id
            .as_ref()
            .is_some_and(|i| !i.value.is_empty())
        {
            let reason = "Registering with 'id' already set";
            tracing::info!(
                "Refusing registration request of framework '{}' at {from}: {reason}",
                msg.framework.name
            );
            cx.send(
                &from,
                &FrameworkErrorMessage {
                    message: reason.into(),
                },
            );
            return;
        }
        self.subscribe_pid(
            cx,
            from,
            Subscribe {
                framework_info: msg.framework,
                ..Default::default()
            },
        );
    }

    /// Legacy `ReregisterFrameworkMessage`: `failover` means `force`.
    pub(crate) fn reregister_framework(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        msg: ReregisterFrameworkMessage,
    ) {
        if msg.framework.id.as_ref().is_none_or(|i| i.value.is_empty()) {
            let reason = "Reregistering without an 'id'";
            tracing::info!(
                "Refusing reregistration request of framework '{}' at {from}: {reason}",
                msg.framework.name
            );
            cx.send(
                &from,
                &FrameworkErrorMessage {
                    message: reason.into(),
                },
            );
            return;
        }
        self.subscribe_pid(
            cx,
            from,
            Subscribe {
                framework_info: msg.framework,
                force: Some(msg.failover),
                ..Default::default()
            },
        );
    }

    fn subscribe_pid(&mut self, cx: &mut Cx<'_, Self>, from: Upid, sub: Subscribe) {
        let name = sub.framework_info.name.clone();
        let principal = sub.framework_info.principal.as_deref();
        let result = self
            .validate_framework_authentication(principal, &from)
            .and_then(|()| self.subscribe(cx, NewConnection::Pid(from.clone()), sub));
        if let Err(e) = result {
            tracing::info!("Refusing subscription of framework '{name}' at {from}: {e}");
            cx.send(&from, &FrameworkErrorMessage { message: e });
        }
    }

    /// Upstream `validateFramework` (the master-level part).
    pub(crate) fn validate_framework(
        &self,
        info: &FrameworkInfo,
        suppressed: &[String],
    ) -> Result<(), String> {
        let whitelist = self.flags.roles();
        crate::validation::validate_framework(info, suppressed, whitelist.as_deref())?;
        if info.user == "root" && !self.flags.bool("root_submissions") {
            return Err(
                "User 'root' is not allowed to run frameworks without --root_submissions set"
                    .into(),
            );
        }
        if let Some(id) = &info.id {
            if self.state.is_completed_framework(&id.value) {
                return Err("Framework has been removed".into());
            }
        }
        if let Some(t) = info.failover_timeout {
            if !t.is_finite() || t < 0.0 {
                return Err(format!("The framework failover_timeout ({t}) is invalid"));
            }
        }
        Ok(())
    }

    /// The allocator's offer constraints filter for a SUBSCRIBE or
    /// UPDATE_FRAMEWORK (the constraints part of upstream 1.11's
    /// `createAllocatorFrameworkOptions`, beyond 1.9): every constrained role
    /// must be one of the framework's (`validateOfferConstraintsRoles`), then
    /// the constraints must compile within the regex limits. Errors carry
    /// upstream's text.
    pub(crate) fn offer_constraints_filter(
        &self,
        info: &FrameworkInfo,
        constraints: Option<&mesos_proto::mesos::scheduler::OfferConstraints>,
    ) -> Result<mesos_allocator::OfferConstraintsFilter, String> {
        let Some(constraints) = constraints else {
            return Ok(Default::default());
        };
        let roles = crate::state::framework::roles_of(info);
        if let Some(role) = constraints
            .role_constraints
            .keys()
            .find(|r| !roles.contains(*r))
        {
            // Upstream's text, missing space included.
            return Err(format!(
                "Offer constraints specify `role_constraints` for a role '{role}'\
                 not contained in the set of roles"
            ));
        }
        let options = self.flags.offer_constraints_options().unwrap_or_default();
        mesos_allocator::OfferConstraintsFilter::create(&options, constraints)
            .map_err(|e| format!("Offer constraints are not valid: {e}"))
    }

    /// SUBSCRIBE over either connection (upstream `Master::subscribe` and
    /// `_subscribe`, both overloads). Returns the framework ID, or the
    /// error to report to the subscriber.
    pub(crate) fn subscribe(
        &mut self,
        cx: &mut Cx<'_, Self>,
        conn: NewConnection,
        sub: Subscribe,
    ) -> Result<String, String> {
        let mut info = sub.framework_info;
        let force = sub.force.unwrap_or(false);
        let suppressed: BTreeSet<String> = sub.suppressed_roles.iter().cloned().collect();
        let registering = info.id.as_ref().is_none_or(|i| i.value.is_empty());
        if registering {
            self.metrics.messages_register_framework += 1;
        } else {
            self.metrics.messages_reregister_framework += 1;
        }
        self.validate_framework(&info, &sub.suppressed_roles)?;
        let constraints = sub.offer_constraints;
        let filter = self.offer_constraints_filter(&info, constraints.as_ref())?;
        // Upstream `Master::subscribe`: REGISTER_FRAMEWORK after validation.
        self.authorize_framework(&info)?;
        let at = match &conn {
            NewConnection::Pid(p) => format!(" at {p}"),
            NewConnection::Http(_) => String::new(),
        };
        tracing::info!("Received SUBSCRIBE call for framework '{}'{at}", info.name);
        let now = Self::now_secs(cx);

        if registering {
            // A driver retrying its registration gets the same framework back.
            if let NewConnection::Pid(pid) = &conn {
                if let Some(fw) = self.state.framework_by_pid(pid) {
                    let fid = fw.id().to_string();
                    tracing::info!(
                        "Framework {} already subscribed, resending acknowledgement",
                        fw.describe()
                    );
                    self.send_framework(cx, &fid, ToFramework::Registered);
                    return Ok(fid);
                }
            }
            info.id = Some(self.state.new_framework_id());
            let fid = info.id.clone().unwrap_or_default().value;
            tracing::info!(
                "Subscribing framework {} with checkpointing {} and capabilities {:?}",
                info.name,
                if info.checkpoint.unwrap_or(false) {
                    "enabled"
                } else {
                    "disabled"
                },
                info.capabilities
                    .iter()
                    .filter_map(|c| c.r#type)
                    .collect::<Vec<_>>()
            );
            let mut fw = Framework::new(info, Connection::Recovered, now);
            fw.suppressed_roles = suppressed.clone();
            fw.offer_constraints = constraints;
            self.state.frameworks.insert(fid.clone(), fw);
            self.attach(cx, &fid, conn);
            let info = self.state.frameworks[&fid].info.clone();
            self.allocator
                .add_framework(&fid, &info, &suppressed, &Default::default(), true);
            self.allocator.update_offer_constraints(&fid, filter);
            tracing::info!("Added framework {}", self.state.frameworks[&fid].describe());
            self.publish_framework_added(&fid);
            self.send_subscribed(cx, &fid, false);
            self.allocate(cx);
            return Ok(fid);
        }

        let fid = info.id.clone().unwrap_or_default().value;
        if !self.state.frameworks.contains_key(&fid) {
            // Not known (e.g. after a master restart): recover it from the
            // FrameworkInfo it sent (upstream `recoverFramework`).
            let mut fw = Framework::new(info.clone(), Connection::Recovered, now);
            fw.state = FrameworkState::Recovered;
            self.state.frameworks.insert(fid.clone(), fw);
            let info = self.state.frameworks[&fid].info.clone();
            self.allocator
                .add_framework(&fid, &info, &suppressed, &Default::default(), false);
            self.publish_framework_added(&fid);
        }
        let fw = &self.state.frameworks[&fid];
        let recovered = fw.state == FrameworkState::Recovered;
        if let (NewConnection::Pid(pid), false) = (&conn, recovered) {
            if fw.pid() != Some(pid) && !force {
                tracing::error!(
                    "Disallowing subscription attempt of framework {} because it is not expected from {pid}",
                    fw.describe()
                );
                return Err("Framework failed over".into());
            }
        }
        // Immutable fields are kept (upstream `preserveImmutableFields`).
        let mut new_info = info;
        new_info.id = fw.info.id.clone();
        if !recovered {
            new_info.principal = fw.info.principal.clone();
            new_info.user = fw.info.user.clone();
            new_info.checkpoint = fw.info.checkpoint;
        }
        let same_conn = match (&conn, &fw.conn) {
            (NewConnection::Pid(p), Connection::Pid(q)) => p == q,
            _ => false,
        };
        let old_conn = fw.conn.clone();
        let was_connected = fw.connected();
        let fw = self.state.frameworks.get_mut(&fid).expect("checked above");
        fw.info = new_info;
        fw.suppressed_roles = suppressed.clone();
        fw.offer_constraints = constraints;
        fw.reregistered_time = Some(now);
        fw.epoch += 1;
        let described = fw.describe();
        let info = fw.info.clone();
        self.allocator.update_framework(&fid, &info, &suppressed);
        // As upstream's `_subscribe`: a resubscription replaces the
        // constraints (none given: none kept).
        self.allocator.update_offer_constraints(&fid, filter);

        // Offers made over the old connection may never have been seen.
        let offers = self.state.offers_of_framework(&fid);
        for o in offers {
            self.remove_offer(cx, &o, same_conn && !force);
        }
        if !same_conn && was_connected && !recovered {
            // Tell the old connection it was replaced.
            match &old_conn {
                Connection::Pid(old) => cx.send(
                    old,
                    &FrameworkErrorMessage {
                        message: "Framework failed over".into(),
                    },
                ),
                Connection::Http { .. } => {
                    if let Some(mut s) = self.streams.remove(&fid) {
                        s.sender.close();
                    }
                }
                Connection::Recovered => {}
            }
        }
        if let Connection::Http { .. } = old_conn {
            if !same_conn {
                if let Some(mut s) = self.streams.remove(&fid) {
                    s.sender.close();
                }
            }
        }
        self.attach(cx, &fid, conn);
        let fw = self.state.frameworks.get_mut(&fid).expect("checked above");
        fw.state = FrameworkState::Active;
        self.allocator.activate_framework(&fid);
        if recovered {
            tracing::info!("Activated recovered framework {described}");
        } else if force || !same_conn {
            tracing::info!("Framework {described} failed over");
        } else {
            tracing::info!("Allowing framework {described} to subscribe with an already used id");
        }
        // Upstream: a failover (`force`) answers FrameworkRegisteredMessage,
        // a plain resubscription FrameworkReregisteredMessage.
        self.send_subscribed(cx, &fid, !force || recovered);
        self.publish_framework_updated(&fid);
        self.send_framework_updates(cx, &fid);
        self.allocate(cx);
        Ok(fid)
    }

    /// Upstream `sendFrameworkUpdates`: every agent learns the framework's
    /// new info and pid (executors may be running there without tasks).
    fn send_framework_updates(&mut self, cx: &mut Cx<'_, Self>, fid: &str) {
        let Some(fw) = self.state.frameworks.get(fid) else {
            return;
        };
        let message = UpdateFrameworkMessage {
            framework_id: FrameworkId {
                value: fid.to_string(),
            },
            pid: Some(fw.pid().map(|p| p.to_string()).unwrap_or_default()),
            framework_info: Some(fw.info.clone()),
        };
        let agents: Vec<Upid> = self.state.agents.values().map(|a| a.pid.clone()).collect();
        for pid in agents {
            cx.send(&pid, &message);
        }
    }

    /// Binds a framework to its new connection.
    fn attach(&mut self, cx: &mut Cx<'_, Self>, fid: &str, conn: NewConnection) {
        let Some(fw) = self.state.frameworks.get_mut(fid) else {
            return;
        };
        match conn {
            NewConnection::Pid(pid) => {
                cx.link(&pid);
                fw.conn = Connection::Pid(pid);
            }
            NewConnection::Http(stream) => {
                fw.conn = Connection::Http {
                    stream_id: stream.stream_id.clone(),
                };
                self.streams.insert(fid.to_string(), stream);
                self.schedule_heartbeat(cx, fid);
            }
        }
    }

    /// FrameworkRegisteredMessage / FrameworkReregisteredMessage, or the
    /// SUBSCRIBED event for HTTP frameworks.
    fn send_subscribed(&mut self, cx: &mut Cx<'_, Self>, fid: &str, reregistered: bool) {
        let Some(fw) = self.state.frameworks.get(fid) else {
            return;
        };
        if fw.is_http() {
            let event = Event {
                r#type: Some(EventType::Subscribed as i32),
                subscribed: Some(Subscribed {
                    framework_id: FrameworkId {
                        value: fid.to_string(),
                    },
                    heartbeat_interval_seconds: Some(HEARTBEAT_INTERVAL.as_secs_f64()),
                    master_info: Some(self.info.clone()),
                }),
                ..Default::default()
            };
            self.send_event(cx, fid, &event);
        } else if reregistered {
            self.send_framework(cx, fid, ToFramework::Reregistered);
        } else {
            self.send_framework(cx, fid, ToFramework::Registered);
        }
    }

    /// HEARTBEAT events every 15 s while the same stream stays open
    /// (upstream `Master::Framework::heartbeat`).
    fn schedule_heartbeat(&mut self, cx: &mut Cx<'_, Self>, fid: &str) {
        let stream_id = match self.streams.get(fid) {
            Some(s) => s.stream_id.clone(),
            None => return,
        };
        let fid = fid.to_string();
        cx.delay(HEARTBEAT_INTERVAL, move |m: &mut Master, cx| {
            if m.streams.get(&fid).map(|s| s.stream_id.as_str()) != Some(stream_id.as_str()) {
                return;
            }
            let event = Event {
                r#type: Some(EventType::Heartbeat as i32),
                ..Default::default()
            };
            m.send_event(cx, &fid, &event);
            m.schedule_heartbeat(cx, &fid);
        });
    }

    /// The HTTP subscription stream closed (client went away).
    pub(crate) fn http_stream_closed(&mut self, cx: &mut Cx<'_, Self>, fid: &str, stream_id: &str) {
        if self.streams.get(fid).map(|s| s.stream_id.as_str()) != Some(stream_id) {
            return;
        }
        if let Some(mut s) = self.streams.remove(fid) {
            s.sender.close();
        }
        tracing::info!("Framework {fid} disconnected: its event stream closed");
        self.framework_disconnected(cx, fid);
    }

    /// A framework's connection broke (upstream `Master::_exited(Framework*)`
    /// and `disconnect`): it is deactivated, its offers rescinded, and it is
    /// removed unless it resubscribes within its `failover_timeout`.
    pub(crate) fn framework_disconnected(&mut self, cx: &mut Cx<'_, Self>, fid: &str) {
        let Some(fw) = self.state.frameworks.get_mut(fid) else {
            return;
        };
        if fw.state == FrameworkState::Disconnected {
            return;
        }
        fw.state = FrameworkState::Disconnected;
        if let Some(pid) = fw.pid() {
            cx.unlink(&pid.clone());
        }
        let epoch = fw.epoch;
        let timeout = fw.info.failover_timeout.unwrap_or(0.0).max(0.0);
        self.allocator.deactivate_framework(fid);
        for o in self.state.offers_of_framework(fid) {
            self.remove_offer(cx, &o, false);
        }
        tracing::info!("Giving framework {fid} {timeout}secs to failover");
        let fid = fid.to_string();
        cx.delay(
            Duration::from_secs_f64(timeout.min(1e9)),
            move |m: &mut Master, cx| {
                let stale =
                    m.state.frameworks.get(&fid).is_none_or(|f| {
                        f.epoch != epoch || f.state != FrameworkState::Disconnected
                    });
                if stale {
                    return;
                }
                tracing::info!("Framework failover timeout, removing framework {fid}");
                m.remove_framework(cx, &fid);
            },
        );
    }

    /// Upstream `Master::unregisterFramework`.
    pub(crate) fn unregister_framework(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        msg: UnregisterFrameworkMessage,
    ) {
        let fid = msg.framework_id.value;
        tracing::info!("Asked to unregister framework {fid}");
        match self.state.frameworks.get(&fid) {
            Some(fw) if fw.pid() == Some(&from) => self.teardown(cx, &fid),
            Some(fw) => tracing::warn!(
                "Ignoring unregister framework message for framework {} because it is not expected from {from}",
                fw.describe()
            ),
            None => {}
        }
    }

    /// Upstream `Master::deactivateFramework` (driver `stop(failover=true)`).
    pub(crate) fn deactivate_framework(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        msg: DeactivateFrameworkMessage,
    ) {
        self.metrics.messages_deactivate_framework += 1;
        let fid = msg.framework_id.value;
        let Some(fw) = self.state.frameworks.get_mut(&fid) else {
            tracing::warn!("Ignoring deactivate framework message for framework {fid} because the framework cannot be found");
            return;
        };
        if fw.pid() != Some(&from) {
            tracing::warn!(
                "Ignoring deactivate framework message for framework {} because it is not expected from {from}",
                fw.describe()
            );
            return;
        }
        if fw.state == FrameworkState::Active {
            tracing::info!("Deactivating framework {}", fw.describe());
            fw.state = FrameworkState::Inactive;
            self.allocator.deactivate_framework(&fid);
            for o in self.state.offers_of_framework(&fid) {
                self.remove_offer(cx, &o, true);
            }
        }
    }

    /// UPDATE_FRAMEWORK (upstream `Master::updateFramework`): new info,
    /// suppressed roles and (beyond 1.9) offer constraints, immutable fields
    /// kept. The error is upstream's HTTP status and body: 400 for an invalid
    /// FrameworkInfo or offer constraints, 403 when the roles are refused.
    pub(crate) fn update_framework(
        &mut self,
        cx: &mut Cx<'_, Self>,
        fid: &str,
        call: mesos_proto::mesos::scheduler::call::UpdateFramework,
    ) -> Result<(), (http::StatusCode, String)> {
        use http::StatusCode;
        let mut info = call.framework_info;
        let suppressed = call.suppressed_roles;
        if let Err(e) = self.validate_framework(&info, &suppressed) {
            return Err((
                StatusCode::BAD_REQUEST,
                format!("Supplied FrameworkInfo is not valid: {e}"),
            ));
        }
        // Upstream 1.11 validates the constraints with the other allocator
        // options, before authorization.
        let filter = self
            .offer_constraints_filter(&info, call.offer_constraints.as_ref())
            .map_err(|e| {
                (
                    StatusCode::BAD_REQUEST,
                    format!("'UpdateFramework' call is not valid: {e}"),
                )
            })?;
        // Upstream `Master::updateFramework`: the new roles are authorized
        // for the framework's principal (REGISTER_FRAMEWORK).
        let mut asked = info.clone();
        asked.principal = self
            .state
            .frameworks
            .get(fid)
            .and_then(|f| f.info.principal.clone());
        if let Err(e) = self.authorize_framework(&asked) {
            return Err((StatusCode::FORBIDDEN, e));
        }
        let Some(fw) = self.state.frameworks.get_mut(fid) else {
            return Err((
                StatusCode::CONFLICT,
                "Framework was removed while this call was being processed".into(),
            ));
        };
        if info.id.as_ref().map(|i| i.value.as_str()) != Some(fid) {
            return Err((
                StatusCode::BAD_REQUEST,
                "'framework_id' differs from 'update_framework.framework_info.id'".into(),
            ));
        }
        info.principal = fw.info.principal.clone();
        info.user = fw.info.user.clone();
        info.checkpoint = fw.info.checkpoint;
        fw.info = info;
        fw.suppressed_roles = suppressed.iter().cloned().collect();
        fw.offer_constraints = call.offer_constraints;
        let s = fw.suppressed_roles.clone();
        let info = fw.info.clone();
        self.allocator.update_framework(fid, &info, &s);
        self.allocator.update_offer_constraints(fid, filter);
        self.allocate(cx);
        Ok(())
    }

    /// TEARDOWN (upstream `Master::teardown`).
    pub(crate) fn teardown(&mut self, cx: &mut Cx<'_, Self>, fid: &str) {
        if let Some(fw) = self.state.frameworks.get(fid) {
            tracing::info!("Processing TEARDOWN call for framework {}", fw.describe());
        }
        self.metrics.messages_unregister_framework += 1;
        self.remove_framework(cx, fid);
    }

    /// Upstream `Master::removeFramework`: agents shut the framework's
    /// executors down, live tasks become TASK_KILLED, offers go away, the
    /// framework moves to the completed list and its stream closes.
    pub fn remove_framework(&mut self, cx: &mut Cx<'_, Self>, fid: &str) {
        let Some(fw) = self.state.frameworks.get(fid) else {
            return;
        };
        tracing::info!("Removing framework {}", fw.describe());
        let mut agents: BTreeSet<String> = fw
            .tasks
            .values()
            .map(|t| t.slave_id.value.clone())
            .collect();
        agents.extend(fw.executors.keys().cloned());
        for o in self.state.offers_of_framework(fid) {
            self.remove_offer(cx, &o, false);
        }
        for agent_id in &agents {
            if let Some(a) = self.state.agents.get(agent_id) {
                if a.connected {
                    cx.send(
                        &a.pid,
                        &ShutdownFrameworkMessage {
                            framework_id: FrameworkId {
                                value: fid.to_string(),
                            },
                        },
                    );
                }
            }
        }
        let tasks: Vec<_> = self.state.frameworks[fid].tasks.values().cloned().collect();
        for t in tasks {
            if !crate::state::is_terminal(t.state) {
                let update = self.master_update(
                    cx,
                    fid,
                    Some(&t.slave_id.value),
                    &t.task_id.value,
                    TaskState::TaskKilled,
                    Source::Master,
                    Reason::FrameworkRemoved,
                    "Framework removed",
                    t.executor_id.clone(),
                );
                if self.state.update_task(fid, &update.status, None).is_some() {
                    self.metrics.task_terminal(TaskState::TaskKilled as i32);
                }
            }
        }
        for a in self.state.agents.values_mut() {
            a.executors.remove(fid);
        }
        self.allocator.remove_framework(fid);
        if let Some(fw) = self.state.frameworks.get(fid) {
            if let Some(pid) = fw.pid() {
                cx.unlink(&pid.clone());
            }
        }
        if let Some(mut s) = self.streams.remove(fid) {
            s.sender.close();
        }
        let now = Self::now_secs(cx);
        if let Some(info) = self.state.frameworks.get(fid).map(|f| f.info.clone()) {
            self.publish_framework_removed(info);
        }
        self.state.complete_framework(fid, now);
        self.allocate(cx);
    }
}
