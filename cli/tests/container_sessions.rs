//! Container sessions and attach on OUR agent's operator API:
//! `LAUNCH_NESTED_CONTAINER_SESSION`, `ATTACH_CONTAINER_INPUT`,
//! `ATTACH_CONTAINER_OUTPUT` (upstream src/slave/http.cpp and the I/O
//! switchboard, src/slave/containerizer/mesos/io/switchboard.cpp; upstream
//! tests: src/tests/api_tests.cpp `AgentAPITest.LaunchNestedContainerSession*`,
//! `AttachContainerInput*`). A v1 scheduler (Python, stdlib only) keeps a
//! default-executor task group running; sessions are nested under its
//! container, as upstream's tests nest them under a parent container.
//!
//! - `cat_session_echoes_attached_input_in_json_and_protobuf`: `cat` in a
//!   session, input through a streamed `ATTACH_CONTAINER_INPUT`, read back
//!   from the session (RecordIO of JSON `ProcessIO`) and from a second
//!   client on `ATTACH_CONTAINER_OUTPUT` (protobuf); a second input client
//!   gets 409; a malformed input record gets 400; EOF ends `cat`, the
//!   session stream and the container (WAIT answers 0).
//! - `tty_session_has_a_terminal_and_dies_with_its_client`: `tty_info`
//!   gives the session a terminal (`tty`, `stty size` after `TTY_INFO`);
//!   closing the session's connection kills the container (WAIT answers
//!   SIGKILL).
//! - `bad_session_calls_get_upstreams_4xx`: unknown containers (404),
//!   media-type errors (400/406/415), malformed records (400), a container
//!   without a switchboard (400); the agent stays healthy.
//! - `containers_without_a_switchboard_refuse_attach`: a plain nested
//!   container refuses attach (400), an unknown one is 404; a plain launch
//!   with `tty_info` gets a switchboard (sandbox output, attach works).
//!
//! - `error_answers_match_the_real_agent`: media-type, validation and
//!   unknown-container answers compared (status and text) with the real
//!   1.9.0 agent of the reference kit (skipped without it).
//!
//! The real 1.9.0 kit has no `mesos-io-switchboard` helper, so the session
//! framing is checked against upstream's code, not against a real agent.
//! Needs `python3`; no root.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{
    free_port, http_get, http_post_json, kill_processes_under, start_master, wait_until, Guard,
    MasterKind,
};
use serde_json::{json, Value};

/// A v1 scheduler that launches one default-executor task group of one
/// `sleep 1000` task and acknowledges updates until killed.
const SCHEDULER: &str = r#"
import http.client, json, sys
master = sys.argv[1]; host, port = master.split(":")
stream_id = None
def call(body):
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    c.request("POST", "/api/v1/scheduler", body=json.dumps(body).encode(),
              headers={"Content-Type": "application/json", "Mesos-Stream-Id": stream_id})
    r = c.getresponse(); data = r.read(); c.close()
    if r.status != 202: print("CALL", body["type"], r.status, data.decode(), flush=True)
conn = http.client.HTTPConnection(host, int(port))
conn.request("POST", "/api/v1/scheduler", body=json.dumps({"type": "SUBSCRIBE", "subscribe": {
    "framework_info": {"user": "root", "name": "sessions", "roles": ["*"],
                       "capabilities": [{"type": "MULTI_ROLE"}]}}}).encode(),
    headers={"Content-Type": "application/json", "Accept": "application/json"})
resp = conn.getresponse(); buf = b""; launched = False; fid = None
while True:
    chunk = resp.read1(65536)
    if not chunk: sys.exit(4)
    buf += chunk
    while True:
        nl = buf.find(b"\n")
        if nl < 0: break
        n = int(buf[:nl])
        if len(buf) < nl + 1 + n: break
        ev = json.loads(buf[nl + 1:nl + 1 + n]); buf = buf[nl + 1 + n:]
        if ev["type"] == "SUBSCRIBED":
            stream_id = resp.getheader("Mesos-Stream-Id"); fid = ev["subscribed"]["framework_id"]
        elif ev["type"] == "OFFERS":
            for o in ev["offers"]["offers"]:
                if launched:
                    call({"type": "DECLINE", "framework_id": fid, "decline": {"offer_ids": [o["id"]]}}); continue
                def res(cpus, mem, disk):
                    out = []
                    for r in o["resources"]:
                        want = {"cpus": cpus, "mem": mem, "disk": disk}.get(r["name"])
                        if want:
                            r = dict(r); r["scalar"] = {"value": want}; out.append(r)
                    return out
                ex = {"type": "DEFAULT", "executor_id": {"value": "default-exec"}, "framework_id": fid,
                      "resources": res(0.1, 32, 32)}
                task = {"name": "t", "task_id": {"value": "a"}, "agent_id": o["agent_id"],
                        "resources": res(0.1, 32, 0), "command": {"value": "sleep 1000"}}
                call({"type": "ACCEPT", "framework_id": fid, "accept": {"offer_ids": [o["id"]], "operations": [
                    {"type": "LAUNCH_GROUP", "launch_group": {"executor": ex, "task_group": {"tasks": [task]}}}]}})
                launched = True
        elif ev["type"] == "UPDATE":
            st = ev["update"]["status"]; print("STATUS", st["state"], flush=True)
            if "uuid" in st:
                call({"type": "ACKNOWLEDGE", "framework_id": fid, "acknowledge": {
                      "agent_id": st["agent_id"], "task_id": st["task_id"], "uuid": st["uuid"]}})
