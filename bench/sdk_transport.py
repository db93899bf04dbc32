"""The SDK's HTTP transport alone: sale + find pairs through the adapter, on each transport.

    python -m bench.sdk_transport [--pairs 400] [--threads 1 --threads 64] [--rounds 3]
        [--latency-ms 0] [--out FILE]   # ~1 min

What ``BRAINTREE_HTTP_TRANSPORT`` changes, without the rest of the pipeline: one ``manage.py
shell`` builds the project's gateway (``payments.gateways.braintree.BraintreeGateway``) twice,
once on the SDK's own transport (``sdk``: a requests session per thread) and once on
``payments.gateways.transport.PooledHttp`` (``pooled``), and drives sale + find pairs against one
simulator from a thread pool, alternating the two transports in every round so that the shared
machine's noise falls on both. Figures per transport and thread count: pairs/s and this
process's CPU per pair (``os.times``: every thread, user + system), medians over the rounds; the
ratio column is pooled ÷ sdk in the same run. The simulator's CPU is not counted: it answers the
same requests either way. Checks: every sale approved, found, and its order id the one sent.
Exit status: 0 pass, 1 a check failed, 2 setup failed, 3 deadline.
"""

import statistics
import sys

from bench.runner import Benchmark, benchmark_parser, run_benchmark, shell_probe
from devtools.settings import PRODUCTION_CONNECTIONS
from devtools.stack import Simulator, environment

TRANSPORTS = ("sdk", "pooled")

PROBE_CODE = r"""
import json, os, time, uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from django.conf import settings
from payments.gateways import braintree as adapter

def build(transport):
    settings.BRAINTREE_HTTP_TRANSPORT = transport
    settings.BRAINTREE_HTTP_MAX_CONNECTIONS = max(THREADS)
    return adapter.BraintreeGateway()

PAIRS, ROUNDS = int(os.environ["BENCH_PAIRS"]), int(os.environ["BENCH_ROUNDS"])
THREADS = [int(t) for t in os.environ["BENCH_THREADS"].split(",")]
gateways = {name: build(name) for name in os.environ["BENCH_TRANSPORTS"].split(",")}

def pair(gateway):
    oid = f"transport-{uuid.uuid4()}"
    sale = gateway.sale(order_id=oid, amount=Decimal("12.34"), nonce="fake-valid-nonce", api_request_key=f"{oid}:0")
    if sale.outcome != "approved":
        return False
    info = gateway.find(sale.transaction.id)
    return info is not None and info.is_paid and info.order_id == oid

def phase(gateway, threads, n):
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda _: pair(gateway), range(min(n, 2 * threads))))  # connections opened, unmeasured
        cpu0, t0 = os.times(), time.perf_counter()
        ok = list(pool.map(lambda _: pair(gateway), range(n)))
        seconds, cpu1 = time.perf_counter() - t0, os.times()
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    return {"pairs": n, "errors": ok.count(False), "seconds": seconds, "cpu_seconds": cpu}

for gateway in gateways.values():
    phase(gateway, 1, 20)  # imports, first connections
runs = []
for round_no in range(ROUNDS):
    order = list(gateways) if round_no % 2 == 0 else list(reversed(gateways))
    for threads in THREADS:
        for name in order:
            runs.append({"round": round_no, "transport": name, "threads": threads,
                         **phase(gateways[name], threads, PAIRS)})
print("PROBE " + json.dumps(runs), flush=True)
"""


class SdkTransportBench(Benchmark):
    name = "sdk_transport"

    def __init__(self, args):
        super().__init__(args)
        self.sim = None
        self.runs = None

    def start(self):
        a = self.args
        extra = ("--latency-ms", str(a.latency_ms)) if a.latency_ms else ()
        self.sim = self.launch(Simulator(run_dir=self.run_dir, name="sim", extra_args=extra))
        self.log(f"run dir {self.run_dir}; simulator {self.sim.url}")

    def run(self):
        a = self.args
        env = environment(simulator_url=self.sim.url, app_name="sdk-transport",
                          extra={**PRODUCTION_CONNECTIONS, "BENCH_PAIRS": a.pairs, "BENCH_ROUNDS": a.rounds,
                                 "BENCH_THREADS": ",".join(str(t) for t in a.threads),
                                 "BENCH_TRANSPORTS": ",".join(TRANSPORTS)})
        self.runs = shell_probe(env, PROBE_CODE, timeout=a.timeout, log_path=self.run_dir / "probe.log")

    def result(self, command):
        rows = []
        for threads in self.args.threads:
            row = {"threads": threads}
            for name in TRANSPORTS:
                mine = [r for r in self.runs if r["transport"] == name and r["threads"] == threads]
                row[name] = {
                    "pairs_per_s": statistics.median(r["pairs"] / r["seconds"] for r in mine),
                    "cpu_ms_per_pair": statistics.median(1000 * r["cpu_seconds"] / r["pairs"] for r in mine),
                }
            row["pairs_per_s_ratio"] = row["pooled"]["pairs_per_s"] / row["sdk"]["pairs_per_s"]
            row["cpu_ratio"] = row["pooled"]["cpu_ms_per_pair"] / row["sdk"]["cpu_ms_per_pair"]
            rows.append(row)
        errors = sum(r["errors"] for r in self.runs)
        return {"command": command, "passed": errors == 0, "errors": errors, "latency_ms": self.args.latency_ms,
                "rounds": self.args.rounds, "rows": rows, "runs": self.runs, "run_dir": str(self.run_dir)}


def print_report(result):
    print(f"\nSale + find pairs through the adapter, {result['latency_ms']} ms gateway latency, "
          f"medians of {result['rounds']} alternating rounds:\n")
    print("| threads | sdk pairs/s | pooled pairs/s | ratio | sdk CPU ms/pair | pooled CPU ms/pair | CPU ratio |")
    print("|---|---|---|---|---|---|---|")
    for row in result["rows"]:
        sdk, pooled = row["sdk"], row["pooled"]
        print(f"| {row['threads']} | {sdk['pairs_per_s']:.1f} | {pooled['pairs_per_s']:.1f} | "
              f"{row['pairs_per_s_ratio']:.2f} | {sdk['cpu_ms_per_pair']:.2f} | {pooled['cpu_ms_per_pair']:.2f} | "
              f"{row['cpu_ratio']:.2f} |")
    verdict = "PASS: every sale approved and found" if result["passed"] else f"FAIL: {result['errors']} pairs not approved/found"
    print(f"\n{verdict}")


def main(argv=None):
    parser = benchmark_parser("bench.sdk_transport", __doc__, timeout=600)
    parser.add_argument("--pairs", type=int, default=400, help="measured pairs per transport, thread count and round")
    parser.add_argument("--threads", type=int, action="append", default=None,
                        help="client threads (repeatable; default 1 and 64)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-ms", type=int, default=0, help="the simulator's latency per request")
    args = parser.parse_args(argv)
    args.threads = args.threads or [1, 64]
    return run_benchmark(SdkTransportBench(args), argv=argv, print_report=print_report)


if __name__ == "__main__":
    sys.exit(main())
