#!/usr/bin/env python3
"""v1 HTTP scheduler with FrameworkInfo.checkpoint=true for the agent upgrade tests.

usage: ckpt_scheduler.py MASTER_HOST:PORT COMMAND TIMEOUT LINGER

Launches one command task (`recovery-task-1`) on the first offer, acknowledges
every update and prints it; after the first TASK_FINISHED it keeps listening
for LINGER seconds, prints `FINISHED_COUNT n` and exits 0 iff n == 1 (the
terminal update reached it exactly once). Exits 1 on a failed task, 3 on
timeout.
"""
import http.client, json, sys, threading, time, os
master, command, timeout, linger = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
host, port = master.rsplit(":", 1)
def log(*a): print("[ckpt-scheduler]", *a, flush=True)
def watchdog():
    time.sleep(timeout); log("TIMEOUT"); os._exit(3)
threading.Thread(target=watchdog, daemon=True).start()
stream_id = None; framework_id = None; finished = 0
def call(body):
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    c.request("POST", "/api/v1/scheduler", body=json.dumps(body).encode(),
              headers={"Content-Type": "application/json", "Mesos-Stream-Id": stream_id})
    r = c.getresponse(); r.read(); c.close(); return r.status
def done():
    time.sleep(linger)
    log("FINISHED_COUNT", finished)
    call({"type": "TEARDOWN", "framework_id": framework_id})
    os._exit(0 if finished == 1 else 1)
conn = http.client.HTTPConnection(host, int(port))
conn.request("POST", "/api/v1/scheduler", body=json.dumps({"type": "SUBSCRIBE", "subscribe": {
    "framework_info": {"user": "root", "name": "agent-recovery-test", "checkpoint": True,
                       "failover_timeout": 600, "roles": ["*"], "capabilities": [{"type": "MULTI_ROLE"}]}}}).encode(),
    headers={"Content-Type": "application/json", "Accept": "application/json"})
resp = conn.getresponse()
if resp.status != 200: log("SUBSCRIBE failed", resp.status); sys.exit(2)
stream_id = resp.getheader("Mesos-Stream-Id")
launched = False; buf = b""
while True:
    chunk = resp.read1(65536)
    if not chunk:
        # TEARDOWN from done() closes the stream: let done() exit.
        if finished: time.sleep(60)
        log("stream closed"); os._exit(4)
    buf += chunk
    while True:
        nl = buf.find(b"\n")
        if nl < 0: break
        n = int(buf[:nl])
        if len(buf) < nl + 1 + n: break
        ev = json.loads(buf[nl + 1:nl + 1 + n]); buf = buf[nl + 1 + n:]
        t = ev["type"]
        if t == "SUBSCRIBED": framework_id = ev["subscribed"]["framework_id"]
        elif t == "OFFERS":
            for o in ev["offers"]["offers"]:
                if launched:
                    call({"type": "DECLINE", "framework_id": framework_id, "decline": {"offer_ids": [o["id"]]}}); continue
                res = []
                for r in o["resources"]:
                    if r["name"] in ("cpus", "mem"):
                        r = dict(r); r["scalar"] = {"value": {"cpus": 0.1, "mem": 32}[r["name"]]}; res.append(r)
                task = {"name": "recovery-task", "task_id": {"value": "recovery-task-1"}, "agent_id": o["agent_id"],
                        "resources": res, "command": {"shell": True, "value": command}}
                call({"type": "ACCEPT", "framework_id": framework_id, "accept": {"offer_ids": [o["id"]],
                      "operations": [{"type": "LAUNCH", "launch": {"task_infos": [task]}}]}})
                launched = True
        elif t == "UPDATE":
            st = ev["update"]["status"]
            log("status", st["task_id"]["value"], st["state"], st.get("message", ""))
            if "uuid" in st:
                call({"type": "ACKNOWLEDGE", "framework_id": framework_id, "acknowledge": {
                    "agent_id": st["agent_id"], "task_id": st["task_id"], "uuid": st["uuid"]}})
            if st["state"] == "TASK_FINISHED":
                finished += 1
                if finished == 1: threading.Thread(target=done, daemon=True).start()
            elif st["state"] in ("TASK_FAILED", "TASK_LOST", "TASK_ERROR", "TASK_KILLED", "TASK_DROPPED", "TASK_GONE"):
                log("FAILURE"); os._exit(1)
        elif t == "ERROR": log("ERROR", ev); os._exit(5)
