//! The client, contender and detector against a real ZooKeeper server
//! (skipped when Debian's `zookeeper` package is not installed).

use std::time::Duration;

use mesos_proto::mesos::MasterInfo;
use mesos_zookeeper::client::code;
use mesos_zookeeper::group::{Candidacy, Detector, Leader};
use mesos_zookeeper::master::{master_info_json, master_info_of, MASTER_INFO_JSON_LABEL};
use mesos_zookeeper::testing::ZkServer;
use mesos_zookeeper::{ZkClient, ZkUrl};

const TIMEOUT: Duration = Duration::from_secs(20);

async fn wait_leader(
    rx: &mut tokio::sync::watch::Receiver<Option<Leader>>,
    what: &str,
    pred: impl Fn(&Option<Leader>) -> bool,
) -> Option<Leader> {
    let got = tokio::time::timeout(TIMEOUT, rx.wait_for(|l| pred(l)))
        .await
        .map(|r| r.expect("detector gone").clone());
    match got {
        Ok(l) => l,
        Err(_) => panic!("timed out waiting for {what}; have {:?}", *rx.borrow()),
    }
}

fn info(id: &str, port: u32) -> MasterInfo {
    MasterInfo {
        id: id.into(),
        ip: 16777343,
        port,
        pid: Some(format!("master@127.0.0.1:{port}")),
        hostname: Some("localhost".into()),
        version: Some("1.9.0".into()),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_operations_and_leader_election() {
    let Some(zk) = ZkServer::start() else { return };
    let servers = vec![zk.servers()];
    let session = Duration::from_secs(10);
    let c = ZkClient::connect(&servers, session, None).await.unwrap();
    assert_ne!(c.session_id(), 0);

    // Plain operations.
    c.create_all("/a/b/c").await.unwrap();
    assert!(c.exists("/a/b/c", false).await.unwrap().is_some());
    let p = c.create("/a/b/c/n_", b"hello", true, true).await.unwrap();
    assert!(
        p.starts_with("/a/b/c/n_") && p.len() == "/a/b/c/n_".len() + 10,
        "{p}"
    );
    assert_eq!(
        c.get_data(&p, false).await.unwrap().unwrap().as_ref(),
        b"hello"
    );
    assert_eq!(
        c.get_children("/a/b/c", false).await.unwrap(),
        vec![p[7..].to_string()]
    );
    let e = c.create("/a", b"", false, false).await.unwrap_err();
    assert!(e.is_code(code::NODE_EXISTS), "{e}");
    let e = c.delete("/a/b").await.unwrap_err();
    assert!(e.is_code(code::NOT_EMPTY), "{e}");
    c.delete(&p).await.unwrap();
    assert_eq!(c.get_data(&p, false).await.unwrap(), None);
    assert_eq!(c.exists(&p, false).await.unwrap(), None);

    // Election: the detector starts before any member exists.
    let url = ZkUrl::parse(&zk.url("/mesos")).unwrap();
    let detector = Detector::spawn(url.clone(), session, None);
    let mut rx = detector.watch();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(detector.leader(), None);

    let s1 = ZkClient::connect(&servers, session, None).await.unwrap();
    let s2 = ZkClient::connect(&servers, session, None).await.unwrap();
    let s3 = ZkClient::connect(&servers, session, None).await.unwrap();
    let i1 = info("one", 5051);
    let i2 = info("two", 5052);
    let json1 = master_info_json(&i1).unwrap();
    let c1 = Candidacy::join(&s1, "/mesos", MASTER_INFO_JSON_LABEL, json1.as_bytes())
        .await
        .unwrap();
    let mut c2 = Candidacy::join(
        &s2,
        "/mesos",
        MASTER_INFO_JSON_LABEL,
        master_info_json(&i2).unwrap().as_bytes(),
    )
    .await
    .unwrap();
    assert!(c1.membership.sequence < c2.membership.sequence);
    assert_eq!(c1.membership.label.as_deref(), Some("json.info"));
    assert!(c1.path.starts_with("/mesos/json.info_"));

    let l = wait_leader(&mut rx, "the first leader", |l| l.is_some())
        .await
        .unwrap();
    assert_eq!(l.membership, c1.membership);
    assert_eq!(l.data.as_ref(), json1.as_bytes());
    assert_eq!(master_info_of(&l).unwrap(), i1);

    // A third candidate with the older binary format does not change the
    // leader (higher sequence).
    let c3 = Candidacy::join(&s3, "/mesos", "info", b"").await.unwrap();
    assert!(c3.membership.sequence > c2.membership.sequence);

    // The leader's session closes: its ephemeral znode goes and the next
    // lowest sequence leads.
    s1.close().await;
    let l = wait_leader(&mut rx, "the second leader", |l| {
        l.as_ref().map(|l| l.membership.sequence) != Some(c1.membership.sequence)
    })
    .await
    .unwrap();
    assert_eq!(l.membership, c2.membership);
    assert_eq!(master_info_of(&l).unwrap(), i2);
    assert!(!c2.is_lost());

    // Deleting a candidate's znode loses its candidacy.
    s3.delete(&c2.path).await.unwrap();
    tokio::time::timeout(TIMEOUT, c2.lost())
        .await
        .expect("candidacy not lost");
    let l = wait_leader(&mut rx, "the third leader", |l| {
        l.as_ref().map(|l| l.membership.sequence) == Some(c3.membership.sequence)
    })
    .await;
    assert_eq!(l.unwrap().membership.label.as_deref(), Some("info"));
    c3.withdraw().await.unwrap();
    wait_leader(&mut rx, "no leader", |l| l.is_none()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restart_keeps_or_expires_sessions() {
    let Some(zk) = ZkServer::start() else { return };
    let servers = vec![zk.servers()];
    // Upstream masters default to 10 s; a short one keeps the test fast.
    let c = ZkClient::connect(&servers, Duration::from_secs(4), None)
        .await
        .unwrap();
    let mut events = c.subscribe();
    let mut cand = Candidacy::join(&c, "/m", MASTER_INFO_JSON_LABEL, b"{}")
        .await
        .unwrap();
    // The server goes away for good: the client gives up after the session
    // timeout, reports expiry and the candidacy is lost.
    drop(zk);
    let expired = tokio::time::timeout(TIMEOUT, async {
        loop {
            match events.recv().await {
                Ok(mesos_zookeeper::ZkEvent::Expired) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    })
    .await
    .expect("no expiry");
    assert!(expired);
    tokio::time::timeout(TIMEOUT, cand.lost())
        .await
        .expect("candidacy not lost");
    let e = c.get_children("/m", false).await.unwrap_err();
    assert!(e.is_fatal(), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_credentials_protect_created_nodes() {
    let Some(zk) = ZkServer::start() else { return };
    let url = ZkUrl::parse(&format!("zk://jo:secret@{}/sec", zk.servers())).unwrap();
    let owner = ZkClient::connect_url(&url, Duration::from_secs(10))
        .await
        .unwrap();
    let c = Candidacy::join(&owner, &url.path, MASTER_INFO_JSON_LABEL, b"{}")
        .await
        .unwrap();
    // Everyone may read (detectors need no credentials)...
    let anon = ZkClient::connect(&[zk.servers()], Duration::from_secs(10), None)
        .await
        .unwrap();
    assert_eq!(
        anon.get_data(&c.path, false)
            .await
            .unwrap()
            .unwrap()
            .as_ref(),
        b"{}"
    );
    // ...but only the creator may change the group.
    let e = anon.create("/sec/x", b"", false, false).await.unwrap_err();
    assert!(e.is_code(code::NO_AUTH), "{e}");
    let other = ZkClient::connect(
        &[zk.servers()],
        Duration::from_secs(10),
        Some(("jo".into(), "secret".into())),
    )
    .await
    .unwrap();
    other.create("/sec/x", b"", false, false).await.unwrap();
}
