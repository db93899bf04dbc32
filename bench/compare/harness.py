"""The comparison's run: each design in turn, its fault-free throughput, then the seeded stream with faults."""

import copy
import json
import random
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from bench.chaos.plan import plan_orders
from bench.chaos.traffic import send_planned
from bench.compare.faults import DesignFaults, plan_lanes
from bench.compare.figures import figures, mint_all, unique_amounts
from bench.compare.report import write_files
from bench.procstat import machine_cpu
from bench.runner import Benchmark
from comparison.stacks import CeleryNaive, ChannelsSeed, Payments
from devtools.settings import CHAOS_SETTINGS
from devtools.stack import RedisServer, Simulator

DESIGNS = (ChannelsSeed, CeleryNaive, Payments)
BURST_SIZE = 300
# One cadence for every design's sweeper / reconciler: the post's "5 to 10 minutes" (its lower end,
# 300 s) scaled down 30x, the factor bench/chaos applies to this service's delivery settings.
SWEEP_SECONDS = 10
CI_SWEEP_SECONDS = 5
# The saved-card stream: this many cards, stored at the pass's start, carry every card order.
SAVED_CARDS = 5
# Orders of the mix whose point is their nonce (spent, unknown): they keep it in the saved stream.
NONCE_ONLY_KINDS = ("consumed_nonce", "unknown_nonce")


def now():
    return time.monotonic()


