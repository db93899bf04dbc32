"""The chaos harness: its own stack of real processes, seeded traffic and faults, a quiet wait."""

import json
import os
import random
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg

from bench.chaos.checks import check
from bench.chaos.faults import BROKER_FAULTS_SKIPPED, FAULT_KINDS, GATEWAY_FAULTS, FaultInjector
from bench.chaos.plan import plan_faults, plan_orders
from bench.chaos.supervision import CHAOS as PROBES
from bench.chaos.supervision import LivenessProbe
from bench.runner import Deadline, drop_database_quietly, stop_processes
from devtools.db import create_database, drop_database, drop_orphaned_databases, dsn
from devtools.rabbitmq import Vhost, delete_orphaned_vhosts
from devtools.settings import CHAOS_RECONCILE_INTERVAL_SECONDS, CHAOS_RECONCILE_THRESHOLD_SECONDS, CHAOS_SETTINGS
from devtools.settings import PRODUCTION_CONNECTIONS, RECOMMENDED_POOL
from devtools.stack import (
    Beat,
    RedisServer,
    Simulator,
    StackError,
    WebServer,
    Worker,
    environment,
    http_request,
    make_run_dir,
    manage,
    pid_alive,
)
from payments.ops import liveness
from payments.core.schedules import RECONCILE_TASK, RECONCILE_TASK_NAME
from payments.core.statuses import ACTIVE_STATUSES, RESTING_STATUSES, OrderStatus

DB_PREFIX = "payments_chaos_"
# RabbitMQ runs (--broker rabbitmq) use their own vhost on the shared server, deleted at the end.
VHOST_PREFIX = "payments_chaos_"
WORKERS = ("chaos-payments-1", "chaos-payments-2", "chaos-maint")
# Sales in flight per payments worker (the recommended pool's threads): a few, so that a SIGKILL
# or a deploy catches several sales at once.
PAYMENTS_CONCURRENCY = 4
# Start order; teardown goes the other way.
PROCESSES = ("redis", "sim", "web", *WORKERS, "beat")


class RestartPolicy:
    """How often the supervisor restarts a process, as systemd/Kubernetes would.

    `Restart=always` with `RestartSec=1` (deploy/systemd), `restartPolicy: Always` (deploy/k8s):
    every exit a fault did not ask for, and every worker that failed its liveness probe, is
    restarted after `delay_seconds`, up to `burst` restarts within `window_seconds` (systemd's
    StartLimitBurst/StartLimitIntervalSec); past that the process is left down and the run
    records it.
    """

    delay_seconds = 1.0
    burst = 10
    window_seconds = 60.0

    def __init__(self):
        self.restarts = {}

    def allow(self, name, at):
        recent = [t for t in self.restarts.get(name, []) if at - t < self.window_seconds]
        if len(recent) >= self.burst:
            return False
        self.restarts[name] = [*recent, at]
        return True

