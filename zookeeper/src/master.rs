//! The Mesos master's use of a group (upstream
//! src/master/contender/zookeeper.cpp and src/master/detector/zookeeper.cpp):
//! masters join with label `json.info` and their `MasterInfo` as JSON;
//! detectors also understand the older `info` (binary protobuf) and
//! unlabelled (a pid string) members.

use std::net::SocketAddr;

use mesos_proto::mesos::{Address, MasterInfo};
use prost::Message;

use crate::group::Leader;

/// The label 1.9 masters join with (`MASTER_INFO_JSON_LABEL`).
pub const MASTER_INFO_JSON_LABEL: &str = "json.info";
/// The label of pre-0.24 masters writing binary `MasterInfo`
/// (`MASTER_INFO_LABEL`).
pub const MASTER_INFO_LABEL: &str = "info";

/// The data a contending master writes: its `MasterInfo` as stout's
/// `JSON::protobuf` prints it (field order, enum names, compact).
pub fn master_info_json(info: &MasterInfo) -> Result<String, String> {
    mesos_proto::json::to_json(info).map_err(|e| format!("Failed to serialize MasterInfo: {e}"))
}

/// Decodes a leader's znode into its `MasterInfo` by the member's label,
/// as `ZooKeeperMasterDetectorProcess::fetched`.
pub fn master_info_of(leader: &Leader) -> Result<MasterInfo, String> {
    let data = &leader.data;
    match leader.membership.label.as_deref() {
        Some(MASTER_INFO_JSON_LABEL) => {
            let text = std::str::from_utf8(data)
                .map_err(|_| "Failed to parse data into valid JSON: not UTF-8".to_string())?;
            mesos_proto::json::from_json::<MasterInfo>(text).map_err(|e| {
                format!("Failed to parse JSON into a valid MasterInfo protocol buffer: {e}")
            })
        }
        Some(MASTER_INFO_LABEL) => MasterInfo::decode(data.as_ref())
            .map_err(|_| "Failed to parse data into MasterInfo".to_string()),
        None => {
            // The oldest format: the data is the master's pid.
            let text = std::str::from_utf8(data).map_err(|_| "Bad pid data".to_string())?;
            master_info_from_pid(text.trim())
        }
        Some(other) => Err(format!("Failed to parse data of unknown label '{other}'")),
    }
}

/// A `MasterInfo` made up from a pid (upstream `createMasterInfo(UPID)`).
pub fn master_info_from_pid(pid: &str) -> Result<MasterInfo, String> {
    let Some((_, addr)) = pid.split_once('@') else {
        return Err(format!("Bad master pid '{pid}'"));
    };
    let addr: SocketAddr = addr
        .parse()
        .map_err(|_| format!("Bad master pid '{pid}'"))?;
    let ip = match addr.ip() {
        std::net::IpAddr::V4(v4) => u32::from_ne_bytes(v4.octets()),
        std::net::IpAddr::V6(_) => 0,
    };
    Ok(MasterInfo {
        id: format!("{pid}-{}", uuid::Uuid::new_v4()),
        ip,
        port: addr.port() as u32,
        pid: Some(pid.to_string()),
        address: Some(Address {
            hostname: None,
            ip: Some(addr.ip().to_string()),
            port: addr.port() as i32,
        }),
        ..Default::default()
    })
}

