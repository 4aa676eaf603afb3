"""A pymesos (v1 HTTP scheduler API) framework in role "role1" that, in ONE
ACCEPT of its first offer, RESERVEs cpus/mem/disk, CREATEs a persistent
volume on the reserved disk and LAUNCHes a command task using both, as
upstream's PersistentVolumeTest does with a driver framework.

Usage: pymesos_volume_task.py HOST:PORT PERSISTENCE_ID COMMAND [TIMEOUT]
Exit codes: 0 = TASK_FINISHED, 1 = task failed or driver error, 3 = timeout.
"""
import sys
import threading

from addict import Dict
from pymesos import MesosSchedulerDriver, Scheduler

master, volume_id, command = sys.argv[1], sys.argv[2], sys.argv[3]
timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 60.0
result = {"code": 3}
done = threading.Event()


def log(*args):
    print("[pymesos]", *args, flush=True)


def reserved(name, value):
    return {"name": name, "type": "SCALAR", "scalar": {"value": value},
            "reservations": [{"type": "DYNAMIC", "role": "role1", "principal": "ops"}]}


class VolumeTask(Scheduler):
    def __init__(self):
        self.launched = False

    def resourceOffers(self, driver, offers):
        for offer in offers:
            if self.launched:
                driver.declineOffer(offer.id, {"refuse_seconds": 60})
                continue
            self.launched = True
            cpus, mem, disk = reserved("cpus", 0.5), reserved("mem", 64), reserved("disk", 64)
            volume = dict(disk)
            volume["disk"] = {"persistence": {"id": volume_id, "principal": "ops"},
                              "volume": {"mode": "RW", "container_path": "data"}}
            task = Dict()
            task.task_id.value = "volume-task-1"
            task.agent_id.value = offer.agent_id.value
            task.name = "volume-task"
            task.command.value = command
            task.resources = [cpus, mem, volume]
            operations = [
                {"type": "RESERVE", "reserve": {"resources": [cpus, mem, disk]}},
                {"type": "CREATE", "create": {"volumes": [volume]}},
                {"type": "LAUNCH", "launch": {"task_infos": [task]}},
            ]
            log("accepting", offer.id.value)
            driver.acceptOffers([offer.id], operations, {"refuse_seconds": 60})

    def statusUpdate(self, driver, update):
        log("status", update.state, update.get("reason", ""), update.get("message", ""))
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
framework.name = "pymesos-volume"
framework.hostname = "localhost"
framework.role = "role1"
framework.principal = "ops"
driver = MesosSchedulerDriver(VolumeTask(), framework, master, use_addict=True)
driver.start()
done.wait(timeout)
driver.stop()
log("exit", result["code"])
sys.exit(result["code"])
