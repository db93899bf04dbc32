"""`python -m bench.recovery`: how long a SIGKILLed payments worker's orders wait, on production's settings.

The threads pool (the Procfile's) runs every sale of a worker in its main process, so a SIGKILL
takes every claim the worker holds. Production's delivery settings throughout: the claim lease
and its renewal, the gateway timeout, the retry policy, and the reconciler as the migrations
leave it (every 5 s); only the stack is small.

A stack of real processes on a private database: a private redis-server or RabbitMQ vhost, the
simulator (every sale 300 ms), gunicorn, two payments workers (-P threads -c 8), the default
worker, beat with the reconciler's PeriodicTask as the migrations leave it. Orders are submitted
steadily; every few seconds one payments worker is SIGKILLed (its main process: the threads pool
is the worker) and started again 3 s later. An order whose claim was lost with its worker is
claimed more than once; its time to final status is measured from its creation and from the kill.
"""

import argparse
import json
import os
import random
import sys
import threading
import time
from datetime import datetime, timezone

import psycopg

from devtools.db import create_database, drop_database, dsn
from devtools.invariants import (
    i1_at_most_one_successful_sale_per_order,
    i2_every_accepted_order_rests,
    i3_sales_and_paid_orders_match,
)
from devtools.polling import wait_until
from devtools.proxy import drop_proxy_variables
from devtools.rabbitmq import Vhost
from devtools.settings import PRODUCTION_CONNECTIONS, RECOMMENDED_POOL
from devtools.sim import sale_rule
from devtools.stack import (
    Beat, RedisServer, Simulator, WebServer, Worker, environment, http_request, make_run_dir, manage,
    start_together, stop_together,
)
from devtools.stats import percentile
from payments.core.schedules import RECONCILE_INTERVAL_SECONDS


