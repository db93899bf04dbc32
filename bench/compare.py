"""The design this service replaces, a naive Celery port and this service: same orders, same faults.

    python -m bench.compare --ci --out /tmp/compare.json         # all three designs, < 4 minutes
    python -m bench.compare --orders 600 --seconds 150 --fault-repeats 3 --seed 7 \
        --out bench/results/compare-full.json                   # the README's table and chart

Designs (comparison/README.md): `channels_seed` (the blog post's Channels 4 custom channel,
runworker and sweeper command), `celery_naive` (its handler as an acks_late/autoretry Celery task
with a beat sweeper) and `payments` (this service, laid out as bench/chaos runs it). Each runs
in turn on this machine against one simulator (reset between designs), its own redis-server and
its own PostgreSQL database, with the same scaled settings (devtools.settings.CHAOS_SETTINGS: gateway
timeout 2 s, retries 1 s doubling to 4 s, 5 retries) and one sweeper / reconciler cadence.

Per design: a fault-free pass at 0 and at 200 ms gateway latency (orders/s, machine CPU per
order), then the seeded order stream (bench.chaos's mix, every nonce minted single use through
the simulator) with the seeded fault schedule, a quiet period, and the figures: submitted,
accepted, refused (and how), lost, double charged, orphaned, wrong final status, time to final.
Orders are matched to ledger sales by amount (unique per planned order), so a design that never
sends an order id to the gateway is judged the same way as one that does.

Exit status: 0 this service kept its promises (0 lost, 0 double charged, 0 orphaned), 1 it broke
one, 2 setup failed, 3 deadline. The other designs' failures are the figures, never the exit code.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import signal
import sys
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

from bench.chaos.plan import plan_faults, plan_orders
from bench.runner import Deadline, run_benchmark
from devtools.settings import CHAOS_SETTINGS
from devtools.stack import RedisServer, Simulator, make_run_dir
from devtools.stats import percentile
from payments.core.statuses import TRANSACTION_PAID_STATUSES
from comparison.stacks import CeleryNaive, ChannelsSeed, Payments

DESIGNS = (ChannelsSeed, CeleryNaive, Payments)
PROCESS_FAULTS = ("kill_mid_sale", "kill_after_commit", "redis_restart", "intake_burst")
GATEWAY_FAULTS = ("errors_503", "commit_then_drop")
SPELL = "latency_spell"
FAULT_KINDS = PROCESS_FAULTS + GATEWAY_FAULTS + (SPELL,)
PAID_KINDS = ("approved", "duplicate")  # every other kind of the mix should end failed
BURST_SIZE = 300
# One cadence for every design's sweeper / reconciler: the post's "5 to 10 minutes" (its lower end,
# 300 s) scaled down 30x, the factor bench/chaos applies to this service's delivery settings.
SWEEP_SECONDS = 10
CI_SWEEP_SECONDS = 5
CLK_TCK = os.sysconf("SC_CLK_TCK")


def now():
    return time.monotonic()


def machine_busy_seconds():
    """CPU seconds the whole machine spent busy (all cores), from /proc/stat."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / CLK_TCK


def unique_amounts(plan):
    """Make the amount of every order that should be paid unique in the plan: it names the order in the ledger."""
    seen = set()
    for p in plan:
        if p.kind in PAID_KINDS:
            cents = int(Decimal(p.amount) * 100)
            while cents in seen:
                cents = cents + 1 if cents < 199999 else 100
            seen.add(cents)
            p.amount = f"{cents / 100:.2f}"


def mint_all(sim, plan):
    """Single-use nonces for every order of the mix that carries a card (as a client SDK would tokenize)."""
    wanted = [p for p in plan if p.kind not in ("consumed_nonce", "unknown_nonce")]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for p, nonce in zip(wanted, pool.map(lambda _: sim.mint_nonce(), wanted)):
            p.nonce = nonce


