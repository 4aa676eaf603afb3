#!/usr/bin/env python3
"""Regenerates the golden captures in this directory from a real Mesos 1.9.0.

Needs the reference kit built (`bash /work/shared/ref-mesos/setup.sh`, or
$MESOS_REF_HOME). Starts `mesos-ref-local` (master + 1 agent) on 127.0.0.1:$GOLDEN_PORT
(default 15250), then acts as two v1 HTTP schedulers:

  golden-json      events in JSON (Accept: application/json), MULTI_ROLE, labels with
                   characters that need escaping, bytes, offer_filters maps with awkward
                   doubles; launches one `sleep` task, declines later offers.
  golden-protobuf  events in protobuf (Accept: application/x-protobuf); launches one
                   `sleep` task and keeps its next offer (so GET_STATE shows one).

Once both tasks run and all updates are acknowledged it captures, for each operator
call, the JSON response, then the protobuf response, then the JSON again, and keeps
the pair only if both JSON answers agree (so nothing changed in between). Files:

  operator/<CALL>.json, operator/<CALL>.pb   the same master state in both encodings
  agent/<CALL>.json, agent/<CALL>.pb         the same for the agent's /slave(1)/api/v1
  operator/SUBSCRIBE.{json,pb}.recordio      the first event (SUBSCRIBED, holding the
                                             whole state) of two operator subscriptions
  scheduler/events.json.recordio             the JSON scheduler's event stream so far
  scheduler/events.pb.recordio               the protobuf scheduler's event stream so far

Stdlib only. Usage: capture.py [--keep-running]
"""
import base64
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PORT = int(os.environ.get("GOLDEN_PORT", "15250"))
REF = os.environ.get("MESOS_REF_HOME", os.path.expanduser("~/.cache/mesos-ref-1.9.0"))
HOST = "127.0.0.1"
JSON_T = "application/json"
PB_T = "application/x-protobuf"
CALLS = ["GET_STATE", "GET_AGENTS", "GET_FRAMEWORKS", "GET_FLAGS", "GET_VERSION", "GET_TASKS"]
AGENT_CALLS = ["GET_STATE", "GET_FLAGS", "GET_VERSION", "GET_FRAMEWORKS", "GET_EXECUTORS",
               "GET_TASKS", "GET_AGENT"]


def log(*a):
    print("[capture]", *a, flush=True)


# --- minimal protobuf wire reader (enough to find ids in scheduler events) -------------

def varint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return v, i


def pb_fields(b):
    """Yields (number, value); value is an int (varint/fixed) or bytes (length-delimited)."""
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 1:
            v, i = int.from_bytes(b[i:i + 8], "little"), i + 8
        elif wt == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        elif wt == 5:
            v, i = int.from_bytes(b[i:i + 4], "little"), i + 4
        else:
            raise ValueError("unsupported wire type %d" % wt)
        yield num, v


def pb_get(b, *path):
    """First value at a path of field numbers."""
    for n in path:
        b = next((v for k, v in pb_fields(b) if k == n), None)
        if b is None:
            return None
    return b


def pb_all(b, n):
    return [v for k, v in pb_fields(b) if k == n]


# --- HTTP ------------------------------------------------------------------------------

def post(path, body, accept=JSON_T, headers=None):
    conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
    h = {"Content-Type": JSON_T, "Accept": accept}
    h.update(headers or {})
    conn.request("POST", path, body=json.dumps(body).encode(), headers=h)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, r.getheader("Content-Type"), data


def operator(call, accept, path="/api/v1"):
    status, ctype, data = post(path, {"type": call}, accept)
    if status != 200:
        raise RuntimeError("%s (%s) -> %d %r" % (call, accept, status, data[:300]))
    return data


