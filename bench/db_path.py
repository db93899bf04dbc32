"""The database work of one order: statements, commits and CPU of the charge and of intake.

    python -m bench.db_path [--charges 1000] [--creates 2000] [--warmup 50] [--out FILE]

What a lever on the per-order path changes, without the noise of the whole pipeline: the
services run in one ``manage.py shell`` on the in-process fake gateway (no network, no broker;
the publishes are patched out), against a fresh database ``payments_dbpath_<pid>`` (dropped at
the end), on test settings with production's connection and logging settings. For each path it
reports the SQL statements of one order (Django's query capture, BEGIN and COMMIT included) and
its commits (calls of the connection's ``commit()``, which ends each atomic block), then, over the
measured orders, this process's CPU, its PostgreSQL backend's CPU (``/proc/<backend pid>/stat``)
and wall time per order. Paths: ``order_charge`` of a new order to ``paid`` (claim, sale, find,
record and settle); ``raw replay``, the floor under the ORM: the statements ``order_charge`` sent
for one order, replayed verbatim (order id swapped) for as many fresh orders on the bare psycopg
connection, so no ORM, service code or gateway; and ``order_create`` with a new Idempotency-Key. Compare two builds by running this
in each checkout, alternating. Checks: every charged order paid, every create stored one order.
Exit status: 0 pass, 1 a check failed, 2 setup failed, 3 deadline.
"""

import sys

from bench.runner import Benchmark, benchmark_parser, print_outcome, run_benchmark, shell_probe
from devtools.settings import PRODUCTION_CONNECTIONS
from devtools.stack import environment

PROBE_CODE = r"""
import json, os, time, uuid
from decimal import Decimal
from unittest import mock
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from payments import gateways
from payments.models import Order
from payments.orders.services import order_charge, order_create
from payments.tasks import charge_order_task, verify_order_task

CHARGES, CREATES, WARMUP = (int(os.environ[k]) for k in ("BENCH_CHARGES", "BENCH_CREATES", "BENCH_WARMUP"))
settings.PAYMENTS_GATEWAY = "fake"
gateways.reset_gateway()
owner = get_user_model().objects.create_user(username="bench")

def backend_cpu_seconds():
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        (pid,) = cur.fetchone()
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

def shape(run_one):
    # Django commits an atomic block with connection.commit(), not a captured statement.
    wrapper = connections["default"]
    with CaptureQueriesContext(connection) as queries, mock.patch.object(wrapper, "commit", wraps=wrapper.commit) as commit:
        run_one()
    sql = [q["sql"] for q in queries.captured_queries]
    return {"statements": len(sql), "commits": commit.call_count,
            "sql": [s.split()[0] + (" FOR UPDATE" if s.endswith("FOR UPDATE") else "") for s in sql]}, sql

def measure(label, calls):
    backend0, cpu0, wall0 = backend_cpu_seconds(), time.process_time(), time.perf_counter()
    for call in calls:
        call()
    backend1, cpu1, wall1 = backend_cpu_seconds(), time.process_time(), time.perf_counter()
    n = len(calls)
    return {"label": label, "n": n, "client_cpu_ms": 1000 * (cpu1 - cpu0) / n,
            "backend_cpu_ms": 1000 * (backend1 - backend0) / n, "wall_ms": 1000 * (wall1 - wall0) / n}

def new_order():
    return Order.objects.create(owner=owner, amount=Decimal("12.34"), payment_method_nonce="fake-valid-nonce")

def create_call(key):
    return lambda: order_create(owner=owner, amount=Decimal("12.34"), nonce="fake-valid-nonce", idempotency_key=key)

with mock.patch.object(charge_order_task, "apply_async"), mock.patch.object(verify_order_task, "apply_async"):
    connection.ensure_connection()
    charge_orders = [new_order() for _ in range(WARMUP + 1 + CHARGES)]
    for o in charge_orders[:WARMUP]:
        order_charge(order_id=o.pk)
    probe = charge_orders[WARMUP]
    charge_shape, charge_sql = shape(lambda: order_charge(order_id=probe.pk))
    charge = measure("order_charge", [lambda pk=o.pk: order_charge(order_id=pk) for o in charge_orders[WARMUP + 1:]])
    # The floor under the ORM: the same statements, as the ORM sent them for `probe`, replayed
    # verbatim for fresh orders on the bare psycopg connection (no ORM, no service code, no gateway).
    replay_orders = [new_order() for _ in range(CHARGES)]
    pg = connection.connection  # in autocommit outside an atomic block, as Django keeps it
    def replay(pk):
        cursor = pg.cursor()
        for sql in charge_sql:
            # Django writes a UUID parameter as 32 hex digits, the FK of the event rows too.
            cursor.execute(sql.replace(probe.pk.hex, pk.hex))
    replay_row = measure("raw replay", [lambda pk=o.pk: replay(pk) for o in replay_orders])
    charge_orders += replay_orders
    for _ in range(WARMUP):
        create_call(str(uuid.uuid4()))()
    create_shape, _ = shape(create_call(str(uuid.uuid4())))
    create = measure("order_create", [create_call(str(uuid.uuid4())) for _ in range(CREATES)])
paid = Order.objects.filter(pk__in=[o.pk for o in charge_orders], status="paid").count()
stored = Order.objects.count() - len(charge_orders)
print("PROBE " + json.dumps({"charge": {**charge, **charge_shape}, "create": {**create, **create_shape},
                             "replay": {**replay_row, **charge_shape},
                             "paid": paid, "charged": len(charge_orders), "stored": stored,
                             "created": WARMUP + 1 + CREATES}), flush=True)
"""


