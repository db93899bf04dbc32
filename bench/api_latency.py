"""API latency with the broker up and down: the API stores the order and answers 202 at once.

    python -m bench.api_latency [--requests 300] [--concurrency 4] [--rounds 10] [--out FILE]
                                [--web-workers N] [--web-threads N] [--web-class sync|gthread|gevent]

The product promise is that ``POST /api/orders/`` stores the order and answers 202 whatever the
broker's state: the order row is the outbox, the publish happens after commit with a bounded
retry policy, and the reconciler dispatches what could not be published. This benchmark measures
what that costs a client. It starts its own gunicorn (``config.settings.test``) on a
fresh database ``payments_bench_<pid>`` (dropped at the end) and a private ``redis-server`` as the
broker, with no Celery worker (orders stay ``pending``, which is all the API promises), and times
three kinds of request over keep-alive ``http.client`` connections from a small thread pool:

  baseline     ``GET /api/orders/<id>/``: an authenticated one-row read, the floor of any request;
  broker up    ``POST /api/orders/`` (unique Idempotency-Key each): insert, commit, publish;
  broker down  the same POST with the redis-server stopped: insert, commit, failed publish;
  bare         ``GET /bench/bare/`` (bench/urls.py, served only under bench/settings.py): DRF's
               authentication, permission and throttles and nothing else, no database write;
               the floor the targets compare POST and GET against;
  broker silent  ``--silent-requests`` POSTs (one batch, in the first round) while a listener on the
               broker's port accepts TCP and never answers: what a hung broker costs a POST.

The web processes run production's connection and logging settings
(``devtools.settings.PRODUCTION_CONNECTIONS``) and gunicorn.conf.py's worker class and count,
unless ``--web-workers``, ``--web-threads`` or ``--web-class`` override them (the README's "The
web tier" compares them with these options); the report says which gunicorn it ran.

The kinds run interleaved in ``--rounds`` rounds (the broker is stopped and restarted in each), so
machine noise hits all three alike, and each is quoted as a ratio to the baseline of the same run.
Afterwards the database must hold exactly one ``pending`` order for every POST answered 202, and
the API's log one "Could not publish" warning per broker-down POST (so the down case really was
down). Exit status: 0 pass; 1 a POST answered non-202, a request failed, or a check failed;
2 setup failed; 3 the global deadline expired; 130 interrupted.
"""

from __future__ import annotations

import http.client
import json
import re
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg

from bench.runner import Benchmark, benchmark_parser, print_problems, run_benchmark
from devtools.db import dsn
from devtools.settings import PRODUCTION_CONNECTIONS
from devtools.stack import RedisServer, StackError, WebServer, environment, manage
from devtools.stats import percentile

KINDS = ("bare", "baseline", "broker up", "broker down", "broker silent")
ORDER_BODY = json.dumps({"amount": "12.34", "payment_method_nonce": "fake-valid-nonce",
                         "currency": "USD", "description": "api latency bench"}).encode()
REQUEST_TIMEOUT = 30.0  # far above the ~0.5 s publish budget: a hung request is a finding, not noise
# The API user and token, and the settings that bound a publish to a dead broker (for the report).
SETUP_CODE = """
import json
from django.conf import settings
from django.contrib.auth import get_user_model
from payments.tokens.services import api_token_issue
user = get_user_model().objects.create_user(username="bench")
print("TOKEN", api_token_issue(user))
transport = settings.CELERY_BROKER_TRANSPORT_OPTIONS
print("PUBLISH", json.dumps({"CELERY_TASK_PUBLISH_RETRY_POLICY": settings.CELERY_TASK_PUBLISH_RETRY_POLICY,
                             **{k: transport.get(k) for k in ("socket_connect_timeout", "socket_timeout")}}))
"""


class SilentListener:
    """A TCP listener on `port` that accepts connections and never reads or answers (a hung broker)."""

    def __init__(self, port):
        import socket

        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.held, self.stopping = [], threading.Event()
        self.thread = threading.Thread(target=self.accept, name="silent-broker", daemon=True)

    def accept(self):
        while not self.stopping.is_set():
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                continue

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(2)
        for conn in self.held:
            conn.close()
        self.sock.close()


