"""Worker memory: a payments worker's RSS after 10,000 orders against its RSS after 1,000.

    python -m bench.worker_rss [--first 1000] [--total 10000] [--pool threads] [--concurrency 4] [--out FILE]

The real path, as bench/pipeline_throughput.py drives it (its stack and batches, on production's
connection and logging settings): a simulator at no latency, a private ``redis-server``, a fresh
database, ONE payments worker. ``--first`` orders drain, then the worker's RSS (main + pool
processes, ``VmRSS`` from ``/proc``) is read; then the rest up to ``--total``, and RSS again.
Checks: every order paid with exactly one successful sale in the ledger. Exit status: 0 pass
(the ratio is a figure), 1 a check failed, 2 setup failed, 3 deadline.
"""

import sys

from bench.pipeline_throughput import Bench as PipelineBench
from bench.runner import benchmark_parser, print_problems, print_targets, run_benchmark
from devtools.settings import RECOMMENDED_POOL
from devtools.stack import Worker


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as fh:
                total += next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            continue
    return total


class Bench(PipelineBench):
    steps = ("start", "run_rss")
    prog = "bench.worker_rss"

    def run_rss(self):
        a = self.args
        self.worker = self.launch(Worker(queues="payments", concurrency=a.concurrency, pool=a.pool, loglevel="info",
                                         env=self.env, run_dir=self.run_dir, name="worker"))
        self.samples = []
        # check() also reads the throughput bench's baseline and publish count: no baseline here.
        self.baseline = {"sequential": {"errors": 0, "threads": 1}, "threaded": {"errors": 0, "threads": a.concurrency}}
        self.pipeline = {"published": 0}
        done, step = 0, 1000
        while done < a.total:
            n = min(step, a.total - done)
            self.pipeline["published"] += self.push_batch(n, f"rss batch {done}")["published"]
            done += n
            rss = rss_kib([self.worker.pid, *self.worker.child_pids()])
            self.samples.append({"orders": done, "rss_kib": rss})
            self.log(f"{done} orders: worker RSS {rss / 1024:.1f} MiB")

    def result(self, command):
        a = self.args
        self.args.orders, self.args.warmup = a.total, 0  # what check() expects in the database
        checked, problems = self.check()
        at = {s["orders"]: s["rss_kib"] for s in self.samples}
        ratio = at[a.total] / at[a.first]
        return {"command": command, "samples": self.samples, "ratio": ratio, "pool": a.pool,
                "concurrency": a.concurrency, "orders_checked": checked,
                "targets": [{"figure": f"worker RSS after {a.total} orders / after {a.first}", "value": ratio,
                             "target": "<= 1.1", "met": ratio <= 1.1}],
                "passed": not problems, "problems": problems, "run_dir": str(self.run_dir)}


def print_report(result):
    print(f"\n$ {result['command']}\n")
    for s in result["samples"]:
        print(f"  after {s['orders']:>6} orders: RSS {s['rss_kib'] / 1024:7.1f} MiB")
    print_targets(result["targets"], digits=3)
    print_problems(result["problems"], limit=20)
    print(f"Result: {'PASS' if result['passed'] else 'FAIL'} ({result['orders_checked']} orders checked, "
          f"{result['elapsed_seconds']:.0f}s)")


def parse_args(argv=None):
    parser = benchmark_parser("bench.worker_rss", __doc__, timeout=900)
    parser.add_argument("--first", type=int, default=1000)
    parser.add_argument("--total", type=int, default=10000)
    parser.add_argument("--pool", default=RECOMMENDED_POOL)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)
    args.latency_ms, args.set, args.warmup, args.orders = 0.0, [], 0, args.total
    if args.first % 1000 or args.total % 1000 or args.first > args.total:
        parser.error("--first and --total are multiples of 1000, --first <= --total")
    return args


def main(argv=None):
    return run_benchmark(Bench(parse_args(argv)), argv=argv, print_report=print_report)


if __name__ == "__main__":
    sys.exit(main())
