//! Group membership, leader contention and leader detection
//! (upstream src/zookeeper/{group,contender,detector}.cpp).
//!
//! A member is an ephemeral sequential znode `<path>/<label>_<sequence>`
//! (ZooKeeper appends the 10-digit sequence). The leader is the member with
//! the lowest sequence, whatever its label, as upstream's `LeaderDetector`
//! elects the oldest membership.

use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{broadcast, watch};

use crate::client::{code, ZkClient, ZkError, ZkEvent};
use crate::url::ZkUrl;

/// One member of a group as seen in its children listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub sequence: i32,
    /// The part before the last `_` (`json.info`, `info`), if any.
    pub label: Option<String>,
    /// The child's name under the group path.
    pub name: String,
}

impl Membership {
    /// Parses a child name as upstream `GroupProcess::cache` does: split on
    /// `_`, the last token is the sequence, the first (if several) the
    /// label. Names that do not end in a number are not members.
    pub fn parse(name: &str) -> Option<Membership> {
        let tokens: Vec<&str> = name.split('_').collect();
        let sequence: i32 = tokens.last()?.parse().ok()?;
        let label = (tokens.len() > 1).then(|| tokens[0].to_string());
        Some(Membership {
            sequence,
            label,
            name: name.to_string(),
        })
    }
}

/// The detected leader: its membership and its znode's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leader {
    pub membership: Membership,
    pub data: Bytes,
}

/// The lowest-sequence member among `children`.
pub fn elect(children: &[String]) -> Option<Membership> {
    children
        .iter()
        .filter_map(|c| Membership::parse(c))
        .min_by_key(|m| m.sequence)
}

/// A joined candidacy (upstream `LeaderContender`): the znode stays while
/// the session lives; [`Candidacy::lost`] resolves when it is gone.
pub struct Candidacy {
    pub membership: Membership,
    /// The full path of our znode.
    pub path: String,
    lost: watch::Receiver<bool>,
    client: ZkClient,
}

impl Candidacy {
    /// Joins the group at `group` with `label` and `data`, creating the
    /// group path if needed (upstream `Group::join`).
    pub async fn join(
        client: &ZkClient,
        group: &str,
        label: &str,
        data: &[u8],
    ) -> Result<Candidacy, ZkError> {
        client.create_all(group).await?;
        let base = if group == "/" { "" } else { group };
        let mut events = client.subscribe();
        let path = client
            .create(&format!("{base}/{label}_"), data, true, true)
            .await?;
        let name = path.rsplit('/').next().unwrap_or_default().to_string();
        let membership = Membership::parse(&name)
            .ok_or_else(|| ZkError::Protocol(format!("created a non-sequential node {path}")))?;
        tracing::info!("Joined group {group} as {name}");
        let (tx, lost) = watch::channel(false);
        let c = client.clone();
        let p = path.clone();
        tokio::spawn(async move {
            // Watch our own znode: it goes when the session expires or
            // someone deletes it; either way the candidacy is lost.
            loop {
                match c.exists(&p, true).await {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) if e.is_fatal() => break,
                    Err(_) => {}
                }
                let gone = loop {
                    match events.recv().await {
                        Ok(ZkEvent::Watch { path, .. }) if path == p => break false,
                        Ok(ZkEvent::Connected) => break false,
                        Ok(ZkEvent::Expired) | Err(broadcast::error::RecvError::Closed) => {
                            break true
                        }
                        Ok(_) => {}
                        Err(broadcast::error::RecvError::Lagged(_)) => break false,
                    }
                };
                if gone {
                    break;
                }
                if tx.is_closed() {
                    return;
                }
            }
            tracing::warn!("Lost candidacy {p}");
            let _ = tx.send(true);
        });
        Ok(Candidacy {
            membership,
            path,
            lost,
            client: client.clone(),
        })
    }

    /// Resolves when the candidacy is lost (znode gone or session expired).
    pub async fn lost(&mut self) {
        let _ = self.lost.wait_for(|l| *l).await;
    }

    pub fn is_lost(&self) -> bool {
        *self.lost.borrow()
    }

    /// Withdraws: deletes our znode (upstream `LeaderContender` destructor).
    pub async fn withdraw(self) -> Result<(), ZkError> {
        match self.client.delete(&self.path).await {
            Err(e) if e.is_code(code::NO_NODE) => Ok(()),
            r => r,
        }
    }
}

