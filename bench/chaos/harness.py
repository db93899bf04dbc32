"""Fault-injection harness: prove the payment promises under crashes, broker loss and gateway faults.

    python -m bench.chaos --ci --out /tmp/chaos.json           # ~60 orders, every fault once, < 3 min
    python -m bench.chaos --orders 1000 --seconds 150 --seed 7 --out bench/results/chaos.json

On this machine it starts its own processes (bench/stack.py): the Braintree simulator with a state
file, a private redis-server as broker, the API under gunicorn, two payments workers (prefork, two
processes each), the reconciliation worker and beat, all on a fresh PostgreSQL database of its own
(dropped at the end unless --keep). It submits orders over HTTP at a steady rate with a seeded mix,
injects seeded faults while they flow, waits until every order is terminal (bounded), then checks:

  I1  at most one successful sale at the gateway per order;
  I2  every accepted order reached paid / failed / needs_review (plus time-to-terminal figures);
  I3  every successful sale belongs to exactly one paid order (same transaction id and amount),
      and every paid order has one;
  I4  no order's status went backwards, and the audit trail is a continuous chain;
  I5  duplicate submissions with one Idempotency-Key made one order and at most one charge.

Exit status: 0 all invariants hold, 1 an invariant was violated, 2 the stack could not be set up,
3 the global deadline expired. Logs of every process stay in the run directory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import psycopg

from bench.stack import (
    PYTHON,
    REPO_ROOT,
    Beat,
    RedisServer,
    Simulator,
    StackError,
    WebServer,
    Worker,
    environment,
    http_request,
    make_run_dir,
    pid_alive,
)

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
RECONCILE_TASK_NAME = "payments: reconcile stuck orders"
RECONCILE_TASK = "payments.tasks.reconcile_orders_task"
TERMINAL = ("paid", "failed", "needs_review")
RANK = {"pending": 0, "processing": 1, "paid": 2, "failed": 2, "needs_review": 2}
FINAL = ("paid", "failed")
# Braintree statuses of a transaction that took (or will take) the customer's money.
SUCCESS_STATUSES = {
    "authorized", "authorizing", "submitted_for_settlement", "settling", "settled",
    "settlement_pending", "settlement_confirmed",
}
# Faults run in two lanes so that all of them fit while orders flow: process faults one after
# another, gateway faults one after another, the two lanes at the same time.
GATEWAY_FAULTS = ("gateway_errors", "gateway_hang", "gateway_latency", "gateway_drop")
FAULT_KINDS = (
    "kill_child",          # SIGKILL one pool process of a payments worker
    "kill_main",           # SIGKILL a worker's main process (node loss), restart after a pause
    "kill_after_commit",   # SIGKILL a pool process while its sale is held at the gateway: the
                           # gateway records the sale after the worker is dead
    "sigterm_deploy",      # SIGTERM a worker during a sale (warm shutdown), then restart it
    "redis_restart",       # broker crash without persistence: every queued message is lost
    "gateway_errors",      # a burst of 503 or 429 answers
    "gateway_hang",        # sales held past the client timeout (committed afterwards)
    "gateway_latency",     # added latency with jitter
    "gateway_drop",        # commit the sale, then drop the connection without an answer
    "pg_terminate",        # pg_terminate_backend of the workers' database sessions
    "beat_stop",           # beat down for a while, then restarted
)

# Short delivery settings so recovery fits in the run; the README's Reliability section explains
# how each bounds the time to terminal state.
CHAOS_SETTINGS = {
    "BRAINTREE_TIMEOUT_SECONDS": 2,
    "CELERY_TASK_SOFT_TIME_LIMIT": 8,
    "CELERY_TASK_TIME_LIMIT": 10,
    "PAYMENTS_CLAIM_LEASE_SECONDS": 12,   # > task hard time limit
    "CELERY_VISIBILITY_TIMEOUT": 30,      # > longest retry countdown + hard time limit
    "PAYMENTS_RETRY_BACKOFF": 1,
    "PAYMENTS_RETRY_BACKOFF_MAX": 4,
    "PAYMENTS_MAX_RETRIES": 5,
    "CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT": 10,
    "DJANGO_DEBUG": "0",
}
RECONCILE_INTERVAL_SECONDS = 2
# Above the claim lease, so a pending order is re-sent at most once per lease while it waits in a
# backlog (the reconciler re-sends every pending order older than this on every run).
RECONCILE_THRESHOLD_SECONDS = 15


class DeadlineExpired(Exception):
    pass


def now():
    return time.monotonic()


def pct(values, q):
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


# --- the order mix -------------------------------------------------------------------------------


@dataclass
class Planned:
    index: int
    kind: str            # approved, declined, rejected, failed3000, consumed_nonce, unknown_nonce
    amount: str
    nonce: str           # "mint" = ask the simulator for a fresh single-use nonce at submit time
    key: str
    copies: int = 1      # >1: duplicate submissions with the same Idempotency-Key
    concurrent: bool = False
    responses: list = field(default_factory=list)
    body: dict = None


MIX = (
    ("approved", 0.70),
    ("declined", 0.08),
    ("rejected", 0.04),
    ("failed3000", 0.04),
    ("consumed_nonce", 0.04),
    ("unknown_nonce", 0.03),
    ("duplicate", 0.07),
)


def plan_orders(n, rng):
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    plan = []
    for i in range(n):
        kind = rng.choices(kinds, weights)[0]
        copies, concurrent = 1, False
        if kind == "duplicate":
            copies, concurrent = rng.choice((2, 2, 3)), rng.random() < 0.5
            kind = "approved"
            dup = True
        else:
            dup = False
        nonce = rng.choice(("fake-valid-nonce", "mint"))
        if kind == "approved":
            amount = f"{rng.uniform(1, 1999.99):.2f}"
        elif kind == "declined":
            amount = f"{rng.uniform(2000, 2999.99):.2f}"
        elif kind == "rejected":
            amount = "5001.00"
        elif kind == "failed3000":
            amount = f"{rng.uniform(3000, 3000.99):.2f}"
        elif kind == "consumed_nonce":
            amount, nonce = f"{rng.uniform(1, 1999.99):.2f}", "fake-consumed-nonce"
        else:
            amount, nonce = f"{rng.uniform(1, 1999.99):.2f}", f"unknown-nonce-{rng.getrandbits(48):x}"
        key = f"chaos-{uuid.UUID(int=rng.getrandbits(128))}"
        plan.append(Planned(i, "duplicate" if dup else kind, amount, nonce, key, copies, concurrent))
    return plan


def plan_faults(seconds, repeats, rng, kinds=FAULT_KINDS):
    """Seeded (moment, kind) pairs spread over 5–85 % of the submission window, every kind `repeats` times."""
    events = [kind for kind in kinds for _ in range(repeats)]
    rng.shuffle(events)
    slots = len(events)
    out = []
    for i, kind in enumerate(events):
        lo = seconds * (0.05 + 0.80 * i / slots)
        hi = seconds * (0.05 + 0.80 * (i + 1) / slots)
        out.append((rng.uniform(lo, hi), kind))
    return out


# --- the harness ---------------------------------------------------------------------------------


class Chaos:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.fault_rng = random.Random(args.seed * 7919 + 1)
        self.started = now()
        self.deadline = self.started + args.deadline
        self.run_dir = make_run_dir("chaos", base=args.run_dir)
        self.db_name = args.db_name or f"payments_chaos_{os.getpid()}"
        self.procs = {}
        self.workers = []
        self.fault_log = []
        self.warnings = []
        self.token = None
        self.phase = "setup"
        self.submitted = 0
        self.accepted = 0
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self._db = None
        self.sim_rules = {}
        self.background = []
        self.expected_down = set()   # processes a fault took down on purpose (the supervisor leaves them)
        self.crashes = []
        self.supervisor_stop = threading.Event()

    # -- plumbing

    def remaining(self):
        return self.deadline - now()

    def check_deadline(self):
        if self.remaining() <= 0:
            raise DeadlineExpired()

    def log(self, msg):
        self.clear_progress()
        print(f"[chaos {now() - self.started:6.1f}s] {msg}", file=sys.stderr, flush=True)

    def warn(self, msg):
        self.warnings.append(msg)
        self.log(f"WARNING: {msg}")

    def db(self):
        if self._db is None or self._db.closed:
            self._db = psycopg.connect(
                f"host=127.0.0.1 port=5432 user=postgres dbname={self.db_name} application_name=chaos-harness",
                autocommit=True, connect_timeout=5,
            )
        return self._db

    def query(self, sql, params=()):
        for attempt in range(3):
            try:
                with self.db().cursor() as cur:
                    cur.execute(sql, params)
                    return cur.fetchall() if cur.description else []
            except psycopg.OperationalError:
                self._db = None
                if attempt == 2:
                    raise
                time.sleep(0.2)

    # -- setup

    def create_database(self):
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            # Leftovers of harness runs that died without cleaning up (their pid is gone).
            for (name,) in conn.execute("SELECT datname FROM pg_database WHERE datname ~ '^payments_chaos_[0-9]+$'"):
                pid = int(name.rsplit("_", 1)[1])
                if pid != os.getpid() and not pid_alive(pid):
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.db_name}"')

    def drop_database(self):
        if self._db is not None:
            self._db.close()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    def env(self, app_name, **extra):
        return environment(
            db_name=self.db_name,
            broker_url=self.procs["redis"].url(0),
            simulator_url=self.procs["sim"].url,
            app_name=app_name,
            extra={**CHAOS_SETTINGS, **extra},
        )

    def manage(self, *argv, code=None, timeout=120):
        cmd = [PYTHON, "manage.py", *argv] + (["-c", code] if code is not None else [])
        result = subprocess.run(cmd, cwd=REPO_ROOT, env=self.env("chaos-manage"), capture_output=True,
                                text=True, timeout=timeout)
        (self.run_dir / "manage.log").open("a").write(f"$ {' '.join(argv)}\n{result.stdout}\n{result.stderr}\n")
        if result.returncode != 0:
            raise StackError(f"manage.py {' '.join(argv)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def configure(self):
        """API user and token; the reconciler's PeriodicTask on a short interval and thresholds."""
        conf = json.dumps({"name": RECONCILE_TASK_NAME, "task": RECONCILE_TASK,
                           "every": RECONCILE_INTERVAL_SECONDS, "threshold": RECONCILE_THRESHOLD_SECONDS})
        code = f"""
import json
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks
conf = json.loads({conf!r})
user, _ = get_user_model().objects.get_or_create(username="chaos")
token, _ = Token.objects.get_or_create(user=user)
print("TOKEN", token.key)
every, _ = IntervalSchedule.objects.get_or_create(every=conf["every"], period=IntervalSchedule.SECONDS)
task = PeriodicTask.objects.filter(name=conf["name"]).first()
if task is None:
    print("MISSING_PERIODIC_TASK")
    task = PeriodicTask(name=conf["name"], task=conf["task"])
kwargs = json.loads(task.kwargs or "{{}}")
for key in ("pending_after_seconds", "processing_after_seconds"):
    kwargs[key] = conf["threshold"]
task.kwargs = json.dumps(kwargs)
task.interval, task.crontab, task.solar, task.clocked = every, None, None, None
task.enabled = True
task.expire_seconds = conf["every"]  # as the migration: a run not delivered within one interval is dropped
task.expires = None
task.save()
PeriodicTasks.update_changed()
print("PERIODIC", json.dumps({{"task": task.task, "kwargs": task.kwargs, "queue": task.queue, "every": conf["every"]}}))
"""
        out = self.manage("shell", code=code)
        for line in out.splitlines():
            if line.startswith("TOKEN "):
                self.token = line.split()[1]
            elif line.startswith("MISSING_PERIODIC_TASK"):
                self.warn(f"PeriodicTask {RECONCILE_TASK_NAME!r} did not exist after migrate; the harness created it")
            elif line.startswith("PERIODIC "):
                self.reconcile_conf = json.loads(line[len("PERIODIC "):])
        if not self.token:
            raise StackError(f"could not create the API token:\n{out}")

    def start_stack(self):
        self.phase = "start"
        rd = self.run_dir
        self.log(f"run dir {rd}; database {self.db_name}")
        self.procs["redis"] = RedisServer(run_dir=rd, name="redis").start()
        self.procs["sim"] = Simulator(run_dir=rd, name="sim", state_path=rd / "sim-state.sqlite",
                                      extra_args=("--seed", str(self.args.seed))).start()
        self.create_database()
        self.manage("migrate", "--noinput", "-v", "0", timeout=300)
        self.configure()
        self.procs["web"] = WebServer(run_dir=rd, name="web", env=self.env("chaos-web"), workers=2)
        for i in (1, 2):
            w = Worker(run_dir=rd, name=f"chaos-payments-{i}", env=self.env(f"chaos-worker-{i}"),
                       queues="payments", concurrency=2)
            self.procs[w.name] = w
            self.workers.append(w)
        self.procs["chaos-maint"] = Worker(run_dir=rd, name="chaos-maint", env=self.env("chaos-worker-maint"),
                                     queues="default,maintenance", concurrency=1)
        self.procs["beat"] = Beat(run_dir=rd, name="beat", env=self.env("chaos-beat"))
        for name in ("web", "chaos-payments-1", "chaos-payments-2", "chaos-maint", "beat"):
            self.procs[name].start(wait=False)
        for name in ("web", "chaos-payments-1", "chaos-payments-2", "chaos-maint", "beat"):
            self.procs[name].wait_ready(timeout=max(10, min(90, self.remaining() - 30)))
        self.log("stack ready: " + ", ".join(f"{n}={p.pid}" for n, p in self.procs.items()))

    def teardown(self):
        self.supervisor_stop.set()
        time.sleep(0.1)
        for name in ("beat", "chaos-maint", "chaos-payments-1", "chaos-payments-2", "web", "sim", "redis"):
            proc = self.procs.get(name)
            if proc is not None:
                try:
                    proc.stop(timeout=5)
                except Exception as exc:  # teardown must reach every process
                    self.log(f"stop {name}: {exc!r}")
        if not self.args.keep:
            try:
                self.drop_database()
            except Exception as exc:
                self.log(f"drop database {self.db_name}: {exc!r}")
        else:
            self.log(f"kept database {self.db_name} and run dir {self.run_dir}")

    def kill_everything(self):
        """Last resort of the watchdog: SIGKILL every process group we started."""
        for proc in self.procs.values():
            proc.signal_group(signal.SIGKILL)

    # -- submitting

    def api(self, method, path, body=None, headers=None, timeout=10):
        hdrs = {"Authorization": f"Token {self.token}", **(headers or {})}
        return http_request(method, self.procs["web"].url + path, body=body, headers=hdrs, timeout=timeout)

    def submit_one(self, planned):
        t0 = now()
        for attempt in range(3):
            try:
                status, headers, data = self.api("POST", "/api/orders/", planned.body,
                                                 {"Idempotency-Key": planned.key})
                break
            except OSError as exc:
                status, data = None, repr(exc)
                time.sleep(0.5)
        order_id = data.get("id") if isinstance(data, dict) else None
        with self.lock:
            planned.responses.append({"status": status, "order_id": order_id, "t": now() - self.started,
                                      "latency": now() - t0,
                                      "body": None if status in (200, 201, 202) else str(data)[:300]})
            self.submitted += 1
            if status in (200, 201, 202):
                self.accepted += 1

    def submit_all(self, plan):
        self.phase = "submit"
        rate_interval = self.args.seconds / max(1, len(plan))
        t_start = now()
        with ThreadPoolExecutor(max_workers=16) as pool:
            for p in plan:
                at = t_start + p.index * rate_interval
                while now() < at:
                    if self.remaining() < 30:
                        self.warn("deadline near: stopped submitting")
                        return
                    time.sleep(min(0.05, at - now()))
                nonce = p.nonce
                if nonce == "mint":
                    try:
                        nonce = self.procs["sim"].mint_nonce()
                    except Exception as exc:
                        self.warn(f"mint nonce failed ({exc!r}); using fake-valid-nonce")
                        nonce = "fake-valid-nonce"
                p.body = {"amount": p.amount, "payment_method_nonce": nonce, "currency": "USD",
                          "description": f"chaos #{p.index} {p.kind}"}
                if p.copies == 1:
                    pool.submit(self.submit_one, p)
                elif p.concurrent:
                    for _ in range(p.copies):
                        pool.submit(self.submit_one, p)
                else:
                    def sequential(p=p, gaps=[self.rng.uniform(0.05, 1.5) for _ in range(p.copies)]):
                        for gap in gaps:
                            self.submit_one(p)
                            time.sleep(gap)
                    pool.submit(sequential)

    # -- fault injection

    def payment_children(self):
        return [(w, pid) for w in self.workers if w.alive() for pid in w.child_pids()]

    def in_sale_orders(self):
        """Orders a worker has claimed and is charging right now (processing, no transaction yet)."""
        return [str(r[0]) for r in self.query(
            "SELECT id FROM payments_order WHERE status = 'processing' AND transaction_id IS NULL")]

    def wait_in_sale(self, timeout):
        try:
            deadline = now() + timeout
            while now() < deadline:
                ids = self.in_sale_orders()
                if ids:
                    return ids
                time.sleep(0.1)
        except psycopg.Error as exc:
            self.log(f"in-sale query failed: {exc!r}")
        return []

    def sale_rule(self, **rule):
        return {"methods": ["POST"], "paths": ["/transactions"], **rule}

    def set_rules(self, lane, rules):
        """Set one lane's simulator fault rules; the simulator gets the union of both lanes."""
        with self.lock:
            if rules:
                self.sim_rules[lane] = list(rules)
            else:
                self.sim_rules.pop(lane, None)
            merged = [rule for name in sorted(self.sim_rules) for rule in self.sim_rules[name]]
            self.procs["sim"].set_faults({"seed": self.fault_rng.getrandbits(31), "rules": merged})

    def rule_count_left(self, kind):
        for rule in self.procs["sim"].faults()["rules"]:
            if rule["kind"] == kind:
                return rule.get("count") or 0
        return 0

    def in_background(self, name, fn, *args):
        """Run a restart later without blocking the lane (joined, bounded, before the checks)."""
        thread = threading.Thread(target=fn, args=args, name=name, daemon=True)
        thread.start()
        self.background.append(thread)

    def restart_after(self, proc, pause):
        time.sleep(pause)
        try:
            proc.stop(timeout=1)
            proc.start(wait=True)
        except Exception as exc:
            self.log(f"restart of {proc.name} failed: {exc!r}")
        finally:
            self.going_down(proc, False)

    def going_down(self, proc, down=True):
        with self.lock:
            (self.expected_down.add if down else self.expected_down.discard)(proc.name)

    def supervise(self):
        """Act as systemd/Kubernetes would: restart a process that exited without a fault asking it to.

        Every such exit is recorded (exit code, the last error line of its log): a crash is a
        finding even when the invariants hold.
        """
        names = ("redis", "sim", "web", "chaos-payments-1", "chaos-payments-2", "chaos-maint", "beat")
        while not self.supervisor_stop.wait(1):
            for name in names:
                proc = self.procs.get(name)
                with self.lock:
                    if name in self.expected_down:
                        continue
                if proc is None or proc.proc is None or proc.alive():
                    continue
                errors = [line for line in proc.log_text(since_start=True).splitlines()
                          if "CRITICAL" in line or "Error" in line]
                crash = {"process": name, "exit_code": proc.proc.returncode,
                         "at": round(now() - self.t_traffic, 1), "error": (errors[-1] if errors else proc.tail(1))[:300]}
                self.crashes.append(crash)
                self.log(f"{name} exited unexpectedly (code {crash['exit_code']}): {crash['error'][:160]}; restarting it")
                try:
                    proc.stop(timeout=1)
                    proc.start(wait=True)
                except Exception as exc:
                    crash["restart_error"] = repr(exc)[:300]

    def settle_background(self):
        """Wait for pending restarts, so one fault never hits a process another fault is restarting."""
        for thread in self.background:
            thread.join(timeout=max(1, min(60, self.remaining() - 30)))

    def fault(self, kind, r):
        sim = self.procs["sim"]
        detail = {}
        if kind not in GATEWAY_FAULTS:
            self.settle_background()
        if kind == "kill_child":
            children = self.payment_children()
            if not children:
                return {"skipped": "no pool children alive"}
            w, pid = r.choice(children)
            w.kill_child(pid)
            detail = {"worker": w.name, "pid": pid, "in_sale": len(self.in_sale_orders())}
        elif kind == "kill_main":
            alive = [w for w in self.workers if w.alive()]
            if not alive:
                return {"skipped": "no worker alive"}
            w = r.choice(alive)
            pid = w.pid
            self.going_down(w)
            w.kill_main()
            pause = r.uniform(2, 5)
            self.in_background(f"restart-{w.name}", self.restart_after, w, pause)
            detail = {"worker": w.name, "pid": pid, "down_seconds": round(pause, 1)}
        elif kind == "kill_after_commit":
            self.set_rules("process", [self.sale_rule(kind="latency", latency_ms=1500)])
            try:
                in_sale = self.wait_in_sale(5)
                time.sleep(0.3)
                children = self.payment_children()
                if not children:
                    return {"skipped": "no pool children alive"}
                w, pid = r.choice(children)
                w.kill_child(pid)
                t_kill = time.time()
                detail = {"worker": w.name, "pid": pid, "orders_in_sale": in_sale}
                time.sleep(1.8)  # the held sales commit now, with their worker gone
            finally:
                self.set_rules("process", [])
            committed_later = [t for t in sim.transactions() if t.get("order_id") in set(in_sale)]
            detail["ledger_sales_of_those_orders"] = len(committed_later)
            detail["kill_time"] = t_kill
        elif kind == "sigterm_deploy":
            alive = [w for w in self.workers if w.alive()]
            if not alive:
                return {"skipped": "no worker alive"}
            w = r.choice(alive)
            self.set_rules("process", [self.sale_rule(kind="latency", latency_ms=1500)])
            try:
                in_sale = self.wait_in_sale(5)
                t0 = now()
                self.going_down(w)
                w.terminate(wait=False)
                exited = w.wait(float(CHAOS_SETTINGS["CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT"]) + 10)
                shutdown = now() - t0
                w.stop(timeout=1)
            finally:
                self.set_rules("process", [])
            restored = "Restoring" in w.log_text(since_start=True)
            self.in_background(f"restart-{w.name}", self.restart_after, w, 0)
            detail = {"worker": w.name, "orders_in_sale": in_sale, "warm_exit": exited,
                      "shutdown_seconds": round(shutdown, 1), "restored_unacked": restored}
        elif kind == "redis_restart":
            self.going_down(self.procs["redis"])
            try:
                self.procs["redis"].restart(pause=r.uniform(0.5, 2))
            finally:
                self.going_down(self.procs["redis"], False)
        elif kind == "gateway_errors":
            status, window = r.choice((503, 429)), r.uniform(3, 5)
            self.set_rules("gateway", [{"kind": "error", "status": status, "rate": 0.8}])
            time.sleep(window)
            self.set_rules("gateway", [])
            detail = {"status": status, "seconds": round(window, 1)}
        elif kind == "gateway_hang":
            seconds = CHAOS_SETTINGS["BRAINTREE_TIMEOUT_SECONDS"] * 2
            self.set_rules("gateway", [self.sale_rule(kind="hang", seconds=seconds, count=2)])
            time.sleep(4)
            fired = 2 - self.rule_count_left("hang")
            self.set_rules("gateway", [])
            detail = {"hang_seconds": seconds, "hung_sales": fired}
        elif kind == "gateway_latency":
            latency, window = r.uniform(300, 800), r.uniform(3, 6)
            self.set_rules("gateway", [{"kind": "latency", "latency_ms": latency, "jitter_ms": 300}])
            time.sleep(window)
            self.set_rules("gateway", [])
            detail = {"latency_ms": round(latency), "seconds": round(window, 1)}
        elif kind == "gateway_drop":
            self.set_rules("gateway", [self.sale_rule(kind="drop", count=2)])
            time.sleep(4)
            fired = 2 - self.rule_count_left("drop")
            self.set_rules("gateway", [])
            detail = {"dropped_sales": fired}
        elif kind == "pg_terminate":
            # Held sales keep tasks (and their open DB sessions) in flight while we terminate.
            self.set_rules("process", [self.sale_rule(kind="latency", latency_ms=800)])
            terminated = []
            try:
                end = now() + 2.5
                while now() < end:
                    rows = self.query(
                        "SELECT application_name, pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %s AND application_name LIKE 'chaos-worker-%%' "
                        "AND pid <> pg_backend_pid()", (self.db_name,))
                    terminated += [name for name, ok in rows if ok]
                    time.sleep(0.25)
            finally:
                self.set_rules("process", [])
            detail = {"terminated": len(terminated), "by_app": dict(Counter(terminated))}
        elif kind == "beat_stop":
            beat = self.procs["beat"]
            down = r.uniform(4, 8)
            self.going_down(beat)
            beat.stop(timeout=5)
            self.in_background("restart-beat", self.restart_after, beat, down)
            detail = {"down_seconds": round(down, 1)}
        else:
            raise ValueError(kind)
        return detail

    def inject_all(self, lane, schedule):
        r = random.Random(self.args.seed * 7919 + lane)  # one generator per lane: seeded choices
        t_start = now()
        for at, kind in schedule:
            while now() < t_start + at and not self.stop_event.is_set():
                time.sleep(0.05)
            if self.stop_event.is_set() or self.remaining() < 40:
                self.fault_log.append({"kind": kind, "skipped": "deadline"})
                continue
            t0 = now()
            entry = {"kind": kind, "at": round(t0 - self.t_traffic, 1)}
            try:
                entry.update(self.fault(kind, r) or {})
                entry["ok"] = "skipped" not in entry
            except Exception as exc:
                entry.update(ok=False, error=repr(exc), trace=traceback.format_exc(limit=3))
                self.log(f"fault {kind} failed: {exc!r}")
            entry["seconds"] = round(now() - t0, 1)
            self.fault_log.append(entry)

    def heal(self):
        """Clear gateway faults and bring back any process a fault left down."""
        self.settle_background()
        try:
            self.procs["sim"].set_faults({"rules": []})
        except Exception as exc:
            self.warn(f"could not clear simulator faults: {exc!r}")
        for name in ("redis", "web", "chaos-payments-1", "chaos-payments-2", "chaos-maint", "beat"):
            proc = self.procs[name]
            if not proc.alive():
                self.warn(f"{name} was down after the fault phase; restarting it")
                proc.stop(timeout=1)
                proc.start(wait=True)

    # -- progress

    _progress_shown = False

    def clear_progress(self):
        if self._progress_shown:
            sys.stderr.write("\r\033[K")
            self._progress_shown = False

    def progress(self, total, counts):
        terminal = sum(counts.get(s, 0) for s in TERMINAL)
        orders = sum(counts.values())
        width = 30
        done = int(width * terminal / max(1, total))
        faults_done = len(self.fault_log)
        line = (f"[{'#' * done}{'.' * (width - done)}] {self.phase:<7} sent {self.submitted:>4}"
                f" | orders {orders:>4} terminal {terminal:>4} (paid {counts.get('paid', 0)}, failed "
                f"{counts.get('failed', 0)}, review {counts.get('needs_review', 0)}) | faults "
                f"{faults_done}/{self.n_faults} | {now() - self.started:5.0f}s")
        if sys.stderr.isatty():
            sys.stderr.write("\r\033[K" + line)
            self._progress_shown = True
        elif now() - getattr(self, "_last_plain", 0) >= 10:
            # Logs (CI) get a line every 10 s instead of a carriage-return animation.
            self._last_plain = now()
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def status_counts(self):
        try:
            return dict(self.query("SELECT status, count(*) FROM payments_order GROUP BY status"))
        except psycopg.Error:
            return {}

    # -- the run

    def run(self):
        args = self.args
        plan = plan_orders(args.orders, self.rng)
        repeats = args.fault_repeats or max(1, round(args.seconds / 45))
        kinds = [k for k in FAULT_KINDS if k not in set(args.skip_fault)]
        lane_rng = random.Random(args.seed + 1)
        lanes = [plan_faults(args.seconds, repeats, lane_rng, [k for k in kinds if k not in GATEWAY_FAULTS]),
                 plan_faults(args.seconds, repeats, lane_rng, [k for k in kinds if k in GATEWAY_FAULTS])]
        self.n_faults = sum(map(len, lanes))
        self.start_stack()
        self.t_traffic = now()
        submitter = threading.Thread(target=self.submit_all, args=(plan,), name="submit", daemon=True)
        injectors = [threading.Thread(target=self.inject_all, args=(i, lane), name=f"faults-{i}", daemon=True)
                     for i, lane in enumerate(lanes)]
        threading.Thread(target=self.supervise, name="supervisor", daemon=True).start()
        submitter.start()
        if args.no_faults:
            injectors, self.n_faults = [], 0
        for injector in injectors:
            injector.start()
        total = len(plan)
        while submitter.is_alive() or any(i.is_alive() for i in injectors):
            self.progress(total, self.status_counts())
            if self.remaining() < 35:
                self.stop_event.set()
            time.sleep(1)
            self.check_deadline()
        self.t_traffic_end = now()
        self.phase = "heal"
        self.heal()
        self.phase = "quiet"
        quiet_budget = min(args.quiet_timeout, self.remaining() - 20)
        quiet_end = now() + quiet_budget
        stable_since, last_sig = None, None
        self.quiet = False
        while now() < quiet_end:
            counts = self.status_counts()
            self.progress(total, counts)
            active = counts.get("pending", 0) + counts.get("processing", 0)
            try:
                ledger_n = len(self.procs["sim"].transactions())
            except Exception:
                ledger_n = -1
            sig = (tuple(sorted(counts.items())), ledger_n)
            # A couple of seconds of silence so a stray redelivered task would show up; with
            # orders parked in needs_review, long enough for the reconciler's recheck of them
            # (threshold + two intervals) to have adopted a sale that landed late.
            silence = 3
            if counts.get("needs_review", 0):
                silence = RECONCILE_THRESHOLD_SECONDS + 2 * RECONCILE_INTERVAL_SECONDS + 1
            if active == 0 and sig == last_sig:
                stable_since = stable_since or now()
                if now() - stable_since >= silence:
                    self.quiet = True
                    break
            else:
                stable_since = None
            last_sig = sig
            time.sleep(1)
        self.quiet_seconds = now() - self.t_traffic_end
        self.clear_progress()
        self.log(f"quiet={self.quiet} {self.quiet_seconds:.0f}s after the traffic phase")
        self.phase = "check"
        return self.check(plan)

    # -- the checks

    def fetch_api_orders(self):
        """Every order as the API shows it (the paginated list); None if the list is unavailable."""
        orders, path = {}, "/api/orders/?page=1"
        for _ in range(1000):
            status, _, data = self.api("GET", path, timeout=30)
            if status != 200 or not isinstance(data, dict):
                self.warn(f"GET {path} answered {status}; API cross-check skipped")
                return None
            for o in data.get("results", []):
                orders[o["id"]] = o
            nxt = data.get("next")
            if not nxt:
                return orders
            path = nxt[nxt.index("/api/"):]
        return orders

    def check(self, plan):
        orders = {}
        for row in self.query(
                "SELECT id, status, amount, transaction_id, idempotency_key, created_at, claims, "
                "gateway_status, error_codes, failure_reason FROM payments_order"):
            oid = str(row[0])
            orders[oid] = dict(id=oid, status=row[1], amount=row[2], transaction_id=row[3], key=row[4],
                               created_at=row[5], claims=row[6], gateway_status=row[7],
                               error_codes=row[8], failure_reason=row[9])
        attempts = defaultdict(list)
        for row in self.query(
                "SELECT id, order_id, action, from_status, to_status, outcome, transaction_id, created_at, detail "
                "FROM payments_orderattempt ORDER BY id"):
            attempts[str(row[1])].append(dict(id=row[0], action=row[2], from_status=row[3], to_status=row[4],
                                              outcome=row[5], transaction_id=row[6], created_at=row[7],
                                              detail=row[8]))
        ledger = self.procs["sim"].transactions()
        api_orders = self.fetch_api_orders()
        sales = [t for t in ledger if t.get("type") == "sale"]
        ok_sales = [t for t in sales if t.get("status") in SUCCESS_STATUSES]
        ok_by_order = defaultdict(list)
        for t in ok_sales:
            ok_by_order[t.get("order_id")].append(t)
        by_key = defaultdict(list)
        for o in orders.values():
            if o["key"]:
                by_key[o["key"]].append(o)

        inv = {}
        # I1: at most one successful sale per order.
        v = [{"order_id": oid, "sales": txs} for oid, txs in ok_by_order.items() if len(txs) > 1]
        inv["I1"] = {"name": "at most one successful sale per order", "checked": len(ok_by_order), "violations": v}

        # I2: every accepted order terminal; every 2xx answer names an order that exists.
        v = [{"order_id": o["id"], "status": o["status"]} for o in orders.values() if o["status"] not in TERMINAL]
        accepted_ids = {r["order_id"] for p in plan for r in p.responses if r["status"] in (200, 201, 202)}
        v += [{"order_id": oid, "status": "missing from database"} for oid in accepted_ids - set(orders)]
        ttt = []
        for o in orders.values():
            end = next((a["created_at"] for a in attempts[o["id"]] if a["to_status"] in TERMINAL), None)
            if end is not None:
                ttt.append((end - o["created_at"]).total_seconds())
        inv["I2"] = {"name": "every accepted order reached paid/failed/needs_review", "checked": len(orders),
                     "violations": v}

        # I3: successful sales <-> paid orders, one to one, same id and amount.
        v = []
        for t in ok_sales:
            o = orders.get(t.get("order_id"))
            if o is None:
                v.append({"transaction": t, "problem": "sale for an order the database does not have"})
            elif o["status"] != "paid":
                v.append({"order_id": o["id"], "transaction": t, "problem": f"sale captured but order is {o['status']}"})
            elif o["transaction_id"] != t["id"]:
                v.append({"order_id": o["id"], "transaction": t,
                          "problem": f"order records transaction {o['transaction_id']}"})
            elif Decimal(str(t["amount"])) != o["amount"]:
                v.append({"order_id": o["id"], "transaction": t, "problem": f"order amount {o['amount']}"})
        ok_ids = {t["id"] for t in ok_sales}
        for o in orders.values():
            if o["status"] == "paid" and o["transaction_id"] not in ok_ids:
                v.append({"order_id": o["id"], "problem": f"paid with {o['transaction_id']!r}, no successful sale with that id"})
        inv["I3"] = {"name": "every successful sale is recorded on exactly one paid order (same id, amount)",
                     "checked": len(ok_sales) + sum(o["status"] == "paid" for o in orders.values()), "violations": v}

        # I4: the audit chain never goes backwards and ends at the order's status. Every row
        # names the status it saw; a row naming a status the order had already left is a stale
        # audit row (the trail then reads as going backwards), reported as its own category.
        v = []
        for o in orders.values():
            prev = None
            for a in attempts[o["id"]]:
                frm, to = a["from_status"] or None, a["to_status"] or None
                if to is None:
                    continue
                problem = None
                if prev is not None and frm is not None and frm != prev:
                    category = "stale audit row" if frm == to else "transition from a status the order was not in"
                    problem = f"{category}: {a['action']}/{a['outcome']} row says {frm}->{to} but the order was {prev}"
                    v.append({"order_id": o["id"], "attempt_id": a["id"], "category": category, "problem": problem})
                    continue  # the row did not change the order: keep walking from the real status
                elif frm in FINAL and to != frm:
                    problem = f"left final status {frm} for {to}"
                elif frm in FINAL:
                    problem = f"transition recorded out of final status {frm}"
                elif frm == "needs_review" and to == "processing" and a["action"] != "requeue":
                    problem = f"needs_review -> processing by {a['action']}, not an admin requeue"
                elif frm is not None and frm != "needs_review" and RANK.get(to, 9) < RANK.get(frm, 9):
                    problem = f"went backwards {frm} -> {to}"
                if problem:
                    v.append({"order_id": o["id"], "attempt_id": a["id"], "category": "backwards", "problem": problem})
                prev = to
            if prev != o["status"]:
                v.append({"order_id": o["id"], "category": "unrecorded transition",
                          "problem": f"status {o['status']} but the audit trail ends at {prev}"})
        inv["I4"] = {"name": "no status went backwards; every transition recorded", "checked": len(orders),
                     "violations": v, "by_category": dict(Counter(x["category"] for x in v)),
                     "orders_affected": len({x["order_id"] for x in v})}

        # I5: one Idempotency-Key, one order, at most one charge.
        v = []
        # Only groups that were sent: a run cut short by its deadline is reported as incomplete.
        dups = [p for p in plan if p.copies > 1 and p.responses]
        for p in dups:
            ids = {r["order_id"] for r in p.responses if r["status"] in (200, 201, 202)}
            bad = [r for r in p.responses if r["status"] not in (200, 201, 202, 409)]
            rows = by_key.get(p.key, [])
            charges = sum(len(ok_by_order.get(o["id"], [])) for o in rows)
            if len(ids) > 1 or len(rows) != 1 or charges > 1 or bad:
                v.append({"key": p.key, "answered_ids": sorted(i for i in ids if i), "orders": [o["id"] for o in rows],
                          "charges": charges, "responses": p.responses})
        inv["I5"] = {"name": "duplicate submissions: one order, at most one charge", "checked": len(dups),
                     "violations": v}
        for item in inv.values():
            item["passed"] = not item["violations"]

        # Context for diagnosis of every violating order.
        bad_orders = []
        for key in ("I1", "I3", "I5", "I2", "I4"):  # money first; at most 30 orders per invariant
            ids = [x.get("order_id") or (x.get("orders") or [None])[0] for x in inv[key]["violations"]]
            ids = [i for i in dict.fromkeys(ids) if i and i not in bad_orders]
            bad_orders += ids[:30]
        diagnosis = {oid: {"order": orders.get(oid), "audit": attempts.get(oid, []),
                           "ledger": [t for t in ledger if t.get("order_id") == oid]}
                     for oid in bad_orders}

        api_mismatch = []
        if api_orders is not None:
            for oid, o in orders.items():
                a = api_orders.get(oid)
                if a is None or a.get("status") != o["status"] or (a.get("transaction_id") or None) != o["transaction_id"]:
                    api_mismatch.append({"order_id": oid, "db": o["status"], "api": a and a.get("status")})
        responses = [r for p in plan for r in p.responses]
        kind_outcome = defaultdict(Counter)
        order_kind = {}
        for p in plan:
            for r in p.responses:
                if r["order_id"]:
                    order_kind[r["order_id"]] = p.kind
        for oid, kind in order_kind.items():
            if oid in orders:
                kind_outcome[kind][orders[oid]["status"]] += 1
        fault_counts = Counter(e["kind"] for e in self.fault_log if e.get("ok"))
        self.complete = (all(p.responses for p in plan) and len(self.fault_log) == self.n_faults
                         and not any(e.get("skipped") == "deadline" for e in self.fault_log))
        return {
            "passed": all(i["passed"] for i in inv.values()),
            "complete": self.complete,
            "quiet": self.quiet,
            "invariants": inv,
            "orders": {"planned": len(plan), "submissions": len(responses), "in_database": len(orders),
                       "by_status": dict(Counter(o["status"] for o in orders.values())),
                       "by_kind": {k: dict(c) for k, c in sorted(kind_outcome.items())}},
            "time_to_terminal_seconds": {"p50": pct(ttt, 0.5), "p99": pct(ttt, 0.99),
                                         "max": max(ttt) if ttt else None, "count": len(ttt)},
            "api": {"answers": dict(Counter(str(r["status"]) for r in responses)),
                    "latency_p50": pct([r["latency"] for r in responses], 0.5),
                    "latency_p99": pct([r["latency"] for r in responses], 0.99),
                    "latency_max": max((r["latency"] for r in responses), default=None),
                    "non_2xx_examples": [r for r in responses if r["status"] not in (200, 201, 202, 409)][:10],
                    "status_mismatch_with_db": api_mismatch[:20],
                    "status_mismatch_count": len(api_mismatch) if api_orders is not None else None},
            "gateway": {"ledger_entries": len(ledger), "sales": len(sales), "successful_sales": len(ok_sales),
                        "by_status": dict(Counter(t.get("status") for t in sales))},
            "faults": {"planned": self.n_faults, "injected": dict(sorted(fault_counts.items())),
                       "events": self.fault_log},
            "unexpected_exits": self.crashes,
            "diagnosis": diagnosis,
        }


