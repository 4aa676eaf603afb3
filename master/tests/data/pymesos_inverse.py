"""A pymesos (v1 HTTP scheduler API) framework that keeps its offers, so it
holds an allocation on the agent and is sent inverse offers, and answers
them: the first is declined, the next accepted (refuse_seconds 0 each).

Prints one line per event:
  OFFER <unavailability start ns | none>
  INVERSE <unavailability start ns> <agent_id set> <url path>
Usage: pymesos_inverse.py HOST:PORT [TIMEOUT]
Exit codes: 0 = two inverse offers answered, 1 = driver error, 3 = timeout.
"""
import sys
import threading

from addict import Dict
from pymesos import MesosSchedulerDriver, Scheduler

master = sys.argv[1]
timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
result = {"code": 3}
done = threading.Event()


def say(*args):
    print(*args, flush=True)


class Inverse(Scheduler):
    def __init__(self):
        self.answered = 0

    def resourceOffers(self, driver, offers):
        for offer in offers:
            u = offer.get("unavailability")
            say("OFFER", u["start"]["nanoseconds"] if u else "none")

    def inverseOffers(self, driver, offers):
        for offer in offers:
            say(
                "INVERSE",
                offer.unavailability.start.nanoseconds,
                bool(offer.get("agent_id", {}).get("value")),
                offer.url.path,
            )
            if self.answered == 0:
                driver.declineInverseOffer(offer.id, {"refuse_seconds": 0})
            else:
                driver.acceptInverseOffers(offer.id, {"refuse_seconds": 0})
            self.answered += 1
            if self.answered == 2:
                result["code"] = 0
                done.set()

    def error(self, driver, message):
        say("ERROR", message)
        result["code"] = 1
        done.set()


framework = Dict()
framework.user = "root"
framework.name = "pymesos-inverse"
framework.hostname = "localhost"
driver = MesosSchedulerDriver(Inverse(), framework, master, use_addict=True)
driver.start()
done.wait(timeout)
driver.stop()
sys.exit(result["code"])
