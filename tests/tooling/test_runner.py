"""The benchmarks' one life cycle (bench/runner.py): steps, exit codes, teardown, the JSON out.

No process runs here: the benchmark is a stand-in whose processes record how they were stopped.
"""

import argparse
import json
import signal

import pytest

from bench.runner import Benchmark, Deadline, run_benchmark
from devtools.stack import StackError

# Far beyond the test's length: the watchdog thread must never fire inside pytest.
NEVER = 1_000_000


class Recorded:
    """A process that records its stop in a shared list."""

    def __init__(self, name, events):
        self.name, self.events = name, events

    def stop(self, timeout=None):
        self.events.append(f"stop {self.name}")

    def signal_group(self, sig):
        self.events.append(f"kill {self.name}")


class StandIn(Benchmark):
    name = "stand_in"

    def __init__(self, args, outcome="pass", complete=True):
        super().__init__(args, run_dir_base=args.base)
        self.outcome, self.complete, self.events = outcome, complete, []

    def start(self):
        for name in ("broker", "web", "worker"):
            self.adopt(Recorded(name, self.events))

    def run(self):
        if self.outcome == "deadline":
            raise Deadline()
        if self.outcome == "error":
            raise StackError("the worker did not start")

    def result(self, command):
        return {"command": command, "passed": self.outcome == "pass", "complete": self.complete}


@pytest.fixture(autouse=True)
def keep_pytests_sigterm_handler(monkeypatch):
    monkeypatch.setattr(signal, "signal", lambda *args: None)


def args(tmp_path, out=True):
    return argparse.Namespace(timeout=NEVER, out=str(tmp_path / "out.json") if out else None, base=tmp_path)


def run(bench, printed=None):
    return run_benchmark(bench, argv=["--flag"], print_report=(printed if printed is not None else []).append)


def test_a_passing_run_exits_0_and_writes_its_figures(tmp_path):
    printed = []
    code = run(StandIn(args(tmp_path)), printed)
    written = json.loads((tmp_path / "out.json").read_text())
    assert code == 0
    assert printed[0]["command"] == "python -m bench.stand_in --flag"
    assert written["passed"] is True and "elapsed_seconds" in written


def test_a_failed_check_exits_1(tmp_path):
    assert run(StandIn(args(tmp_path), outcome="fail")) == 1


def test_a_setup_error_exits_2_and_still_writes_the_run_dir(tmp_path):
    bench = StandIn(args(tmp_path), outcome="error")
    code = run(bench)
    written = json.loads((tmp_path / "out.json").read_text())
    assert code == 2
    assert written["passed"] is False and written["exit_code"] == 2
    assert written["run_dir"] == str(bench.run_dir)


def test_the_deadline_exits_3(tmp_path):
    assert run(StandIn(args(tmp_path), outcome="deadline")) == 3


def test_a_run_cut_short_exits_3_even_when_what_it_saw_passed(tmp_path):
    assert run(StandIn(args(tmp_path), complete=False)) == 3


def test_teardown_stops_every_process_in_reverse_start_order(tmp_path):
    bench = StandIn(args(tmp_path), outcome="error")
    run(bench)
    assert bench.events == ["stop worker", "stop web", "stop broker"]


def test_the_run_dir_is_named_after_the_benchmark(tmp_path):
    bench = StandIn(args(tmp_path, out=False))
    assert bench.run_dir.parent == tmp_path
    assert bench.run_dir.name.startswith("stand-in-")


def test_without_out_nothing_is_written(tmp_path):
    run(StandIn(args(tmp_path, out=False)))
    assert not (tmp_path / "out.json").exists()


def test_time_left_raises_the_deadline_once_it_passed(tmp_path):
    bench = StandIn(args(tmp_path))
    assert bench.time_left() > 0
    bench.deadline = bench.started - 1
    with pytest.raises(Deadline):
        bench.time_left()