class Clients:
    """One keep-alive HTTP connection per pool thread, authenticated with the bench token.

    http.client never consults proxy variables, and reopens a connection the server closed
    (gunicorn's sync workers close after every response), so a request always costs its connect.
    """

    def __init__(self, host, port, token):
        self.host, self.port, self.token = host, port, token
        self.local = threading.local()

    def call(self, method, path, body=None, headers=None):
        """(status, decoded JSON or None, seconds); status 0 when the request failed."""
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT)
        hdrs = {"Authorization": f"Token {self.token}", **(headers or {})}
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        t0 = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException):
            conn.close()  # the next call reconnects
            return 0, None, time.perf_counter() - t0
        elapsed = time.perf_counter() - t0
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        return resp.status, data, elapsed


class Bench(Benchmark):
    name = "api_latency"
    db_prefix = "payments_bench_"
    stop_timeout = 5

    def __init__(self, args):
        super().__init__(args)
        self.redis = self.web = self.clients = self.publish_settings = self.gunicorn = None
        self.pool = ThreadPoolExecutor(max_workers=args.concurrency, thread_name_prefix="client")
        self.samples = {kind: [] for kind in KINDS}    # (answered as expected, seconds)
        self.busy = {kind: 0.0 for kind in KINDS}      # wall time spent on each kind's batches
        self.posts = []                                # (kind, key, status, order id) of every POST

    # -- setup and teardown

    def start(self):
        self.log(f"run dir {self.run_dir}; database {self.db_name}")
        self.redis = self.launch(RedisServer(run_dir=self.run_dir, name="redis"))
        env = environment(db_name=self.db_name, broker_url=self.redis.url(0), app_name="api-latency",
                          extra=PRODUCTION_CONNECTIONS)
        self.private_database(env)
        out = dict(line.split(" ", 1) for line in manage(env, "shell", code=SETUP_CODE).splitlines()
                   if line.startswith(("TOKEN ", "PUBLISH ")))
        token, self.publish_settings = out["TOKEN"], out["PUBLISH"]
        web_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.settings"}
        a = self.args
        self.web = self.launch(WebServer(run_dir=self.run_dir, name="web", env=web_env, workers=a.web_workers,
                                         threads=a.web_threads, worker_class=a.web_class))
        self.gunicorn = self.gunicorn_config()
        self.log(f"gunicorn: {self.gunicorn}")
        self.clients = Clients(self.web.host, self.web.port, token)

    def gunicorn_config(self):
        """What gunicorn really runs, e.g. "4 sync workers": the class from its log, the count from /proc."""
        match = re.search(r"Using worker: (\S+)", self.web.log_text(since_start=True))
        worker_class = match.group(1) if match else "unknown"
        threads = f" x {self.args.web_threads or 1} threads" if worker_class == "gthread" else ""
        return f"{len(self.web.worker_pids())} {worker_class} workers{threads}"

    def teardown(self):
        self.pool.shutdown(wait=False, cancel_futures=True)
        super().teardown()

    # -- measuring

    def post(self, kind):
        key = f"bench-{uuid.uuid4()}"
        status, data, seconds = self.clients.call("POST", "/api/orders/", ORDER_BODY, {"Idempotency-Key": key})
        self.posts.append((kind, key, status, (data or {}).get("id") if status == 202 else None))
        return status, seconds

    def batch(self, n, fn, expect, kind=None):
        """Run `n` calls of `fn` on the pool; under `kind` (None: unmeasured), record each call's
        (answered `expect`, seconds) and the batch's wall time."""
        self.check_deadline()
        t0 = time.perf_counter()
        results = list(self.pool.map(lambda _: fn(), range(n)))
        if kind is not None:
            self.busy[kind] += time.perf_counter() - t0
            self.samples[kind] += [(status == expect, seconds) for status, seconds in results]

    def run(self):
        a = self.args
        # The baseline reads one existing order; creating it also connects the API to the broker.
        status, data, _ = self.clients.call("POST", "/api/orders/", ORDER_BODY)
        if status != 202:
            raise StackError(f"could not create the baseline order: {status} {data}")
        self.posts.append(("setup", None, status, data["id"]))
        get_path = f"/api/orders/{data['id']}/"

        def get():
            status, _, seconds = self.clients.call("GET", get_path)
            return status, seconds

        def bare():
            status, _, seconds = self.clients.call("GET", "/bench/bare/")
            return status, seconds

        # Unmeasured warm-up: the gunicorn workers import lazily and open their first connections.
        self.batch(4 * a.concurrency, get, 200)
        self.batch(4 * a.concurrency, lambda: self.post("warm-up"), 202)
        for r in range(a.rounds):
            # Spread the remainder so every kind gets exactly --requests.
            n = a.requests // a.rounds + (r < a.requests % a.rounds)
            self.batch(n, lambda: self.post("broker up"), 202, kind="broker up")
            self.batch(n, get, 200, kind="baseline")
            self.batch(n, bare, 200, kind="bare")
            self.redis.stop(timeout=5)  # SIGTERM: the broker is gone, its port refuses connections
            self.batch(n, lambda: self.post("broker down"), 202, kind="broker down")
            if r == 0 and a.silent_requests:
                with SilentListener(self.redis.port):
                    self.batch(a.silent_requests, lambda: self.post("broker silent"), 202, kind="broker silent")
            self.redis.start()
            # Each gunicorn worker finds its broker connection dead and reconnects on its next
            # publish; do that unmeasured so "broker up" is steady state, not recovery.
            self.batch(2 * a.concurrency, lambda: self.post("warm-up"), 202)
            self.log(f"round {r + 1}/{a.rounds} done")

    # -- checking and reporting

    def check_database(self):
        """Every POST answered 202 stored exactly one order, still pending; nothing else was stored."""
        accepted = [(key, oid) for _, key, status, oid in self.posts if status == 202]
        with psycopg.connect(dsn(self.db_name)) as conn:
            rows = conn.execute("SELECT id::text, idempotency_key, status FROM payments_order").fetchall()
        by_key = {}
        for oid, key, status in rows:
            by_key.setdefault(key, []).append((oid, status))
        # A non-202 POST breaks the promise even when unmeasured (setup, warm-up).
        problems = [f"{kind} POST {key} answered {status or 'nothing'}"
                    for kind, key, status, _ in self.posts if status != 202]
        for key, oid in accepted:
            found = by_key.get(key, [])
            if found != [(oid, "pending")]:
                problems.append(f"POST {key} answered 202 with order {oid}; the database has {found}")
        if len(rows) != len(accepted):
            problems.append(f"{len(rows)} orders in the database for {len(accepted)} accepted POSTs")
        return len(accepted), len(rows), problems

    def result(self, command):
        """The table's figures, the database check and the log check, as one JSON-able dict."""
        rows = self.summary()
        accepted, stored, problems = self.check_database()
        down = rows["broker down"]["requests"] + rows["broker silent"]["requests"]
        logged = self.web.log_text().count("Could not publish")
        if logged != down:
            problems.append(f"the API logged {logged} publish failures for {down} broker-down POSTs")
        errors = sum(r["errors"] for r in rows.values())
        silent = rows["broker silent"]
        targets = [
            {"figure": "POST /api/orders/ req/s / bare authenticated DRF endpoint req/s",
             "value": rows["broker up"]["rate_vs_bare"], "target": ">= 0.5",
             "met": rows["broker up"]["rate_vs_bare"] >= 0.5},
            {"figure": "GET /api/orders/<id>/ p99 / bare endpoint p99", "value": rows["baseline"]["p99_vs_bare"],
             "target": "<= 2", "met": rows["baseline"]["p99_vs_bare"] <= 2},
            {"figure": "POST with a silent broker: max seconds to 202", "value": silent["max_ms"] / 1000,
             "target": "<= ~1", "met": silent["max_ms"] <= 1500 and not silent["errors"]},
        ]
        return {"command": command, "gunicorn": self.gunicorn, "concurrency": self.args.concurrency,
                "kinds": rows, "targets": targets, "passed": not (problems or errors),
                "samples_ms": {kind: sorted(1000 * s for _, s in self.samples[kind]) for kind in KINDS},
                "accepted_posts": accepted, "orders_stored": stored, "problems": problems,
                "publish_failures_logged": logged, "publish_settings": json.loads(self.publish_settings),
                "run_dir": str(self.run_dir)}

    def summary(self):
        def ms(seconds):
            return float("nan") if seconds is None else seconds * 1000

        rows = {}
        for kind in KINDS:
            times = sorted(s for _, s in self.samples[kind])
            rows[kind] = {
                "requests": len(times),
                "errors": sum(not ok for ok, _ in self.samples[kind]),
                **{f"p{q}_ms": ms(percentile(times, q / 100)) for q in (50, 95, 99)},
                "max_ms": times[-1] * 1000 if times else float("nan"),
                "requests_per_s": len(times) / self.busy[kind] if self.busy[kind] else float("nan"),
            }
        base, bare = rows["baseline"], rows["bare"]
        for row in rows.values():
            row["p50_ratio"] = row["p50_ms"] / base["p50_ms"]
            row["p99_ratio"] = row["p99_ms"] / base["p99_ms"]
            row["p99_vs_bare"] = row["p99_ms"] / bare["p99_ms"]
            row["rate_vs_bare"] = row["requests_per_s"] / bare["requests_per_s"]
        return rows


