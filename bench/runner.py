"""The life cycle every benchmark shares: run dir, private database, processes, logs, JSON out.

A benchmark is a `Benchmark` subclass. It names itself (`name`: the log prefix and the run
directory's), says whether it wants a private database (`db_prefix`), registers the processes it
starts (`launch`, `adopt`), runs the methods named in `steps` and builds its figures in
`result(command)` (a dict with `passed`, and `complete` when a run can be cut short).
`run_benchmark` does the rest: a watchdog past the global deadline, SIGTERM unwinding like
Ctrl-C, teardown (processes stopped in reverse start order, the database dropped unless kept),
the report, `--out` JSON (also for a run that never got to its checks: `error_result()`).
Steps raise `Deadline` when the global limit expires. Exit codes: 0 pass, 1 a check failed,
2 setup or run failed, 3 deadline (also a run that passed but was cut short), 130 interrupted.
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

from devtools.db import create_database, drop_database, drop_orphaned_databases, dsn
from devtools.proxy import drop_proxy_variables
from devtools.stack import StackError, make_run_dir, manage, pid_alive


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


def shell_probe(env, code, *, timeout, log_path, prefix="PROBE "):
    """Run `code` in `manage.py shell` and return the JSON it printed on its `prefix` line."""
    out = manage(env, "shell", code=code, timeout=timeout, log_path=log_path)
    line = next(line for line in out.splitlines() if line.startswith(prefix))
    return json.loads(line[len(prefix):])


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


class Benchmark:
    """One run of a benchmark: its run directory, database, processes and deadline."""

    name = None                # e.g. "api_latency": log lines "[api_latency] ...", run dir /tmp/api-latency-*
    db_prefix = None           # the private database is "<db_prefix><pid>"; None: the run needs none
    steps = ("start", "run")   # the methods run_benchmark calls in turn
    stop_timeout = 10          # seconds each process gets to stop at teardown before its group is killed
    grace = 30                 # the watchdog fires this long after the deadline
    clock_in_log = False       # "[cluster   12.3s] ...": for long runs with phases
    query_app_name = None      # application_name of query()'s session (pg_stat_activity)

    def __init__(self, args, *, timeout=None, run_dir_base=None, db_name=None, keep_database=False):
        self.args = args
        self.started = time.monotonic()
        self.timeout = args.timeout if timeout is None else timeout
        self.deadline = self.started + self.timeout
        self.run_dir = make_run_dir(self.name.replace("_", "-"), base=run_dir_base)
        self.db_name = db_name or (f"{self.db_prefix}{os.getpid()}" if self.db_prefix else None)
        self.db_created = False
        self.keep_database = keep_database
        self.procs = {}  # name -> process, in start order
        self._db = None

    @property
    def prog(self):
        return f"bench.{self.name}"

    def log(self, msg):
        clock = f" {time.monotonic() - self.started:6.1f}s" if self.clock_in_log else ""
        print(f"[{self.name}{clock}] {msg}", file=sys.stderr, flush=True)

    # -- the deadline

    def remaining(self):
        return self.deadline - time.monotonic()

    def check_deadline(self):
        if self.remaining() <= 0:
            raise Deadline()

    def time_left(self):
        """Seconds left, for a bounded wait; `Deadline` when there are none."""
        left = self.remaining()
        if left <= 0:
            raise Deadline()
        return left

    # -- processes

    def adopt(self, proc):
        """Make `proc` (a devtools.stack process) part of this run: stopped at teardown, killed by
        the watchdog. Returns it, not started."""
        self.procs[proc.name] = proc
        return proc

    def launch(self, proc):
        """Adopt `proc` and start it (waits until it is ready)."""
        return self.adopt(proc).start()

    def stop_all(self):
        stop_processes(reversed(list(self.procs.values())), self.log, timeout=self.stop_timeout)

    # -- the private database

    def create_database(self, *, drop_orphans=False):
        """CREATE the run's database; with `drop_orphans`, first drop those of runs that died
        without cleaning up (their pid is gone) and any leftover of this name."""
        if drop_orphans:
            drop_orphaned_databases(self.db_prefix, alive=lambda pid: pid == os.getpid() or pid_alive(pid))
            drop_database(self.db_name)
        create_database(self.db_name)
        self.db_created = True

    def migrate(self, env):
        manage(env, "migrate", "--noinput", "-v", "0", timeout=300, log_path=self.run_dir / "manage.log")

    def private_database(self, env, **options):
        """Create and migrate the run's database with `env` (a devtools.stack.environment)."""
        self.create_database(**options)
        self.migrate(env)

    def query(self, sql, params=()):
        """Rows of `sql` on the run's database, over one kept session (reopened after an error)."""
        for attempt in range(3):
            try:
                if self._db is None or self._db.closed:
                    self._db = psycopg.connect(dsn(self.db_name, app_name=self.query_app_name),
                                               autocommit=True, connect_timeout=5)
                with self._db.cursor() as cur:
                    cur.execute(sql, params)
                    return cur.fetchall() if cur.description else []
            except psycopg.OperationalError:
                self._db = None
                if attempt == 2:
                    raise
                time.sleep(0.2)

    def close_db(self):
        if self._db is not None:
            self._db.close()

    def drop_database(self):
        self.close_db()
        if not self.db_created:
            return
        if self.keep_database:
            self.log(f"kept database {self.db_name} and run dir {self.run_dir}")
        else:
            drop_database_quietly(self.db_name, self.log)

    # -- the end of a run

    def teardown(self):
        self.stop_all()
        self.drop_database()

    def kill_everything(self):
        """The watchdog's last resort: SIGKILL every process group of the run, drop the database."""
        for proc in self.procs.values():
            proc.signal_group(signal.SIGKILL)
        if self.db_created and not self.keep_database:
            self.close_db()
            drop_database(self.db_name)

    def result(self, command):
        raise NotImplementedError

    def error_result(self):
        """What a run that did not get to its result leaves for diagnosis."""
        return {"run_dir": str(self.run_dir)}

    def write_out(self, result):
        """--out: the result as JSON."""
        out = getattr(self.args, "out", None)
        if out:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            Path(out).write_text(json.dumps(result, indent=2, default=str))


