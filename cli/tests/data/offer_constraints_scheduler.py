#!/usr/bin/env python3
"""A v1 HTTP scheduler (plain http.client, no libraries) that subscribes with
offer constraints (beyond Mesos 1.9: upstream 1.11's
`Call.Subscribe.offer_constraints`), records which agents it is offered, then
changes the constraints with UPDATE_FRAMEWORK and records again.

Usage: offer_constraints_scheduler.py HOST:PORT FIRST_RACK SECOND_RACK

Phase 1 constrains role `web` to agents whose `rack` attribute equals
FIRST_RACK; phase 2 to racks matching SECOND_RACK as a regex. Each offer is
declined with a long filter so that only new agents show up. Prints one JSON
line: {"phase1": [hostname:rack...], "phase2": [...], "update_status": N,
"bad_update": [status, body]}.
"""

import http.client
import json
import sys
import threading
import time


def constraints(predicate):
    return {"role_constraints": {"web": {"groups": [{"attribute_constraints": [
        {"selector": {"attribute_name": "rack"}, "predicate": predicate}]}]}}}


def main():
    host, port = sys.argv[1].split(":")
    first, second = sys.argv[2], sys.argv[3]
    info = {"user": "root", "name": "offer-constraints-e2e", "roles": ["web"],
            "capabilities": [{"type": "MULTI_ROLE"}]}
    sub = {"type": "SUBSCRIBE", "subscribe": {
        "framework_info": info,
        "offer_constraints": constraints({"text_equals": {"value": first}})}}
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("POST", "/api/v1/scheduler", json.dumps(sub),
                 {"Content-Type": "application/json", "Accept": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200, (resp.status, resp.read())
    stream_id = resp.getheader("Mesos-Stream-Id")

    lock = threading.Lock()
    state = {"phase": 1, "phase1": [], "phase2": [], "fid": None, "errors": []}

    def call(body):
        c = http.client.HTTPConnection(host, int(port), timeout=30)
        c.request("POST", "/api/v1/scheduler", json.dumps(body),
                  {"Content-Type": "application/json", "Mesos-Stream-Id": stream_id})
        r = c.getresponse()
        text = r.read().decode()
        c.close()
        return r.status, text

    def records():
        """RecordIO over the chunked body: a decimal length, a newline, the bytes."""
        buf = b""
        while True:
            while b"\n" not in buf:
                more = resp.read1(65536)
                if not more:
                    return
                buf += more
            head, buf = buf.split(b"\n", 1)
            size = int(head)
            while len(buf) < size:
                more = resp.read1(65536)
                if not more:
                    return
                buf += more
            yield json.loads(buf[:size])
            buf = buf[size:]

    def reader():
        for event in records():
            kind = event["type"]
            if kind == "SUBSCRIBED":
                with lock:
                    state["fid"] = event["subscribed"]["framework_id"]["value"]
            elif kind == "ERROR":
                with lock:
                    state["errors"].append(event["error"]["message"])
            elif kind == "OFFERS":
                for offer in event["offers"]["offers"]:
                    rack = next((a["text"]["value"] for a in offer.get("attributes", [])
                                 if a["name"] == "rack"), None)
                    with lock:
                        state["phase%d" % state["phase"]].append(
                            "%s:%s" % (offer["hostname"], rack))
                    call({"type": "DECLINE", "framework_id": {"value": state["fid"]},
                          "decline": {"offer_ids": [offer["id"]],
                                      "filters": {"refuse_seconds": 3600}}})

    t = threading.Thread(target=reader, daemon=True)
    t.start()

    # Phase 1: a few allocation intervals.
    time.sleep(3)
    with lock:
        fid = state["fid"]
        state["phase"] = 2
    assert fid, state

    def update(predicate, role="web"):
        body = {"type": "UPDATE_FRAMEWORK", "framework_id": {"value": fid},
                "update_framework": {
                    "framework_info": dict(info, id={"value": fid}),
                    "offer_constraints": {"role_constraints": {role: constraints(
                        predicate)["role_constraints"]["web"]}}}}
        return call(body)

    bad = update({"exists": {}}, role="ops")
    status, _ = update({"text_matches": {"regex": second}})
    time.sleep(3)
    with lock:
        print(json.dumps({"phase1": state["phase1"], "phase2": state["phase2"],
                          "update_status": status, "bad_update": list(bad),
                          "errors": state["errors"]}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