def print_report(result):
    print(f"\n$ {result['command']}")
    print(f"gunicorn: {result['gunicorn']}; {result['concurrency']} client threads\n")
    print(f"{'kind':<12} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8} {'req/s':>7} {'p50/base':>8} {'p99/base':>8}")
    for kind, r in result["kinds"].items():
        print(f"{kind:<12} {r['requests']:>8} {r['errors']:>6} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} "
              f"{r['p99_ms']:>8.1f} {r['max_ms']:>8.1f} {r['requests_per_s']:>7.1f} "
              f"{r['p50_ratio']:>8.2f} {r['p99_ratio']:>8.2f}")
    print(f"\nDatabase check: {result['accepted_posts']} POSTs answered 202 (measured, warm-up and the "
          f"baseline's order), {result['orders_stored']} orders stored")
    print(f"Publish failures logged by the API: {result['publish_failures_logged']} "
          f"(broker-down POSTs: {result['kinds']['broker down']['requests']})")
    print(f"Publish budget with the broker down: {json.dumps(result['publish_settings'])}")
    print("\nTargets, this run:")
    for t in result["targets"]:
        print(f"  {t['figure']:<66} {t['value']:>7.2f}  target {t['target']:<6} {'met' if t['met'] else 'NOT met'}")
    print_problems(result["problems"], limit=20)
    verdict = "PASS: every POST answered 202 and stored exactly one pending order" if result["passed"] else "FAIL"
    print(f"Result: {verdict} ({result['elapsed_seconds']:.0f}s; logs in {result['run_dir']})")


def parse_args(argv=None):
    parser = benchmark_parser("bench.api_latency", __doc__)
    parser.add_argument("--requests", type=int, default=300, help="measured requests per kind")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds (broker restarts)")
    parser.add_argument("--silent-requests", type=int, default=4, help="POSTs against a broker that never answers")
    parser.add_argument("--web-workers", type=int, default=None, help="gunicorn workers (default: gunicorn.conf.py's)")
    parser.add_argument("--web-threads", type=int, default=None,
                        help="threads per gunicorn worker; above 1 a sync worker becomes gthread")
    parser.add_argument("--web-class", "--worker-class", dest="web_class", default=None,
                        help="gunicorn worker class (-k), e.g. sync, gthread, gevent (default: gunicorn.conf.py's)")
    args = parser.parse_args(argv)
    if args.requests < args.rounds or args.concurrency < 1:
        parser.error("need --requests >= --rounds and --concurrency >= 1")
    return args


def main(argv=None):
    return run_benchmark(Bench(parse_args(argv)), argv=argv, print_report=print_report)


if __name__ == "__main__":
    sys.exit(main())