"#;

const T: Duration = Duration::from_secs(30);

struct Cluster {
    dir: PathBuf,
    master_port: u16,
    agent_port: u16,
    _master: Guard,
    _agent: Guard,
    _scheduler: Option<Guard>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        kill_processes_under(&self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Cluster {
    /// Our master and agent; with `executor`, a running default executor
    /// whose container id is returned too.
    fn start(name: &str, executor: bool) -> (Cluster, Option<String>) {
        let dir = std::env::temp_dir().join(format!(
            "sessions-{name}-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let (master_port, agent_port) = (free_port(), free_port());
        let log = |n: &str| std::fs::File::create(dir.join(n)).unwrap();
        let master = start_master(MasterKind::Ours, master_port, &dir, &[]);
        let agent = Guard(Some(
            Command::new(env!("CARGO_BIN_EXE_mesos-agent"))
                .arg(format!("--master=127.0.0.1:{master_port}"))
                .arg(format!("--work_dir={}", dir.join("work").display()))
                .arg(format!("--runtime_dir={}", dir.join("runtime").display()))
                .arg(format!("--port={agent_port}"))
                .arg("--ip=127.0.0.1")
                .arg("--resources=cpus:2;mem:1024;disk:1024")
                .arg("--http_heartbeat_interval=1secs")
                .env_remove("MESOS_WORK_DIR")
                .stdout(Stdio::null())
                .stderr(log("agent.log"))
                .spawn()
                .expect("start mesos-agent"),
        ));
        let mut c = Cluster {
            dir: dir.clone(),
            master_port,
            agent_port,
            _master: master,
            _agent: agent,
            _scheduler: None,
        };
        assert!(
            wait_until(T, || {
                let (_, b) = http_get(c.master_port, "/master/slaves")?;
                let v: Value = serde_json::from_str(&b).ok()?;
                (v["slaves"].as_array()?.len() == 1).then_some(())
            })
            .is_some(),
            "agent did not register:\n{}",
            c.log("agent.log")
        );
        if !executor {
            return (c, None);
        }
        let slog = std::fs::File::create(c.dir.join("scheduler.log")).unwrap();
        c._scheduler = Some(Guard(Some(
            Command::new("python3")
                .arg("-c")
                .arg(SCHEDULER)
                .arg(format!("127.0.0.1:{master_port}"))
                .stdout(slog.try_clone().unwrap())
                .stderr(slog)
                .spawn()
                .expect("start python3"),
        )));
        let parent = wait_until(Duration::from_secs(60), || {
            let (_, b) = http_get(c.agent_port, "/state")?;
            let v: Value = serde_json::from_str(&b).ok()?;
            let e = v["frameworks"][0]["executors"].as_array()?.first()?.clone();
            (e["tasks"][0]["state"] == "TASK_RUNNING").then_some(())?;
            Some(e["container"].as_str()?.to_string())
        })
        .unwrap_or_else(|| {
            panic!(
                "no running executor:\n{}\n{}",
                c.log("scheduler.log"),
                c.log("agent.log")
            )
        });
        (c, Some(parent))
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }
}

/// A raw HTTP/1.1 connection to the agent's `/api/v1`.
struct Conn {
    s: TcpStream,
    buf: Vec<u8>,
}

/// A decoded response head.
struct Head {
    status: u16,
    headers: Vec<(String, String)>,
    chunked: bool,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Conn {
    fn open(port: u16) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(T)).unwrap();
        Conn { s, buf: Vec::new() }
    }

    /// A POST with a Content-Length body.
    fn post(port: u16, headers: &[(&str, &str)], body: &[u8]) -> Conn {
        let mut c = Conn::open(port);
        let mut h = format!(
            "POST /api/v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            h.push_str(&format!("{k}: {v}\r\n"));
        }
        h.push_str("\r\n");
        c.s.write_all(h.as_bytes()).unwrap();
        c.s.write_all(body).unwrap();
        c
    }

    /// Starts a POST with a chunked body.
    fn post_chunked(port: u16, headers: &[(&str, &str)]) -> Conn {
        let mut c = Conn::open(port);
        let mut h = "POST /api/v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            .to_string();
        for (k, v) in headers {
            h.push_str(&format!("{k}: {v}\r\n"));
        }
        h.push_str("\r\n");
        c.s.write_all(h.as_bytes()).unwrap();
        c
    }

    fn chunk(&mut self, data: &[u8]) {
        let mut out = format!("{:x}\r\n", data.len()).into_bytes();
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
        self.s.write_all(&out).unwrap();
    }

    fn end_body(&mut self) {
        self.s.write_all(b"0\r\n\r\n").unwrap();
    }

    fn fill(&mut self) -> bool {
        let mut tmp = [0u8; 65536];
        match self.s.read(&mut tmp) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&tmp[..n]);
                true
            }
        }
    }