class Scheduler:
    """A v1 scheduler whose event stream is recorded verbatim (de-chunked RecordIO)."""

    def __init__(self, name, accept, framework_info, task):
        self.name, self.accept, self.framework_info, self.task = name, accept, framework_info, task
        self.raw = bytearray()  # the RecordIO stream as received
        self.framework_id = None
        self.stream_id = None
        self.launched = False
        self.kept_offer = False
        self.running = False
        self.acked = 0
        self.lock = threading.Lock()

    def start(self):
        conn = http.client.HTTPConnection(HOST, PORT, timeout=None)
        conn.request("POST", "/api/v1/scheduler",
                     body=json.dumps({"type": "SUBSCRIBE",
                                      "subscribe": {"framework_info": self.framework_info}}).encode(),
                     headers={"Content-Type": JSON_T, "Accept": self.accept})
        self.resp = conn.getresponse()
        if self.resp.status != 200:
            raise RuntimeError("%s SUBSCRIBE -> %d %r" % (self.name, self.resp.status, self.resp.read()))
        self.stream_id = self.resp.getheader("Mesos-Stream-Id")
        threading.Thread(target=self.read_loop, daemon=True).start()

    def call(self, body):
        status, _, data = post("/api/v1/scheduler", body, JSON_T, {"Mesos-Stream-Id": self.stream_id})
        if status not in (200, 202):
            raise RuntimeError("%s %s -> %d %r" % (self.name, body["type"], status, data[:300]))

    def read_loop(self):
        buf = b""
        while True:
            chunk = self.resp.read1(65536)
            if not chunk:
                return
            with self.lock:
                self.raw += chunk
            buf += chunk
            while True:
                nl = buf.find(b"\n")
                if nl < 0:
                    break
                n = int(buf[:nl])
                if len(buf) < nl + 1 + n:
                    break
                record, buf = buf[nl + 1:nl + 1 + n], buf[nl + 1 + n:]
                try:
                    self.handle(record)
                except Exception as e:  # keep reading; the main thread times out
                    log(self.name, "handler error:", e)

    def handle(self, record):
        if self.accept == JSON_T:
            ev = json.loads(record)
            t = ev["type"]
            if t == "SUBSCRIBED":
                self.framework_id = ev["subscribed"]["framework_id"]["value"]
            elif t == "OFFERS":
                for o in ev["offers"]["offers"]:
                    self.on_offer(o["id"]["value"], o["agent_id"]["value"], o.get("resources", []))
            elif t == "ERROR":
                log(self.name, "ERROR event:", ev)
            elif t == "UPDATE":
                st = ev["update"]["status"]
                self.on_update(st["task_id"]["value"], st["state"], st["agent_id"]["value"], st.get("uuid"))
        else:
            t = pb_get(record, 1)
            if t == 1:  # SUBSCRIBED
                self.framework_id = pb_get(record, 2, 1, 1).decode()
            elif t == 2:  # OFFERS
                for o in pb_all(pb_get(record, 3), 1):
                    self.on_offer(pb_get(o, 1, 1).decode(), pb_get(o, 3, 1).decode(), None)
            elif t == 4:  # UPDATE
                st = pb_get(record, 5, 1)
                uuid = pb_get(st, 11)
                state = {1: "TASK_RUNNING", 10: "TASK_STARTING"}.get(pb_get(st, 2), str(pb_get(st, 2)))
                self.on_update(pb_get(st, 1, 1).decode(), state, pb_get(st, 5, 1).decode(),
                               base64.b64encode(uuid).decode() if uuid else None)
        log(self.name, "event", t)

    def on_offer(self, offer_id, agent_id, resources):
        fid = {"value": self.framework_id}
        if not self.launched:
            self.launched = True
            task = self.task(agent_id, resources)
            self.call({"type": "ACCEPT", "framework_id": fid,
                       "accept": {"offer_ids": [{"value": offer_id}],
                                  "operations": [{"type": "LAUNCH", "launch": {"task_infos": [task]}}],
                                  "filters": {"refuse_seconds": 0.0}}})
        elif self.accept == PB_T and not self.kept_offer:
            # Left outstanding so that GET_STATE shows an offer.
            self.kept_offer = True
        else:
            self.call({"type": "DECLINE", "framework_id": fid,
                       "decline": {"offer_ids": [{"value": offer_id}],
                                   "filters": {"refuse_seconds": 3600.0}}})

    def on_update(self, task_id, state, agent_id, uuid):
        log(self.name, "status", task_id, state)
        if uuid:
            self.call({"type": "ACKNOWLEDGE", "framework_id": {"value": self.framework_id},
                       "acknowledge": {"agent_id": {"value": agent_id},
                                       "task_id": {"value": task_id}, "uuid": uuid}})
            self.acked += 1
        if state == "TASK_RUNNING":
            self.running = True

    def teardown(self):
        try:
            self.call({"type": "TEARDOWN", "framework_id": {"value": self.framework_id}})
        except Exception as e:
            log(self.name, "teardown:", e)


