"""The real processes of the three compared designs, for bench.compare and tests/comparison.

Each design starts on a fresh PostgreSQL database of its own (`cmp_<design>_<pid>`, dropped by
`stop()`), a broker URL and a simulator the caller owns, and offers the same few calls: `submit`
one order over its HTTP API (on a nonce, or on a saved card that `save_cards` stored the design's
own way), `orders()` as rows from its database, `handler_pids()` (the
processes that run the charge, for SIGKILL faults) and `processes` (for a supervisor).

    with ChannelsSeed(run_dir=d, sim_url=sim.url, broker_url=redis.url(0), sweep_every=10) as design:
        status, order_id = design.submit("12.34", nonce)
"""

from __future__ import annotations

import json
import os

import psycopg

from devtools.db import AUDIT_LOG, create_database, drop_database
from devtools.stack import PYTHON, Beat, ManagedProcess, WebServer, Worker, child_pids, environment, http_request, manage
from payments.core.statuses import RESTING_STATUSES



def _swap(cmd, old, new):
    cmd[cmd.index(old)] = new
    return cmd


class DesignWeb(WebServer):
    """gunicorn on another WSGI module (the reference designs have no /healthz: 404 is ready)."""

    def __init__(self, wsgi, **kwargs):
        super().__init__(**kwargs)
        self.wsgi = wsgi

    def command(self):
        return _swap(super().command(), "config.wsgi", self.wsgi)


class NaiveWorker(Worker):
    def command(self):
        return _swap(super().command(), "celery_app", "comparison.celery_naive.celery_app")


class NaiveBeat(Beat):
    def command(self):
        return _swap(super().command(), "celery_app", "comparison.celery_naive.celery_app")


class Runworker(ManagedProcess):
    """`manage.py runworker braintree_process`: one process, one message at a time, as in the post."""

    kind = "runworker"

    def command(self):
        return [PYTHON, "manage.py", "runworker", "braintree_process"]

    def is_ready(self):
        return "Running worker for channels" in self.log_text(since_start=True)


class SweepLoop(ManagedProcess):
    """The post's "scheduled" sweeper: a plain loop running `manage.py sweep_orders` every `every` s."""

    kind = "sweeper"

    def __init__(self, every, **kwargs):
        super().__init__(**kwargs)
        self.every = every

    def command(self):
        return ["sh", "-c", f'while :; do "{PYTHON}" manage.py sweep_orders; sleep {self.every}; done']


class Design:
    """One design's processes on its own database; a context manager."""

    name = "design"
    short = "design"
    settings = None

    def __init__(self, *, run_dir, sim_url, broker_url, sweep_every, extra=None, db_name=None):
        self.run_dir = run_dir
        self.sim_url = sim_url
        self.broker_url = broker_url
        self.sweep_every = sweep_every
        self.extra = dict(extra or {})
        self.db_name = db_name or f"cmp_{self.short}_{os.getpid()}"
        self.processes = {}
        self._db = None
        self._created = False

    def env(self, app_name):
        return environment(db_name=self.db_name, broker_url=self.broker_url, simulator_url=self.sim_url,
                           settings=self.settings, app_name=app_name, extra=self.design_env())

    def design_env(self):
        return self.extra

    def build(self):
        """The processes, not started: name -> ManagedProcess."""
        raise NotImplementedError

    def start(self):
        create_database(self.db_name)
        self._created = True
        manage(self.env(f"{self.short}-manage"), "migrate", "--noinput", "-v", "0", timeout=300,
               log_path=self.run_dir / f"{self.short}-manage.log")
        self.configure()
        self.processes = self.build()
        for proc in self.processes.values():
            proc.start(wait=False)
        for proc in self.processes.values():
            proc.wait_ready(timeout=90)
        return self

    def configure(self):
        pass

    def stop(self):
        for proc in reversed(list(self.processes.values())):
            try:
                proc.stop(timeout=5)
            except Exception:  # teardown must reach every process
                pass
        if self._db is not None:
            self._db.close()
        if self._created:
            drop_database(self.db_name)
            self._created = False

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return self.processes["web"].url

    def query(self, sql, params=None):
        for attempt in range(3):
            try:
                if self._db is None or self._db.closed:
                    self._db = psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={self.db_name}",
                                               autocommit=True, connect_timeout=5)
                with self._db.cursor() as cur:
                    cur.execute(sql, params)
                    return cur.fetchall()
            except psycopg.OperationalError:
                self._db = None
                if attempt == 2:
                    raise

    # Subclasses: submit(amount, nonce, key, saved) -> (HTTP status or None, order id or None, body text),
    # save_cards(sim_url, nonces) -> what `saved` names (a vault token, or a saved method's id)
    # and orders() -> {order id: {"amount", "transaction_id", "status", "created_at", "final_at",
    # "error_codes"}}.


