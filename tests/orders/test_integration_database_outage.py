"""A database failover under load, through the real processes: gunicorn, both workers, beat, the simulator.

The stack runs on a database of its own, which the test makes refuse every connection for a while
(`ALTER DATABASE … WITH ALLOW_CONNECTIONS false`, then its sessions are terminated), as clients
of a managed PostgreSQL see a failover. Orders keep coming in over HTTP the whole time, and sales
are slowed at the gateway so that some are in flight when the database goes. Only that database
is touched: never the server, never another database.
"""

import os
import threading
import time
import uuid
from collections import Counter

import psycopg
import pytest

from devtools.db import allow_connections, create_database, drop_database, dsn, refuse_connections
from devtools.invariants import (
    i1_at_most_one_successful_sale_per_order,
    i2_every_accepted_order_rests,
    i3_sales_and_paid_orders_match,
)
from devtools.polling import wait_until
from devtools.settings import FAST_SETTINGS, PRODUCTION_CONNECTIONS, RECOMMENDED_POOL
from devtools.sim import sale_rule
from devtools.stack import (
    Beat,
    RedisServer,
    Simulator,
    WebServer,
    Worker,
    environment,
    http_request,
    manage,
    start_together,
    stop_together,
)
from payments.core.schedules import RECONCILE_TASK_NAME

pytestmark = pytest.mark.slow

ADMIN_PASSWORD = "outage-admin-password"
# Run in the stack's `manage.py shell`: an API token, an admin, and the reconciler on a short
# interval (the migration's row, every second, for orders idle 3 s) so the catch-up is seen.
CONFIGURE = f"""
import json
from django.contrib.auth import get_user_model
from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks
from payments.tokens.services import api_token_issue
User = get_user_model()
print("TOKEN", api_token_issue(User.objects.create_user("outage-client")))
User.objects.create_superuser("outage-admin", password="{ADMIN_PASSWORD}")
task = PeriodicTask.objects.get(name="{RECONCILE_TASK_NAME}")
task.interval, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
task.kwargs = json.dumps({{**json.loads(task.kwargs), "pending_after_seconds": 3, "processing_after_seconds": 3}})
task.expire_seconds = 1
task.save()
PeriodicTasks.update_changed()
"""
# Every sale takes this long at the gateway, so that the outage catches sales on the wire.
SALE_LATENCY_MS = 300
OUTAGE_SECONDS = 8


class Stack:
    def __init__(self, db_name, web, sim, processes, token):
        self.db_name, self.web, self.sim, self.processes, self.token = db_name, web, sim, processes, token

    def rows(self, sql, params=()):
        with psycopg.connect(dsn(self.db_name), autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("database-outage")
    db_name = f"payments_outage_{os.getpid()}"
    create_database(db_name)
    try:
        with RedisServer(run_dir=run_dir) as redis_server, Simulator(run_dir=run_dir) as sim:
            env = environment(
                db_name=db_name,
                broker_url=redis_server.url(0),
                simulator_url=sim.url,
                app_name="outage-stack",
                extra={
                    # Persistent connections, as in production: the outage kills live sessions.
                    **PRODUCTION_CONNECTIONS,
                    **FAST_SETTINGS,
                    # The throttles run on every request (far above this test's rate).
                    "API_ORDER_CREATE_RATE": "100000/minute",
                    "API_READ_RATE": "100000/minute",
                    "API_ANON_RATE": "100000/minute",
                },
            )
            manage(env, "migrate", "--noinput", log_path=run_dir / "manage.log")
            out = manage(env, "shell", code=CONFIGURE, log_path=run_dir / "manage.log")
            token = next(line.split()[1] for line in out.splitlines() if line.startswith("TOKEN "))
            web = WebServer(env=env, run_dir=run_dir, workers=2)
            processes = [
                Worker(name="payments", queues="payments", pool=RECOMMENDED_POOL, concurrency=4, env=env,
                       run_dir=run_dir),
                Worker(name="maintenance", queues="default,maintenance", env=env, run_dir=run_dir),
                Beat(env=env, run_dir=run_dir),
                web,
            ]
            try:
                start_together(processes)
                yield Stack(db_name, web, sim, processes, token)
            finally:
                stop_together(processes)
    finally:
        allow_connections(db_name)
        drop_database(db_name)


class Load(threading.Thread):
    """Submits an order and reads one back, over and over, recording every answer."""

    def __init__(self, stack):
        super().__init__(daemon=True)
        self.stack = stack
        self.answers = []  # (phase, method, status, content type, Retry-After, body)
        self.accepted = []
        self.phase = "before"
        self.stopping = threading.Event()

    def call(self, method, path, body=None, token=None):
        headers = {"Authorization": f"Token {token or self.stack.token}"}
        status, resp_headers, data = http_request(method, self.stack.web.url + path, body=body, headers=headers,
                                                  timeout=15)
        self.answers.append((self.phase, f"{method} {path.split('/')[2]}", status, resp_headers.get("content-type", ""),
                             resp_headers.get("retry-after"), data))
        return status, data

    def run(self):
        while not self.stopping.is_set():
            status, data = self.call("POST", "/api/orders/", {"amount": "10.00", "payment_method_nonce": "fake-valid-nonce"})
            if status == 202:
                self.accepted.append(data["id"])
            if self.accepted:
                self.call("GET", f"/api/orders/{self.accepted[-1]}/")
            time.sleep(0.02)


def healthz(stack):
    status, headers, body = http_request("GET", f"{stack.web.url}/healthz", timeout=15)
    return status, headers.get("content-type", ""), body


def admin_login(stack):
    """The admin's login form, as a browser posts it: its status and content type."""
    status, headers, body = http_request("GET", f"{stack.web.url}/admin/login/", timeout=15)
    cookie = headers["set-cookie"].split(";")[0]
    csrf = body.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    form = f"csrfmiddlewaretoken={csrf}&username=outage-admin&password={ADMIN_PASSWORD}&next=/admin/"
    status, headers, _ = http_request(
        "POST", f"{stack.web.url}/admin/login/", body=form.encode(), timeout=15,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie,
                 "Referer": f"{stack.web.url}/admin/login/"},
    )
    return status, headers


