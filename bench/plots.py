"""PNG figures from the benchmarks' JSON: orders/s against concurrency at each gateway latency,
and the API's latency distribution (empirical CDF per request kind).

    python -m bench.plots bench/results/sweep-*.json --out bench/figures/pipeline-concurrency.png
    python -m bench.plots --api bench/results/api-latency.json --out bench/figures/api-latency.png

Each input is one `bench.pipeline_throughput --out` file; its pipeline row and the same-run
sale+find baseline at that concurrency are plotted, one line pair per `--latency-ms`.
"""

import argparse
import json
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402


def load(paths):
    series = defaultdict(list)  # latency -> [(concurrency, orders/s, pairs/s)]
    for path in paths:
        with open(path) as fh:
            result = json.load(fh)
        if "rows" not in result:
            continue
        pipeline = next(r for r in result["rows"] if r["kind"].startswith("pipeline"))
        baseline = result["rows"][1]
        series[result.get("latency_ms", 0)].append((result["concurrency"], pipeline["per_s"], baseline["per_s"]))
    return {lat: sorted(points) for lat, points in series.items()}


def plot(series, out):
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=100)
    for lat, points in sorted(series.items()):
        conc = [p[0] for p in points]
        line, = ax.plot(conc, [p[1] for p in points], marker="o", label=f"pipeline, {lat:g} ms gateway latency")
        ax.plot(conc, [p[2] for p in points], marker="x", linestyle="--", color=line.get_color(),
                label=f"sale+find baseline threads, {lat:g} ms")
    ax.set_xscale("log", base=2)
    finish(fig, ax, out, xlabel="concurrency (worker threads = baseline threads)",
           ylabel="per second (orders, or sale+find pairs)", title="One payments worker, -P threads, 2-core machine")


def plot_api(path, out):
    with open(path) as fh:
        samples = json.load(fh)["samples_ms"]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=100)
    for kind, values in samples.items():
        if values:
            ax.plot(values, [(i + 1) / len(values) for i in range(len(values))], label=f"{kind} (n={len(values)})")
    ax.set_xscale("log")
    finish(fig, ax, out, xlabel="latency, ms (log)", ylabel="fraction of requests at or below",
           title="API latency by request kind (bench.api_latency)")


def finish(fig, ax, out, *, xlabel, ylabel, title):
    """Label, grid and legend as every figure here has them, then write `out`."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    print(f"wrote {out}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bench.plots", description=__doc__)
    parser.add_argument("inputs", nargs="*")
    parser.add_argument("--api", help="a bench.api_latency --out file: plot its latency distribution")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.api:
        plot_api(args.api, args.out)
        return 0
    series = load(args.inputs)
    if not series:
        print("no pipeline results in the inputs", file=sys.stderr)
        return 2
    plot(series, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