class ReferenceDesign(Design):
    """The two designs of comparison/: the post's API and Order table."""

    def save_cards(self, sim_url, nonces):
        """Vault one card per nonce the way a plain Django shop would: `Customer.create` with the nonce
        in the request, synchronously. Returns the tokens (what an order then carries)."""
        import braintree

        from braintree_sim.config import SimConfig

        config = SimConfig()
        host, port = sim_url.rsplit("//", 1)[1].split(":")
        gateway = braintree.BraintreeGateway(braintree.Configuration(
            environment=braintree.Environment("sim", host, port, "", False, None), merchant_id=config.merchant_id,
            public_key=config.public_key, private_key=config.private_key, timeout=30,
        ))
        tokens = []
        for nonce in nonces:
            result = gateway.customer.create({"payment_method_nonce": nonce,
                                              "credit_card": {"options": {"verify_card": True}}})
            tokens.append(result.customer.credit_cards[0].token)
        return tokens

    def submit(self, amount, nonce, key=None, saved=None):
        body = {"total": amount, "braintree_token": saved} if saved else {"total": amount, "braintree_nonce": nonce}
        try:
            status, _, data = http_request("POST", f"{self.url}/orders/", body, timeout=30)
        except OSError as exc:
            return None, None, repr(exc)
        order_id = str(data["id"]) if isinstance(data, dict) and "id" in data else None
        return status, order_id, "" if order_id else str(data)[:200]

    def orders(self):
        rows = self.query("SELECT id, total, transaction_id, result, created_at, final_at, error_codes FROM shop_order")
        return {str(r[0]): {"amount": r[1], "transaction_id": r[2], "status": r[3], "created_at": r[4],
                            "final_at": r[5], "error_codes": r[6]} for r in rows}


class ChannelsSeed(ReferenceDesign):
    name = "channels_seed"
    short = "channels"
    settings = "comparison.channels_seed.settings"

    def design_env(self):
        return {**self.extra, "CHANNEL_LAYER_URL": self.broker_url}

    def build(self):
        kw = {"run_dir": self.run_dir}
        return {
            "web": DesignWeb("comparison.channels_seed.wsgi", name="channels-web", env=self.env("channels-web"), **kw),
            # The post: "perhaps just one worker should keep processing the payments".
            "runworker": Runworker(name="channels-runworker", env=self.env("channels-worker"), **kw),
            "sweeper": SweepLoop(self.sweep_every, name="channels-sweeper", env=self.env("channels-sweeper"), **kw),
        }

    def handler_pids(self):
        proc = self.processes["runworker"]
        return [proc.pid] if proc.alive() else []


class CeleryNaive(ReferenceDesign):
    name = "celery_naive"
    short = "naive"
    settings = "comparison.celery_naive.settings"

    def design_env(self):
        return {**self.extra, "CMP_SWEEP_INTERVAL_SECONDS": self.sweep_every}

    def build(self):
        web = DesignWeb("comparison.celery_naive.wsgi", name="naive-web", env=self.env("naive-web"), run_dir=self.run_dir)
        return celery_processes(self, web, NaiveWorker, NaiveBeat, maintenance_queues="maintenance")

    def handler_pids(self):
        return payment_children(self)