class Compare:
    def __init__(self, args):
        self.args = args
        self.started = now()
        self.run_dir = make_run_dir("compare", base=args.run_dir)
        self.sim = None
        self.design = None
        self.redis = None
        self.rows = []
        self.details = {}
        self.lock = threading.Lock()
        rng = random.Random(args.seed)
        self.plan = plan_orders(args.orders, rng)
        self.bursts = [plan_orders(BURST_SIZE, rng) for _ in range(args.fault_repeats)]
        for i, burst in enumerate(self.bursts):
            for p in burst:
                p.index, p.key = args.orders + i * BURST_SIZE + p.index, f"burst{i}-{p.key}"
        unique_amounts(self.plan + [p for b in self.bursts for p in b])
        lane_rng = random.Random(args.seed + 1)
        window = args.seconds
        self.lanes = {
            "process": plan_faults(window, args.fault_repeats, lane_rng, PROCESS_FAULTS),
            "gateway": plan_faults(window, args.fault_repeats, lane_rng, GATEWAY_FAULTS),
            # One long spell early in the window, so the backlog it builds ages while orders flow.
            "spell": [(window * lane_rng.uniform(0.1, 0.2), SPELL)],
        }

    # -- the runner's interface

    def log(self, msg):
        print(f"[compare {now() - self.started:6.1f}s] {msg}", file=sys.stderr, flush=True)

    def check_deadline(self):
        if now() - self.started > self.args.timeout:
            raise Deadline()

    def kill_everything(self):
        for proc in self.all_processes():
            proc.signal_group(signal.SIGKILL)

    def all_processes(self):
        procs = list(self.design.processes.values()) if self.design else []
        return procs + [p for p in (self.redis, self.sim) if p is not None]

    def teardown(self):
        self.stop_design()
        if self.sim is not None:
            self.sim.stop()

    def stop_design(self):
        if self.design is not None:
            try:
                self.design.stop()
            except Exception as exc:  # teardown must reach the broker too
                self.log(f"stop {self.design.name}: {exc!r}")
            self.design = None
        if self.redis is not None:
            self.redis.stop()
            self.redis = None

    # -- the run

    def setup(self):
        self.log(f"run dir {self.run_dir}")
        self.sim = Simulator(run_dir=self.run_dir, name="sim", extra_args=("--seed", str(self.args.seed))).start()

    def run_all(self):
        for design_class in DESIGNS:
            if design_class.name in self.args.skip_design:
                continue
            self.check_deadline()
            self.run_design(design_class)

    def run_design(self, design_class):
        name = design_class.name
        self.redis = RedisServer(run_dir=self.run_dir, name=f"{name}-redis").start()
        self.design = design_class(run_dir=self.run_dir, sim_url=self.sim.url, broker_url=self.redis.url(0),
                                   sweep_every=self.args.sweep_seconds, extra=CHAOS_SETTINGS)
        self.log(f"{name}: starting on database {self.design.db_name}")
        self.design.start()
        self.sim_rules = {}
        self.expected_down = set()
        self.exits = []
        detail = {"throughput": {}}
        try:
            for latency in (0, 200):
                detail["throughput"][f"{latency}ms"] = self.throughput(latency)
            row, fault_detail = self.fault_pass()
        finally:
            self.stop_design()
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
        busy0, t0 = machine_busy_seconds(), now()
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
        elapsed, busy = now() - t0, machine_busy_seconds() - busy0
        self.sim.set_faults({})
        result = {"orders": n, "accepted": len(ids), "final": done, "seconds": round(elapsed, 2),
                  "orders_per_s": round(done / elapsed, 2) if done else 0.0,
                  "cpu_ms_per_order": round(busy * 1000 / done, 1) if done else None}
        self.log(f"{self.design.name}: throughput at {latency_ms} ms: {result}")
        return result

    # -- the seeded stream with faults

    def fault_pass(self):
        self.sim.reset()
        plan = copy.deepcopy(self.plan)
        bursts = copy.deepcopy(self.bursts)
        mint_all(self.sim, plan + [p for b in bursts for p in b])
        self.entries = plan + [p for b in bursts for p in b]
        self.bursts_left = list(bursts)
        self.fault_log = []
        self.t_traffic = now()
        web_log_offset = len(self.design.processes["web"].log_text())
        stop = threading.Event()
        supervisor = threading.Thread(target=self.supervise, args=(stop,), daemon=True)
        supervisor.start()
        threads = [threading.Thread(target=self.submit_stream, args=(plan,), daemon=True)]
        if not self.args.no_faults:
            threads += [threading.Thread(target=self.inject, args=(lane, events), daemon=True)
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
        row, extra = self.figures(web_log)
        extra.update(quiet=quiet, quiet_seconds=round(quiet_seconds, 1), faults=self.fault_log,
                     unexpected_exits=self.exits)
        return row, extra

    def submit_one(self, p):
        t0 = now()
        status, order_id, body = self.design.submit(p.amount, p.nonce, p.key)
        with self.lock:
            p.responses.append({"status": status, "order_id": order_id, "t": round(t0 - self.t_traffic, 2),
                                "latency": round(now() - t0, 3), "body": body})

    def submit_entry(self, pool, p, rng):
        """One planned order; duplicates as bench/chaos sends them (concurrent, or spaced)."""
        if p.copies == 1:
            pool.submit(self.submit_one, p)
        elif p.concurrent:
            for _ in range(p.copies):
                pool.submit(self.submit_one, p)
        else:
            gaps = [rng.uniform(0.05, 1.5) for _ in range(p.copies)]

            def spaced():
                for gap in gaps:
                    self.submit_one(p)
                    time.sleep(gap)
            pool.submit(spaced)

    def submit_stream(self, plan):
        rng = random.Random(self.args.seed * 31)
        interval = self.args.seconds / max(1, len(plan))
        t_start = now()
        with ThreadPoolExecutor(max_workers=16) as pool:
            for p in plan:
                while now() < t_start + p.index * interval:
                    time.sleep(0.01)
                self.submit_entry(pool, p, rng)

    def set_rules(self, lane, rules):
        with self.lock:
            self.sim_rules[lane] = list(rules)
            merged = [rule for name in sorted(self.sim_rules) for rule in self.sim_rules[name]]
            self.sim.set_faults({"seed": self.args.seed, "rules": merged})

    def inject(self, lane, events):
        r = random.Random(f"{self.args.seed}-{lane}")
        t_start = now()
        for at, kind in events:
            while now() < t_start + at:
                time.sleep(0.05)
            entry = {"kind": kind, "at": round(now() - self.t_traffic, 1)}
            try:
                entry.update(self.fault(kind, r) or {})
            except Exception as exc:  # a failed injection is reported, the run goes on
                entry["error"] = repr(exc)
            entry["seconds"] = round(now() - self.t_traffic - entry["at"], 1)
            with self.lock:
                self.fault_log.append(entry)

    def fault(self, kind, r):
        sale = {"methods": ["POST"], "paths": ["/transactions"]}
        if kind == "kill_mid_sale":
            # A random moment of the charge: receive, sale, record, find or record again.
            pids = self.design.handler_pids()
            if not pids:
                return {"skipped": "no handler process alive"}
            pid = r.choice(pids)
            os.kill(pid, signal.SIGKILL)
            return {"pid": pid}
        if kind == "kill_after_commit":
            # Sales are held at the gateway; the worker dies while holding one; the sale then commits.
            self.set_rules("process", [{"kind": "latency", "latency_ms": 1500, **sale}])
            try:
                time.sleep(0.7)
                pids = self.design.handler_pids()
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
            self.redis.restart(pause=pause)
            return {"down_seconds": round(pause, 1)}
        if kind == "intake_burst":
            burst = self.bursts_left.pop(0)
            t0 = now()
            with ThreadPoolExecutor(max_workers=64) as pool:
                for p in burst:
                    pool.submit(self.submit_one, p)
            answered = [r for p in burst for r in p.responses]
            return {"orders": len(burst), "all_answered_seconds": round(now() - t0, 1),
                    "answers": dict(Counter(str(a["status"]) for a in answered))}
        if kind == SPELL:
            self.set_rules("spell", [{"kind": "latency", "latency_ms": self.args.spell_ms}])
            time.sleep(self.args.spell_seconds)
            self.set_rules("spell", [])
            return {"latency_ms": self.args.spell_ms, "seconds": self.args.spell_seconds}
        if kind == "errors_503":
            window = r.uniform(3, 5)
            self.set_rules("gateway", [{"kind": "error", "status": 503, "rate": 0.8}])
            time.sleep(window)
            self.set_rules("gateway", [])
            return {"window_seconds": round(window, 1)}
        if kind == "commit_then_drop":
            self.set_rules("gateway", [{"kind": "drop", "count": 2, **sale}])
            time.sleep(4)
            left = next((x.get("count") or 0 for x in self.sim.faults()["rules"] if x["kind"] == "drop"), 0)
            self.set_rules("gateway", [])
            return {"dropped_sales": 2 - left}
        raise ValueError(kind)

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

    # -- figures

    def figures(self, web_log):
        orders = self.design.orders()
        ledger = self.sim.transactions()
        ok_sales = [t for t in ledger if t.get("type") == "sale" and t.get("status") in TRANSACTION_PAID_STATUSES]
        by_amount = {Decimal(p.amount): p for p in self.entries if p.kind in PAID_KINDS}
        sales_of = defaultdict(list)
        unattributed = []
        for t in ok_sales:
            p = by_amount.get(Decimal(str(t["amount"])))
            (sales_of[p.index].append(t) if p else unattributed.append(t))
        paid_txns = {o["transaction_id"] for o in orders.values() if o["status"] == "paid"}
        submitted = accepted = 0
        refused_by, lost, wrong, ttf = Counter(), [], [], []
        charged_after_refusal = 0
        outcome_by_kind = defaultdict(Counter)
        for p in self.entries:
            if not p.responses:
                continue
            submitted += 1
            ids = [r["order_id"] for r in p.responses if r["order_id"]]
            if not ids:
                last = p.responses[-1]["status"]
                refused_by["connection error" if last is None else f"{last}"] += 1
                charged_after_refusal += bool(sales_of.get(p.index))
                continue
            accepted += 1
            o = orders.get(ids[0])  # the order id the client got first, and polls
            status = o["status"] if o else None
            outcome_by_kind[p.kind][str(status)] += 1
            if status is None:
                lost.append(ids[0])
                continue
            if o["final_at"] is not None:
                ttf.append((o["final_at"] - o["created_at"]).total_seconds())
            if status != ("paid" if p.kind in PAID_KINDS else "failed"):
                wrong.append({"order_id": ids[0], "kind": p.kind, "status": status,
                              "error_codes": ",".join(o["error_codes"] or []) or "-",
                              "charged": bool(sales_of.get(p.index))})
        # How the 5xx answers came about (the post's API does not catch a failed send).
        channel_full = min(web_log.count("channels.exceptions.ChannelFull"), refused_by.get("500", 0))
        if channel_full:
            refused_by["500"] -= channel_full
            refused_by["500 ChannelFull"] = channel_full
            refused_by = +refused_by  # drop a zero count
        double = {i: s for i, s in sales_of.items() if len(s) > 1}
        orphaned = [t for t in ok_sales if t["id"] not in paid_txns]
        row = {"submitted": submitted, "accepted": accepted, "refused": sum(refused_by.values()),
               "lost": len(lost), "double_charged": len(double), "orphaned": len(orphaned),
               "wrong_status": len(wrong), "p50_s": rnd(percentile(ttf, 0.5)), "p99_s": rnd(percentile(ttf, 0.99)),
               "max_s": rnd(max(ttf) if ttf else None)}
        extra = {"refused_by": dict(refused_by), "charged_after_refusal": charged_after_refusal,
                 "successful_sales": len(ok_sales), "unattributed_sales": len(unattributed),
                 "outcome_by_kind": {k: dict(v) for k, v in sorted(outcome_by_kind.items())},
                 "lost_examples": lost[:10], "wrong_status_examples": wrong[:10],
                 "wrong_status_by": dict(Counter(f"{w['kind']}->{w['status']} codes {w['error_codes']}"
                                                 f"{' (charged)' if w['charged'] else ''}" for w in wrong)),
                 "double_charged_examples": [[t["id"] for t in s] for s in list(double.values())[:10]],
                 "orphaned_examples": [{"id": t["id"], "amount": t["amount"]} for t in orphaned[:10]],
                 "api_answers": dict(Counter(str(r["status"]) for p in self.entries for r in p.responses))}
        return row, extra

    def result(self, command):
        ours = next((r for r in self.rows if r["name"] == "payments"), None)
        passed = ours is not None and not (ours["lost"] or ours["double_charged"] or ours["orphaned"])
        faults = [{"lane": lane, "kind": kind, "at": round(at, 1)} for lane, events in self.lanes.items()
                  for at, kind in events]
        return {"passed": passed, "command": command, "out": self.args.out,
                "report": {"designs": self.rows, "faults": sorted(faults, key=lambda f: f["at"]),
                           "seed": self.args.seed},
                "details": {"designs": self.details, "run_dir": str(self.run_dir), "command": command,
                            "settings": {**CHAOS_SETTINGS, "sweep_seconds": self.args.sweep_seconds,
                                         "reconcile_threshold_seconds": Payments.reconcile_threshold},
                            "args": vars(self.args)}}


def rnd(x):
    return None if x is None else round(x, 2)


COLUMNS = ("submitted", "accepted", "refused", "lost", "double_charged", "orphaned", "wrong_status",
           "p50_s", "p99_s", "max_s", "orders_per_s_0ms", "orders_per_s_200ms", "cpu_ms_per_order")


def markdown_table(rows):
    head = "| design | " + " | ".join(COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 1)]
    for r in rows:
        lines.append(f"| {r['name']} | " + " | ".join("-" if r[c] is None else str(r[c]) for c in COLUMNS) + " |")
    return "\n".join(lines)


