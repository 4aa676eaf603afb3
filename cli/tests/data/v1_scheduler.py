"""The plumbing of the cli tests' small v1 HTTP schedulers.

argv is `master scenario timeout`; a watchdog exits with 3 after `timeout`
seconds. `subscribe()` opens the event stream (and remembers its
Mesos-Stream-Id for `call()`), `events()` decodes its RecordIO records.
"""
import http.client, json, os, sys, threading, time

master, scenario, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
host, port = master.split(":")
TERMINAL = ("TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR", "TASK_DROPPED")
stream_id = None


def log(*a):
    print(*a, flush=True)


def _watchdog():
    time.sleep(timeout)
    log("TIMEOUT")
    os._exit(3)


threading.Thread(target=_watchdog, daemon=True).start()


def call(body):
    """One scheduler call on its own connection; logs anything but 202."""
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    c.request("POST", "/api/v1/scheduler", body=json.dumps(body).encode(),
              headers={"Content-Type": "application/json", "Mesos-Stream-Id": stream_id})
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status != 202:
        log("CALL", body["type"], r.status, data.decode())
    return r.status


def subscribe(framework_info):
    """SUBSCRIBE; the open response (exits with 2 when refused)."""
    global stream_id
    conn = http.client.HTTPConnection(host, int(port))
    conn.request("POST", "/api/v1/scheduler",
                 body=json.dumps({"type": "SUBSCRIBE",
                                  "subscribe": {"framework_info": framework_info}}).encode(),
                 headers={"Content-Type": "application/json", "Accept": "application/json"})
    resp = conn.getresponse()
    if resp.status != 200:
        log("SUBSCRIBE failed", resp.status)
        sys.exit(2)
    stream_id = resp.getheader("Mesos-Stream-Id")
    return resp


def events(resp):
    """The stream's events, in order (exits with 4 when it closes)."""
    buf = b""
    while True:
        chunk = resp.read1(65536)
        if not chunk:
            log("stream closed")
            os._exit(4)
        buf += chunk
        while True:
            nl = buf.find(b"\n")
            if nl < 0:
                break
            n = int(buf[:nl])
            if len(buf) < nl + 1 + n:
                break
            yield json.loads(buf[nl + 1:nl + 1 + n])
            buf = buf[nl + 1 + n:]


def small_resources(o):
    """0.1 cpus, 32 mem and the first port of offer `o`: (resources, port)."""
    res, hport = [], None
    for r in o["resources"]:
        if r["name"] in ("cpus", "mem"):
            res.append(dict(r, scalar={"value": 0.1 if r["name"] == "cpus" else 32}))
        if r["name"] == "ports":
            hport = r["ranges"]["range"][0]["begin"]
            res.append(dict(r, ranges={"range": [{"begin": hport, "end": hport}]}))
    return res, hport


def launch(framework_id, o, task, group=False):
    """ACCEPTs offer `o` with LAUNCH of `task`, or (group) LAUNCH_GROUP of it
    under a default executor with 0.1 cpus, 32 mem and 32 disk."""
    op = {"type": "LAUNCH", "launch": {"task_infos": [task]}}
    if group:
        eres = [dict(r, scalar={"value": {"cpus": 0.1, "mem": 32, "disk": 32}[r["name"]]})
                for r in o["resources"] if r["name"] in ("cpus", "mem", "disk")]
        op = {"type": "LAUNCH_GROUP", "launch_group": {"executor": {
            "type": "DEFAULT", "executor_id": {"value": "default-exec"},
            "framework_id": framework_id, "resources": eres},
            "task_group": {"tasks": [task]}}}
    call({"type": "ACCEPT", "framework_id": framework_id,
          "accept": {"offer_ids": [o["id"]], "operations": [op]}})


def decline(framework_id, o):
    call({"type": "DECLINE", "framework_id": framework_id, "decline": {"offer_ids": [o["id"]]}})


def acknowledge(framework_id, st):
    """ACKNOWLEDGEs status `st` when it asks for it (has a uuid)."""
    if "uuid" in st:
        call({"type": "ACKNOWLEDGE", "framework_id": framework_id, "acknowledge": {
              "agent_id": st["agent_id"], "task_id": st["task_id"], "uuid": st["uuid"]}})
