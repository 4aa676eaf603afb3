"""A minimal v1 HTTP executor (stdlib only) for the agent's /api/v1/executor.

SUBSCRIBEs with JSON, reads the RecordIO event stream; on LAUNCH sends
UPDATE TASK_RUNNING, a MESSAGE to the framework, waits $HTTP_EXECUTOR_DELAY
seconds (default 0) and sends UPDATE TASK_FINISHED; prints every event as
"[http-executor] event <TYPE> ..." and exits 0 once TASK_FINISHED was
ACKNOWLEDGED (or on SHUTDOWN). With MESOS_CHECKPOINT=1 it resubscribes when
the agent goes away (agent restart) and resends updates the agent did not
accept.
"""
import base64
import http.client
import json
import os
import sys
import threading
import time
import uuid

host, port = os.environ["MESOS_AGENT_ENDPOINT"].rsplit(":", 1)
fid = os.environ["MESOS_FRAMEWORK_ID"]
eid = os.environ["MESOS_EXECUTOR_ID"]
checkpoint = os.environ.get("MESOS_CHECKPOINT") == "1"
delay = float(os.environ.get("HTTP_EXECUTOR_DELAY", "0"))
ids = {"framework_id": {"value": fid}, "executor_id": {"value": eid}}
unsent = []  # updates the agent did not accept yet
finished_uuid = None


def log(*args):
    print("[http-executor]", *args, flush=True)


def post(call):
    try:
        c = http.client.HTTPConnection(host, int(port), timeout=10)
        c.request("POST", "/api/v1/executor", json.dumps(call),
                  {"Content-Type": "application/json", "Accept": "application/json"})
        r = c.getresponse()
        body = r.read()
        c.close()
    except OSError as e:
        log("response", call["type"], "error", e)
        return False
    log("response", call["type"], r.status, body.decode(errors="replace"))
    return r.status == 202


def new_uuid():
    return base64.b64encode(uuid.uuid4().bytes).decode()


def update(task_id, state, u=None):
    u = u or new_uuid()
    call = dict(ids, type="UPDATE", update={"status": {
        "task_id": task_id, "state": state, "source": "SOURCE_EXECUTOR", "uuid": u}})
    if not post(call):
        unsent.append(call)
    return u


def run_task(task_id):
    global finished_uuid
    update(task_id, "TASK_RUNNING")
    post(dict(ids, type="MESSAGE", message={"data": base64.b64encode(b"hello-from-http-executor").decode()}))
    time.sleep(delay)
    # Known before the update is sent: its ACKNOWLEDGED may come first.
    finished_uuid = new_uuid()
    update(task_id, "TASK_FINISHED", finished_uuid)


def subscribe():
    deadline = time.time() + (30 if checkpoint else 0)
    while True:
        try:
            conn = http.client.HTTPConnection(host, int(port), timeout=120)
            conn.request("POST", "/api/v1/executor",
                         json.dumps(dict(ids, type="SUBSCRIBE", subscribe={})),
                         {"Content-Type": "application/json", "Accept": "application/json"})
            resp = conn.getresponse()
            log("subscribe status", resp.status, resp.getheader("Content-Type"))
            if resp.status == 200:
                return resp
            resp.read()
        except OSError as e:
            log("subscribe error", e)
        if time.time() > deadline:
            sys.exit(2)
        time.sleep(0.5)


resp = subscribe()
while True:
    line = resp.readline()
    if not line:
        log("stream closed")
        if not checkpoint:
            sys.exit(1)
        resp = subscribe()
        continue
    n = int(line.strip())
    ev = json.loads(resp.read(n))
    t = ev["type"]
    if t == "SUBSCRIBED":
        log("event SUBSCRIBED container", ev["subscribed"]["container_id"]["value"])
        pending, unsent[:] = list(unsent), []
        for call in pending:
            if not post(call):
                unsent.append(call)
    elif t == "LAUNCH":
        task = ev["launch"]["task"]
        log("event LAUNCH", task["task_id"]["value"])
        # The task runs beside the event loop, which keeps reading the
        # stream (and resubscribes at once when the agent restarts).
        threading.Thread(target=run_task, args=(task["task_id"],), daemon=True).start()
    elif t == "ACKNOWLEDGED":
        log("event ACKNOWLEDGED", ev["acknowledged"]["task_id"]["value"])
        if ev["acknowledged"]["uuid"] == finished_uuid:
            log("finished update acknowledged")
            sys.exit(0)
    else:
        log("event", t)
        if t == "SHUTDOWN":
            sys.exit(0)