# --- reporting -----------------------------------------------------------------------------------


def fmt_s(x):
    return "-" if x is None else f"{x:.1f}s"


def print_report(result, out=sys.stdout):
    w = out.write
    w("\nInvariants\n")
    for key, item in result["invariants"].items():
        verdict = "PASS" if item["passed"] else "FAIL"
        w(f"  {key}  {verdict}  checked {item['checked']:>5}  violations {len(item['violations']):>3}  {item['name']}\n")
        if item.get("by_category"):
            w(f"           {item['orders_affected']} orders; " + ", ".join(f"{c}: {n}" for c, n in item["by_category"].items()) + "\n")
    w("\nFaults injected\n")
    planned = Counter(e["kind"] for e in result["faults"]["events"])
    for kind in FAULT_KINDS:
        if planned.get(kind):
            w(f"  {kind:<18} {result['faults']['injected'].get(kind, 0):>3} / {planned[kind]}\n")
    crashes = result.get("unexpected_exits") or []
    w(f"\nUnexpected process exits (restarted by the harness as a supervisor would): {len(crashes)}\n")
    for c in crashes[:10]:
        w(f"  {c['process']:<17} code {c['exit_code']} at {c['at']}s: {c['error'][:150]}\n")
    w("\nOrders by final status\n")
    for status, n in sorted(result["orders"]["by_status"].items()):
        w(f"  {status:<13} {n:>5}\n")
    w(f"  {'total':<13} {result['orders']['in_database']:>5}  (planned {result['orders']['planned']}, "
      f"submissions {result['orders']['submissions']})\n")
    w("\nBy order kind\n")
    for kind, counts in result["orders"]["by_kind"].items():
        w(f"  {kind:<15} " + ", ".join(f"{s} {n}" for s, n in sorted(counts.items())) + "\n")
    t = result["time_to_terminal_seconds"]
    w(f"\nTime to terminal state  p50 {fmt_s(t['p50'])}  p99 {fmt_s(t['p99'])}  max {fmt_s(t['max'])}  "
      f"(n={t['count']})\n")
    a = result["api"]
    w(f"API answers {a['answers']}  latency p50 {fmt_s(a['latency_p50'])} p99 {fmt_s(a['latency_p99'])} "
      f"max {fmt_s(a['latency_max'])}  status mismatches with DB: {a['status_mismatch_count']}\n")
    g = result["gateway"]
    w(f"Gateway ledger: {g['ledger_entries']} entries, {g['sales']} sales, {g['successful_sales']} successful\n")
    for key, item in result["invariants"].items():
        for x in item["violations"][:5]:
            w(f"  {key} violation: {json.dumps(x, default=str)[:400]}\n")
    verdict = "FAIL" if not result["passed"] else ("PASS" if result["complete"] else "INCOMPLETE")
    w(f"\nResult: {verdict}  (quiet={result['quiet']}, complete={result['complete']}, "
      f"{result['elapsed_seconds']:.0f}s total, run dir {result['run_dir']})\n")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=None, help="length of the submission window")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=None, help="write the figures as JSON here")
    parser.add_argument("--ci", action="store_true", help="CI preset: 60 orders, every fault once, < 3 minutes")
    parser.add_argument("--keep", action="store_true", help="keep the database (and log where)")
    parser.add_argument("--db-name", default=None, help="default: payments_chaos_<pid>")
    parser.add_argument("--run-dir", default=None, help="parent of the run directory (default: /tmp)")
    parser.add_argument("--fault-repeats", type=int, default=None, help="injections per fault kind")
    parser.add_argument("--skip-fault", action="append", default=[], choices=FAULT_KINDS)
    parser.add_argument("--no-faults", action="store_true", help="baseline run without injected faults")
    parser.add_argument("--quiet-timeout", type=float, default=None, help="max wait for every order to settle")
    parser.add_argument("--deadline", type=float, default=None, help="global limit in seconds")
    args = parser.parse_args(argv)
    if args.ci:
        args.orders = 60 if args.orders == 1000 else args.orders
        args.seconds = args.seconds or 45
        args.fault_repeats = args.fault_repeats or 1
        args.quiet_timeout = args.quiet_timeout or 60
        args.deadline = args.deadline or 175
    args.seconds = args.seconds or max(20.0, args.orders / 8)
    args.quiet_timeout = args.quiet_timeout or 120
    args.deadline = args.deadline or (60 + args.seconds * 1.5 + args.quiet_timeout + 60)
    return args