    fn head(&mut self) -> Head {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let text = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                self.buf.drain(..end + 4);
                let mut lines = text.lines();
                let status = lines
                    .next()
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let headers: Vec<(String, String)> = lines
                    .filter_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        Some((k.trim().to_string(), v.trim().to_string()))
                    })
                    .collect();
                let chunked = headers.iter().any(|(k, v)| {
                    k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked")
                });
                return Head {
                    status,
                    headers,
                    chunked,
                };
            }
            assert!(self.fill(), "connection closed before a response head");
        }
    }

    /// A whole (Content-Length) response: status and body.
    fn response(&mut self) -> (u16, String) {
        let h = self.head();
        let len: usize = h
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while self.buf.len() < len {
            assert!(self.fill(), "connection closed inside a body");
        }
        let body = String::from_utf8_lossy(&self.buf[..len]).into_owned();
        self.buf.drain(..len);
        (h.status, body)
    }

    /// The next chunk of a chunked body; `None` at its end.
    fn next_chunk(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(nl) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let size = usize::from_str_radix(
                    String::from_utf8_lossy(&self.buf[..nl])
                        .split(';')
                        .next()
                        .unwrap_or("")
                        .trim(),
                    16,
                )
                .expect("chunk size");
                if self.buf.len() >= nl + 2 + size + 2 {
                    let data = self.buf[nl + 2..nl + 2 + size].to_vec();
                    self.buf.drain(..nl + 2 + size + 2);
                    return (size > 0).then_some(data);
                }
            }
            if !self.fill() {
                return None;
            }
        }
    }
}

/// Reads RecordIO records off a chunked response.
struct Records {
    conn: Conn,
    pending: Vec<u8>,
    ended: bool,
}

impl Records {
    fn new(conn: Conn) -> Records {
        Records {
            conn,
            pending: Vec::new(),
            ended: false,
        }
    }

    /// The next record, `None` once the body ended.
    fn next(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(nl) = self.pending.iter().position(|b| *b == b'\n') {
                let n: usize = String::from_utf8_lossy(&self.pending[..nl])
                    .parse()
                    .expect("record length");
                if self.pending.len() >= nl + 1 + n {
                    let r = self.pending[nl + 1..nl + 1 + n].to_vec();
                    self.pending.drain(..nl + 1 + n);
                    return Some(r);
                }
            }
            if self.ended {
                return None;
            }
            match self.conn.next_chunk() {
                Some(c) => self.pending.extend_from_slice(&c),
                None => self.ended = true,
            }
        }
    }
}

/// Decodes one `ProcessIO` record (JSON or protobuf) to its JSON form.
fn process_io(record: &[u8], protobuf: bool) -> Value {
    if protobuf {
        use prost::Message;
        let m =
            mesos_proto::mesos::v1::agent::ProcessIo::decode(record).expect("protobuf ProcessIO");
        mesos_proto::json::to_json_value(&m).unwrap()
    } else {
        serde_json::from_slice(record).expect("JSON ProcessIO")
    }
}

/// Reads output records until `pred` holds on the collected stdout text.
fn read_stdout_until(records: &mut Records, protobuf: bool, pred: impl Fn(&str) -> bool) -> String {
    let mut out = String::new();
    let end = Instant::now() + T;
    while Instant::now() < end {
        let Some(r) = records.next() else {
            break;
        };
        let v = process_io(&r, protobuf);
        if v["type"] == "DATA" && v["data"]["type"] == "STDOUT" {
            let m: mesos_proto::mesos::v1::agent::ProcessIo =
                mesos_proto::json::from_json_value(&v).expect("ProcessIO JSON");
            let d = m.data.and_then(|d| d.data).unwrap_or_default();
            out.push_str(&String::from_utf8_lossy(&d));
        }
        if pred(&out) {
            return out;
        }
    }
    panic!("output never matched; got {out:?}");
}

fn cid(value: &str, parent: &str) -> Value {
    json!({"value": value, "parent": {"value": parent}})
}

fn recordio(body: &[u8]) -> Vec<u8> {
    let mut v = format!("{}\n", body.len()).into_bytes();
    v.extend_from_slice(body);
    v
}

