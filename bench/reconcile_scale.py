"""Reconciler scale: one sweep over 1,000,000 finished + 100 stuck orders against 1,000 finished + 100.

    python -m bench.reconcile_scale [--finished 1000000] [--small 1000] [--stuck 100] [--runs 3] [--out FILE]

A fresh database ``payments_reconcile_<pid>`` (dropped at the end) and a private ``redis-server``
(the reconciler publishes one charge per stuck order; no worker consumes them). Rows are
bulk-loaded in SQL with ``generate_series``, copied from one order the ORM created (so every
column, including ones added later, has its default; the column list is read from the catalog). For each size: ``ANALYZE``, then ``--runs``
sweeps of ``orders_reconcile`` (the beat task's service, with its production thresholds), the
stuck orders aged again before each; the median is quoted, with ``EXPLAIN (ANALYZE, BUFFERS)`` of
the stuck-order query. Checks: every sweep re-dispatched exactly the stuck orders. Exit status:
0 pass (the ratio is a figure, not a check), 1 a check failed, 2 setup failed, 3 deadline.
"""

import json
import sys

from bench.runner import Benchmark, benchmark_parser, print_outcome, print_targets, run_benchmark
from devtools.stack import RedisServer, environment, manage

SCALE_CODE = r"""
import json, os, statistics, time
from decimal import Decimal
from django.contrib.auth import get_user_model
from django.db import connection
from payments.models import Order
from payments.orders.selectors import orders_stuck
from payments.orders.services import orders_reconcile

FINISHED, SMALL, STUCK, RUNS = (int(os.environ[k]) for k in ("BENCH_FINISHED", "BENCH_SMALL", "BENCH_STUCK", "BENCH_RUNS"))
owner = get_user_model().objects.create_user(username="bench")
template = Order.objects.create(owner=owner, amount=Decimal("12.34"), description="template")

def clone(n, status, description, transaction_prefix):
    # Every column copied from the template row (so columns added later keep their defaults);
    # id, status, description, transaction id and the timestamps set per row.
    with connection.cursor() as cur:
        cur.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'payments_order' "
                    "ORDER BY ordinal_position")
        columns = [c for (c,) in cur.fetchall()]
        overrides = {
            "id": "gen_random_uuid()", "status": "%(status)s", "description": "%(description)s",
            "transaction_id": "CASE WHEN %(prefix)s = '' THEN NULL ELSE %(prefix)s || g END",
            "created_at": "now() - interval '2 hours'", "updated_at": "now() - interval '2 hours'",
        }
        select = ", ".join(overrides.get(c, f't."{c}"') for c in columns)
        cur.execute(
            f"INSERT INTO payments_order ({', '.join(f'{chr(34)}{c}{chr(34)}' for c in columns)}) "
            f"SELECT {select} FROM payments_order t, generate_series(1, %(n)s) g WHERE t.id = %(template)s",
            {"status": status, "description": description, "prefix": transaction_prefix, "n": n,
             "template": template.pk})

def age_stuck():
    Order.objects.filter(description="stuck").update(status="pending")
    with connection.cursor() as cur:
        cur.execute("UPDATE payments_order SET updated_at = now() - interval '1 hour' WHERE description = 'stuck'")

def measure(label):
    with connection.cursor() as cur:
        cur.execute("ANALYZE payments_order")
    seconds, counts = [], []
    for _ in range(RUNS):
        age_stuck()
        t0 = time.perf_counter()
        c = orders_reconcile(pending_after_seconds=60, processing_after_seconds=60, limit=500)
        seconds.append(time.perf_counter() - t0)
        counts.append(c)
    age_stuck()
    qs = orders_stuck(pending_after_seconds=60, processing_after_seconds=60, limit=500)
    plan = qs.explain(analyze=True, buffers=True)
    total = Order.objects.count()
    print("MEASURE " + json.dumps({"label": label, "orders": total, "seconds": seconds,
                                  "median_seconds": statistics.median(seconds), "counts": counts,
                                  "plan": plan}), flush=True)

Order.objects.filter(pk=template.pk).update(status="paid", transaction_id="template")
clone(SMALL - 1, "paid", "finished", "txn-a-")
clone(STUCK, "pending", "stuck", "")
measure("small")
t0 = time.perf_counter()
clone(FINISHED - SMALL, "paid", "finished", "txn-b-")
print("LOADED " + json.dumps({"rows": FINISHED - SMALL, "seconds": time.perf_counter() - t0}), flush=True)
measure("large")
"""


class Bench(Benchmark):
    name = "reconcile_scale"
    db_prefix = "payments_reconcile_"
    loaded = None  # the bulk load's figures

    def __init__(self, args):
        super().__init__(args)
        self.measures = {}

    def start(self):
        self.log(f"run dir {self.run_dir}; database {self.db_name}")
        self.redis = self.launch(RedisServer(run_dir=self.run_dir, name="redis"))
        self.env = environment(db_name=self.db_name, broker_url=self.redis.url(0), app_name="reconcile-scale")
        self.private_database(self.env)

    def run(self):
        a = self.args
        env = {**self.env, "BENCH_FINISHED": str(a.finished), "BENCH_SMALL": str(a.small),
               "BENCH_STUCK": str(a.stuck), "BENCH_RUNS": str(a.runs)}
        out = manage(env, "shell", code=SCALE_CODE, timeout=a.timeout, log_path=self.run_dir / "scale.log")
        for line in out.splitlines():
            if line.startswith("MEASURE "):
                m = json.loads(line[len("MEASURE "):])
                self.measures[m["label"]] = m
            elif line.startswith("LOADED "):
                self.loaded = json.loads(line[len("LOADED "):])

    def error_result(self):
        return {**super().error_result(), "measures": self.measures}

    def result(self, command):
        small, large = self.measures["small"], self.measures["large"]
        problems = [f"{m['label']}: a sweep re-dispatched {c['charge']} of {self.args.stuck} stuck orders"
                    for m in (small, large) for c in m["counts"] if c["charge"] != self.args.stuck]
        ratio = large["median_seconds"] / small["median_seconds"]
        return {"command": command, "small": small, "large": large, "loaded": self.loaded, "ratio": ratio,
                "targets": [{"figure": "reconcile sweep at 1M finished / at 1k finished", "value": ratio,
                             "target": "<= 2", "met": ratio <= 2}],
                "passed": not problems, "problems": problems, "run_dir": str(self.run_dir)}


def print_report(result):
    print(f"\n$ {result['command']}\n")
    for m in (result["small"], result["large"]):
        print(f"{m['label']}: {m['orders']} orders, sweep median {1000 * m['median_seconds']:.1f} ms "
              f"(runs {', '.join(f'{1000 * s:.1f}' for s in m['seconds'])} ms)")
        print("  EXPLAIN ANALYZE of the stuck-order query:")
        for line in m["plan"].splitlines():
            print(f"    {line}")
    if result["loaded"]:
        print(f"bulk load: {result['loaded']['rows']} rows in {result['loaded']['seconds']:.1f}s")
    print_targets(result["targets"])
    print_outcome(result)


def parse_args(argv=None):
    parser = benchmark_parser("bench.reconcile_scale", __doc__, timeout=600)
    parser.add_argument("--finished", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--stuck", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    return parser.parse_args(argv)


def main(argv=None):
    return run_benchmark(Bench(parse_args(argv)), argv=argv, print_report=print_report)


if __name__ == "__main__":
    sys.exit(main())
