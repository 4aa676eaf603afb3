//! A server that speaks nonsense never panics the client: the connection
//! is dropped, and with no server to resume on the session expires.

use std::time::Duration;

use mesos_zookeeper::{ZkClient, ZkError, ZkEvent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

async fn handshake_then(reply: Vec<u8>) -> (String, tokio::task::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let h = tokio::spawn(async move {
        // Serve one connection, then refuse the rest (listener dropped).
        let (mut s, _) = l.accept().await.unwrap();
        drop(l);
        let mut len = [0u8; 4];
        s.read_exact(&mut len).await.unwrap();
        let mut req = vec![0u8; u32::from_be_bytes(len) as usize];
        s.read_exact(&mut req).await.unwrap();
        // ConnectResponse: version, timeout 1000 ms, session id, passwd.
        let mut resp = Vec::new();
        resp.extend_from_slice(&0i32.to_be_bytes());
        resp.extend_from_slice(&1000i32.to_be_bytes());
        resp.extend_from_slice(&0x1234i64.to_be_bytes());
        resp.extend_from_slice(&16i32.to_be_bytes());
        resp.extend_from_slice(&[0u8; 16]);
        s.write_all(&(resp.len() as i32).to_be_bytes())
            .await
            .unwrap();
        s.write_all(&resp).await.unwrap();
        // Wait for the first request, then answer garbage.
        let mut buf = [0u8; 256];
        let _ = s.read(&mut buf).await;
        let _ = s.write_all(&reply).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    });
    (addr, h)
}

async fn check(reply: Vec<u8>) {
    check_err(reply, |e| {
        matches!(e, ZkError::ConnectionLoss | ZkError::SessionExpired)
    })
    .await
}

async fn check_err(reply: Vec<u8>, ok: impl Fn(&ZkError) -> bool) {
    let (addr, server) = handshake_then(reply).await;
    let c = ZkClient::connect(&[addr], Duration::from_secs(1), None)
        .await
        .unwrap();
    assert_eq!(c.session_id(), 0x1234);
    let mut events = c.subscribe();
    let e = c.get_children("/x", false).await.unwrap_err();
    assert!(ok(&e), "{e}");
    let expired = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(ZkEvent::Expired) = events.recv().await {
                return;
            }
        }
    })
    .await;
    assert!(expired.is_ok(), "no expiry");
    assert_eq!(
        c.exists("/x", false).await.unwrap_err(),
        ZkError::SessionExpired
    );
    let _ = server.await;
}

#[tokio::test]
async fn huge_frame_length() {
    check(i32::MAX.to_be_bytes().to_vec()).await;
}

#[tokio::test]
async fn negative_frame_length() {
    check((-5i32).to_be_bytes().to_vec()).await;
}

#[tokio::test]
async fn truncated_reply_header() {
    let mut f = 3i32.to_be_bytes().to_vec();
    f.extend_from_slice(&[1, 2, 3]);
    check(f).await;
}

#[tokio::test]
async fn reply_for_an_unknown_request() {
    // A well-formed header with xid 99 and a short children list.
    let mut body = Vec::new();
    body.extend_from_slice(&99i32.to_be_bytes());
    body.extend_from_slice(&0i64.to_be_bytes());
    body.extend_from_slice(&0i32.to_be_bytes());
    body.extend_from_slice(&7i32.to_be_bytes());
    let mut f = (body.len() as i32).to_be_bytes().to_vec();
    f.extend_from_slice(&body);
    check(f).await;
}

#[tokio::test]
async fn children_count_larger_than_the_reply() {
    // The answer to our request (xid 1) claims 2^31-1 children.
    let mut body = Vec::new();
    body.extend_from_slice(&1i32.to_be_bytes());
    body.extend_from_slice(&0i64.to_be_bytes());
    body.extend_from_slice(&0i32.to_be_bytes());
    body.extend_from_slice(&i32::MAX.to_be_bytes());
    let mut f = (body.len() as i32).to_be_bytes().to_vec();
    f.extend_from_slice(&body);
    check_err(f, |e| matches!(e, ZkError::Protocol(_))).await;
}