def exit_code(result):
    # A run cut short (deadline) proves nothing even if what it saw was fine.
    if not result["passed"]:
        return 1
    return 0 if result.get("complete", True) else 3


def run_benchmark(bench, *, argv, print_report):
    """Run `bench`'s steps, then `bench.result(command)`, print and write it; the exit code.

    The watchdog fires `bench.grace` s after `bench.timeout` s.
    """
    drop_proxy_variables()  # no proxy for us either (environment() strips it for children)
    command = " ".join([f"python -m {bench.prog}", *(sys.argv[1:] if argv is None else argv)])
    timeout = bench.timeout

    def watchdog():
        # Never hang a terminal or CI: past the deadline plus a grace, kill everything and exit.
        time.sleep(timeout + bench.grace)
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
        for step in bench.steps:
            getattr(bench, step)()
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
    else:
        result = {"passed": False, "error": "the run did not complete", "exit_code": code,
                  "elapsed_seconds": elapsed, **bench.error_result()}
        print(f"\nResult: ERROR (exit {code}); logs in {result.get('run_dir')}")
    bench.write_out(result)
    return code


# -- the report lines several benchmarks print alike


def print_targets(targets, digits=2):
    for t in targets:
        print(f"Target: {t['figure']}: {t['value']:.{digits}f} (target {t['target']}: "
              f"{'met' if t['met'] else 'NOT met'})")


def print_problems(problems, limit=None):
    for problem in problems[:limit]:
        print(f"  PROBLEM: {problem}")


def print_outcome(result):
    """The problems, then `Result: PASS|FAIL (<elapsed>s)`."""
    print_problems(result["problems"])
    print(f"Result: {'PASS' if result['passed'] else 'FAIL'} ({result['elapsed_seconds']:.0f}s)")
