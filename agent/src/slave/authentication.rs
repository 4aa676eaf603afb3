//! The agent's side of CRAM-MD5 authentication with the master (upstream
//! `Slave::authenticate` / `_authenticate` with the default `crammd5`
//! authenticatee, src/authentication/cram_md5/authenticatee.cpp): with
//! `--credential`, a newly detected master is authenticated with before the
//! agent registers. Each attempt has a timeout drawn between
//! `--authentication_timeout_min` and `--authentication_timeout_max`; a
//! failed one is retried after a backoff of up to
//! `--authentication_backoff_factor`, the minimum timeout doubling.
//!
//! Deviation: upstream exits the agent when the master refuses the
//! credential (`AuthenticationFailedMessage`); here the agent keeps its
//! executors and retries with backoff, logging the refusal each time, so an
//! operator can fix the master's credentials without restarting the agent.

use std::time::Duration;

use libprocess::authentication::{cram_md5_digest, CRAM_MD5};
use libprocess::{Cx, Routes, Upid};
use mesos_proto::mesos::internal::{
    AuthenticateMessage, AuthenticationCompletedMessage, AuthenticationErrorMessage,
    AuthenticationFailedMessage, AuthenticationMechanismsMessage, AuthenticationStartMessage,
    AuthenticationStepMessage,
};

use super::registration::random_fraction;
use super::Slave;

pub(super) fn install(r: &mut Routes<Slave>) {
    r.message::<AuthenticationMechanismsMessage>(Slave::authentication_mechanisms);
    r.message::<AuthenticationStepMessage>(Slave::authentication_step);
    r.message::<AuthenticationCompletedMessage>(Slave::authentication_completed);
    r.message::<AuthenticationFailedMessage>(Slave::authentication_failed);
    r.message::<AuthenticationErrorMessage>(Slave::authentication_error);
}

impl Slave {
    /// After a master is detected: authenticate first when a credential is
    /// configured, else register straight away.
    pub(crate) fn authenticate_or_register(
        &mut self,
        cx: &mut Cx<'_, Self>,
        max_backoff: Duration,
    ) {
        if self.config.credential.is_none() {
            tracing::info!(
                "No credentials provided. Attempting to register without authentication"
            );
            self.do_reliable_registration(cx, max_backoff);
            return;
        }
        let min = self.config.authentication_timeout_min;
        self.authenticate(cx, min);
    }

    fn authenticate(&mut self, cx: &mut Cx<'_, Self>, min_timeout: Duration) {
        let Some(master) = self.master.clone() else {
            return;
        };
        self.authentication_attempts += 1;
        let attempt = self.authentication_attempts;
        self.authenticating = Some(attempt);
        tracing::info!("Authenticating with master {master}");
        let me = cx.me().to_string();
        cx.send(&master, &AuthenticateMessage { pid: me });
        let max_timeout = self.config.authentication_timeout_max.max(min_timeout);
        let timeout = min_timeout + random_fraction(cx, max_timeout - min_timeout);
        cx.delay(timeout, move |s: &mut Slave, cx| {
            if s.authenticating == Some(attempt) {
                tracing::warn!("Authentication with master {master} timed out");
                s.retry_authentication(cx, min_timeout);
            }
        });
    }

    fn retry_authentication(&mut self, cx: &mut Cx<'_, Self>, min_timeout: Duration) {
        self.authenticating = None;
        let backoff = random_fraction(cx, self.config.authentication_backoff_factor * 2);
        let next = (min_timeout * 2).min(self.config.authentication_timeout_max);
        let master = self.master.clone();
        cx.delay(backoff, move |s: &mut Slave, cx| {
            // Only if the master is still the one that failed us.
            if s.master == master && s.authenticating.is_none() {
                s.authenticate(cx, next);
            }
        });
    }

    /// Whether a message of the exchange belongs to the attempt in progress
    /// with the current master.
    fn in_exchange(&self, from: &Upid) -> bool {
        self.authenticating.is_some() && self.master.as_ref().map(Upid::addr) == Some(from.addr())
    }

    fn authentication_mechanisms(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        m: AuthenticationMechanismsMessage,
    ) {
        if !self.in_exchange(&from) {
            return;
        }
        if !m.mechanisms.iter().any(|x| x == CRAM_MD5) {
            tracing::warn!(
                "Failed to authenticate with master {from}: no supported mechanism in {:?}",
                m.mechanisms
            );
            let min = self.config.authentication_timeout_min;
            self.retry_authentication(cx, min);
            return;
        }
        cx.send(
            &from,
            &AuthenticationStartMessage {
                mechanism: CRAM_MD5.into(),
                data: None,
            },
        );
    }

    fn authentication_step(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        m: AuthenticationStepMessage,
    ) {
        if !self.in_exchange(&from) {
            return;
        }
        let Some((principal, secret)) = &self.config.credential else {
            return;
        };
        let response = format!("{principal} {}", cram_md5_digest(secret, &m.data));
        cx.send(
            &from,
            &AuthenticationStepMessage {
                data: response.into_bytes().into(),
            },
        );
    }

    fn authentication_completed(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        _m: AuthenticationCompletedMessage,
    ) {
        if !self.in_exchange(&from) {
            return;
        }
        self.authenticating = None;
        tracing::info!("Successfully authenticated with master {from}");
        let backoff = self.config.registration_backoff_factor * 2;
        self.do_reliable_registration(cx, backoff);
    }

    fn authentication_failed(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        _m: AuthenticationFailedMessage,
    ) {
        if !self.in_exchange(&from) {
            return;
        }
        tracing::error!("Master {from} refused authentication");
        let min = self.config.authentication_timeout_min;
        self.retry_authentication(cx, min);
    }

    fn authentication_error(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        m: AuthenticationErrorMessage,
    ) {
        if !self.in_exchange(&from) {
            return;
        }
        tracing::warn!(
            "Failed to authenticate with master {from}: {}",
            m.error.unwrap_or_default()
        );
        let min = self.config.authentication_timeout_min;
        self.retry_authentication(cx, min);
    }
}