/// An `ATTACH_CONTAINER_INPUT` record in JSON.
fn input_record(process_io: Value) -> Vec<u8> {
    recordio(
        json!({"type": "ATTACH_CONTAINER_INPUT", "attach_container_input": {
            "type": "PROCESS_IO", "process_io": process_io}})
        .to_string()
        .as_bytes(),
    )
}

fn stdin(data: &[u8]) -> Value {
    use mesos_proto::mesos::v1::agent::process_io;
    let m = mesos_proto::mesos::v1::agent::ProcessIo {
        r#type: Some(process_io::Type::Data as i32),
        data: Some(process_io::Data {
            r#type: Some(process_io::data::Type::Stdin as i32),
            data: Some(bytes::Bytes::copy_from_slice(data)),
        }),
        control: None,
    };
    mesos_proto::json::to_json_value(&m).unwrap()
}

/// Opens an input stream for `id` (JSON records); the first record is sent.
fn attach_input(port: u16, id: &Value) -> Conn {
    let mut c = Conn::post_chunked(
        port,
        &[
            ("Content-Type", "application/recordio"),
            ("Message-Content-Type", "application/json"),
            ("Accept", "application/json"),
        ],
    );
    c.chunk(&recordio(
        json!({"type": "ATTACH_CONTAINER_INPUT", "attach_container_input": {
            "type": "CONTAINER_ID", "container_id": id}})
        .to_string()
        .as_bytes(),
    ));
    c
}

fn wait_status(port: u16, id: &Value) -> (u16, Value) {
    let (s, b) = http_post_json(
        port,
        "/api/v1",
        &json!({"type": "WAIT_NESTED_CONTAINER", "wait_nested_container": {"container_id": id}})
            .to_string(),
    )
    .expect("WAIT answers");
    (s, serde_json::from_str(&b).unwrap_or(Value::Null))
}

#[test]
fn cat_session_echoes_attached_input_in_json_and_protobuf() {
    if !common::python_present() {
        return;
    }
    let (c, parent) = Cluster::start("cat", true);
    let parent = parent.unwrap();
    let port = c.agent_port;
    let id = cid("cat-session", &parent);
    let launch = json!({"type": "LAUNCH_NESTED_CONTAINER_SESSION",
        "launch_nested_container_session": {"container_id": id, "command": {"value": "cat"}}});
    let mut session = Conn::post(
        port,
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/recordio"),
            ("Message-Accept", "application/json"),
        ],
        launch.to_string().as_bytes(),
    );
    let h = session.head();
    assert_eq!(h.status, 200, "{}", c.log("agent.log"));
    assert!(h.chunked);
    assert_eq!(h.header("content-type"), Some("application/recordio"));
    assert_eq!(h.header("message-content-type"), Some("application/json"));
    let mut out = Records::new(session);

    // A second client on the output, in protobuf (Accept without RecordIO:
    // the records are still RecordIO-framed, as upstream).
    let attach = json!({"type": "ATTACH_CONTAINER_OUTPUT",
        "attach_container_output": {"container_id": id}});
    let mut watcher = Conn::post(
        port,
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/x-protobuf"),
        ],
        attach.to_string().as_bytes(),
    );
    let h = watcher.head();
    assert_eq!(h.status, 200);
    assert_eq!(h.header("content-type"), Some("application/x-protobuf"));
    assert_eq!(h.header("message-content-type"), None);
    let mut watched = Records::new(watcher);

    let mut input = attach_input(port, &id);
    input.chunk(&input_record(stdin(b"hello session\n")));
    // Records split across chunks are reassembled.
    let rec = input_record(stdin(b"second line\n"));
    let (a, b) = rec.split_at(7);
    input.chunk(a);
    input.chunk(b);
    let got = read_stdout_until(&mut out, false, |s| s.contains("second line\n"));
    assert_eq!(got, "hello session\nsecond line\n");
    let got = read_stdout_until(&mut watched, true, |s| s.contains("second line\n"));
    assert_eq!(got, "hello session\nsecond line\n");

    // Only one input client at a time.
    let mut other = attach_input(port, &id);
    other.end_body();
    let (s, b) = other.response();
    assert_eq!(
        (s, b.as_str()),
        (409, "Multiple input connections are not allowed")
    );

    // A bad record ends that input with 400; the container lives on.
    input.chunk(&input_record(
        json!({"type": "DATA", "data": {"type": "STDOUT", "data": ""}}),
    ));
    let (s, b) = input.response();
    assert_eq!(
        (s, b.as_str()),
        (400, "Expecting 'process_io.data.type' to be 'STDIN'")
    );

    // A protobuf input client: more data, then EOF (empty data) and the end.
    let mut pb = Conn::post_chunked(
        port,
        &[
            ("Content-Type", "application/recordio"),
            ("Message-Content-Type", "application/x-protobuf"),
            ("Accept", "application/json"),
        ],
    );
    use mesos_proto::mesos::v1::agent as v1;
    use prost::Message;
    let mut first: v1::Call = mesos_proto::json::from_json_value(&json!({
        "type": "ATTACH_CONTAINER_INPUT",
        "attach_container_input": {"type": "CONTAINER_ID", "container_id": id}}))
    .unwrap();
    pb.chunk(&recordio(&first.encode_to_vec()));
    for data in [&b"from protobuf\n"[..], b""] {
        first = mesos_proto::json::from_json_value(&json!({
            "type": "ATTACH_CONTAINER_INPUT",
            "attach_container_input": {"type": "PROCESS_IO", "process_io": stdin(data)}}))
        .unwrap();
        pb.chunk(&recordio(&first.encode_to_vec()));
    }
    pb.end_body();
    let (s, b) = pb.response();
    assert_eq!((s, b.as_str()), (200, ""));
    let got = read_stdout_until(&mut out, false, |s| s.contains("from protobuf\n"));
    assert_eq!(got, "from protobuf\n");
    // stdin closed: cat exits, the session stream ends, WAIT answers 0.
    assert_eq!(
        out.next().map(|r| process_io(&r, false)["type"].clone()),
        None
    );
    let (s, v) = wait_status(port, &id);
    assert_eq!(s, 200);
    assert_eq!(v["wait_nested_container"]["exit_status"], 0, "{v}");
    // The output also reached the sandbox's stdout file.
    let sandbox_out = wait_until(T, || {
        let found = walk(&c.dir.join("work"), "cat-session");
        std::fs::read_to_string(found?.join("stdout")).ok()
    })
    .unwrap();
    assert!(sandbox_out.contains("hello session\nsecond line\nfrom protobuf\n"));
    // The container is gone: attaching now is refused.
    let (s, _) = Conn::post(
        port,
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/json"),
        ],
        attach.to_string().as_bytes(),
    )
    .response();
    assert!(s == 400 || s == 404, "{s}");
}

