"""The life cycle shared by the benchmarks: a watchdog, SIGTERM as Ctrl-C, exit codes, JSON out.

A benchmark object provides `log(msg)`, `kill_everything()` and `teardown()`; its steps raise
`Deadline` when the global limit expires. Exit codes: 0 pass, 1 a check failed, 2 setup or run
failed, 3 deadline, 130 interrupted.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

from bench.stack import PROXY_VARIABLES, StackError


class Deadline(Exception):
    """The benchmark's global time limit expired."""


# What a failed setup or run raises: reported, torn down, exit 2.
RUN_ERRORS = (StackError, TimeoutError, OSError, ValueError, subprocess.TimeoutExpired, psycopg.Error)


def run_benchmark(*, prog, argv, args, bench, steps, print_report):
    """Run `steps` (callables) on `bench`, then `bench.result(command)`; returns the exit code."""
    for name in PROXY_VARIABLES:  # no proxy for us either (environment() strips it for children)
        os.environ.pop(name, None)
    command = " ".join([f"python -m {prog}", *(sys.argv[1:] if argv is None else argv)])

    def watchdog():
        # Never hang a terminal or CI: past the deadline plus a grace, kill everything and exit.
        time.sleep(args.timeout + 30)
        bench.log(f"global deadline of {args.timeout:.0f}s exceeded; killing the stack")
        try:
            bench.kill_everything()
        finally:
            os._exit(3)

    threading.Thread(target=watchdog, daemon=True).start()

    def on_sigterm(signum, frame):
        raise KeyboardInterrupt()  # unwind through `finally`, as Ctrl-C does

    signal.signal(signal.SIGTERM, on_sigterm)
    started = time.monotonic()
    code, result = 2, None
    try:
        for step in steps:
            step()
        result = bench.result(command)
        code = 0 if result["passed"] else 1
    except Deadline:
        bench.log(f"global deadline of {args.timeout:.0f}s expired")
        code = 3
    except RUN_ERRORS as exc:
        bench.log(f"setup or run failed: {exc!r}")
    except KeyboardInterrupt:
        bench.log("interrupted")
        code = 130
    finally:
        bench.teardown()
    if result is not None:
        result["elapsed_seconds"] = time.monotonic() - started
        print_report(result)
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(result, indent=2))
    return code