/// Follows the leader of the group at a `zk://` URL (upstream
/// `LeaderDetector` over a `Group`). The session is re-created after an
/// expiry, as upstream's group reconnects.
pub struct Detector {
    rx: watch::Receiver<Option<Leader>>,
}

impl Detector {
    /// Starts detecting. `client` is an existing session to use first
    /// (the master shares its contender's session, as upstream does);
    /// without it a session is opened (retried until it succeeds).
    pub fn spawn(url: ZkUrl, session_timeout: Duration, client: Option<ZkClient>) -> Detector {
        let (tx, rx) = watch::channel(None);
        tokio::spawn(async move {
            let mut client = client;
            loop {
                let c = match client.take() {
                    Some(c) => c,
                    None => match ZkClient::connect_url(&url, session_timeout).await {
                        Ok(c) => c,
                        Err(e) => {
                            tracing::warn!("Failed to connect to {url}: {e}; retrying");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            if tx.is_closed() {
                                return;
                            }
                            continue;
                        }
                    },
                };
                follow(&c, &url.path, &tx).await;
                // Expired: the leader is unknown until the next session
                // has read the group again.
                tx.send_if_modified(|l| l.take().is_some());
                if tx.is_closed() {
                    return;
                }
            }
        });
        Detector { rx }
    }

    /// The current leader (None while there is none or it is unknown).
    pub fn leader(&self) -> Option<Leader> {
        self.rx.borrow().clone()
    }

    /// A receiver notified on every leader change.
    pub fn watch(&self) -> watch::Receiver<Option<Leader>> {
        self.rx.clone()
    }
}

/// Detects the leader with one session until it expires.
async fn follow(client: &ZkClient, group: &str, tx: &watch::Sender<Option<Leader>>) {
    let mut events = client.subscribe();
    loop {
        if tx.is_closed() {
            return;
        }
        match read_leader(client, group).await {
            Ok(leader) => {
                tx.send_if_modified(|cur| {
                    if *cur != leader {
                        match &leader {
                            Some(l) => tracing::info!(
                                "Detected a new leader: {} in {group}",
                                l.membership.name
                            ),
                            None => tracing::info!("No leader in {group}"),
                        }
                        *cur = leader;
                        true
                    } else {
                        false
                    }
                });
            }
            Err(e) if e.is_fatal() => return,
            Err(e) => tracing::debug!("Leader detection in {group} failed: {e}"),
        }
        // Wait for a change of the group (the watches just set), or a
        // reconnection (watches are gone: read again).
        loop {
            match events.recv().await {
                Ok(ZkEvent::Watch { .. }) | Ok(ZkEvent::Connected) => break,
                Ok(ZkEvent::Disconnected) => {}
                Ok(ZkEvent::Expired) | Err(broadcast::error::RecvError::Closed) => return,
                Err(broadcast::error::RecvError::Lagged(_)) => break,
            }
        }
    }
}

/// Reads the group's children (leaving a child watch, or an existence
/// watch when the group is absent) and the leader's data (leaving a watch
/// of the lowest member; its deletion fires the child watch).
async fn read_leader(client: &ZkClient, group: &str) -> Result<Option<Leader>, ZkError> {
    loop {
        let children = match client.get_children(group, true).await {
            Ok(c) => c,
            Err(e) if e.is_code(code::NO_NODE) => {
                if client.exists(group, true).await?.is_some() {
                    continue;
                }
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let Some(m) = elect(&children) else {
            return Ok(None);
        };
        let base = if group == "/" { "" } else { group };
        match client
            .get_data(&format!("{base}/{}", m.name), false)
            .await?
        {
            Some(data) => {
                return Ok(Some(Leader {
                    membership: m,
                    data,
                }))
            }
            // Gone between the listing and the read: list again.
            None => continue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_names_and_election() {
        let m = Membership::parse("json.info_0000000012").unwrap();
        assert_eq!(m.sequence, 12);
        assert_eq!(m.label.as_deref(), Some("json.info"));
        assert_eq!(Membership::parse("0000000003").unwrap().label, None);
        assert!(Membership::parse("log_replicas").is_none());
        let children = vec![
            "json.info_0000000012".to_string(),
            "log_replicas".to_string(),
            "info_0000000010".to_string(),
            "json.info_0000000011".to_string(),
        ];
        assert_eq!(elect(&children).unwrap().name, "info_0000000010");
        assert_eq!(elect(&["x".to_string()]), None);
    }
}
