"""A minimal v1 HTTP executor (stdlib only) for the agent's /api/v1/executor.

SUBSCRIBEs with JSON, reads the RecordIO event stream; on LAUNCH sends
UPDATE TASK_RUNNING, a MESSAGE to the framework and UPDATE TASK_FINISHED;
prints every event as "[http-executor] event <TYPE> ..." and exits 0 after
both updates were ACKNOWLEDGED (or on SHUTDOWN).
"""
import base64
import http.client
import json
import os
import sys
import uuid

host, port = os.environ["MESOS_AGENT_ENDPOINT"].rsplit(":", 1)
fid = os.environ["MESOS_FRAMEWORK_ID"]
eid = os.environ["MESOS_EXECUTOR_ID"]
ids = {"framework_id": {"value": fid}, "executor_id": {"value": eid}}


def log(*args):
    print("[http-executor]", *args, flush=True)


def post(call):
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    c.request("POST", "/api/v1/executor", json.dumps(call),
              {"Content-Type": "application/json", "Accept": "application/json"})
    r = c.getresponse()
    body = r.read()
    log("response", call["type"], r.status, body.decode(errors="replace"))
    c.close()


def update(task_id, state):
    post(dict(ids, type="UPDATE", update={"status": {
        "task_id": task_id, "state": state, "source": "SOURCE_EXECUTOR",
        "uuid": base64.b64encode(uuid.uuid4().bytes).decode()}}))


conn = http.client.HTTPConnection(host, int(port), timeout=60)
conn.request("POST", "/api/v1/executor", json.dumps(dict(ids, type="SUBSCRIBE", subscribe={})),
             {"Content-Type": "application/json", "Accept": "application/json"})
resp = conn.getresponse()
log("subscribe status", resp.status, resp.getheader("Content-Type"))
if resp.status != 200:
    log(resp.read())
    sys.exit(2)
acks = 0
while True:
    line = resp.readline()
    if not line:
        log("stream closed")
        sys.exit(1)
    n = int(line.strip())
    ev = json.loads(resp.read(n))
    t = ev["type"]
    if t == "SUBSCRIBED":
        log("event SUBSCRIBED container", ev["subscribed"]["container_id"]["value"])
    elif t == "LAUNCH":
        task = ev["launch"]["task"]
        log("event LAUNCH", task["task_id"]["value"])
        update(task["task_id"], "TASK_RUNNING")
        post(dict(ids, type="MESSAGE", message={"data": base64.b64encode(b"hello-from-http-executor").decode()}))
        update(task["task_id"], "TASK_FINISHED")
    elif t == "ACKNOWLEDGED":
        acks += 1
        log("event ACKNOWLEDGED", ev["acknowledged"]["task_id"]["value"], acks)
        if acks == 2:
            sys.exit(0)
    else:
        log("event", t)
        if t == "SHUTDOWN":
            sys.exit(0)
