"""`python -m bench.chaos`: arguments, then the shared benchmark life cycle (bench/runner.py)."""

import argparse
import sys

import bench.chaos
from bench.chaos.faults import FAULT_KINDS
from bench.chaos.harness import Chaos
from bench.chaos.report import print_report
from bench.runner import run_benchmark

# `--soak` alone: ten minutes. Orders per second of a soak: steady, well inside what the stack
# (two payments workers of 4 threads on a 2-core machine) charges between faults.
SOAK_PRESET_SECONDS = 600.0
SOAK_RATE = 3.0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=bench.chaos.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=None, help="length of the submission window")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=None, help="write the figures as JSON here")
    parser.add_argument("--ci", action="store_true", help="CI preset: 60 orders, every fault once, < 3 minutes")
    parser.add_argument("--keep", action="store_true", help="keep the database (and log where)")
    parser.add_argument("--db-name", default=None, help="default: payments_chaos_<pid>")
    parser.add_argument("--run-dir", default=None, help="parent of the run directory (default: /tmp)")
    parser.add_argument("--fault-repeats", type=int, default=None, help="injections per fault kind")
    parser.add_argument("--skip-fault", action="append", default=[], choices=FAULT_KINDS)
    parser.add_argument("--fault", action="append", default=[], choices=FAULT_KINDS,
                        help="inject only this kind (repeatable; default: every kind the broker allows)")
    parser.add_argument("--no-faults", action="store_true", help="baseline run without injected faults")
    parser.add_argument("--quiet-timeout", type=float, default=None, help="max wait for every order to settle")
    parser.add_argument("--deadline", type=float, default=None, help="global limit in seconds")
    parser.add_argument("--broker", choices=("redis", "rabbitmq"), default="redis",
                        help="redis: a private redis-server; rabbitmq: a private vhost on 127.0.0.1:5672")
    parser.add_argument("--soak", type=float, nargs="?", const=SOAK_PRESET_SECONDS, default=None, metavar="SECONDS",
                        help=f"a storm of SECONDS (alone: {SOAK_PRESET_SECONDS:g}): orders at {SOAK_RATE:g}/s, "
                             "a fault every 5-40 s drawn from every kind")
    parser.add_argument("--saved-share", type=float, default=0.3,
                        help="share of the card orders charged on saved cards (reusable tokens) instead of a nonce")
    parser.add_argument("--saved-cards", type=int, default=5, help="saved cards of the saved-card lane")
    parser.add_argument("--manual-share", type=float, default=0.3,
                        help="share of the fresh-nonce orders sent with capture=manual (then captured or canceled)")
    args = parser.parse_args(argv)
    if args.soak:
        args.seconds = args.soak
        args.orders = round(args.soak * SOAK_RATE) if args.orders == 1000 else args.orders
        args.quiet_timeout = args.quiet_timeout or 240
    if args.ci and args.broker == "rabbitmq":
        # The small RabbitMQ pass of .ci/run (< 2 minutes): fewer orders, a shorter window.
        args.orders = 40 if args.orders == 1000 else args.orders
        args.seconds = args.seconds or 30
        args.quiet_timeout = args.quiet_timeout or 45
        args.deadline = args.deadline or 115
    if args.ci:
        args.orders = 60 if args.orders == 1000 else args.orders
        args.seconds = args.seconds or 45
        args.fault_repeats = args.fault_repeats or 1
        args.quiet_timeout = args.quiet_timeout or 60
        args.deadline = args.deadline or 175
    args.seconds = args.seconds or max(20.0, args.orders / 8)
    args.quiet_timeout = args.quiet_timeout or 120
    args.deadline = args.deadline or (60 + args.seconds * 1.5 + args.quiet_timeout + 60)
    return args


def main(argv=None):
    return run_benchmark(Chaos(parse_args(argv)), argv=argv, print_report=print_report)


if __name__ == "__main__":
    sys.exit(main())
