"""A pymesos (v1 HTTP scheduler API) framework that runs one command task
with a ContainerInfo (MESOS type) given as JSON.

Usage: pymesos_container_task.py HOST:PORT COMMAND CONTAINER_JSON [TIMEOUT] [RESOURCES_JSON]
Prints every status update as "[pymesos] status <state> <reason> <message>".
With EXECUTOR_JSON in the environment the task runs on that ExecutorInfo
(a custom executor) instead of a command; with COMMAND_JSON the task's
CommandInfo is that JSON instead of a shell COMMAND; CHECKPOINT=1 makes the framework
checkpointing (its executors survive an agent restart); KILL_ON_RUNNING=1
kills the task once it runs and then counts TASK_KILLED as success; framework messages are printed
as "[pymesos] message <data>".
Exit codes: 0 = TASK_FINISHED, 1 = task failed or driver error, 3 = timeout.
"""
import base64
import json
import os
import sys
import threading

from addict import Dict
from pymesos import MesosSchedulerDriver, Scheduler

master = sys.argv[1]
command = sys.argv[2]
container = json.loads(sys.argv[3])
timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 60.0
resources = json.loads(sys.argv[5]) if len(sys.argv) > 5 else json.loads(os.environ["RESOURCES_JSON"]) if os.environ.get("RESOURCES_JSON") else [
    {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
    {"name": "mem", "type": "SCALAR", "scalar": {"value": 64}},
]
result = {"code": 3}
done = threading.Event()


def log(*args):
    print("[pymesos]", *args, flush=True)


class OneTask(Scheduler):
    def __init__(self):
        self.launched = False

    def resourceOffers(self, driver, offers):
        for offer in offers:
            if self.launched:
                driver.declineOffer(offer.id, {"refuse_seconds": 60})
                continue
            self.launched = True
            task = Dict()
            task.task_id.value = "container-task-1"
            task.agent_id.value = offer.agent_id.value
            task.name = "container-task"
            if os.environ.get("EXECUTOR_JSON"):
                task.executor = json.loads(os.environ["EXECUTOR_JSON"])
            elif os.environ.get("COMMAND_JSON"):
                task.command = json.loads(os.environ["COMMAND_JSON"])
            else:
                task.command.value = command
            if container:
                task.container = container
            task.resources = resources
            log("launching on offer", offer.id.value)
            driver.launchTasks(offer.id, [task], {"refuse_seconds": 60})

    def statusUpdate(self, driver, update):
        log("status", update.state, update.get("reason", ""), update.get("message", ""))
        if update.state == "TASK_RUNNING" and os.environ.get("KILL_ON_RUNNING"):
            log("killing", update.task_id.value)
            driver.killTask(update.task_id)
        if update.state == "TASK_KILLED" and os.environ.get("KILL_ON_RUNNING"):
            result["code"] = 0
            done.set()
        elif update.state == "TASK_FINISHED":
            result["code"] = 0
            done.set()
        elif update.state in ("TASK_FAILED", "TASK_LOST", "TASK_KILLED", "TASK_ERROR", "TASK_DROPPED"):
            result["code"] = 1
            done.set()

    def frameworkMessage(self, driver, executor_id, agent_id, message):
        log("message", base64.b64decode(message).decode(errors="replace"))

    def error(self, driver, message):
        log("error", message)
        result["code"] = 1
        done.set()


framework = Dict()
framework.user = "root"
framework.name = "pymesos-container"
framework.hostname = "localhost"
if os.environ.get("CHECKPOINT"):
    framework.checkpoint = True
    framework.failover_timeout = 300.0
driver = MesosSchedulerDriver(OneTask(), framework, master, use_addict=True)
driver.start()
done.wait(timeout)
driver.stop()
log("exit", result["code"])
sys.exit(result["code"])
