"""The life cycle shared by the benchmarks: a watchdog, SIGTERM as Ctrl-C, exit codes, JSON out.

A benchmark object provides `log(msg)`, `kill_everything()`, `teardown()` and `result(command)`
(a dict with `passed`, and `complete` when a run can be cut short); optionally
`error_result()`, the figures worth keeping when the run did not get to a result. Its steps raise
`Deadline` when the global limit expires. Exit codes: 0 pass, 1 a check failed, 2 setup or run
failed, 3 deadline (also a run that passed but was cut short), 130 interrupted.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

from devtools.db import drop_database
from devtools.proxy import drop_proxy_variables
from devtools.stack import StackError, manage


class Deadline(Exception):
    """The benchmark's global time limit expired."""


# What a failed setup or run raises: reported, torn down, exit 2.
RUN_ERRORS = (StackError, TimeoutError, OSError, ValueError, subprocess.TimeoutExpired, psycopg.Error)


def benchmark_parser(prog, description, timeout=240):
    """An argument parser with the options the life cycle reads: --timeout and --out."""
    parser = argparse.ArgumentParser(prog=f"python -m {prog}", description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=timeout, help="global limit in seconds")
    parser.add_argument("--out", default=None, help="write the figures as JSON here")
    return parser


def shell_probe(env, code, *, timeout, log_path):
    """Run `code` in `manage.py shell` and return the JSON it printed on its `PROBE ` line."""
    out = manage(env, "shell", code=code, timeout=timeout, log_path=log_path)
    line = next(line for line in out.splitlines() if line.startswith("PROBE "))
    return json.loads(line[len("PROBE "):])


def stop_processes(processes, log, timeout=10):
    """Stop each process of `processes` (None entries skipped); a failure is logged, never raised,
    so teardown reaches every process."""
    for proc in processes:
        if proc is None:
            continue
        try:
            proc.stop(timeout=timeout)
        except Exception as exc:
            log(f"stop {proc.name}: {exc!r}")


def drop_database_quietly(name, log):
    """Drop the database this run created; a failure is logged, never raised."""
    try:
        drop_database(name)
    except Exception as exc:
        log(f"drop database {name}: {exc!r}")


def exit_code(result):
    # A run cut short (deadline) proves nothing even if what it saw was fine.
    if not result["passed"]:
        return 1
    return 0 if result.get("complete", True) else 3


def run_benchmark(*, prog, argv, args, bench, steps, print_report, timeout=None, grace=30):
    """Run `steps` (callables) on `bench`, then `bench.result(command)`; returns the exit code.

    The watchdog fires `grace` s after `timeout` (default `args.timeout`) s.
    """
    drop_proxy_variables()  # no proxy for us either (environment() strips it for children)
    command = " ".join([f"python -m {prog}", *(sys.argv[1:] if argv is None else argv)])
    timeout = args.timeout if timeout is None else timeout

    def watchdog():
        # Never hang a terminal or CI: past the deadline plus a grace, kill everything and exit.
        time.sleep(timeout + grace)
        bench.log(f"global deadline of {timeout:.0f}s exceeded; killing the stack")
        try:
            bench.kill_everything()
        finally:
            os._exit(3)

    threading.Thread(target=watchdog, name="watchdog", daemon=True).start()

    def on_sigterm(signum, frame):
        raise KeyboardInterrupt()  # unwind through `finally`, as Ctrl-C does

    signal.signal(signal.SIGTERM, on_sigterm)
    started = time.monotonic()
    code, result = 2, None
    try:
        for step in steps:
            step()
        result = bench.result(command)
        code = exit_code(result)
    except Deadline:
        bench.log(f"global deadline of {timeout:.0f}s expired")
        code = 3
    except RUN_ERRORS as exc:
        bench.log(f"setup or run failed: {exc!r}")
    except KeyboardInterrupt:
        bench.log("interrupted")
        code = 130
    finally:
        bench.teardown()
    elapsed = time.monotonic() - started
    if result is not None:
        result["elapsed_seconds"] = elapsed
        print_report(result)
    elif hasattr(bench, "error_result"):
        result = {"passed": False, "error": "the run did not complete", "exit_code": code,
                  "elapsed_seconds": elapsed, **bench.error_result()}
        print(f"\nResult: ERROR (exit {code}); logs in {result.get('run_dir')}")
    if args.out and result is not None:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2, default=str))
    return code