def chart(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["name"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    harms = ("refused", "lost", "double_charged", "orphaned", "wrong_status")
    width = 0.8 / len(names)
    for i, r in enumerate(rows):
        axes[0].bar([k + i * width for k in range(len(harms))], [r[h] for h in harms], width, label=r["name"])
    axes[0].set_xticks([k + width * (len(names) - 1) / 2 for k in range(len(harms))], harms, rotation=20)
    axes[0].set_title("orders harmed under the same faults")
    axes[0].legend()
    for i, key in enumerate(("orders_per_s_0ms", "orders_per_s_200ms")):
        axes[1].bar([k + i * 0.4 for k in range(len(names))], [r[key] or 0 for r in rows], 0.4,
                    label=key.replace("orders_per_s_", "gateway latency "))
    axes[1].set_xticks([k + 0.2 for k in range(len(names))], names)
    axes[1].set_title("fault-free orders/s")
    axes[1].legend()
    axes[2].bar(names, [r["cpu_ms_per_order"] or 0 for r in rows], color="grey")
    axes[2].set_title("machine CPU ms per order (0 ms latency)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def print_report(result, out=sys.stdout):
    report, details = result["report"], result["details"]
    out.write("\n" + markdown_table(report["designs"]) + "\n\n")
    for name, d in details["designs"].items():
        out.write(f"{name}: refused by {d['refused_by']}, charged after refusal {d['charged_after_refusal']}, "
                  f"wrong status {d['wrong_status_by']}, unexpected exits {len(d['unexpected_exits'])}, "
                  f"quiet {d['quiet']} after {d['quiet_seconds']}s\n")
    verdict = "PASS" if result["passed"] else "FAIL"
    out.write(f"\npayments: {verdict} (0 lost, 0 double charged, 0 orphaned required); "
              f"{result.get('elapsed_seconds', 0):.0f}s; run dir {details['run_dir']}\n{result['command']}\n")
    if result.get("out"):
        path = Path(result["out"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2, default=str))
        path.with_suffix(".details.json").write_text(json.dumps(details, indent=2, default=str))
        if report["designs"]:
            chart(report["designs"], path.with_suffix(".png"))
        out.write(f"wrote {path}, {path.with_suffix('.details.json')}, {path.with_suffix('.png')}\n")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=600, help="orders of the steady stream")
    parser.add_argument("--seconds", type=float, default=150, help="length of the submission window")
    parser.add_argument("--fault-repeats", type=int, default=3, help="injections per fault kind (the spell: once)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--spell-ms", type=int, default=900, help="gateway latency of the spell, per call")
    parser.add_argument("--spell-seconds", type=float, default=70, help="> 60 s, so queued messages age past expiry")
    parser.add_argument("--throughput-orders", type=int, default=300, help="fault-free pass at 0 ms (a third at 200 ms)")
    parser.add_argument("--sweep-seconds", type=int, default=SWEEP_SECONDS,
                        help="cadence of every design's sweeper / reconciler")
    parser.add_argument("--quiet-timeout", type=float, default=150)
    parser.add_argument("--timeout", type=float, default=None, help="global limit in seconds")
    parser.add_argument("--skip-design", action="append", default=[], choices=[d.name for d in DESIGNS])
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument("--run-dir", default=None, help="parent of the run directory (default: /tmp)")
    parser.add_argument("--out", default=None, help="JSON here; .details.json and .png beside it")
    parser.add_argument("--ci", action="store_true",
                        help="60 orders in 25 s, every fault once, a 6 s spell (too short to age messages past 60 s)")
    args = parser.parse_args(argv)
    if args.ci:
        args.orders, args.seconds, args.fault_repeats = 60, 25, 1
        args.spell_seconds, args.throughput_orders, args.quiet_timeout = 6, 45, 35
        args.sweep_seconds = CI_SWEEP_SECONDS
    # The deadline is a safety net above the expected length (--ci: about 3 minutes on 2 cores).
    args.timeout = args.timeout or (300 if args.ci else 3 * (120 + args.seconds + args.quiet_timeout) + 120)
    return args


def main(argv=None):
    args = parse_args(argv)
    runner_args = argparse.Namespace(timeout=args.timeout, out=None)  # print_report writes the files
    bench = Compare(args)
    return run_benchmark(prog="bench.compare", argv=argv, args=runner_args, bench=bench,
                         steps=[bench.setup, bench.run_all], print_report=print_report)


if __name__ == "__main__":
    sys.exit(main())