def pids(stack):
    return {p.name: (p.pid, p.starts) for p in stack.processes} | {"gunicorn workers": tuple(stack.web.worker_pids())}


def test_database_outage_under_load_answers_503_and_loses_nothing(stack):
    # given a steady stream of orders, with sales slow enough to be in flight at any moment
    stack.sim.set_faults({"rules": [sale_rule(kind="latency", latency_ms=SALE_LATENCY_MS)]})
    before = pids(stack)
    load = Load(stack)
    load.start()
    wait_until(lambda: len(load.accepted) >= 10, timeout=30, desc="orders accepted before the outage")

    # when the database refuses every connection for a while
    load.phase = "outage"
    refuse_connections(stack.db_name)
    try:
        during = wait_until(lambda: (h := healthz(stack))[0] == 503 and h, timeout=10, desc="/healthz 503")
        # the other ways in: a token that must be looked up, and the admin's login form
        bad_token = load.call("GET", "/api/orders/", token=uuid.uuid4().hex)
        login = admin_login(stack)
        time.sleep(OUTAGE_SECONDS)
    finally:
        allow_connections(stack.db_name)
    load.phase = "after"
    after = wait_until(lambda: (h := healthz(stack))[0] == 200 and h, timeout=30, desc="/healthz 200")
    accepted_before_end = len(load.accepted)
    wait_until(lambda: len(load.accepted) >= accepted_before_end + 10, timeout=30, desc="orders accepted after")
    load.stopping.set()
    load.join(timeout=30)

    # then the API answered only 202/200 or a JSON 503 with Retry-After, never a 500 or HTML
    kinds = Counter((phase, call, status) for phase, call, status, *_ in load.answers)
    assert {status for _, _, status, *_ in load.answers} <= {200, 202, 503}, kinds
    assert all(ctype.startswith("application/json") for _, _, _, ctype, _, _ in load.answers), kinds
    unavailable = [a for a in load.answers if a[2] == 503]
    assert unavailable and all(a[4] for a in unavailable), kinds
    assert kinds[("outage", "POST orders", 503)] > 0, kinds
    assert bad_token[0] == 503
    assert login[0] == 503 and login[1].get("retry-after")
    # /healthz named the database while it was down, and was healthy once it was back
    assert during == (503, "application/json", {"database": "unavailable", "broker": "ok"})
    assert after == (200, "application/json", {"database": "ok", "broker": "ok"})

    # and every accepted order was charged exactly once and paid, with the same processes
    stack.sim.set_faults({})

    def orders():
        rows = stack.rows("SELECT id::text, status, amount, transaction_id FROM payments_order")
        return {oid: {"id": oid, "status": s, "amount": a, "transaction_id": t} for oid, s, a, t in rows}

    wait_until(lambda: i2_every_accepted_order_rests(orders(), load.accepted)["passed"], timeout=90,
               interval=0.5, desc="every accepted order final")
    ledger, final = stack.sim.transactions(), orders()
    for check in (
        i1_at_most_one_successful_sale_per_order(ledger),
        i2_every_accepted_order_rests(final, load.accepted),
        i3_sales_and_paid_orders_match(ledger, final),
    ):
        assert check["passed"], check
    assert Counter(o["status"] for o in final.values()) == {"paid": len(load.accepted)}
    assert pids(stack) == before
    assert all(p.alive() for p in stack.processes)
