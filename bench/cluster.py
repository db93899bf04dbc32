"""`python -m bench.cluster`: payments workers on several "hosts" (network namespaces), one broker, one PostgreSQL.

Root namespace: a private redis-server (the broker), the gateway simulator, PostgreSQL (shared,
127.0.0.1 only), gunicorn, beat and the reconciliation worker. Worker hosts: network namespaces
(bench/netns.py) that reach the root namespace only over their veth, through socat relays
bound to the veth address. Two phases, bounded by --timeout:

(a) throughput: every sale and verify answered after --latency-ms (200 ms); --orders orders
    submitted at once with 1, 2, then 3 worker hosts; orders/s = orders / (last order terminal -
    first submission);
(b) partition: all hosts running, a burst of orders, one host's link taken down mid-sale for
    --cut-seconds, then restored; every accepted order must rest with no double charge
    (devtools/invariants.py I1-I3), within the reconciler's bound.

Run as root (ip netns), under the heavy lock:
    flock /tmp/payments-heavy.lock .venv/bin/python -m bench.cluster
"""

import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from bench.chaos.checks import read_orders
from bench.chaos.stack import configure_reconciler
from bench.netns import NetHosts
from bench.runner import Benchmark, benchmark_parser, run_benchmark
from devtools import invariants
from devtools.settings import (
    CHAOS_RECONCILE_INTERVAL_SECONDS, CHAOS_RECONCILE_THRESHOLD_SECONDS, CHAOS_SETTINGS, RECOMMENDED_POOL,
)
from devtools.stack import Beat, RedisServer, Simulator, WebServer, Worker, environment, http_request, start_together
from payments.core.statuses import RESTING_STATUSES

DB_PREFIX = "payments_cluster_"


class HostWorker(Worker):
    """A payments worker whose process runs inside a host's network namespace."""

    def __init__(self, netns_prefix, **kwargs):
        super().__init__(**kwargs)
        self.netns_prefix = list(netns_prefix)

    def command(self):
        return [*self.netns_prefix, *super().command()]


