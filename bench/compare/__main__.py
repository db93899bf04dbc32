"""`python -m bench.compare`: arguments, then the shared benchmark life cycle (bench/runner.py)."""

import argparse
import sys

import bench.compare
from bench.compare.harness import CI_SWEEP_SECONDS, DESIGNS, SWEEP_SECONDS, Compare
from bench.compare.report import print_report
from bench.runner import run_benchmark


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=bench.compare.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=600, help="orders of the steady stream")
    parser.add_argument("--seconds", type=float, default=150, help="length of the submission window")
    parser.add_argument("--fault-repeats", type=int, default=3, help="injections per fault kind (the spell: once)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--spell-ms", type=int, default=900, help="gateway latency of the spell, per call")
    parser.add_argument("--spell-seconds", type=float, default=70, help="> 60 s, so queued messages age past expiry")
    parser.add_argument("--throughput-orders", type=int, default=300, help="fault-free pass at 0 ms (a third at 200 ms)")
    parser.add_argument("--sweep-seconds", type=int, default=SWEEP_SECONDS,
                        help="cadence of every design's sweeper / reconciler")
    parser.add_argument("--quiet-timeout", type=float, default=150)
    parser.add_argument("--timeout", type=float, default=None, help="global limit in seconds")
    parser.add_argument("--skip-design", action="append", default=[], choices=[d.name for d in DESIGNS])
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument("--run-dir", default=None, help="parent of the run directory (default: /tmp)")
    parser.add_argument("--out", default=None, help="JSON here; .details.json and .png beside it")
    parser.add_argument("--ci", action="store_true",
                        help="60 orders in 25 s, every fault once, a 6 s spell (too short to age messages past 60 s)")
    args = parser.parse_args(argv)
    if args.ci:
        args.orders, args.seconds, args.fault_repeats = 60, 25, 1
        args.spell_seconds, args.throughput_orders, args.quiet_timeout = 6, 45, 35
        args.sweep_seconds = CI_SWEEP_SECONDS
    # The deadline is a safety net above the expected length (--ci: about 5 minutes on 2 cores; each
    # design runs the stream twice, on nonces and on saved cards).
    args.timeout = args.timeout or (540 if args.ci else 3 * (120 + 2 * (args.seconds + args.quiet_timeout)) + 120)
    return args


def main(argv=None):
    return run_benchmark(Compare(parse_args(argv)), argv=argv, print_report=print_report)


if __name__ == "__main__":
    sys.exit(main())