/// The `host:port` of a leader's `MasterInfo` (its pid's address, else
/// `address`), and the pid to talk to.
pub fn master_pid(info: &MasterInfo) -> Option<String> {
    if let Some(pid) = &info.pid {
        return Some(pid.clone());
    }
    let a = info.address.as_ref()?;
    Some(format!("master@{}:{}", a.ip.as_deref()?, a.port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::Membership;

    #[test]
    fn decodes_every_label() {
        let info = MasterInfo {
            id: "abc".into(),
            ip: 16777343,
            port: 5050,
            pid: Some("master@127.0.0.1:5050".into()),
            ..Default::default()
        };
        let json = master_info_json(&info).unwrap();
        assert!(
            json.starts_with("{\"id\":\"abc\",\"ip\":16777343,\"port\":5050"),
            "{json}"
        );
        let leader = |label: Option<&str>, data: Vec<u8>| Leader {
            membership: Membership {
                sequence: 1,
                label: label.map(str::to_string),
                name: String::new(),
            },
            data: data.into(),
        };
        let got = master_info_of(&leader(Some("json.info"), json.into_bytes())).unwrap();
        assert_eq!(got, info);
        let got = master_info_of(&leader(Some("info"), info.encode_to_vec())).unwrap();
        assert_eq!(got, info);
        let got = master_info_of(&leader(None, b"master@127.0.0.1:5050".to_vec())).unwrap();
        assert_eq!(got.pid.as_deref(), Some("master@127.0.0.1:5050"));
        assert_eq!(got.ip, 16777343);
        assert!(master_info_of(&leader(Some("json.info"), b"{".to_vec())).is_err());
        assert!(master_info_of(&leader(Some("weird"), b"{}".to_vec())).is_err());
        assert_eq!(master_pid(&got).as_deref(), Some("master@127.0.0.1:5050"));
    }
}

/// What the master's ZooKeeper glue reports to the master actor.
#[derive(Debug, Clone, PartialEq)]
pub enum MasterEvent {
    /// The detected leader (None: no leader).
    Leader(Option<Box<MasterInfo>>),
    /// The leader's data could not be decoded (upstream fails detection
    /// and the master exits).
    DetectionFailed(String),
    /// Our candidacy ended (its znode or session is gone).
    CandidacyLost,
}

/// Follows the leading master of the group at `url`, sending each change
/// as a [`MasterEvent::Leader`] (upstream `ZooKeeperMasterDetector`).
/// Runs until `tx`'s receiver is gone.
pub fn spawn_master_detector(
    url: crate::ZkUrl,
    session_timeout: std::time::Duration,
    client: Option<crate::ZkClient>,
    tx: std::sync::mpsc::Sender<MasterEvent>,
) {
    let detector = crate::group::Detector::spawn(url, session_timeout, client);
    let mut rx = detector.watch();
    tokio::spawn(async move {
        let _detector = detector;
        let mut last: Option<Box<MasterInfo>> = None;
        let mut first = true;
        loop {
            let leader = rx.borrow_and_update().clone();
            let event = match leader.as_ref().map(master_info_of) {
                None => Some(MasterEvent::Leader(None)),
                Some(Ok(info)) => Some(MasterEvent::Leader(Some(Box::new(info)))),
                Some(Err(e)) => Some(MasterEvent::DetectionFailed(e)),
            };
            if let Some(ev) = event {
                let changed = match &ev {
                    MasterEvent::Leader(l) => first || *l != last,
                    _ => true,
                };
                if changed {
                    if let MasterEvent::Leader(l) = &ev {
                        last = l.clone();
                    }
                    first = false;
                    if tx.send(ev).is_err() {
                        return;
                    }
                }
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    });
}

/// Contends for leadership with `info` (upstream
/// `ZooKeeperMasterContender`) and detects the leader on the same session.
/// When the candidacy is lost, [`MasterEvent::CandidacyLost`] is sent and,
/// unless the receiver is gone, the master joins again with a new session
/// (a leader exits on that event, a follower contends again).
pub fn spawn_master_contender(
    url: crate::ZkUrl,
    session_timeout: std::time::Duration,
    info: MasterInfo,
    tx: std::sync::mpsc::Sender<MasterEvent>,
) -> Result<(), String> {
    let data = master_info_json(&info)?;
    tokio::spawn(async move {
        let mut detecting = false;
        loop {
            let client = match crate::ZkClient::connect_url(&url, session_timeout).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("Failed to connect to {url}: {e}; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
            };
            let mut candidacy = match crate::group::Candidacy::join(
                &client,
                &url.path,
                MASTER_INFO_JSON_LABEL,
                data.as_bytes(),
            )
            .await
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("Failed to join {url}: {e}; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
            };
            if !detecting {
                detecting = true;
                spawn_master_detector(
                    url.clone(),
                    session_timeout,
                    Some(client.clone()),
                    tx.clone(),
                );
            }
            candidacy.lost().await;
            if tx.send(MasterEvent::CandidacyLost).is_err() {
                return;
            }
        }
    });
    Ok(())
}