class Cluster(Benchmark):
    name = "cluster"
    db_prefix = DB_PREFIX
    steps = ("start", "throughput", "partition")
    stop_timeout = 5
    clock_in_log = True
    query_app_name = "cluster-bench"

    def __init__(self, args):
        super().__init__(args)
        self.hosts = NetHosts(args.max_hosts, run_dir=self.run_dir)
        self.host_workers = []
        self.figures = {"throughput": [], "partition": None}
        self.token = None

    # -- the stack

    def env(self, app_name, host=None):
        redis, sim = self.procs["redis"], self.procs["sim"]
        if host is None:
            return environment(db_name=self.db_name, broker_url=redis.url(0), simulator_url=sim.url,
                               app_name=app_name, extra=CHAOS_SETTINGS)
        gw = self.hosts.gateway(host)
        return environment(db_name=self.db_name,
                           database_url=f"postgres://postgres@{gw}:5432/{self.db_name}",
                           broker_url=f"redis://{gw}:{redis.port}/0", simulator_url=f"http://{gw}:{sim.port}",
                           app_name=app_name, extra={**CHAOS_SETTINGS, "PGHOST": gw})

    def start(self):
        rd = self.run_dir
        self.log(f"run dir {rd}; database {self.db_name}")
        self.launch(RedisServer(run_dir=rd, name="redis"))
        self.launch(Simulator(run_dir=rd, name="sim"))
        self.private_database(self.env("cluster-manage"), drop_orphans=True)
        self.token, _, _ = configure_reconciler(self.env("cluster-manage"), rd / "manage.log")
        self.hosts.create()
        self.hosts.relay([(5432, 5432), (self.procs["redis"].port, self.procs["redis"].port),
                          (self.procs["sim"].port, self.procs["sim"].port)])
        self.log(f"{self.args.max_hosts} hosts: " + ", ".join(
            f"{self.hosts.ns(i)}={self.hosts.address(i)}" for i in range(1, self.args.max_hosts + 1)))
        start_together([
            self.adopt(WebServer(run_dir=rd, name="web", env=self.env("cluster-web"), workers=2)),
            self.adopt(Worker(run_dir=rd, name="maint", env=self.env("cluster-maint"),
                              queues="default,maintenance", concurrency=1)),
            self.adopt(Beat(run_dir=rd, name="beat", env=self.env("cluster-beat"))),
        ], timeout=90)
        for i in range(1, self.args.max_hosts + 1):
            self.host_workers.append(self.adopt(HostWorker(
                self.hosts.exec_prefix(i), run_dir=rd, name=f"host{i}-payments", env=self.env(f"cluster-host{i}", host=i),
                queues="payments", concurrency=self.args.concurrency, pool=self.args.pool)))

    def teardown(self):
        self.stop_all()
        self.hosts.cleanup()
        self.drop_database()

    def kill_everything(self):
        try:
            super().kill_everything()
        finally:
            self.hosts.cleanup()

    # -- traffic

    def submit(self, n, tag):
        def one(i):
            status, _, body = http_request("POST", self.procs["web"].url + "/api/orders/",
                                           body={"amount": f"{10 + i % 900}.00", "payment_method_nonce": "fake-valid-nonce",
                                                 "description": f"{tag} #{i}"},
                                           headers={"Authorization": f"Token {self.token}",
                                                    "Idempotency-Key": f"{tag}-{os.getpid()}-{i}"}, timeout=15)
            return body["id"] if status in invariants.ACCEPTED else None
        with ThreadPoolExecutor(max_workers=8) as pool:
            return [oid for oid in pool.map(one, range(n)) if oid]

    def wait_resting(self, ids, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            rows = self.query("SELECT count(*) FROM payments_order WHERE id::text = ANY(%s) AND status = ANY(%s)",
                              (ids, [str(s) for s in RESTING_STATUSES]))
            if rows[0][0] == len(ids):
                return True
            time.sleep(0.2)
        return False

    def last_resting_at(self, ids):
        return self.query("SELECT extract(epoch FROM max(updated_at)) FROM payments_order WHERE id::text = ANY(%s)",
                          (ids,))[0][0]

    def latency(self, ms):
        self.procs["sim"].set_faults({"rules": [{"kind": "latency", "latency_ms": ms}]} if ms else {"rules": []})

    # -- the phases

    def throughput(self):
        self.latency(self.args.latency_ms)
        for n in range(1, self.args.max_hosts + 1):
            self.check_deadline()
            workers = self.host_workers[:n]
            start_together([w for w in workers if not w.alive()], timeout=90)
            t0 = time.time()
            ids = self.submit(self.args.orders, f"tp{n}")
            done = self.wait_resting(ids, timeout=120)
            seconds = float(self.last_resting_at(ids)) - t0
            fig = {"hosts": n, "worker_processes": n * self.args.concurrency, "orders": len(ids),
                   "all_resting": done, "seconds": round(seconds, 2), "orders_per_second": round(len(ids) / seconds, 2)}
            self.figures["throughput"].append(fig)
            self.log(f"throughput: {fig}")

    def partition(self):
        self.check_deadline()
        self.latency(self.args.latency_ms)
        start_together([w for w in self.host_workers if not w.alive()], timeout=90)
        victim = 1
        ids = []
        sender = threading.Thread(target=lambda: ids.extend(self.submit(self.args.orders, "cut")))
        t0 = time.time()
        sender.start()
        time.sleep(1.5)  # sales in flight on every host
        in_sale = self.query("SELECT count(*) FROM payments_order WHERE status = 'processing'")[0][0]
        self.hosts.cut(victim)
        t_cut = time.time()
        self.log(f"partition: host {victim} cut off ({in_sale} orders processing)")
        time.sleep(self.args.cut_seconds)
        self.hosts.restore(victim)
        self.log(f"partition: host {victim} restored after {time.time() - t_cut:.1f}s")
        sender.join(60)
        bound = CHAOS_RECONCILE_THRESHOLD_SECONDS + 2 * CHAOS_RECONCILE_INTERVAL_SECONDS + 60
        done = self.wait_resting(ids, timeout=bound + self.args.cut_seconds)
        time.sleep(3)  # a late redelivery would show up now
        self.latency(0)
        orders = {k: v for k, v in read_orders(self).items() if k in set(ids)}
        ledger = [t for t in self.procs["sim"].transactions() if t.get("order_id") in set(ids)]
        inv = [invariants.i1_at_most_one_successful_sale_per_order(ledger),
               invariants.i2_every_accepted_order_rests(orders, ids),
               invariants.i3_sales_and_paid_orders_match(ledger, orders)]
        victim_log = self.host_workers[victim - 1].log_text()
        by_status = {}
        for o in orders.values():
            by_status[o["status"]] = by_status.get(o["status"], 0) + 1
        self.figures["partition"] = {
            "hosts": self.args.max_hosts, "cut_host": victim, "cut_seconds": self.args.cut_seconds,
            "orders": len(ids), "processing_at_cut": in_sale, "all_resting": done,
            "seconds_to_all_resting": round(float(self.last_resting_at(ids)) - t0, 1),
            "by_status": by_status, "max_claims": max((o["claims"] for o in orders.values()), default=0),
            "victim_survived": self.host_workers[victim - 1].alive(),
            "victim_connection_errors": victim_log.count("Connection to broker lost") + victim_log.count("consumer: Cannot connect"),
            "invariants": [{"name": i["name"], "checked": i["checked"], "passed": i["passed"],
                            "violations": i["violations"][:10]} for i in inv],
        }
        self.log(f"partition: {self.figures['partition']}")

    def result(self, command):
        part = self.figures["partition"] or {}
        passed = bool(part) and all(i["passed"] for i in part["invariants"]) and part["all_resting"]
        return {"passed": passed, "complete": len(self.figures["throughput"]) == self.args.max_hosts and bool(part),
                "command": command, "latency_ms": self.args.latency_ms, "pool": self.args.pool,
                "concurrency_per_host": self.args.concurrency,
                "run_dir": str(self.run_dir), **self.figures}

    def error_result(self):
        return {**super().error_result(), **self.figures}


def print_report(result):
    print("\nThroughput at %d ms gateway latency (one worker per host, -P %s -c %d)" %
          (result["latency_ms"], result["pool"], result["concurrency_per_host"]))
    for f in result["throughput"]:
        print(f"  {f['hosts']} host(s)  {f['orders']:4d} orders in {f['seconds']:6.1f}s  {f['orders_per_second']:6.2f} orders/s")
    p = result.get("partition")
    if p:
        print(f"\nPartition: host {p['cut_host']} of {p['hosts']} cut off for {p['cut_seconds']}s with "
              f"{p['processing_at_cut']} orders processing; {p['orders']} orders, all resting after "
              f"{p['seconds_to_all_resting']}s: {p['by_status']}")
        for i in p["invariants"]:
            print(f"  {'PASS' if i['passed'] else 'FAIL'}  {i['name']} (checked {i['checked']})")
    print(f"\nResult: {'PASS' if result['passed'] else 'FAIL'}  (run dir {result['run_dir']})")


def main(argv=None):
    parser = benchmark_parser("bench.cluster", __doc__, timeout=420)
    parser.add_argument("--max-hosts", type=int, default=3)
    parser.add_argument("--orders", type=int, default=80)
    parser.add_argument("--pool", default=RECOMMENDED_POOL, choices=("prefork", "threads"),
                        help="the payments worker's pool on each host (the Procfile's by default)")
    parser.add_argument("--concurrency", type=int, default=8,
                        help="sales in flight per worker host (threads, or prefork processes)")
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--cut-seconds", type=float, default=8.0)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench.cluster needs root (ip netns)", file=sys.stderr)
        return 2
    return run_benchmark(Cluster(args), argv=argv, print_report=print_report)


if __name__ == "__main__":
    sys.exit(main())