class Bench(Benchmark):
    name = "db_path"
    db_prefix = "payments_dbpath_"
    probe = None  # what PROBE_CODE printed

    def start(self):
        self.log(f"run dir {self.run_dir}; database {self.db_name}")
        self.env = environment(db_name=self.db_name, app_name="db-path", extra=PRODUCTION_CONNECTIONS)
        self.private_database(self.env)

    def run(self):
        a = self.args
        env = {**self.env, "BENCH_CHARGES": str(a.charges), "BENCH_CREATES": str(a.creates), "BENCH_WARMUP": str(a.warmup)}
        self.probe = shell_probe(env, PROBE_CODE, timeout=a.timeout, log_path=self.run_dir / "probe.log")

    def result(self, command):
        p = self.probe
        problems = []
        if p["paid"] != p["charged"]:
            problems.append(f"{p['charged'] - p['paid']} of {p['charged']} charged orders not paid")
        if p["stored"] != p["created"]:
            problems.append(f"{p['stored']} orders stored for {p['created']} creates")
        return {"command": command, "charge": p["charge"], "replay": p["replay"], "create": p["create"],
                "passed": not problems, "problems": problems, "run_dir": str(self.run_dir)}


def print_report(result):
    print(f"\n$ {result['command']}\n")
    print(f"{'path':<14} {'n':>6} {'statements':>10} {'commits':>8} {'client CPU ms':>13} "
          f"{'PostgreSQL CPU ms':>17} {'wall ms':>8}")
    for row in (result["charge"], result["replay"], result["create"]):
        print(f"{row['label']:<14} {row['n']:>6} {row['statements']:>10} {row['commits']:>8} "
              f"{row['client_cpu_ms']:>13.2f} {row['backend_cpu_ms']:>17.2f} {row['wall_ms']:>8.2f}")
    for row in (result["charge"], result["create"]):
        print(f"{row['label']}: {' '.join(row['sql'])}")
    print_outcome(result)


def parse_args(argv=None):
    parser = benchmark_parser("bench.db_path", __doc__, timeout=300)
    parser.add_argument("--charges", type=int, default=1000, help="measured order_charge calls")
    parser.add_argument("--creates", type=int, default=2000, help="measured order_create calls")
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured calls of each first")
    args = parser.parse_args(argv)
    if min(args.charges, args.creates, args.warmup) < 1:
        parser.error("need --charges, --creates and --warmup >= 1")
    return args


def main(argv=None):
    return run_benchmark(Bench(parse_args(argv)), argv=argv, print_report=print_report)


if __name__ == "__main__":
    sys.exit(main())
