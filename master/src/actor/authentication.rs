//! Authentication of agents and driver frameworks (CRAM-MD5 over libprocess
//! messages) and of HTTP requests (Basic, per realm), as upstream 1.9 does.
//!
//! - CRAM-MD5: upstream `Master::authenticate` with the default
//!   `crammd5` authenticator (src/authentication/cram_md5/authenticator.cpp,
//!   which drives Cyrus SASL). The client's authenticatee sends
//!   `AuthenticateMessage{pid}`; we answer its sender with the mechanisms,
//!   take `AuthenticationStartMessage`, send a challenge in an
//!   `AuthenticationStepMessage`, check the `principal HMAC-MD5` response
//!   against `--credentials` and finish with `AuthenticationCompletedMessage`
//!   or `AuthenticationFailedMessage`. Registrations check the result when
//!   `--authenticate_agents` / `--authenticate_frameworks` are set.
//! - HTTP: libprocess's `BasicAuthenticator` (3rdparty/libprocess/src/
//!   authenticator.cpp) for the realms `--authenticate_http_readonly`,
//!   `--authenticate_http_readwrite` and `--authenticate_http_frameworks`
//!   turn on; endpoints belong to realms as in `Master::initialize`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use libprocess::authentication::{cram_md5_digest, CRAM_MD5 as MECHANISM};
use libprocess::{Cx, Request, Response, Upid};
use mesos_proto::mesos::internal::{
    AuthenticateMessage, AuthenticationCompletedMessage, AuthenticationErrorMessage,
    AuthenticationFailedMessage, AuthenticationMechanismsMessage, AuthenticationStartMessage,
    AuthenticationStepMessage,
};
use openssl::memcmp;

use super::Master;
use crate::flags::MasterFlags;

pub const READONLY_REALM: &str = "mesos-master-readonly";
pub const READWRITE_REALM: &str = "mesos-master-readwrite";
pub const FRAMEWORK_REALM: &str = "mesos-master-scheduler";

/// The flag that puts each realm behind HTTP Basic.
const REALM_FLAGS: [(&str, &str); 3] = [
    ("authenticate_http_readonly", READONLY_REALM),
    ("authenticate_http_readwrite", READWRITE_REALM),
    ("authenticate_http_frameworks", FRAMEWORK_REALM),
];

/// The realm of a master endpoint (upstream's `route(...)` calls in
/// `Master::initialize` and the libprocess processes the master starts),
/// or `None` for endpoints that never ask for credentials.
pub fn realm_of(endpoint: &str) -> Option<&'static str> {
    match endpoint {
        "api/v1/scheduler" => Some(FRAMEWORK_REALM),
        "api/v1"
        | "create-volumes"
        | "destroy-volumes"
        | "reserve"
        | "unreserve"
        | "teardown"
        | "maintenance/schedule"
        | "machine/down"
        | "machine/up"
        | "weights"
        | "quota" => Some(READWRITE_REALM),
        "frameworks" | "flags" | "roles" | "slaves" | "state" | "state-summary" | "tasks"
        | "maintenance/status" | "metrics/snapshot" => Some(READONLY_REALM),
        e if e.starts_with("files/") => Some(READONLY_REALM),
        _ => None,
    }
}

/// One CRAM-MD5 exchange in progress, keyed by the authenticatee process.
struct Session {
    /// The pid being authenticated (the agent's or scheduler's).
    client: Upid,
    /// The challenge sent, once the exchange started.
    challenge: Option<Vec<u8>>,
    serial: u64,
}

/// The master's authentication state.
#[derive(Default)]
pub struct Authentication {
    /// `--credentials`: principal → secret.
    secrets: Option<BTreeMap<String, String>>,
    /// Realms whose endpoints need HTTP Basic credentials.
    realms: Vec<&'static str>,
    /// Authenticated client pids and their principals.
    pub(crate) authenticated: HashMap<Upid, String>,
    /// Exchanges in progress by authenticatee pid, and the reverse map.
    sessions: HashMap<Upid, Session>,
    authenticating: HashMap<Upid, Upid>,
    next_serial: u64,
}

