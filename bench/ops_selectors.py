"""What one dashboard refresh or /metrics scrape costs on a large table (README, "Watching it").

    python -m bench.ops_selectors [--orders 1000000] [--out FILE]

Creates ``payments_bench_ops_<pid>`` on the local PostgreSQL (dropped at the end), migrates it,
fills it with ``--orders`` settled orders (one a second back in time: 90 % paid, 10 % failed,
0.1 % needs_review), 50 pending ones and one sale event per order (1 % unanswered), then times
each selector of payments/ops/selectors.py, the whole dashboard JSON and the /metrics render in a
Django process on that database (median and max of 5 runs after a warm-up, milliseconds), with
and without the cached paid/failed counts. Starts no worker. Exit status: 0 done, 2 setup or run
failed, 3 deadline.
"""

import os
import sys

import psycopg

from bench.runner import Benchmark, benchmark_parser, run_benchmark
from devtools.db import dsn
from devtools.stack import environment, manage

# One order as the ORM stores it, every column at its default: the template of the bulk rows, so
# columns added later need nothing here.
TEMPLATE_CODE = """
from decimal import Decimal
from django.contrib.auth import get_user_model
from payments.models import Order
owner = get_user_model().objects.create_user(username="bench", is_staff=True)
print("TEMPLATE", Order.objects.create(owner=owner, amount=Decimal("10.00"), payment_method_nonce="").pk)
"""
# What the bulk rows take instead of the template's value, per column (g: the row's number; `%%` is
# the modulo, escaped for the driver's parameters). Settled:
# one a second back in time, 90 % paid, 10 % failed, 0.1 % needs_review, each claimed once.
SETTLED = {
    "id": "gen_random_uuid()",
    "status": "CASE WHEN g %% 1000 = 0 THEN 'needs_review' WHEN g %% 10 = 0 THEN 'failed' ELSE 'paid' END",
    "transaction_id": "CASE WHEN g %% 10 = 0 THEN NULL ELSE 't' || g END",
    "claims": "1", "sale_attempt": "1", "ever_claimed": "true",
    "created_at": "now() - (g || ' seconds')::interval",
    "updated_at": "now() - (g || ' seconds')::interval + interval '2 seconds'",
}
PENDING = {
    "id": "gen_random_uuid()", "status": "'pending'", "payment_method_nonce": "'n'",
    "created_at": "now() - (g || ' seconds')::interval", "updated_at": "now()",
}
# One sale event per order, 1 % of them unanswered.
EVENTS_SQL = """
INSERT INTO payments_orderevent (order_id, action, from_status, to_status, outcome, transaction_id, detail,
                                 created_at)
SELECT id, 'sale', 'processing', 'processing', CASE WHEN random() < 0.01 THEN 'unavailable' ELSE 'approved' END,
       '', '{}', updated_at
FROM payments_order
"""


def copy_template(conn, template, overrides, n):
    """`n` copies of the order `template`, with `overrides` (SQL per column) in place of its values."""
    columns = [c for (c,) in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'payments_order' "
        "ORDER BY ordinal_position")]
    select = ", ".join(overrides.get(c, f't."{c}"') for c in columns)
    conn.execute(f"INSERT INTO payments_order ({', '.join(f'{chr(34)}{c}{chr(34)}' for c in columns)}) "
                 f"SELECT {select} FROM payments_order t, generate_series(1, {int(n)}) g WHERE t.id = %s",
                 [template])


TIMING_CODE = """
import statistics, time
from prometheus_client import generate_latest
from payments.ops import selectors as s
from payments.ops.metrics import metrics_registry
from payments.ops.views import dashboard_data_build

def timed(name, fn, runs=5):
    fn()
    ms = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - started) * 1000)
    print(f"  {name:42s} median {statistics.median(ms):7.1f} ms   max {max(ms):7.1f} ms")

timed("order_counts_by_status", s.order_counts_by_status)
timed("oldest_active_order_age_seconds", s.oldest_active_order_age_seconds)
timed("finals_per_minute(15)", lambda: s.finals_per_minute(minutes=15))
timed("orders_needing_review(10)", lambda: list(s.orders_needing_review(limit=10)))
timed("gateway_errors_recent(1 h, 10)", lambda: list(s.gateway_errors_recent(since_seconds=3600, limit=10)))
timed("dashboard JSON", dashboard_data_build)
timed("/metrics render", lambda: generate_latest(metrics_registry()))
"""


CACHES = (("5", "paid/failed counts cached (the default, 5 s)"), ("0", "no cache: every count fresh"))


class Bench(Benchmark):
    name = "ops_selectors"
    db_prefix = "payments_bench_ops_"

    def __init__(self, args):
        super().__init__(args)
        self.timings = []

    def start(self):
        self.log(f"run dir {self.run_dir}; database {self.db_name}")
        self.env = environment(db_name=self.db_name, extra={"CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "")
                                                            or "redis://127.0.0.1:6379/11"})
        self.private_database(self.env)

    def run(self):
        out = manage(self.env, "shell", code=TEMPLATE_CODE, log_path=self.run_dir / "manage.log")
        template = next(line.split()[1] for line in out.splitlines() if line.startswith("TEMPLATE "))
        with psycopg.connect(dsn(self.db_name), autocommit=True) as conn:
            copy_template(conn, template, SETTLED, self.args.orders)
            copy_template(conn, template, PENDING, 50)
            conn.execute("DELETE FROM payments_order WHERE id = %s", [template])
            conn.execute(EVENTS_SQL)
            conn.execute("VACUUM ANALYZE payments_order")
            conn.execute("VACUUM ANALYZE payments_orderevent")
        for ttl, label in CACHES:
            out = manage({**self.env, "PAYMENTS_OPS_COUNTS_CACHE_SECONDS": ttl}, "shell", code=TIMING_CODE,
                         log_path=self.run_dir / "timing.log")
            self.timings.append({"label": label, "cache_seconds": int(ttl), "table": out})

    def result(self, command):
        return {"command": command, "orders": self.args.orders, "timings": self.timings, "passed": True,
                "run_dir": str(self.run_dir)}


def print_report(result):
    for timing in result["timings"]:
        print(f"{result['orders']:,} settled orders, {timing['label']}:")
        print(timing["table"], end="")


def main(argv=None):
    parser = benchmark_parser("bench.ops_selectors", __doc__.splitlines()[0], timeout=900)
    parser.add_argument("--orders", type=int, default=1_000_000)
    return run_benchmark(Bench(parser.parse_args(argv)), argv=argv, print_report=print_report)


if __name__ == "__main__":
    sys.exit(main())