/// The first directory named `name` under `dir`.
fn walk(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if !p.is_dir() || p.is_symlink() {
            continue;
        }
        if e.file_name() == name {
            return Some(p);
        }
        if let Some(f) = walk(&p, name) {
            return Some(f);
        }
    }
    None
}

#[test]
fn tty_session_has_a_terminal_and_dies_with_its_client() {
    if !common::python_present() {
        return;
    }
    let (c, parent) = Cluster::start("tty", true);
    let parent = parent.unwrap();
    let port = c.agent_port;
    let id = cid("tty-session", &parent);
    let launch = json!({"type": "LAUNCH_NESTED_CONTAINER_SESSION",
        "launch_nested_container_session": {"container_id": id,
            "command": {"value": "read line; tty; stty size; echo got-$line; sleep 1000"},
            "container": {"type": "MESOS", "tty_info": {}}}});
    let mut session = Conn::post(
        port,
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/recordio"),
            ("Message-Accept", "application/x-protobuf"),
        ],
        launch.to_string().as_bytes(),
    );
    let h = session.head();
    assert_eq!(h.status, 200, "{}", c.log("agent.log"));
    assert_eq!(
        h.header("message-content-type"),
        Some("application/x-protobuf")
    );
    let mut out = Records::new(session);
    let mut input = attach_input(port, &id);
    input.chunk(&input_record(
        json!({"type": "CONTROL", "control": {"type": "TTY_INFO",
        "tty_info": {"window_size": {"rows": 33, "columns": 99}}}}),
    ));
    input.chunk(&input_record(
        json!({"type": "CONTROL", "control": {"type": "HEARTBEAT",
        "heartbeat": {"interval": {"nanoseconds": 1000000000}}}}),
    ));
    input.chunk(&input_record(stdin(b"go\n")));
    input.end_body();
    let (s, _) = input.response();
    assert_eq!(s, 200);
    let got = read_stdout_until(&mut out, true, |s| s.contains("got-go"));
    assert!(got.contains("/dev/pts/"), "tty reports a terminal: {got:?}");
    assert!(got.contains("33 99"), "the window size was set: {got:?}");
    // Heartbeats arrive on the output stream (--http_heartbeat_interval=1secs).
    let beat = (0..20).find_map(|_| {
        let v = process_io(&out.next()?, true);
        (v["type"] == "CONTROL").then_some(v)
    });
    let beat = beat.expect("a heartbeat");
    assert_eq!(beat["control"]["type"], "HEARTBEAT");
    assert_eq!(
        beat["control"]["heartbeat"]["interval"]["nanoseconds"],
        1_000_000_000
    );
    // Closing the session's connection destroys the container.
    drop(out);
    let (s, v) = wait_status(port, &id);
    assert_eq!(s, 200);
    assert_eq!(
        v["wait_nested_container"]["exit_status"],
        libc_sigkill(),
        "killed by SIGKILL: {v}"
    );
}