def json_task(agent_id, resources):
    res = []
    for r in resources:
        if r["name"] in ("cpus", "mem"):
            r = dict(r)
            r["scalar"] = {"value": {"cpus": 0.1, "mem": 32}[r["name"]]}
            res.append(r)
    return {
        "name": "golden-json-task", "task_id": {"value": "golden-json-1"},
        "agent_id": {"value": agent_id}, "resources": res,
        "command": {"shell": True, "value": "sleep 600",
                    "environment": {"variables": [{"name": "GOLDEN", "value": "1"}]}},
        "data": base64.b64encode(b"bin\x00\xff\xfe data").decode(),
        "labels": {"labels": [
            {"key": "escapes", "value": "tab\t quote\" slash/ back\\ nl\n ctrl\u0001\u001f del\u007f"},
            {"key": "unicode", "value": "\u00e9\u00fc \u65e5\u672c \U0001F600"},
        ]},
    }


def pb_task(agent_id, _resources):
    return {
        "name": "golden-protobuf-task", "task_id": {"value": "golden-protobuf-1"},
        "agent_id": {"value": agent_id},
        "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.2}},
                      {"name": "mem", "type": "SCALAR", "scalar": {"value": 48}}],
        "command": {"shell": True, "value": "sleep 600"},
    }


JSON_FRAMEWORK = {
    "user": "root", "name": "golden-json", "roles": ["*", "golden"],
    "capabilities": [{"type": "MULTI_ROLE"}, {"type": "TASK_KILLING_STATE"}],
    # Doubles whose printing tells Grisu2 (rapidjson) apart from shortest round-trip.
    "failover_timeout": 0.30000000000000004,
    "hostname": "golden.example", "webui_url": "http://golden.example/ui",
    "labels": {"labels": [{"key": "k", "value": "v"}]},
    "offer_filters": {
        "*": {"min_allocatable_resources": {"quantities": [
            {"quantities": {"cpus": {"value": 0.01}, "mem": {"value": 1.5e-7}}},
            {"quantities": {"disk": {"value": 123456.789}, "gpus": {"value": 1e14},
                            "ports": {"value": 2.5e-300}}}]}},
        "golden": {"min_allocatable_resources": {"quantities": [
            {"quantities": {"cpus": {"value": 1e-6}}}]}},
    },
}

PB_FRAMEWORK = {"user": "root", "name": "golden-protobuf", "checkpoint": True,
                "failover_timeout": 3600.0}


def wait(pred, what, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.2)
    raise RuntimeError("timed out waiting for " + what)