class Payments(Design):
    """This service, laid out as bench/chaos runs it."""

    name = "payments"
    short = "payments"
    settings = "config.settings.test"
    reconcile_threshold = 15

    def build(self):
        web = WebServer(name="payments-web", env=self.env("payments-web"), run_dir=self.run_dir, workers=2)
        return celery_processes(self, web, Worker, Beat, maintenance_queues="default,maintenance")

    def configure(self):
        conf = json.dumps({"every": self.sweep_every, "threshold": self.reconcile_threshold})
        code = f"""
import json
from django.contrib.auth import get_user_model
from payments.tokens.services import api_token_issue
from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks
conf = json.loads({conf!r})
user, _ = get_user_model().objects.get_or_create(username="compare")
print("TOKEN", api_token_issue(user))
task = PeriodicTask.objects.get(name="payments: reconcile stuck orders")
kwargs = json.loads(task.kwargs)
kwargs.update(pending_after_seconds=conf["threshold"], processing_after_seconds=conf["threshold"])
task.kwargs = json.dumps(kwargs)
task.interval = IntervalSchedule.objects.get_or_create(every=conf["every"], period="seconds")[0]
task.expire_seconds = conf["every"]
task.save()
PeriodicTasks.update_changed()
"""
        out = manage(self.env("payments-manage"), "shell", code=code)
        self.token = next(line.split()[1] for line in out.splitlines() if line.startswith("TOKEN "))

    def save_cards(self, sim_url, nonces, timeout=60):
        """Save one card per nonce through the API (a customer, then its payment method, stored by a
        worker); returns the payment method ids once every one is active."""
        import time

        headers = {"Authorization": f"Token {self.token}"}
        _, _, customer = http_request("POST", f"{self.url}/api/customers/", {}, headers=headers, timeout=30)
        path = f"{self.url}/api/customers/{customer['id']}/payment-methods/"
        ids = [http_request("POST", path, {"payment_method_nonce": n}, headers=headers, timeout=30)[2]["id"]
               for n in nonces]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            statuses = [http_request("GET", f"{path}{i}/", headers=headers, timeout=30)[2]["status"] for i in ids]
            if all(s == "active" for s in statuses):
                return ids
            time.sleep(0.5)
        raise RuntimeError(f"saved cards not active after {timeout}s: {statuses}")

    def submit(self, amount, nonce, key=None, saved=None):
        headers = {"Authorization": f"Token {self.token}"}
        if key:
            headers["Idempotency-Key"] = key
        body = {"amount": amount, "currency": "USD",
                **({"payment_method": saved} if saved else {"payment_method_nonce": nonce})}
        try:
            status, _, data = http_request("POST", f"{self.url}/api/orders/", body, headers=headers, timeout=30)
        except OSError as exc:
            return None, None, repr(exc)
        order_id = data.get("id") if isinstance(data, dict) and status in (200, 201, 202) else None
        return status, order_id, "" if order_id else str(data)[:200]

    def orders(self):
        rows = self.query(
            "SELECT o.id, o.amount, o.transaction_id, o.status, o.created_at, "
            f"(SELECT min(a.created_at) FROM {AUDIT_LOG.table} a WHERE a.order_id = o.id "
            " AND a.to_status = ANY(%s)), o.error_codes FROM payments_order o", [list(RESTING_STATUSES)])
        return {str(r[0]): {"amount": r[1], "transaction_id": r[2], "status": r[3] if r[3] in RESTING_STATUSES else None,
                            "created_at": r[4], "final_at": r[5], "error_codes": r[6]}
                for r in rows}

    def handler_pids(self):
        return payment_children(self)


def celery_processes(design, web, worker_class, beat_class, maintenance_queues):
    """The product's layout: web, two payments workers of two prefork processes, a maintenance worker, beat."""
    kw = {"run_dir": design.run_dir}
    s = design.short
    procs = {"web": web}
    for i in (1, 2):
        procs[f"payments-{i}"] = worker_class(name=f"{s}-payments-{i}", env=design.env(f"{s}-worker-{i}"),
                                              queues="payments", concurrency=2, **kw)
    procs["maintenance"] = worker_class(name=f"{s}-maint", env=design.env(f"{s}-maint"), queues=maintenance_queues,
                                        concurrency=1, **kw)
    procs["beat"] = beat_class(name=f"{s}-beat", env=design.env(f"{s}-beat"), **kw)
    return procs


def payment_children(design):
    return [pid for name in ("payments-1", "payments-2") for pid in
            (child_pids(design.processes[name].pid) if design.processes[name].alive() else [])]
