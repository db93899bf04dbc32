"""The faults every design gets: three seeded lanes, the same schedule for each design.

The process lane kills a design's handler mid-sale or right after the gateway committed, restarts
its broker empty, or sends a burst of orders at once; the gateway lane answers 503s or commits
sales and drops the answer; the spell holds every gateway call long enough for queued messages to
age. bench/chaos has the same shapes against this service alone, with more kinds.
"""

import os
import random
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from bench.chaos.plan import plan_faults
from devtools.sim import sale_rule

PROCESS_FAULTS = ("kill_mid_sale", "kill_after_commit", "redis_restart", "intake_burst")
GATEWAY_FAULTS = ("errors_503", "commit_then_drop")
SPELL = "latency_spell"
FAULT_KINDS = PROCESS_FAULTS + GATEWAY_FAULTS + (SPELL,)


def plan_lanes(seed, window, repeats):
    """lane -> seeded (moment, kind) pairs over a submission window of `window` seconds."""
    lane_rng = random.Random(seed + 1)
    return {
        "process": plan_faults(window, repeats, lane_rng, PROCESS_FAULTS),
        "gateway": plan_faults(window, repeats, lane_rng, GATEWAY_FAULTS),
        # One long spell early in the window, so the backlog it builds ages while orders flow.
        "spell": [(window * lane_rng.uniform(0.1, 0.2), SPELL)],
    }


class DesignFaults:
    """One design's fault pass: each lane's injections, and the log of what they did."""

    def __init__(self, run, bursts):
        self.run = run                    # the comparison: the design, its broker, the simulator, the clock
        self.bursts_left = list(bursts)   # the orders of each intake_burst, in schedule order
        self.sim_rules = {}
        self.log = []
        self.lock = threading.Lock()

    def set_rules(self, lane, rules):
        """Set one lane's simulator fault rules; the simulator gets the union of every lane's."""
        with self.lock:
            self.sim_rules[lane] = list(rules)
            merged = [rule for name in sorted(self.sim_rules) for rule in self.sim_rules[name]]
            self.run.sim.set_faults({"seed": self.run.args.seed, "rules": merged})

    def inject(self, lane, events):
        r = random.Random(f"{self.run.args.seed}-{lane}")
        t_start = time.monotonic()
        for at, kind in events:
            while time.monotonic() < t_start + at:
                time.sleep(0.05)
            entry = {"kind": kind, "at": round(time.monotonic() - self.run.t_traffic, 1)}
            try:
                entry.update(self.fault(kind, r) or {})
            except Exception as exc:  # a failed injection is reported, the run goes on
                entry["error"] = repr(exc)
            entry["seconds"] = round(time.monotonic() - self.run.t_traffic - entry["at"], 1)
            with self.lock:
                self.log.append(entry)

    def fault(self, kind, r):
        run = self.run
        if kind == "kill_mid_sale":
            # A random moment of the charge: receive, sale, record, find or record again.
            pids = run.design.handler_pids()
            if not pids:
                return {"skipped": "no handler process alive"}
            pid = r.choice(pids)
            os.kill(pid, signal.SIGKILL)
            return {"pid": pid}
        if kind == "kill_after_commit":
            # Sales are held at the gateway; the worker dies while holding one; the sale then commits.
            self.set_rules("process", [sale_rule(kind="latency", latency_ms=1500)])
            try:
                time.sleep(0.7)
                pids = run.design.handler_pids()
                if not pids:
                    return {"skipped": "no handler process alive"}
                pid = r.choice(pids)
                os.kill(pid, signal.SIGKILL)
                time.sleep(1.8)
            finally:
                self.set_rules("process", [])
            return {"pid": pid}
        if kind == "redis_restart":
            pause = r.uniform(0.5, 2)
            run.redis.restart(pause=pause)
            return {"down_seconds": round(pause, 1)}
        if kind == "intake_burst":
            burst = self.bursts_left.pop(0)
            t0 = time.monotonic()
            with ThreadPoolExecutor(max_workers=64) as pool:
                for p in burst:
                    pool.submit(run.submit_one, p)
            answered = [r for p in burst for r in p.responses]
            return {"orders": len(burst), "all_answered_seconds": round(time.monotonic() - t0, 1),
                    "answers": dict(Counter(str(a["status"]) for a in answered))}
        if kind == SPELL:
            self.set_rules("spell", [{"kind": "latency", "latency_ms": run.args.spell_ms}])
            time.sleep(run.args.spell_seconds)
            self.set_rules("spell", [])
            return {"latency_ms": run.args.spell_ms, "seconds": run.args.spell_seconds}
        if kind == "errors_503":
            window = r.uniform(3, 5)
            self.set_rules("gateway", [{"kind": "error", "status": 503, "rate": 0.8}])
            time.sleep(window)
            self.set_rules("gateway", [])
            return {"window_seconds": round(window, 1)}
        if kind == "commit_then_drop":
            self.set_rules("gateway", [sale_rule(kind="drop", count=2)])
            time.sleep(4)
            left = next((x.get("count") or 0 for x in run.sim.faults()["rules"] if x["kind"] == "drop"), 0)
            self.set_rules("gateway", [])
            return {"dropped_sales": 2 - left}
        raise ValueError(kind)