def main(argv=None):
    args = parse_args(argv)
    chaos = Chaos(args)
    code = {"value": 2}

    def watchdog():
        # The harness must never hang CI: past the deadline plus a grace, kill everything and exit.
        time.sleep(max(1, chaos.remaining() + 15))
        print(f"\n[chaos] global deadline of {args.deadline:.0f}s exceeded; killing the stack", file=sys.stderr)
        chaos.kill_everything()
        try:
            if not args.keep:
                chaos.drop_database()
        finally:
            os._exit(3)

    threading.Thread(target=watchdog, name="watchdog", daemon=True).start()

    def on_sigterm(signum, frame):
        # A CI job timeout sends SIGTERM: unwind through `finally` so the stack is torn down.
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, on_sigterm)
    result = None
    try:
        result = chaos.run()
        # A run cut short (deadline) proves nothing even if what it saw was fine.
        code["value"] = 1 if not result["passed"] else (0 if result["complete"] else 3)
    except DeadlineExpired:
        chaos.log("global deadline expired")
        code["value"] = 3
    except (StackError, TimeoutError, psycopg.Error, OSError) as exc:
        chaos.log(f"setup or run failed: {exc}")
        code["value"] = 2
    except KeyboardInterrupt:
        chaos.log("interrupted")
        code["value"] = 130
    finally:
        chaos.teardown()
    elapsed = now() - chaos.started
    if result is not None:
        result.update(
            elapsed_seconds=elapsed, run_dir=str(chaos.run_dir), database=chaos.db_name,
            warnings=chaos.warnings,
            args={k: v for k, v in vars(args).items()},
            settings={**CHAOS_SETTINGS, "reconcile_interval_seconds": RECONCILE_INTERVAL_SECONDS,
                      "reconcile_threshold_seconds": RECONCILE_THRESHOLD_SECONDS,
                      "reconcile_task": getattr(chaos, "reconcile_conf", None)},
            command="python -m bench.chaos " + " ".join(sys.argv[1:] if argv is None else argv),
        )
        print_report(result)
    else:
        result = {"passed": False, "error": "the run did not complete", "exit_code": code["value"],
                  "elapsed_seconds": elapsed, "run_dir": str(chaos.run_dir), "warnings": chaos.warnings,
                  "faults": {"events": chaos.fault_log}}
        print(f"\nResult: ERROR (exit {code['value']}); logs in {chaos.run_dir}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2, default=str))
    return code["value"]


if __name__ == "__main__":
    sys.exit(main())
