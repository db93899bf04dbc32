"""The CPU of one API request inside Django, before any web server: bare endpoint, GET, POST.

    python -m bench.request_path [--requests 400] [--warmup 50] [--out FILE]   # ~20 s

What `bench.api_latency`'s POST ÷ bare ratio is made of, without gunicorn, sockets or client
threads. In one ``manage.py shell`` on ``bench/settings.py`` (the test settings plus the bench-only
``GET /bench/bare/``, with production's connection and logging settings), Django's test client
sends, with one user's API token: ``GET /bench/bare/`` (authentication, permission and throttle
classes, no query of its own), ``GET /api/orders/<id>/`` and ``POST /api/orders/`` with a new
Idempotency-Key (stored, then its charge published to a private ``redis-server``). It reports this
process's CPU and the wall time per request of each kind, and each kind's CPU as a ratio to the
bare endpoint's. Kinds are measured in turn, ``--requests`` each, after ``--warmup`` of each.
Fresh database ``payments_reqpath_<pid>``, dropped at the end. Checks: every answer had its
status (200, 200, 202), every POST stored one order and published one message.
Exit status: 0 pass, 1 a check failed, 2 setup failed, 3 deadline.
"""

import sys

import redis

from bench.runner import Benchmark, benchmark_parser, print_outcome, run_benchmark, shell_probe
from devtools.settings import PRODUCTION_CONNECTIONS
from devtools.stack import RedisServer, environment

PROBE_CODE = r"""
import json, os, time, uuid
from django.contrib.auth import get_user_model
from django.test import Client
from payments.tokens.services import api_token_issue
from payments.models import Order

REQUESTS, WARMUP = int(os.environ["BENCH_REQUESTS"]), int(os.environ["BENCH_WARMUP"])
user = get_user_model().objects.create_user(username="bench")
client = Client(HTTP_AUTHORIZATION="Token " + api_token_issue(user))
body = json.dumps({"amount": "12.34", "payment_method_nonce": "fake-valid-nonce"})
statuses = []

def post():
    answer = client.post("/api/orders/", data=body, content_type="application/json",
                         HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    statuses.append(("post", answer.status_code))
    return answer

order_url = "/api/orders/%s/" % post().json()["id"]

def bare():
    statuses.append(("bare", client.get("/bench/bare/").status_code))

def get():
    statuses.append(("get", client.get(order_url).status_code))

rows = []
for label, send in (("bare", bare), ("get", get), ("post", post)):
    for _ in range(WARMUP):
        send()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(REQUESTS):
        send()
    rows.append({"kind": label, "n": REQUESTS, "cpu_ms": 1000 * (time.process_time() - cpu0) / REQUESTS,
                 "wall_ms": 1000 * (time.perf_counter() - wall0) / REQUESTS})
expected = {"bare": 200, "get": 200, "post": 202}
print("PROBE " + json.dumps({"rows": rows, "posts": sum(1 for kind, _ in statuses if kind == "post"),
                             "wrong": [s for s in statuses if s[1] != expected[s[0]]],
                             "stored": Order.objects.count()}), flush=True)
"""


class Bench(Benchmark):
    name = "request_path"
    db_prefix = "payments_reqpath_"
    probe = None      # what PROBE_CODE printed
    published = None  # messages left in the payments queue (no worker consumes it)

    def start(self):
        self.log(f"run dir {self.run_dir}; database {self.db_name}")
        self.redis = self.launch(RedisServer(run_dir=self.run_dir, name="redis"))
        self.env = environment(db_name=self.db_name, broker_url=self.redis.url(0), app_name="request-path",
                               extra={**PRODUCTION_CONNECTIONS, "DJANGO_SETTINGS_MODULE": "bench.settings"})
        self.private_database(self.env)

    def run(self):
        a = self.args
        env = {**self.env, "BENCH_REQUESTS": str(a.requests), "BENCH_WARMUP": str(a.warmup)}
        self.probe = shell_probe(env, PROBE_CODE, timeout=a.timeout, log_path=self.run_dir / "probe.log")
        # No worker consumes the payments queue here: every publish is still in it.
        self.published = redis.Redis.from_url(self.redis.url(0)).llen("payments")

    def result(self, command):
        p = self.probe
        bare = next(row for row in p["rows"] if row["kind"] == "bare")
        rows = [{**row, "cpu_ratio_to_bare": row["cpu_ms"] / bare["cpu_ms"]} for row in p["rows"]]
        problems = []
        if p["wrong"]:
            problems.append(f"{len(p['wrong'])} answers with another status, e.g. {p['wrong'][:3]}")
        if p["stored"] != p["posts"]:
            problems.append(f"{p['stored']} orders stored for {p['posts']} POSTs")
        if self.published != p["posts"]:
            problems.append(f"{self.published} charge messages published for {p['posts']} POSTs")
        return {"command": command, "rows": rows, "passed": not problems, "problems": problems,
                "run_dir": str(self.run_dir)}


def print_report(result):
    print(f"\n$ {result['command']}\n")
    print(f"{'request':<28} {'n':>5} {'CPU ms':>7} {'wall ms':>8} {'CPU ÷ bare':>10}")
    names = {"bare": "GET /bench/bare/", "get": "GET /api/orders/<id>/", "post": "POST /api/orders/"}
    for row in result["rows"]:
        print(f"{names[row['kind']]:<28} {row['n']:>5} {row['cpu_ms']:>7.2f} {row['wall_ms']:>8.2f} "
              f"{row['cpu_ratio_to_bare']:>10.2f}")
    post = next(row for row in result["rows"] if row["kind"] == "post")
    print(f"\nbare ÷ POST in CPU (what POST ÷ bare req/s can reach when CPU-bound): "
          f"{1 / post['cpu_ratio_to_bare']:.2f}  (the target for POST ÷ bare req/s: >= 0.5)")
    print_outcome(result)


def parse_args(argv=None):
    parser = benchmark_parser("bench.request_path", __doc__, timeout=300)
    parser.add_argument("--requests", type=int, default=400, help="measured requests of each kind")
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured requests of each kind first")
    args = parser.parse_args(argv)
    if min(args.requests, args.warmup) < 1:
        parser.error("need --requests and --warmup >= 1")
    return args


def main(argv=None):
    return run_benchmark(Bench(parse_args(argv)), argv=argv, print_report=print_report)


if __name__ == "__main__":
    sys.exit(main())
