"""The chaos run's stack: which processes, on which environment, broker and database.

A simulator with a state file, a private redis-server (or a private RabbitMQ vhost), gunicorn, two
payments workers on the recommended pool, the `default,maintenance` worker (prefork) and beat,
every process on production's connection and logging settings and the chaos delivery settings,
on a fresh database `payments_chaos_<pid>`. The run directory, the database and the teardown are
bench.runner's; the workers' liveness heartbeat is supervision.py's.
"""

import json
import os
import signal

from bench.chaos.supervision import CHAOS as PROBES
from bench.runner import Benchmark
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
    manage,
    pid_alive,
)
from payments.core.schedules import RECONCILE_TASK, RECONCILE_TASK_NAME

DB_PREFIX = "payments_chaos_"
# RabbitMQ runs (--broker rabbitmq) use their own vhost on the shared server, deleted at the end.
VHOST_PREFIX = "payments_chaos_"
WORKERS = ("chaos-payments-1", "chaos-payments-2", "chaos-maint")
# Sales in flight per payments worker (the recommended pool's threads): a few, so that a SIGKILL
# or a deploy catches several sales at once.
PAYMENTS_CONCURRENCY = 4
# Start order; teardown goes the other way.
PROCESSES = ("redis", "sim", "web", *WORKERS, "beat")

# Run in the stack's `manage.py shell`: the API user and token; the reconciler's PeriodicTask
# on the chaos run's short interval and thresholds.
CONFIGURE_CODE = """
import json
from django.contrib.auth import get_user_model
from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks
from payments.tokens.services import api_token_issue
conf = json.loads({conf!r})
user, _ = get_user_model().objects.get_or_create(username="chaos")
print("TOKEN", api_token_issue(user))
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


def configure_reconciler(env, log_path):
    """The API user and token; the reconciler's PeriodicTask on the chaos interval and threshold.

    Returns (token, the PeriodicTask as configured, whether migrate had left it missing).
    """
    conf = json.dumps({"name": RECONCILE_TASK_NAME, "task": RECONCILE_TASK,
                       "every": CHAOS_RECONCILE_INTERVAL_SECONDS, "threshold": CHAOS_RECONCILE_THRESHOLD_SECONDS})
    out = manage(env, "shell", code=CONFIGURE_CODE.format(conf=conf), log_path=log_path)
    token, periodic, missing = None, None, False
    for line in out.splitlines():
        if line.startswith("TOKEN "):
            token = line.split()[1]
        elif line.startswith("MISSING_PERIODIC_TASK"):
            missing = True
        elif line.startswith("PERIODIC "):
            periodic = json.loads(line[len("PERIODIC "):])
    if not token:
        raise StackError(f"could not create the API token:\n{out}")
    return token, periodic, missing


class ChaosStack(Benchmark):
    """The processes of a chaos run, started in `PROCESSES` order, stopped the other way."""

    name = "chaos"
    db_prefix = DB_PREFIX
    stop_timeout = 5
    grace = 15  # the watchdog fires 15 s past --deadline: the harness must never hang CI
    clock_in_log = True
    query_app_name = "chaos-harness"

    def __init__(self, args):
        super().__init__(args, timeout=args.deadline, run_dir_base=args.run_dir, db_name=args.db_name,
                         keep_database=args.keep)
        self.workers = []  # the payments workers (the faults' targets)
        self.warnings = []
        self.token = None
        self.reconcile_conf = None
        self.broker = getattr(args, "broker", "redis")
        self.vhost = Vhost(f"{VHOST_PREFIX}{os.getpid()}") if self.broker == "rabbitmq" else None

    def warn(self, msg):
        self.warnings.append(msg)
        self.log(f"WARNING: {msg}")

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

    def start_broker(self):
        if self.vhost is None:
            self.launch(RedisServer(run_dir=self.run_dir, name="redis"))
            return
        # Vhosts of harness runs that died before their cleanup (their pid is gone).
        delete_orphaned_vhosts(VHOST_PREFIX, alive=lambda pid: pid == os.getpid() or pid_alive(pid))
        self.vhost.__enter__()
        self.log(f"broker: RabbitMQ vhost {self.vhost.name}")

    def configure(self):
        """API user and token; the reconciler's PeriodicTask on a short interval and thresholds."""
        self.token, self.reconcile_conf, missing = configure_reconciler(self.env("chaos-manage"),
                                                                       self.run_dir / "manage.log")
        if missing:
            self.warn(f"PeriodicTask {RECONCILE_TASK_NAME!r} did not exist after migrate; the harness created it")

    def start_stack(self):
        rd = self.run_dir
        self.log(f"run dir {rd}; database {self.db_name}")
        self.start_broker()
        self.launch(Simulator(run_dir=rd, name="sim", state_path=rd / "sim-state.sqlite",
                              extra_args=("--seed", str(self.args.seed))))
        # Leftovers of harness runs that died without cleaning up (their pid is gone) go first.
        self.private_database(self.env("chaos-manage"), drop_orphans=True)
        self.configure()
        self.adopt(WebServer(run_dir=rd, name="web", env=self.env("chaos-web"), workers=2))
        for i in (1, 2):
            self.workers.append(self.adopt(self.supervised_worker(
                f"chaos-payments-{i}", f"chaos-worker-{i}", queues="payments",
                concurrency=PAYMENTS_CONCURRENCY, pool=RECOMMENDED_POOL)))
        # Prefork, as deploy/'s default worker: the only chaos worker with pool processes.
        self.adopt(self.supervised_worker("chaos-maint", "chaos-worker-maint",
                                          queues="default,maintenance", concurrency=1))
        self.adopt(Beat(run_dir=rd, name="beat", env=self.env("chaos-beat")))
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

    def api(self, method, path, body=None, headers=None, timeout=10):
        hdrs = {"Authorization": f"Token {self.token}", **(headers or {})}
        return http_request(method, self.procs["web"].url + path, body=body, headers=hdrs, timeout=timeout)

    # -- the end of the run

    def stop_stack(self):
        for name in WORKERS:
            if name in self.procs:
                self.procs[name].signal_group(signal.SIGCONT)  # a frozen pool cannot finish a warm shutdown
        self.stop_all()

    def release(self):
        """The broker's vhost and the database (unless --keep)."""
        if self.vhost is not None:
            self.vhost.delete()
        self.drop_database()

    def teardown(self):
        self.stop_stack()
        self.release()

    def kill_everything(self):
        try:
            super().kill_everything()
        finally:
            if self.vhost is not None:
                self.vhost.delete()
