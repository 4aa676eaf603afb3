"""A pymesos (v1 HTTP scheduler API) framework that runs one command task.

Usage: pymesos_scheduler.py HOST:PORT [COMMAND] [TIMEOUT]
Exit codes: 0 = TASK_FINISHED, 1 = task failed or driver error, 3 = timeout.
"""
import sys
import threading

from addict import Dict
from pymesos import MesosSchedulerDriver, Scheduler

master = sys.argv[1]
command = sys.argv[2] if len(sys.argv) > 2 else "echo pymesos"
timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 60.0
result = {"code": 3}
done = threading.Event()


def log(*args):
    print("[pymesos-scheduler]", *args, flush=True)


class OneTask(Scheduler):
    def __init__(self):
        self.launched = False

    def registered(self, driver, framework_id, master_info):
        log("registered", framework_id["value"], "master", master_info["id"])

    def resourceOffers(self, driver, offers):
        for offer in offers:
            if self.launched:
                driver.declineOffer(offer.id, {"refuse_seconds": 60})
                continue
            self.launched = True
            task = Dict()
            task.task_id.value = "pymesos-task-1"
            task.agent_id.value = offer.agent_id.value
            task.name = "pymesos-task"
            task.command.value = command
            task.resources = [
                dict(name="cpus", type="SCALAR", scalar={"value": 0.1}),
                dict(name="mem", type="SCALAR", scalar={"value": 32}),
            ]
            log("launching on offer", offer.id.value)
            driver.launchTasks(offer.id, [task], {"refuse_seconds": 60})

    def statusUpdate(self, driver, update):
        log("status", update.task_id.value, update.state, update.get("message", ""))
        if update.state == "TASK_FINISHED":
            result["code"] = 0
            done.set()
        elif update.state in ("TASK_FAILED", "TASK_LOST", "TASK_KILLED", "TASK_ERROR", "TASK_DROPPED"):
            result["code"] = 1
            done.set()

    def error(self, driver, message):
        log("error", message)
        result["code"] = 1
        done.set()


framework = Dict()
framework.user = "root"
framework.name = "pymesos-scheduler"
framework.hostname = "localhost"
driver = MesosSchedulerDriver(OneTask(), framework, master, use_addict=True)
driver.start()
done.wait(timeout)
driver.stop()
log("exit", result["code"])
sys.exit(result["code"])