def main():
    drop_proxy_variables()
    ap = argparse.ArgumentParser(prog="python -m bench.recovery", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--broker", choices=("redis", "rabbitmq"), default="redis")
    ap.add_argument("--kills", type=int, default=6)
    ap.add_argument("--every", type=float, default=12.0)
    ap.add_argument("--rate", type=float, default=15.0)
    ap.add_argument("--sale-ms", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    run_dir = make_run_dir(f"recovery-{args.broker}")
    db = f"payments_recovery_{os.getpid()}"
    create_database(db)
    vhost = redis = None
    procs = []
    try:
        with Simulator(run_dir=run_dir) as sim:
            if args.broker == "redis":
                redis = RedisServer(run_dir=run_dir).start()
                broker_url = redis.url(0)
            else:
                vhost = Vhost(f"payments_recovery_{os.getpid()}").__enter__()
                broker_url = vhost.url
            # Production's delivery settings (config/settings/base.py) on the test settings module:
            # only the gateway timeout, which config.settings.test lowers, is put back.
            env = environment(db_name=db, broker_url=broker_url, simulator_url=sim.url, app_name="recovery",
                              extra={**PRODUCTION_CONNECTIONS, "BRAINTREE_TIMEOUT_SECONDS": 10,
                                     "CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT": 5})
            manage(env, "migrate", "--noinput", log_path=run_dir / "manage.log")
            out = manage(env, "shell", code=(
                "from django.contrib.auth import get_user_model\n"
                "from payments.tokens.services import api_token_issue\n"
                "print('TOKEN', api_token_issue(get_user_model().objects.create_user('recovery')))\n"), log_path=run_dir / "manage.log")
            token = next(line.split()[1] for line in out.splitlines() if line.startswith("TOKEN "))
            sim.set_faults({"rules": [sale_rule(kind="latency", latency_ms=args.sale_ms)]})
            web = WebServer(env=env, run_dir=run_dir, workers=2)
            workers = [Worker(name=f"pay{i}", queues="payments", pool=RECOMMENDED_POOL, concurrency=8, env=env,
                              run_dir=run_dir) for i in (1, 2)]
            procs = [web, *workers, Worker(name="maint", queues="default,maintenance", env=env, run_dir=run_dir),
                     Beat(env=env, run_dir=run_dir)]
            start_together(procs)
            accepted, stop = [], threading.Event()

            def submit():
                while not stop.is_set():
                    t0 = time.monotonic()
                    st, _, body = http_request("POST", web.url + "/api/orders/", timeout=15,
                                               body={"amount": "10.00", "payment_method_nonce": "fake-valid-nonce"},
                                               headers={"Authorization": f"Token {token}"})
                    if st == 202:
                        accepted.append(body["id"])
                    time.sleep(max(0.0, 1 / args.rate - (time.monotonic() - t0)))

            submitters = [threading.Thread(target=submit, daemon=True) for _ in range(2)]
            for t in submitters:
                t.start()
            kills = []
            time.sleep(5)
            for _ in range(args.kills):
                victim = rng.choice(workers)
                kills.append(datetime.now(timezone.utc))
                victim.kill_main()
                time.sleep(3)
                victim.start()
                time.sleep(max(0.0, args.every - 3 - rng.uniform(0, 2)))
            stop.set()
            for t in submitters:
                t.join()

            def rows(sql):
                with psycopg.connect(dsn(db), autocommit=True) as conn:
                    return conn.execute(sql).fetchall()

            def orders():
                return {oid: {"id": oid, "status": s, "amount": a, "transaction_id": t}
                        for oid, s, a, t in rows("SELECT id::text, status, amount, transaction_id FROM payments_order")}

            wait_until(lambda: i2_every_accepted_order_rests(orders(), accepted)["passed"], timeout=600, interval=1,
                       desc="every order final")
            ledger, final = sim.transactions(), orders()
            checks = [i1_at_most_one_successful_sale_per_order(ledger), i2_every_accepted_order_rests(final, accepted),
                      i3_sales_and_paid_orders_match(ledger, final)]
            # created_at, final time (the last transition into a final status), claims
            # An order the killed worker held: claimed more than once, or re-sent by the reconciler.
            facts = rows("""
                SELECT o.id::text, o.created_at,
                       o.claims + (SELECT count(*) FROM payments_orderevent r WHERE r.order_id = o.id AND r.action = 'requeue'),
                       max(e.created_at)
                FROM payments_order o JOIN payments_orderevent e ON e.order_id = o.id
                WHERE e.to_status IN ('paid', 'failed', 'needs_review') AND e.from_status <> e.to_status
                GROUP BY o.id, o.created_at, o.claims""")
            all_ttf = [(f - c).total_seconds() for _, c, _, f in facts]
            reclaimed = [(c, f) for _, c, n, f in facts if n > 1]
            from_creation = [(f - c).total_seconds() for c, f in reclaimed]

            def since_kill(c, f):
                before = [k for k in kills if k <= f]
                return (f - max(before)).total_seconds() if before else None

            from_kill = [x for x in (since_kill(c, f) for c, f in reclaimed) if x is not None]
            statuses = {}
            for o in final.values():
                statuses[o["status"]] = statuses.get(o["status"], 0) + 1
            restarts = {p.name: p.starts for p in procs}
            report = {
                "broker": args.broker, "orders": len(accepted), "kills": len(kills), "statuses": statuses,
                "invariants": {c["name"]: len(c["violations"]) for c in checks},
                "all_orders_time_to_final": stats(all_ttf),
                "killed_workers_orders": len(reclaimed),
                "killed_workers_orders_time_to_final_from_creation": stats(from_creation),
                "killed_workers_orders_time_to_final_from_kill": stats(from_kill),
                "process_starts": restarts,
                "settings": {"reconcile_interval_seconds": RECONCILE_INTERVAL_SECONDS, "sale_latency_ms": args.sale_ms,
                             "rate": args.rate, "every": args.every},
                "command": "python -m bench.recovery " + " ".join(sys.argv[1:]),
                "run_dir": str(run_dir),
            }
            print(json.dumps(report, indent=2))
            failed = any(report["invariants"].values())
            if args.out:
                with open(args.out, "w") as fh:
                    json.dump(report, fh, indent=2)
    finally:
        stop_together(procs)
        if redis is not None:
            redis.stop()
        if vhost is not None:
            vhost.delete()
        drop_database(db)
    return 1 if failed else 0


def stats(values):
    if not values:
        return None
    return {"n": len(values), "p50": round(percentile(values, 0.5), 2), "p99": round(percentile(values, 0.99), 2),
            "max": round(max(values), 2)}


if __name__ == "__main__":
    sys.exit(main())