impl Authentication {
    /// From the master's flags; [`check_flags`] has already refused bad ones
    /// at start-up, so a credentials file that fails here leaves every
    /// protected realm closed rather than open.
    pub fn from_flags(flags: &MasterFlags) -> Authentication {
        let secrets = match flags.get("credentials") {
            Some(path) => match read_secrets(path) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::error!("{e}");
                    Some(BTreeMap::new())
                }
            },
            None => None,
        };
        let realms = REALM_FLAGS
            .into_iter()
            .filter(|(flag, _)| flags.bool(flag))
            .map(|(_, realm)| realm)
            .collect();
        Authentication {
            secrets,
            realms,
            ..Default::default()
        }
    }

    /// Upstream `BasicAuthenticatorProcess::authenticate` for the endpoint's
    /// realm, when that realm is on: the principal, or a 401 asking for
    /// Basic credentials.
    pub fn authenticate_http(
        &self,
        endpoint: &str,
        request: &Request,
    ) -> Result<Option<String>, Box<Response>> {
        let Some(realm) = realm_of(endpoint).filter(|r| self.realms.contains(r)) else {
            return Ok(None);
        };
        let none = BTreeMap::new();
        let secrets = self.secrets.as_ref().unwrap_or(&none);
        libprocess::authentication::basic(realm, secrets, request).map(Some)
    }

    /// An exchange for this client pid is in progress.
    pub fn in_progress(&self, client: &Upid) -> bool {
        self.authenticating.contains_key(client)
    }

    fn end_session(&mut self, peer: &Upid) -> Option<Session> {
        let s = self.sessions.remove(peer)?;
        self.authenticating.remove(&s.client);
        Some(s)
    }
}

/// Start-up checks of the authentication flags (upstream exits here): a
/// readable, non-empty `--credentials` wherever a realm or the CRAM-MD5
/// authenticator needs it, and only the built-in authenticators.
pub fn check_flags(flags: &MasterFlags) -> Result<(), String> {
    let authenticators = flags.get("authenticators").unwrap_or("crammd5");
    if authenticators.contains(',') {
        return Err("Multiple authenticators not supported".into());
    }
    if authenticators != "crammd5" {
        return Err(format!(
            "Authenticator '{authenticators}' not found. Check the spelling (compare to 'crammd5') or verify that the authenticator was loaded successfully (see --modules)"
        ));
    }
    if let Some(path) = flags.get("credentials") {
        if read_secrets(path)?.is_empty() {
            return Err(
                "Credentials file must contain at least one credential (see --credentials flag)"
                    .into(),
            );
        }
    }
    let needs = |flag: &str| flags.bool(flag) && flags.get("credentials").is_none();
    if needs("authenticate_agents") || needs("authenticate_frameworks") {
        return Err(
            "Failed to start master with authentication enabled: No credentials provided for the 'crammd5' authenticator"
                .into(),
        );
    }
    for (flag, realm) in REALM_FLAGS {
        if !flags.bool(flag) {
            continue;
        }
        let list = if flag == "authenticate_http_frameworks" {
            flags.get("http_framework_authenticators").ok_or(
                "Missing `--http_framework_authenticators` flag. This must be used in conjunction with `--authenticate_http_frameworks`",
            )?
        } else {
            flags.get("http_authenticators").unwrap_or("basic")
        };
        if list != "basic" {
            return Err(format!(
                "HTTP authenticator '{list}' is not supported: only 'basic' is built in"
            ));
        }
        if flags.get("credentials").is_none() {
            return Err(format!(
                "No credentials provided for the default 'basic' HTTP authenticator for realm '{realm}'"
            ));
        }
    }
    Ok(())
}

fn read_secrets(path: &str) -> Result<BTreeMap<String, String>, String> {
    let creds = stout::parsers::read_credentials(path)
        .map_err(|e| format!("{e} (see --credentials flag)"))?
        .unwrap_or_default();
    Ok(creds
        .credentials
        .into_iter()
        .map(|c| (c.principal, c.secret.unwrap_or_default()))
        .collect())
}

impl Master {
    /// `AuthenticateMessage`: a client's authenticatee starts an exchange.
    pub(crate) fn authenticate_message(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        m: AuthenticateMessage,
    ) {
        self.metrics.messages_authenticate += 1;
        let Ok(client) = Upid::parse(&m.pid) else {
            tracing::warn!(
                "Ignoring authentication request from {from}: invalid pid '{}'",
                m.pid
            );
            return;
        };
        let erased = self.authn.authenticated.remove(&client).is_some();
        if self.authn.secrets.is_none() {
            tracing::error!(
                "Received authentication request from {client} but authenticator is not loaded"
            );
            cx.send(
                &from,
                &AuthenticationErrorMessage {
                    error: Some("No authenticator loaded".into()),
                },
            );
            return;
        }
        if let Some(old_peer) = self.authn.authenticating.get(&client).cloned() {
            self.authn.end_session(&old_peer);
            tracing::info!("Re-authenticating {client}; discarding outstanding authentication");
        } else if erased {
            tracing::info!("Authenticating {client}; clearing previous authentication");
        } else {
            tracing::info!("Authenticating {client}");
        }
        self.authn.end_session(&from);
        self.authn.next_serial += 1;
        let serial = self.authn.next_serial;
        self.authn
            .authenticating
            .insert(client.clone(), from.clone());
        self.authn.sessions.insert(
            from.clone(),
            Session {
                client,
                challenge: None,
                serial,
            },
        );
        cx.send(
            &from,
            &AuthenticationMechanismsMessage {
                mechanisms: vec![MECHANISM.into()],
            },
        );
        let timeout = self
            .flags
            .get("authentication_v0_timeout")
            .and_then(|t| crate::flags::parse_duration(t).ok())
            .unwrap_or(Duration::from_secs(15));
        cx.delay(timeout, move |m: &mut Master, _cx| {
            if m.authn
                .sessions
                .get(&from)
                .is_some_and(|s| s.serial == serial)
            {
                m.authn.end_session(&from);
                tracing::warn!("Authentication timed out");
            }
        });
    }