/// A wait status for "killed by SIGKILL".
fn libc_sigkill() -> i64 {
    9
}

#[test]
fn bad_session_calls_get_upstreams_4xx() {
    let (c, _) = Cluster::start("bad", false);
    let port = c.agent_port;
    let json_h = [
        ("Content-Type", "application/json"),
        ("Accept", "application/json"),
    ];
    let post = |body: Value| Conn::post(port, &json_h, body.to_string().as_bytes()).response();
    // Unknown containers.
    let (s, b) = post(json!({"type": "ATTACH_CONTAINER_OUTPUT",
        "attach_container_output": {"container_id": cid("x", "nope")}}));
    assert_eq!((s, b.as_str()), (404, "Container nope.x cannot be found"));
    let mut i = attach_input(port, &cid("x", "nope"));
    i.end_body();
    let (s, b) = i.response();
    assert_eq!((s, b.as_str()), (404, "Container nope.x cannot be found"));
    let (s, b) = post(json!({"type": "LAUNCH_NESTED_CONTAINER_SESSION",
        "launch_nested_container_session": {"container_id": cid("x", "nope"),
            "command": {"value": "true"}}}));
    assert_eq!(
        (s, b.as_str()),
        (400, "Parent container nope does not exist")
    );
    // Validation.
    let (s, b) = post(json!({"type": "LAUNCH_NESTED_CONTAINER_SESSION",
        "launch_nested_container_session": {"container_id": {"value": "x"}}}));
    assert_eq!(
        (s, b.as_str()),
        (400, "Failed to validate agent::Call: Expecting 'launch_nested_container_session.container_id.parent' to be present")
    );
    // Media types.
    let (s, b) = post(json!({"type": "ATTACH_CONTAINER_INPUT",
        "attach_container_input": {"type": "CONTAINER_ID", "container_id": cid("x", "p")}}));
    assert_eq!(
        (s, b.as_str()),
        (
            415,
            "Expecting 'Content-Type' to be application/recordio for ATTACH_CONTAINER_INPUT call"
        )
    );
    let (s, b) = Conn::post(
        port,
        &[("Content-Type", "application/recordio")],
        &recordio(b"{}"),
    )
    .response();
    assert_eq!(
        (s, b.as_str()),
        (
            400,
            "Expecting 'Message-Content-Type' to be set for streaming requests"
        )
    );
    let out = json!({"type": "ATTACH_CONTAINER_OUTPUT",
        "attach_container_output": {"container_id": cid("x", "p")}});
    let (s, b) = Conn::post(
        port,
        &[
            ("Content-Type", "application/recordio"),
            ("Message-Content-Type", "application/json"),
        ],
        &recordio(out.to_string().as_bytes()),
    )
    .response();
    assert_eq!(
        (s, b.as_str()),
        (415, "Streaming 'Content-Type' application/recordio is not supported for ATTACH_CONTAINER_OUTPUT call")
    );
    let (s, _) = Conn::post(
        port,
        &[
            ("Content-Type", "application/json"),
            ("Accept", "text/html"),
        ],
        out.to_string().as_bytes(),
    )
    .response();
    assert_eq!(s, 406);
    // Malformed records: a bad length, a truncated record, a bad first call.
    for body in [&b"abc\n{}"[..], b"100\n{\"type\"", b"2\n{]"] {
        let mut i = Conn::post_chunked(
            port,
            &[
                ("Content-Type", "application/recordio"),
                ("Message-Content-Type", "application/json"),
            ],
        );
        i.chunk(body);
        i.end_body();
        let (s, b) = i.response();
        assert_eq!(s, 400, "{body:?}: {b}");
    }
    let mut i = Conn::post_chunked(
        port,
        &[
            ("Content-Type", "application/recordio"),
            ("Message-Content-Type", "application/json"),
        ],
    );
    i.end_body();
    let (s, b) = i.response();
    assert_eq!(
        (s, b.as_str()),
        (400, "Received EOF while reading request body")
    );
    // Mutated streamed calls (seeded byte flips, cuts and splices) get 4xx
    // answers, never a 5xx or a dropped connection.
    let valid = [
        recordio(
            json!({"type": "ATTACH_CONTAINER_INPUT", "attach_container_input": {
                "type": "CONTAINER_ID", "container_id": cid("x", "nope")}})
            .to_string()
            .as_bytes(),
        ),
        input_record(stdin(b"data")),
    ]
    .concat();
    let mut seed: u64 = 0x5e55_1013;
    let mut rnd = |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % n.max(1)
    };
    for _ in 0..150 {
        let mut body = valid.clone();
        for _ in 0..1 + rnd(4) {
            let i = rnd(body.len());
            match rnd(3) {
                0 => body[i] = rnd(256) as u8,
                1 => body.truncate(i),
                _ => body.insert(i, b"0123456789\n{}[]\"x"[rnd(17)]),
            }
            if body.is_empty() {
                break;
            }
        }
        let mut i = Conn::post_chunked(
            port,
            &[
                ("Content-Type", "application/recordio"),
                ("Message-Content-Type", "application/json"),
            ],
        );
        if !body.is_empty() {
            i.chunk(&body);
        }
        i.end_body();
        let (s, b) = i.response();
        assert!(
            (400..500).contains(&s),
            "{s} {b} for {:?}",
            String::from_utf8_lossy(&body)
        );
    }
    // Ordinary calls still work, also with a chunked body.
    let mut g = Conn::post_chunked(port, &json_h);
    g.chunk(br#"{"type":"#);
    g.chunk(br#""GET_HEALTH"}"#);
    g.end_body();
    let (s, b) = g.response();
    assert_eq!(s, 200, "{b}");
    assert!(b.contains("\"healthy\":true"), "{b}");
}

#[test]
fn containers_without_a_switchboard_refuse_attach() {
    if !common::python_present() {
        return;
    }
    let (c, parent) = Cluster::start("nosb", true);
    let parent = parent.unwrap();
    let port = c.agent_port;
    let id = cid("plain", &parent);
    let (s, b) = http_post_json(
        port,
        "/api/v1",
        &json!({"type": "LAUNCH_NESTED_CONTAINER", "launch_nested_container": {
            "container_id": id, "command": {"value": "sleep 1000"}}})
        .to_string(),
    )
    .unwrap();
    assert_eq!(s, 200, "{b}");
    let out = json!({"type": "ATTACH_CONTAINER_OUTPUT",
        "attach_container_output": {"container_id": id}});
    let (s, b) = http_post_json(port, "/api/v1", &out.to_string()).unwrap();
    assert_eq!(
        (s, b.as_str()),
        (
            400,
            "I/O switchboard server was disabled for this container"
        )
    );
    let mut i = attach_input(port, &id);
    i.end_body();
    assert_eq!(i.response().0, 400);
    let (s, b) = http_post_json(
        port,
        "/api/v1",
        &json!({"type": "ATTACH_CONTAINER_OUTPUT",
            "attach_container_output": {"container_id": cid("other", &parent)}})
        .to_string(),
    )
    .unwrap();
    assert_eq!(
        (s, b.as_str()),
        (404, &*format!("Unknown container {parent}.other"))
    );

    // A plain launch with `tty_info` has a switchboard (not waiting for a
    // client): its output reaches the sandbox and clients can attach.
    let tty = cid("tty-plain", &parent);
    let (s, b) = http_post_json(
        port,
        "/api/v1",
        &json!({"type": "LAUNCH_NESTED_CONTAINER", "launch_nested_container": {
            "container_id": tty, "container": {"type": "MESOS", "tty_info": {}},
            "command": {"value": "tty; cat"}}})
        .to_string(),
    )
    .unwrap();
    assert_eq!(s, 200, "{b}");
    let printed = wait_until(T, || {
        let d = walk(&c.dir.join("work"), "tty-plain")?;
        let out = std::fs::read_to_string(d.join("stdout")).ok()?;
        out.contains("/dev/pts/").then_some(out)
    });
    assert!(printed.is_some(), "tty output reaches the sandbox");
    let mut watcher = Conn::post(
        port,
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/json"),
        ],
        json!({"type": "ATTACH_CONTAINER_OUTPUT",
            "attach_container_output": {"container_id": tty}})
        .to_string()
        .as_bytes(),
    );
    assert_eq!(watcher.head().status, 200);
    let mut watched = Records::new(watcher);
    let mut input = attach_input(port, &tty);
    input.chunk(&input_record(stdin(b"typed\n")));
    let got = read_stdout_until(&mut watched, false, |s| s.contains("typed"));
    assert!(got.contains("typed"), "{got:?}");
    input.end_body();
    assert_eq!(input.response().0, 200);
}