# Run in the stack's `manage.py shell`: the API user and token; the reconciler's PeriodicTask
# on the chaos run's short interval and thresholds.
CONFIGURE_CODE = """
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


def now():
    return time.monotonic()


class Chaos:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.started = now()
        self.deadline = self.started + args.deadline
        self.run_dir = make_run_dir("chaos", base=args.run_dir)
        self.db_name = args.db_name or f"{DB_PREFIX}{os.getpid()}"
        self.procs = {}
        self.workers = []
        self.fault_log = []
        self.warnings = []
        self.token = None
        self.reconcile_conf = None
        self.phase = "setup"
        self.submitted = 0
        self.accepted = 0
        self.n_faults = 0
        self.quiet = False
        self.complete = False
        self.plan = []
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self._db = None
        self.background = []
        self.expected_down = set()   # processes a fault took down on purpose (the supervisor leaves them)
        self.restarts = []           # every restart the supervisor made, by cause (exit or liveness)
        self.probes = {}             # worker name -> (its start count, the LivenessProbe of that start)
        self.supervisor_stop = threading.Event()
        # Held by each supervisor pass: heal() and a fault taking a process down wait for a restart
        # in progress instead of racing it. Re-entrant: a pass may mark a process down itself.
        self.supervising = threading.RLock()
        self.restart_policy = RestartPolicy()
        self.broker = getattr(args, "broker", "redis")
        self.vhost = Vhost(f"{VHOST_PREFIX}{os.getpid()}") if self.broker == "rabbitmq" else None
        self.faults = FaultInjector(self)

    # -- plumbing

    def remaining(self):
        return self.deadline - now()

    def check_deadline(self):
        if self.remaining() <= 0:
            raise Deadline()

    def log(self, msg):
        self.clear_progress()
        print(f"[chaos {now() - self.started:6.1f}s] {msg}", file=sys.stderr, flush=True)

    def warn(self, msg):
        self.warnings.append(msg)
        self.log(f"WARNING: {msg}")

    def db(self):
        if self._db is None or self._db.closed:
            self._db = psycopg.connect(dsn(self.db_name, app_name="chaos-harness"), autocommit=True, connect_timeout=5)
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

    # -- setup and teardown

    def create_database(self):
        # Leftovers of harness runs that died without cleaning up (their pid is gone).
        drop_orphaned_databases(DB_PREFIX, alive=lambda pid: pid == os.getpid() or pid_alive(pid))
        drop_database(self.db_name)
        create_database(self.db_name)

    def close_db(self):
        if self._db is not None:
            self._db.close()

    def env(self, app_name, **extra):
        return environment(
            db_name=self.db_name,
            broker_url=self.broker_url(),
            simulator_url=self.procs["sim"].url,
            app_name=app_name,
            extra={**PRODUCTION_CONNECTIONS, **CHAOS_SETTINGS, **extra},
        )

    def broker_url(self):
        return self.vhost.url if self.vhost is not None else self.procs["redis"].url(0)

    def start_broker(self, rd):
        if self.vhost is None:
            self.procs["redis"] = RedisServer(run_dir=rd, name="redis").start()
            return
        # Vhosts of harness runs that died before their cleanup (their pid is gone).
        delete_orphaned_vhosts(VHOST_PREFIX, alive=lambda pid: pid == os.getpid() or pid_alive(pid))
        self.vhost.__enter__()
        self.log(f"broker: RabbitMQ vhost {self.vhost.name}")

    def configure(self):
        """API user and token; the reconciler's PeriodicTask on a short interval and thresholds."""
        conf = json.dumps({"name": RECONCILE_TASK_NAME, "task": RECONCILE_TASK,
                           "every": CHAOS_RECONCILE_INTERVAL_SECONDS, "threshold": CHAOS_RECONCILE_THRESHOLD_SECONDS})
        out = manage(self.env("chaos-manage"), "shell", code=CONFIGURE_CODE.format(conf=conf),
                     log_path=self.run_dir / "manage.log")
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
        self.start_broker(rd)
        self.procs["sim"] = Simulator(run_dir=rd, name="sim", state_path=rd / "sim-state.sqlite",
                                      extra_args=("--seed", str(self.args.seed))).start()
        self.create_database()
        manage(self.env("chaos-manage"), "migrate", "--noinput", "-v", "0", timeout=300,
               log_path=rd / "manage.log")
        self.configure()
        self.procs["web"] = WebServer(run_dir=rd, name="web", env=self.env("chaos-web"), workers=2)
        for i in (1, 2):
            w = self.supervised_worker(f"chaos-payments-{i}", f"chaos-worker-{i}", queues="payments",
                                       concurrency=PAYMENTS_CONCURRENCY, pool=RECOMMENDED_POOL)
            self.procs[w.name] = w
            self.workers.append(w)
        # Prefork, as deploy/'s default worker: the only chaos worker with pool processes.
        self.procs["chaos-maint"] = self.supervised_worker("chaos-maint", "chaos-worker-maint",
                                                           queues="default,maintenance", concurrency=1)
        self.procs["beat"] = Beat(run_dir=rd, name="beat", env=self.env("chaos-beat"))
        for name in ("web", *WORKERS, "beat"):
            self.procs[name].start(wait=False)
        for name in ("web", *WORKERS, "beat"):
            self.procs[name].wait_ready(timeout=max(10, min(90, self.remaining() - 30)))
        self.log("stack ready: " + ", ".join(f"{n}={p.pid}" for n, p in self.procs.items()))

    def supervised_worker(self, name, app_name, **options):
        """A worker with its liveness heartbeat on, in the run dir, on the chaos probe bounds."""
        heartbeat = self.run_dir / f"{name}.heartbeat"
        return Worker(run_dir=self.run_dir, name=name, env=self.env(app_name, **PROBES.worker_env(heartbeat)),
                      heartbeat=heartbeat, **options)

    def teardown(self):
        self.supervisor_stop.set()
        time.sleep(0.1)
        for name in WORKERS:
            if name in self.procs:
                self.procs[name].signal_group(signal.SIGCONT)  # a frozen pool cannot finish a warm shutdown
        stop_processes([self.procs.get(name) for name in reversed(PROCESSES)], self.log, timeout=5)
        self.reap_frozen()
        if self.vhost is not None:
            self.vhost.delete()
        if not self.args.keep:
            self.close_db()
            drop_database_quietly(self.db_name, self.log)
        else:
            self.log(f"kept database {self.db_name} and run dir {self.run_dir}")

    def reap_frozen(self):
        """No process a fault stopped (SIGSTOP) may outlive the run."""
        for pid in self.faults.kill_frozen():
            self.warn(f"stopped pool process {pid} outlived its worker; SIGKILLed at teardown")

    def kill_everything(self):
        """Last resort of the watchdog: SIGKILL every process group we started, drop the database."""
        for proc in self.procs.values():
            proc.signal_group(signal.SIGKILL)
        if self.vhost is not None:
            self.vhost.delete()
        if not self.args.keep:
            self.close_db()
            drop_database(self.db_name)

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

    # -- processes going down and coming back

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
        """Mark `proc` as taken down by a fault (or back), so the supervisor leaves it alone."""
        if down:
            with self.supervising, self.lock:
                self.expected_down.add(proc.name)
            return
        with self.lock:
            self.expected_down.discard(proc.name)

    def supervise(self):
        """Act as systemd/Kubernetes would: restart a process that exited without a fault asking it
        to, and a worker whose liveness probe failed `PROBES.failure_threshold` times in a row.

        Every restart is recorded with its cause: a crash or a wedged worker is a finding even when
        the invariants hold.
        """
        while not self.supervisor_stop.wait(0.5):
            with self.supervising:
                self.supervise_once()

    def supervise_once(self):
        """One pass over every process: restart the dead, probe the live workers whose probe is due."""
        for name in PROCESSES:
            proc = self.procs.get(name)
            with self.lock:
                if name in self.expected_down:
                    continue
            if proc is None or proc.proc is None:
                continue
            if not proc.alive():
                self.restart(proc, "exit", self.last_error(proc), exit_code=proc.proc.returncode)
            elif name in WORKERS:
                reason = self.liveness_failure(proc)
                if reason is not None:
                    self.restart(proc, "liveness", reason)

    def liveness_failure(self, worker):
        """Probe `worker` when its probe is due (`payments.ops.liveness.check`, as deploy/ runs it); why
        it must be restarted, or None. Every new start gets the startup grace again."""
        starts, probe = self.probes.get(worker.name, (None, None))
        if starts != worker.starts:
            probe = LivenessProbe(PROBES, started_at=now())
            self.probes[worker.name] = (worker.starts, probe)
        if not probe.due(now()):
            return None
        return probe.observe(liveness.check(worker.heartbeat, PROBES.max_age), now())

    @staticmethod
    def last_error(proc):
        errors = [line for line in proc.log_text(since_start=True).splitlines()
                  if "CRITICAL" in line or "Error" in line]
        return (errors[-1] if errors else proc.tail(1))[:300]

    def restart(self, proc, cause, reason, exit_code=None):
        """Restart `proc` as its supervisor would. A worker that failed its liveness probe is
        SIGKILLed with its pool: the kubelet's SIGTERM would wait out a grace period a frozen pool
        never ends, and its unacknowledged messages come back from the broker either way."""
        entry = {"process": proc.name, "cause": cause, "reason": reason, "exit_code": exit_code,
                 "at": round(now() - self.t_traffic, 1), "killed_at": time.time()}
        self.restarts.append(entry)
        if cause == "liveness":
            entry["pids_killed"] = [proc.pid, *proc.child_pids()]
            proc.kill_main()
        if not self.restart_policy.allow(proc.name, now()):
            entry["restart_error"] = "restart limit reached (RestartPolicy.burst); left down"
            self.going_down(proc)
            self.log(f"{proc.name} needs a restart again ({cause}): restart limit reached, leaving it down")
            return
        self.log(f"{proc.name}: {cause}: {reason[:160]}; restarting it in {self.restart_policy.delay_seconds:g}s")
        time.sleep(self.restart_policy.delay_seconds)
        try:
            proc.stop(timeout=1)
            proc.start(wait=True)
            entry["ready_at"] = time.time()
        except Exception as exc:
            entry["restart_error"] = repr(exc)[:300]

    def settle_background(self):
        """Wait for pending restarts, so one fault never hits a process another fault is restarting."""
        for thread in self.background:
            thread.join(timeout=max(1, min(60, self.remaining() - 30)))

    def heal(self):
        """Clear gateway faults and bring back any process a fault left down."""
        self.settle_background()
        self.faults.await_frozen()
        try:
            self.procs["sim"].set_faults({"rules": []})
        except Exception as exc:
            self.warn(f"could not clear simulator faults: {exc!r}")
        with self.supervising:
            for name in PROCESSES:
                proc = self.procs.get(name)
                if proc is not None and name != "sim" and not proc.alive():
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
        resting = sum(counts.get(s, 0) for s in RESTING_STATUSES)
        orders = sum(counts.values())
        width = 30
        done = int(width * resting / max(1, total))
        faults_done = len(self.fault_log)
        line = (f"[{'#' * done}{'.' * (width - done)}] {self.phase:<7} sent {self.submitted:>4}"
                f" | orders {orders:>4} terminal {resting:>4} (paid {counts.get(OrderStatus.PAID, 0)}, failed "
                f"{counts.get(OrderStatus.FAILED, 0)}, review {counts.get(OrderStatus.NEEDS_REVIEW, 0)}) | faults "
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
        """Start the stack, send the traffic while the faults strike, heal, wait for quiet."""
        args = self.args
        plan = self.plan = plan_orders(args.orders, self.rng)
        repeats = args.fault_repeats or max(1, round(args.seconds / 45))
        kinds = [k for k in FAULT_KINDS if k not in set(args.skip_fault) and k not in BROKER_FAULTS_SKIPPED[self.broker]
                 and (not args.fault or k in args.fault)]
        lane_rng = random.Random(args.seed + 1)
        lanes = [plan_faults(args.seconds, repeats, lane_rng, [k for k in kinds if k not in GATEWAY_FAULTS]),
                 plan_faults(args.seconds, repeats, lane_rng, [k for k in kinds if k in GATEWAY_FAULTS])]
        self.n_faults = sum(map(len, lanes))
        self.start_stack()
        self.t_traffic = now()
        submitter = threading.Thread(target=self.submit_all, args=(plan,), name="submit", daemon=True)
        injectors = [threading.Thread(target=self.faults.inject_all, args=(i, lane), name=f"faults-{i}", daemon=True)
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
        self.wait_for_quiet(total)
        self.phase = "refunds"
        # After the sale: refunds, voids, settlement races and webhooks on the quiet stack.
        from bench.chaos.after_sale import AfterSaleLane

        self.after_sale = AfterSaleLane(self, size=min(40, max(8, len(plan) // 3)))
        self.after_sale.run()
        self.phase = "check"

    def wait_for_quiet(self, total):
        """Until no order is active and nothing changed for a while (bounded by --quiet-timeout)."""
        quiet_budget = min(self.args.quiet_timeout, self.remaining() - 20)
        quiet_end = now() + quiet_budget
        stable_since, last_sig = None, None
        self.quiet = False
        while now() < quiet_end:
            counts = self.status_counts()
            self.progress(total, counts)
            active = sum(counts.get(s, 0) for s in ACTIVE_STATUSES)
            try:
                ledger_n = len(self.procs["sim"].transactions())
            except Exception:
                ledger_n = -1
            sig = (tuple(sorted(counts.items())), ledger_n)
            # A couple of seconds of silence so a stray redelivered task would show up; with
            # orders parked in needs_review, long enough for the reconciler's recheck of them
            # (threshold + two intervals) to have adopted a sale that landed late.
            silence = 3
            if counts.get(OrderStatus.NEEDS_REVIEW, 0):
                silence = CHAOS_RECONCILE_THRESHOLD_SECONDS + 2 * CHAOS_RECONCILE_INTERVAL_SECONDS + 1
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

    # -- the result, as bench.runner wants it

    def result(self, command):
        result = check(self, self.plan)
        result.update(
            run_dir=str(self.run_dir), database=self.db_name, warnings=self.warnings,
            args=dict(vars(self.args)),
            settings={**CHAOS_SETTINGS, "reconcile_interval_seconds": CHAOS_RECONCILE_INTERVAL_SECONDS,
                      "reconcile_threshold_seconds": CHAOS_RECONCILE_THRESHOLD_SECONDS,
                      "reconcile_task": self.reconcile_conf},
            command=command,
        )
        return result

    def error_result(self):
        """What a run that did not get to its checks leaves for diagnosis."""
        return {"run_dir": str(self.run_dir), "warnings": self.warnings, "faults": {"events": self.fault_log}}