    /// `AuthenticationStartMessage`: the client picked a mechanism; send the
    /// challenge (`<random.time@host>`, as Cyrus SASL's CRAM-MD5 server).
    pub(crate) fn authentication_start(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        m: AuthenticationStartMessage,
    ) {
        if !self.authn.sessions.contains_key(&from) {
            tracing::warn!("Ignoring authentication start from {from}: no exchange in progress");
            return;
        }
        if m.mechanism != MECHANISM {
            self.authn.end_session(&from);
            cx.send(
                &from,
                &AuthenticationErrorMessage {
                    error: Some(format!(
                        "Failed to start the SASL server: unsupported mechanism '{}'",
                        m.mechanism
                    )),
                },
            );
            return;
        }
        let random = cx.rng().next_u32();
        let challenge =
            format!("<{random}.{}@{}>", Self::now_secs(cx) as u64, self.hostname).into_bytes();
        if let Some(s) = self.authn.sessions.get_mut(&from) {
            s.challenge = Some(challenge.clone());
        }
        cx.send(
            &from,
            &AuthenticationStepMessage {
                data: challenge.into(),
            },
        );
    }

    /// `AuthenticationStepMessage`: the client's `principal digest`.
    pub(crate) fn authentication_step(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        m: AuthenticationStepMessage,
    ) {
        let Some(challenge) = self
            .authn
            .sessions
            .get(&from)
            .and_then(|s| s.challenge.clone())
        else {
            tracing::warn!("Ignoring authentication step from {from}: no challenge outstanding");
            return;
        };
        let Some(session) = self.authn.end_session(&from) else {
            return;
        };
        let response = String::from_utf8_lossy(&m.data);
        let principal = response.rsplit_once(' ').and_then(|(principal, digest)| {
            let secret = self.authn.secrets.as_ref()?.get(principal)?;
            let expected = cram_md5_digest(secret, &challenge);
            (expected.len() == digest.len() && memcmp::eq(expected.as_bytes(), digest.as_bytes()))
                .then(|| principal.to_string())
        });
        match principal {
            Some(p) => {
                tracing::info!(
                    "Successfully authenticated principal '{p}' at {}",
                    session.client
                );
                self.authn.authenticated.insert(session.client, p);
                cx.send(&from, &AuthenticationCompletedMessage {});
            }
            None => {
                tracing::info!(
                    "Authentication of {} was unsuccessful: Invalid credentials",
                    session.client
                );
                cx.send(&from, &AuthenticationFailedMessage {});
            }
        }
    }

    /// Upstream's checks before an agent (re)registers: not while its
    /// authentication runs, and only authenticated with
    /// `--authenticate_agents`.
    pub(crate) fn agent_may_register(&self, from: &Upid, what: &str) -> bool {
        if self.authn.in_progress(from) {
            tracing::info!(
                "Dropping {what} request from {from} because authentication is still in progress"
            );
            return false;
        }
        if self.flags.bool("authenticate_agents") && !self.authn.authenticated.contains_key(from) {
            tracing::warn!("Refusing {what} of agent at {from} because it is not authenticated");
            return false;
        }
        true
    }

    /// Upstream `validateFrameworkAuthentication` for driver frameworks.
    pub(crate) fn validate_framework_authentication(
        &self,
        principal: Option<&str>,
        from: &Upid,
    ) -> Result<(), String> {
        if self.authn.in_progress(from) {
            return Err("Re-authentication in progress".into());
        }
        let authenticated = self.authn.authenticated.get(from);
        if self.flags.bool("authenticate_frameworks") && authenticated.is_none() {
            return Err(format!("Framework at {from} is not authenticated"));
        }
        match (principal, authenticated) {
            (Some(p), Some(a)) if p != a => Err(format!(
                "Framework principal '{p}' does not match authenticated principal '{a}'"
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_belong_to_upstreams_realms() {
        assert_eq!(realm_of("state"), Some(READONLY_REALM));
        assert_eq!(realm_of("api/v1"), Some(READWRITE_REALM));
        assert_eq!(realm_of("api/v1/scheduler"), Some(FRAMEWORK_REALM));
        assert_eq!(realm_of("files/read"), Some(READONLY_REALM));
        assert_eq!(realm_of("health"), None);
        assert_eq!(realm_of("redirect"), None);
    }
}