class Compare(Benchmark):
    name = "compare"
    steps = ("setup", "run_all")
    clock_in_log = True

    def __init__(self, args):
        super().__init__(args, run_dir_base=args.run_dir)
        self.sim = None
        self.design = None
        self.redis = None
        self.rows = []
        # The same stream again with the card orders on a handful of saved cards (vault tokens).
        self.saved_rows = []
        self.details = {}
        self.lock = threading.Lock()
        rng = random.Random(args.seed)
        self.plan = plan_orders(args.orders, rng)
        self.bursts = [plan_orders(BURST_SIZE, rng) for _ in range(args.fault_repeats)]
        for i, burst in enumerate(self.bursts):
            for p in burst:
                p.index, p.key = args.orders + i * BURST_SIZE + p.index, f"burst{i}-{p.key}"
        unique_amounts(self.plan + [p for b in self.bursts for p in b])
        self.lanes = plan_lanes(args.seed, args.seconds, args.fault_repeats)

    # -- the runner's interface

    def kill_everything(self):
        for proc in (self.design.processes.values() if self.design else ()):
            proc.signal_group(signal.SIGKILL)
        super().kill_everything()

    def teardown(self):
        self.stop_design()
        super().teardown()

    def stop_design(self):
        if self.design is not None:
            try:
                self.design.stop()
            except Exception as exc:  # teardown must reach the broker too
                self.log(f"stop {self.design.name}: {exc!r}")
            self.design = None
        if self.redis is not None:
            self.procs.pop(self.redis.name).stop()
            self.redis = None

    def write_out(self, result):
        if "report" in result:  # a run that did not complete leaves its logs only
            write_files(result)

    # -- the run

    def setup(self):
        self.log(f"run dir {self.run_dir}")
        self.sim = self.launch(Simulator(run_dir=self.run_dir, name="sim", extra_args=("--seed", str(self.args.seed))))

    def run_all(self):
        for design_class in DESIGNS:
            if design_class.name in self.args.skip_design:
                continue
            self.check_deadline()
            self.run_design(design_class)

    def run_design(self, design_class):
        name = design_class.name
        self.redis = self.launch(RedisServer(run_dir=self.run_dir, name=f"{name}-redis"))
        self.design = design_class(run_dir=self.run_dir, sim_url=self.sim.url, broker_url=self.redis.url(0),
                                   sweep_every=self.args.sweep_seconds, extra=CHAOS_SETTINGS)
        self.log(f"{name}: starting on database {self.design.db_name}")
        self.design.start()
        self.exits = []
        detail = {"throughput": {}}
        try:
            for latency in (0, 200):
                detail["throughput"][f"{latency}ms"] = self.throughput(latency)
            row, fault_detail = self.fault_pass()
            self.check_deadline()
            saved_row, saved_detail = self.fault_pass(saved=True)
        finally:
            self.stop_design()
        self.saved_rows.append({"name": name, **saved_row})
        fault_detail["saved_stream"] = saved_detail
        self.log(f"{name} (saved cards): {json.dumps(saved_row)}")
        row = {"name": name, **row,
               "orders_per_s_0ms": detail["throughput"]["0ms"]["orders_per_s"],
               "orders_per_s_200ms": detail["throughput"]["200ms"]["orders_per_s"],
               "cpu_ms_per_order": detail["throughput"]["0ms"]["cpu_ms_per_order"]}
        self.rows.append(row)
        self.details[name] = {**detail, **fault_detail}
        self.log(f"{name}: {json.dumps(row)}")

    # -- fault-free throughput

    def throughput(self, latency_ms):
        n = self.args.throughput_orders if latency_ms == 0 else max(10, self.args.throughput_orders // 3)
        self.sim.reset()
        self.sim.set_faults({"rules": [{"kind": "latency", "latency_ms": latency_ms}]} if latency_ms else {})
        nonces = [self.sim.mint_nonce() for _ in range(n)]
        amounts = [f"{10 + i / 100:.2f}" for i in range(n)]
        busy0, t0 = machine_cpu(), now()
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda i: self.design.submit(amounts[i], nonces[i], f"tp-{latency_ms}-{i}"),
                                    range(n)))
        ids = {a[1] for a in answers if a[1]}
        deadline = now() + max(60, n * 2)
        done = 0
        while now() < deadline:
            orders = self.design.orders()
            done = sum(1 for i in ids if orders.get(i, {}).get("status"))
            if done == len(ids):
                break
            time.sleep(0.2)
        elapsed, busy = now() - t0, machine_cpu() - busy0
        self.sim.set_faults({})
        result = {"orders": n, "accepted": len(ids), "final": done, "seconds": round(elapsed, 2),
                  "orders_per_s": round(done / elapsed, 2) if done else 0.0,
                  "cpu_ms_per_order": round(busy * 1000 / done, 1) if done else None}
        self.log(f"{self.design.name}: throughput at {latency_ms} ms: {result}")
        return result

    # -- the seeded stream with faults

    def fault_pass(self, saved=False):
        """The seeded stream under the seeded faults; `saved`: its card orders on saved cards instead.

        A nonce is spent by its first sale, so the gateway itself refuses a resale (91564); a saved
        card's token is not, so every resale a design makes is a second charge in the ledger.
        """
        self.sim.reset()
        plan = copy.deepcopy(self.plan)
        bursts = copy.deepcopy(self.bursts)
        mint_all(self.sim, plan + [p for b in bursts for p in b])
        self.entries = plan + [p for b in bursts for p in b]
        if saved:
            cards = self.design.save_cards(self.sim.url, [self.sim.mint_nonce() for _ in range(SAVED_CARDS)])
            for p in self.entries:
                # Keys of their own: the first stream's keys name other bodies (this service answers 422).
                p.key = f"saved-{p.key}"
                if p.kind not in NONCE_ONLY_KINDS:
                    p.saved = cards[p.index % len(cards)]
        faults = DesignFaults(self, bursts)
        self.t_traffic = now()
        web_log_offset = len(self.design.processes["web"].log_text())
        stop = threading.Event()
        supervisor = threading.Thread(target=self.supervise, args=(stop,), daemon=True)
        supervisor.start()
        threads = [threading.Thread(target=self.submit_stream, args=(plan,), daemon=True)]
        if not self.args.no_faults:
            threads += [threading.Thread(target=faults.inject, args=(lane, events), daemon=True)
                        for lane, events in self.lanes.items()]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(1)
                self.check_deadline()
        self.heal()
        quiet, quiet_seconds = self.wait_quiet()
        stop.set()
        supervisor.join(5)
        web_log = self.design.processes["web"].log_text()[web_log_offset:]
        row, extra = figures(self.entries, self.design.orders(), self.sim.transactions(), web_log)
        extra.update(quiet=quiet, quiet_seconds=round(quiet_seconds, 1), faults=faults.log,
                     unexpected_exits=self.exits)
        return row, extra

    def submit_one(self, p):
        t0 = now()
        status, order_id, body = self.design.submit(p.amount, p.nonce, p.key, saved=p.saved)
        with self.lock:
            p.responses.append({"status": status, "order_id": order_id, "t": round(t0 - self.t_traffic, 2),
                                "latency": round(now() - t0, 3), "body": body})

    def submit_stream(self, plan):
        """The plan evenly over --seconds; duplicates as bench/chaos sends them (concurrent, or spaced)."""
        rng = random.Random(self.args.seed * 31)
        interval = self.args.seconds / max(1, len(plan))
        t_start = now()
        with ThreadPoolExecutor(max_workers=16) as pool:
            for p in plan:
                while now() < t_start + p.index * interval:
                    time.sleep(0.01)
                send_planned(pool, p, self.submit_one, rng)

    def supervise(self, stop):
        """Restart a design's process that exited (as systemd's Restart=always would), after 1 s."""
        processes = self.design.processes
        while not stop.wait(1):
            for name, proc in processes.items():
                if proc.proc is None or proc.alive():
                    continue
                tail = [line for line in proc.log_text(since_start=True).splitlines() if line.strip()][-1:]
                self.exits.append({"process": name, "code": proc.proc.returncode,
                                   "at": round(now() - self.t_traffic, 1), "last_line": (tail or [""])[0][:200]})
                try:
                    proc.stop(timeout=1)
                    proc.start(wait=True)
                except Exception as exc:  # redis may still be down: try again next second
                    self.exits[-1]["restart_error"] = repr(exc)[:200]

    def heal(self):
        self.sim.set_faults({})
        if not self.redis.alive():
            self.redis.start()

    def pending_ids(self):
        orders = self.design.orders()
        ids = [r["order_id"] for p in self.entries for r in p.responses if r["order_id"]]
        return [i for i in ids if not orders.get(i, {}).get("status")], orders

    def wait_quiet(self):
        """Until every accepted order is final and nothing moved for two sweeper periods; bounded."""
        t0 = now()
        end = t0 + self.args.quiet_timeout
        silence = 2 * self.args.sweep_seconds + 1
        last, stable_since = None, None
        while now() < end:
            self.check_deadline()
            pending, orders = self.pending_ids()
            sig = (len(pending), tuple(sorted(Counter(str(o["status"]) for o in orders.values()).items())),
                   len(self.sim.transactions()))
            if not pending and sig == last:
                stable_since = stable_since or now()
                if now() - stable_since >= silence:
                    return True, now() - t0
            else:
                stable_since = None
            last = sig
            time.sleep(1)
        return False, now() - t0

    # -- the result

    def result(self, command):
        ours = [r for r in (*self.rows, *self.saved_rows) if r["name"] == "payments"]
        passed = len(ours) == 2 and not any(r["lost"] or r["double_charged"] or r["orphaned"] for r in ours)
        faults = [{"lane": lane, "kind": kind, "at": round(at, 1)} for lane, events in self.lanes.items()
                  for at, kind in events]
        return {"passed": passed, "command": command, "out": self.args.out,
                "report": {"designs": self.rows, "saved_designs": self.saved_rows,
                           "faults": sorted(faults, key=lambda f: f["at"]),
                           "seed": self.args.seed},
                "details": {"designs": self.details, "run_dir": str(self.run_dir), "command": command,
                            "settings": {**CHAOS_SETTINGS, "sweep_seconds": self.args.sweep_seconds,
                                         "reconcile_threshold_seconds": Payments.reconcile_threshold},
                            "args": vars(self.args)}}