/// The answers that need no switchboard (media types, validation, unknown
/// containers) compared with the real 1.9.0 agent of the reference kit
/// (skipped without it). The kit has no `mesos-io-switchboard`, so
/// sessions themselves cannot be compared.
#[test]
fn error_answers_match_the_real_agent() {
    let Some(bin) = common::kit_dir() else { return };
    let (ours, _) = Cluster::start("vsreal", false);
    let dir = ours.dir.join("real");
    std::fs::create_dir_all(&dir).unwrap();
    let (master_port, agent_port) = (free_port(), free_port());
    let log = |n: &str| std::fs::File::create(dir.join(n)).unwrap();
    let _master = Guard(Some(
        Command::new(bin.join("mesos-ref-local"))
            .arg(format!("--port={master_port}"))
            .arg("0")
            .arg(format!("--work_dir={}", dir.join("master").display()))
            .stdout(Stdio::null())
            .stderr(log("master.log"))
            .spawn()
            .expect("start mesos-ref-local"),
    ));
    let _agent = Guard(Some(
        Command::new(bin.join("mesos-ref-agent"))
            .arg(format!("127.0.0.1:{master_port}"))
            .arg(format!("--port={agent_port}"))
            .arg(format!("--work_dir={}", dir.join("work").display()))
            .stdout(Stdio::null())
            .stderr(log("agent.log"))
            .spawn()
            .expect("start mesos-ref-agent"),
    ));
    let _cleanup = RemoveOnDrop(std::env::temp_dir().join(format!("mesos-ref-agent-{agent_port}")));
    // The real agent answers 503 until it has recovered.
    let health = json!({"type": "GET_HEALTH"}).to_string();
    assert!(
        wait_until(T, || (http_post_json(agent_port, "/api/v1", &health)?.0
            == 200)
            .then_some(()))
        .is_some(),
        "the real agent did not come up:\n{}",
        std::fs::read_to_string(dir.join("agent.log")).unwrap_or_default()
    );
    let json_h: &[(&str, &str)] = &[
        ("Content-Type", "application/json"),
        ("Accept", "application/json"),
    ];
    let rio: &[(&str, &str)] = &[
        ("Content-Type", "application/recordio"),
        ("Message-Content-Type", "application/json"),
        ("Accept", "application/json"),
    ];
    let output = json!({"type": "ATTACH_CONTAINER_OUTPUT",
        "attach_container_output": {"container_id": cid("x", "nope")}})
    .to_string();
    let input = json!({"type": "ATTACH_CONTAINER_INPUT", "attach_container_input": {
        "type": "CONTAINER_ID", "container_id": cid("x", "nope")}})
    .to_string();
    let session = |id: Value| {
        json!({"type": "LAUNCH_NESTED_CONTAINER_SESSION",
            "launch_nested_container_session": {"container_id": id, "command": {"value": "cat"}}})
        .to_string()
    };
    // (headers, body, whether the body text must match too)
    type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<u8>, bool);
    let cases: Vec<Case> = vec![
        (json_h.to_vec(), output.clone().into_bytes(), true),
        (rio.to_vec(), recordio(input.as_bytes()), true),
        (json_h.to_vec(), input.clone().into_bytes(), true),
        (
            vec![("Content-Type", "application/recordio")],
            recordio(input.as_bytes()),
            true,
        ),
        (
            vec![
                ("Content-Type", "application/recordio"),
                ("Message-Content-Type", "text/plain"),
            ],
            recordio(input.as_bytes()),
            true,
        ),
        (rio.to_vec(), recordio(output.as_bytes()), true),
        (
            vec![
                ("Content-Type", "application/json"),
                ("Accept", "text/html"),
            ],
            output.clone().into_bytes(),
            true,
        ),
        (
            vec![
                ("Content-Type", "application/json"),
                ("Accept", "application/json"),
                ("Message-Accept", "application/json"),
            ],
            output.clone().into_bytes(),
            true,
        ),
        (
            vec![
                ("Content-Type", "application/json"),
                ("Message-Content-Type", "application/json"),
            ],
            output.clone().into_bytes(),
            true,
        ),
        (
            json_h.to_vec(),
            session(json!({"value": "x"})).into_bytes(),
            true,
        ),
        (
            json_h.to_vec(),
            session(cid("x", "nope")).into_bytes(),
            false,
        ),
        (
            vec![
                ("Content-Type", "application/json"),
                ("Accept", "application/recordio"),
            ],
            session(cid("x", "nope")).into_bytes(),
            false,
        ),
        (rio.to_vec(), Vec::new(), true),
    ];
    for (headers, body, exact) in cases {
        let (ps, pb) = Conn::post(ours.agent_port, &headers, &body).response();
        let (rs, rb) = Conn::post(agent_port, &headers, &body).response();
        assert_eq!(
            ps,
            rs,
            "{headers:?} {}: ours {pb:?}, real {rb:?}",
            String::from_utf8_lossy(&body)
        );
        if exact {
            assert_eq!(pb, rb, "{headers:?} {}", String::from_utf8_lossy(&body));
        }
    }
    // A malformed first record fails upstream's decoder future (500); a
    // malformed request is a 400 here (third_party_docs/task-groups.md).
    let (ps, _) = Conn::post(ours.agent_port, rio, b"abc\n{}").response();
    let (rs, rb) = Conn::post(agent_port, rio, b"abc\n{}").response();
    assert_eq!((ps, rs), (400, 500), "real: {rb}");
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