def main():
    os.makedirs(os.path.join(HERE, "operator"), exist_ok=True)
    os.makedirs(os.path.join(HERE, "scheduler"), exist_ok=True)
    local = subprocess.Popen([os.path.join(REF, "bin", "mesos-ref-local"), "--port=%d" % PORT, "1"],
                             stdout=subprocess.DEVNULL, stderr=open("/tmp/golden-capture-master.log", "w"),
                             start_new_session=True)
    try:
        wait(lambda: b'"agents":[{' in _try(lambda: operator("GET_AGENTS", JSON_T)), "agent")
        a = Scheduler("golden-json", JSON_T, JSON_FRAMEWORK, json_task)
        a.start()
        wait(lambda: a.running, "golden-json task running")
        b = Scheduler("golden-protobuf", PB_T, PB_FRAMEWORK, pb_task)
        b.start()
        wait(lambda: b.running and b.kept_offer, "golden-protobuf task running and a kept offer")
        wait(lambda: a.acked >= 2 and b.acked >= 2, "acknowledgements")
        time.sleep(3)  # let acknowledgements settle into the master's state

        for call in CALLS:
            for attempt in range(10):
                j1 = operator(call, JSON_T)
                pb = operator(call, PB_T)
                j2 = operator(call, JSON_T)
                if json.loads(j1) == json.loads(j2):
                    break
                log(call, "changed between captures; retrying")
                time.sleep(1)
            else:
                raise RuntimeError(call + " never stable")
            with open(os.path.join(HERE, "operator", call + ".json"), "wb") as f:
                f.write(j1)
            with open(os.path.join(HERE, "operator", call + ".pb"), "wb") as f:
                f.write(pb)
            log(call, len(j1), "bytes JSON,", len(pb), "bytes protobuf")

        os.makedirs(os.path.join(HERE, "agent"), exist_ok=True)
        for call in AGENT_CALLS:
            for attempt in range(10):
                j1 = operator(call, JSON_T, "/slave(1)/api/v1")
                pb = operator(call, PB_T, "/slave(1)/api/v1")
                j2 = operator(call, JSON_T, "/slave(1)/api/v1")
                if json.loads(j1) == json.loads(j2):
                    break
                log("agent", call, "changed between captures; retrying")
                time.sleep(1)
            else:
                raise RuntimeError("agent " + call + " never stable")
            for ext, data in (("json", j1), ("pb", pb)):
                with open(os.path.join(HERE, "agent", call + "." + ext), "wb") as f:
                    f.write(data)
            log("agent", call, len(j1), "bytes JSON,", len(pb), "bytes protobuf")

        for accept, ext in ((JSON_T, "json"), (PB_T, "pb")):
            record = first_record("/api/v1", {"type": "SUBSCRIBE"}, accept)
            with open(os.path.join(HERE, "operator", "SUBSCRIBE." + ext + ".recordio"), "wb") as f:
                f.write(b"%d\n" % len(record) + record)
            log("operator SUBSCRIBE", ext, len(record), "bytes")

        for s, fname in ((a, "events.json.recordio"), (b, "events.pb.recordio")):
            with s.lock:
                data = bytes(s.raw)
            with open(os.path.join(HERE, "scheduler", fname), "wb") as f:
                f.write(data)
            log(fname, len(data), "bytes")

        if "--keep-running" in sys.argv:
            log("cluster left running on port", PORT, "(pid %d)" % local.pid)
            return
        a.teardown()
        b.teardown()
    finally:
        if "--keep-running" not in sys.argv:
            os.killpg(local.pid, signal.SIGTERM)
            local.wait(timeout=30)


def first_record(path, body, accept):
    """Opens a streaming call and returns its first RecordIO record."""
    conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
    conn.request("POST", path, body=json.dumps(body).encode(),
                 headers={"Content-Type": JSON_T, "Accept": accept})
    r = conn.getresponse()
    if r.status != 200:
        raise RuntimeError("%s -> %d %r" % (path, r.status, r.read()[:300]))
    buf = b""
    while True:
        buf += r.read1(65536)
        nl = buf.find(b"\n")
        if nl >= 0 and len(buf) >= nl + 1 + int(buf[:nl]):
            conn.close()
            return buf[nl + 1:nl + 1 + int(buf[:nl])]


def _try(f):
    try:
        return f()
    except Exception:
        return b""


if __name__ == "__main__":
    main()
