//! Leader election as the master sees it (upstream `Master::contended`,
//! `Master::lostCandidacy`, `Master::detected` and `Master::Http::redirect`
//! in src/master/master.cpp and src/master/http.cpp).
//!
//! A standalone master (no `--zk`) leads from the start. A contending
//! master starts as a follower: it does not recover the registry, drops
//! every libprocess message, and answers the leader-only HTTP endpoints
//! with a 307 to the leader (503 while none is known). The ZooKeeper
//! contender/detector run outside the actor and report through
//! [`Master::detected`] and [`Master::lost_candidacy`].

use libprocess::http::{Request, Response};
use libprocess::Cx;
use mesos_proto::mesos::MasterInfo;

use super::Master;

/// Election state (upstream `Master::leader`, `Master::elected()`).
#[derive(Debug, Default)]
pub(crate) struct Election {
    /// A contender decides who leads; false = standalone (always leads).
    pub contending: bool,
    /// The last detected leader (ourselves when leading).
    pub leader: Option<MasterInfo>,
    /// The registry has been recovered (at most once per process).
    pub recovered: bool,
}

/// Wraps a message handler so it only runs on the leading master; a
/// follower drops the message (upstream `Master::_visit(MessageEvent)`:
/// "All messages are filtered when non-leading").
macro_rules! leading {
    ($handler:path) => {
        |m: &mut Master, cx: &mut ::libprocess::Cx<'_, Master>, from: ::libprocess::Upid, msg| {
            if m.elected() {
                $handler(m, cx, from, msg)
            } else {
                m.drop_not_elected(&from);
            }
        }
    };
}
pub(crate) use leading;

/// Wraps an HTTP handler so a follower redirects it to the leader
/// (upstream: `if (!master->elected()) return redirect(request);`).
macro_rules! leading_http {
    ($handler:path) => {
        |m: &mut Master,
         cx: &mut ::libprocess::Cx<'_, Master>,
         req: ::libprocess::http::Request,
         responder: ::libprocess::http::Responder| {
            if m.elected() {
                $handler(m, cx, req, responder)
            } else {
                responder.respond(m.redirect_to_leader(&req));
            }
        }
    };
}
pub(crate) use leading_http;

/// Percent-encodes a query component (RFC 3986 unreserved kept).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Master {
    /// Makes this master wait for a contender's verdict instead of leading
    /// at once (`--zk`).
    pub fn contending(mut self) -> Master {
        self.election.contending = true;
        self
    }

    /// Whether this master leads (upstream `Master::elected()`: the
    /// detected leader is this master).
    pub fn elected(&self) -> bool {
        if !self.election.contending {
            return true;
        }
        self.election
            .leader
            .as_ref()
            .is_some_and(|l| l.id == self.info.id)
    }

    /// The last detected leader.
    pub fn leader(&self) -> Option<&MasterInfo> {
        if !self.election.contending {
            return Some(&self.info);
        }
        self.election.leader.as_ref()
    }

    /// The detector saw a (new) leader, or none (upstream
    /// `Master::detected`). Becoming the leader recovers the registry and
    /// starts the master; a leader that sees another master lead exits,
    /// as upstream "commits suicide", so that only one master acts.
    pub fn detected(&mut self, cx: &mut Cx<'_, Self>, leader: Option<MasterInfo>) {
        let was_elected = self.elected();
        self.election.leader = leader;
        if self.elected() {
            if was_elected {
                tracing::info!("Re-elected as the leading master");
            } else {
                tracing::info!("Elected as the leading master!");
                self.recover_and_start(cx);
            }
            return;
        }
        match &self.election.leader {
            Some(l) => {
                tracing::info!(
                    "The newly elected leader is {} with id {}",
                    l.pid.as_deref().unwrap_or_default(),
                    l.id
                );
                if was_elected {
                    tracing::error!("Conceded leadership to another master... committing suicide!");
                    std::process::exit(1);
                }
            }
            None => {
                tracing::info!("No elected leader");
                if was_elected {
                    tracing::error!("Lost leadership... committing suicide!");
                    std::process::exit(1);
                }
            }
        }
    }

    /// Our candidacy ended (znode gone, session expired): a leader exits
    /// (upstream `Master::lostCandidacy`); a follower's contender joins
    /// again.
    pub fn lost_candidacy(&mut self, _cx: &mut Cx<'_, Self>) {
        if self.elected() {
            tracing::error!("Lost candidacy as a leader... committing suicide!");
            std::process::exit(1);
        }
        tracing::info!("Lost candidacy as a follower... Contend again");
    }

    pub(crate) fn drop_not_elected(&mut self, from: &libprocess::Upid) {
        tracing::debug!("Dropping a message from {from} since not elected yet");
        self.metrics.dropped_messages += 1;
    }

    /// Upstream `Master::Http::redirect`: 503 without a leader; `/redirect`
    /// goes to the leader's root (protocol-relative `//host:port`);
    /// deeper `/redirect/...` paths are 404 (no loops); anything else goes
    /// to the same path and query on the leader.
    pub(crate) fn redirect_to_leader(&self, req: &Request) -> Response {
        let Some(info) = self.leader() else {
            tracing::warn!(
                "Current master is not elected as leader, and leader information is \
                 unavailable. Failed to redirect the request url: {}",
                req.path
            );
            return Response::text(http::StatusCode::SERVICE_UNAVAILABLE, "No leader elected");
        };
        let host = info
            .hostname
            .clone()
            .filter(|h| !h.is_empty())
            .or_else(|| info.address.as_ref().and_then(|a| a.ip.clone()))
            .unwrap_or_else(|| std::net::Ipv4Addr::from(info.ip.to_ne_bytes()).to_string());
        tracing::info!(
            "Redirecting request for {} to the leading master {host}",
            req.path
        );
        let base = format!("//{host}:{}", info.port);
        let path = req.path.trim_end_matches('/');
        let location = if path == "/redirect" || path == "/master/redirect" {
            base
        } else if req.path.starts_with("/redirect/") || req.path.starts_with("/master/redirect/") {
            return Response::not_found();
        } else {
            let mut url = base + &req.path;
            for (i, (k, v)) in req.query.iter().enumerate() {
                url.push(if i == 0 { '?' } else { '&' });
                url.push_str(&encode(k));
                url.push('=');
                url.push_str(&encode(v));
            }
            url
        };
        Response::new(http::StatusCode::TEMPORARY_REDIRECT)
            .header(http::header::LOCATION, &location)
    }
}
