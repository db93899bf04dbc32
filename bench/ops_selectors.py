"""What one dashboard refresh or /metrics scrape costs on a large table (README, "Watching it").

    python -m bench.ops_selectors [--orders 1000000]

Creates ``payments_bench_ops_<pid>`` on the local PostgreSQL (dropped at the end), migrates it,
fills it with ``--orders`` settled orders (one a second back in time: 90 % paid, 10 % failed,
0.1 % needs_review), 50 pending ones and one sale event per order (1 % unanswered), then times
each selector of payments/ops/selectors.py, the whole dashboard JSON and the /metrics render in a
Django process on that database (median and max of 5 runs after a warm-up, milliseconds), with
and without the cached paid/failed counts. Starts no worker; exit status 0, or 1 on a failure.
"""

import argparse
import os
import sys

import psycopg

from devtools.db import create_database, drop_database, dsn
from devtools.stack import environment, manage

FILL_SQL = """
INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
                       date_joined)
VALUES ('!', false, 'bench', '', '', '', true, true, now());
INSERT INTO payments_order (id, owner_id, amount, currency, description, payment_method_nonce, status,
    transaction_id, gateway_status, processor_response_code, processor_response_text, error_codes, failure_reason,
    claims, sale_attempt, ever_claimed, last_sale_outcome, request_fingerprint, created_at, updated_at)
SELECT gen_random_uuid(), (SELECT id FROM auth_user WHERE username = 'bench'), 10.00, 'USD', '', '',
    CASE WHEN g % 1000 = 0 THEN 'needs_review' WHEN g % 10 = 0 THEN 'failed' ELSE 'paid' END,
    CASE WHEN g % 10 = 0 THEN NULL ELSE 't' || g END, '', '', '', '[]', '', 1, 1, true, '', '',
    now() - (g || ' seconds')::interval, now() - (g || ' seconds')::interval + interval '2 seconds'
FROM generate_series(1, %(orders)s) g;
INSERT INTO payments_order (id, owner_id, amount, currency, description, payment_method_nonce, status,
    gateway_status, processor_response_code, processor_response_text, error_codes, failure_reason, claims,
    sale_attempt, ever_claimed, last_sale_outcome, request_fingerprint, created_at, updated_at)
SELECT gen_random_uuid(), (SELECT id FROM auth_user WHERE username = 'bench'), 10.00, 'USD', '', 'n', 'pending',
    '', '', '', '[]', '', 0, 0, false, '', '', now() - (g || ' seconds')::interval, now()
FROM generate_series(1, 50) g;
INSERT INTO payments_orderevent (order_id, action, from_status, to_status, outcome, transaction_id, detail,
                                 created_at)
SELECT id, 'sale', 'processing', 'processing', CASE WHEN random() < 0.01 THEN 'unavailable' ELSE 'approved' END,
       '', '{}', updated_at
FROM payments_order;
"""

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


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.ops_selectors", description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    name = f"payments_bench_ops_{os.getpid()}"
    create_database(name)
    try:
        env = environment(db_name=name, extra={"CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "")
                                               or "redis://127.0.0.1:6379/11"})
        manage(env, "migrate", "-v0")
        with psycopg.connect(dsn(name), autocommit=True) as conn:
            conn.execute(FILL_SQL.replace("%(orders)s", str(int(args.orders))))
            conn.execute("VACUUM ANALYZE payments_order")
            conn.execute("VACUUM ANALYZE payments_orderevent")
        for ttl, label in (("5", "paid/failed counts cached (the default, 5 s)"), ("0", "no cache: every count fresh")):
            print(f"{args.orders:,} settled orders, {label}:")
            print(manage({**env, "PAYMENTS_OPS_COUNTS_CACHE_SECONDS": ttl}, "shell", code=TIMING_CODE), end="")
    finally:
        drop_database(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
