"""The liveness decision, the wait tracking, the bootstep's heartbeat and the check's exit codes.

No worker runs here: requests, pool and timer are small stand-ins with the attributes Celery's
own objects carry (`Request.id`, `Request.time_start`, `pool.num_processes`, `timer.call_repeatedly`).
"""

import logging
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from celery_app import app as celery_app
from payments.ops import liveness
from payments.ops.liveness import PoolSnapshot, WaitTracker, WorkerLiveness, assess, check

BOUNDS = {"stall_after": 30, "hung_after": 90}


def request(task_id, time_start=None):
    return SimpleNamespace(id=task_id, time_start=time_start)


def test_an_idle_pool_is_live():
    assert assess(PoolSnapshot(slots=2, waiting=(), running=()), **BOUNDS) is None


def test_a_request_waiting_briefly_for_a_free_slot_is_live():
    assert assess(PoolSnapshot(slots=2, waiting=(29.0,), running=()), **BOUNDS) is None


def test_a_request_waiting_past_the_stall_bound_with_a_free_slot_is_not_live():
    # The incident: the pool is gone or frozen, the main process keeps reserving.
    reason = assess(PoolSnapshot(slots=2, waiting=(31.0,), running=(5.0,)), **BOUNDS)
    assert reason is not None and "only 1 of 2 pool slots were busy" in reason


def test_a_request_waiting_behind_busy_slots_is_live_until_the_hung_bound():
    busy = PoolSnapshot(slots=2, waiting=(60.0,), running=(60.0, 61.0))
    assert assess(busy, **BOUNDS) is None
    stuck = PoolSnapshot(slots=2, waiting=(91.0,), running=(80.0, 85.0))
    assert "waited 91s for the pool" in assess(stuck, **BOUNDS)


def test_a_request_running_past_the_hung_bound_is_not_live():
    # The threads pool enforces no time limit: a hung call holds its thread for ever.
    assert "has run for 95s" in assess(PoolSnapshot(slots=4, waiting=(), running=(95.0,)), **BOUNDS)


def test_a_pool_with_no_slots_and_a_waiting_request_is_not_live():
    assert assess(PoolSnapshot(slots=0, waiting=(31.0,), running=()), **BOUNDS) is not None


def test_waits_are_measured_from_the_first_tick_that_saw_the_request():
    tracker = WaitTracker()
    a, b = request("a"), request("b")
    # given: `a` handed to the pool at t=100, `b` at t=110
    tracker.observe([a], [], slots=1, now=100.0, wall_now=1000.0)
    snapshot = tracker.observe([a, b], [], slots=1, now=110.0, wall_now=1010.0)
    assert sorted(snapshot.waiting) == [0.0, 10.0]
    # when: `a` starts at wall time 1015
    a.time_start = 1015.0
    snapshot = tracker.observe([a, b], [a], slots=1, now=120.0, wall_now=1020.0)
    # then: `a` counts as running, `b` keeps its first-seen time
    assert snapshot.waiting == (10.0,)
    assert snapshot.running == (5.0,)


def test_a_finished_request_is_forgotten_and_a_redelivered_one_waits_afresh():
    tracker = WaitTracker()
    tracker.observe([request("a")], [], slots=1, now=0.0, wall_now=0.0)
    tracker.observe([], [], slots=1, now=50.0, wall_now=50.0)
    assert tracker.observe([request("a")], [], slots=1, now=60.0, wall_now=60.0).waiting == (0.0,)


def test_an_accepted_request_without_a_start_time_counts_as_just_started():
    snapshot = WaitTracker().observe([request("a")], [request("a")], slots=1, now=5.0, wall_now=5.0)
    assert snapshot.running == (0.0,) and snapshot.waiting == ()


class FakeTimer:
    def __init__(self):
        self.calls = []

    def call_repeatedly(self, secs, fun, args=(), kwargs=None, priority=0):
        self.calls.append((secs, fun, args))
        return SimpleNamespace(cancel=lambda: self.calls.clear())


@pytest.fixture
def consumer():
    return SimpleNamespace(app=celery_app, timer=FakeTimer(), pool=SimpleNamespace(num_processes=2))


@pytest.fixture
def worker_state(monkeypatch):
    from celery.worker import state

    reserved, active = [], []
    monkeypatch.setattr(state, "reserved_requests", reserved)
    monkeypatch.setattr(state, "active_requests", active)
    return SimpleNamespace(reserved=reserved, active=active)


@pytest.fixture
def heartbeat_env(monkeypatch, tmp_path):
    path = tmp_path / "run" / "heartbeat"
    monkeypatch.setenv(liveness.HEARTBEAT_FILE_ENV, str(path))
    monkeypatch.setenv(liveness.INTERVAL_ENV, "2")
    monkeypatch.setenv(liveness.STALL_ENV, "10")
    monkeypatch.delenv(liveness.HUNG_ENV, raising=False)
    return path


def test_the_step_does_nothing_without_a_heartbeat_file(monkeypatch, consumer):
    monkeypatch.delenv(liveness.HEARTBEAT_FILE_ENV, raising=False)
    # a bad bound is not read either: a worker without liveness must start regardless
    monkeypatch.setenv(liveness.STALL_ENV, "soon")
    assert WorkerLiveness(consumer).include_if(consumer) is False


def test_a_bad_bound_stops_the_worker_at_start(heartbeat_env, consumer, monkeypatch):
    monkeypatch.setenv(liveness.STALL_ENV, "0")
    with pytest.raises(ValueError, match=liveness.STALL_ENV):
        WorkerLiveness(consumer)


def test_the_step_is_registered_on_every_worker_consumer():
    assert "payments.ops.liveness:WorkerLiveness" in celery_app.steps["consumer"]


def test_no_liveness_variable_is_read_by_the_celery_cli_as_a_worker_option():
    # click maps CELERY_WORKER_<OPTION> onto `celery worker --<option>`.
    from celery.bin.worker import worker as worker_command

    cli_variables = {f"CELERY_WORKER_{p.name.upper()}" for p in worker_command.params}
    ours = {liveness.HEARTBEAT_FILE_ENV, liveness.INTERVAL_ENV, liveness.STALL_ENV, liveness.HUNG_ENV,
            liveness.MAX_AGE_ENV}
    assert not ours & cli_variables
    assert "CELERY_WORKER_HEARTBEAT_INTERVAL" in cli_variables  # the collision this avoids


def test_the_hung_bound_defaults_to_the_task_time_limit_plus_the_stall_bound(heartbeat_env, consumer):
    step = WorkerLiveness(consumer)
    assert step.hung_after == celery_app.conf.task_time_limit + 10


def test_the_step_touches_the_heartbeat_on_start_and_on_every_healthy_tick(heartbeat_env, consumer, worker_state):
    # given
    step = WorkerLiveness(consumer)
    # when
    step.start(consumer)
    # then: written at once, and a repeating tick every interval
    assert heartbeat_env.exists()
    [(secs, tick, args)] = consumer.timer.calls
    assert secs == 2
    os.utime(heartbeat_env, (0, 0))
    tick(*args)
    assert heartbeat_env.stat().st_mtime > 0


@pytest.fixture
def waiting_step(heartbeat_env, consumer, worker_state, monkeypatch):
    """A started step that has seen one request handed to a pool that never starts it; its clock."""
    clock = [1000.0]
    monkeypatch.setattr(liveness.time, "monotonic", lambda: clock[0])
    step = WorkerLiveness(consumer)
    step.start(consumer)
    worker_state.reserved.append(request("stuck"))
    step.tick(consumer)
    return step, clock


def test_the_step_stops_touching_while_a_request_waits_with_free_slots(
    heartbeat_env, consumer, worker_state, waiting_step
):
    # given: a started step and a request handed to a pool that never starts it
    step, clock = waiting_step
    # when: the stall bound passes
    os.utime(heartbeat_env, (0, 0))
    clock[0] += 11
    step.tick(consumer)
    # then: the heartbeat is left to go stale, and comes back once the request starts
    assert heartbeat_env.stat().st_mtime == 0
    assert step.reason is not None
    worker_state.active.append(worker_state.reserved[0])
    step.tick(consumer)
    assert heartbeat_env.stat().st_mtime > 0 and step.reason is None


def test_a_stall_is_logged_once_when_it_begins_and_once_when_it_ends(consumer, worker_state, waiting_step, caplog):
    # given: a request the pool never starts
    step, clock = waiting_step
    # when: five more ticks while it waits, then it starts
    for _ in range(5):
        clock[0] += 11
        step.tick(consumer)
    worker_state.active.append(worker_state.reserved[0])
    step.tick(consumer)
    # then
    lines = [r.getMessage() for r in caplog.records if r.name == liveness.logger.name and r.levelno >= logging.WARNING]
    assert [line.split(":")[1].strip() for line in lines] == [
        "not live, heartbeat no longer touched",
        "the pool executes again; heartbeat resumed",
    ]
    assert "waited 11s" in lines[0]


def test_a_failing_assessment_does_not_touch_the_heartbeat(heartbeat_env, consumer, worker_state):
    step = WorkerLiveness(consumer)
    step.start(consumer)
    os.utime(heartbeat_env, (0, 0))
    consumer.pool = SimpleNamespace()  # no num_processes: the assessment raises
    step.tick(consumer)
    assert heartbeat_env.stat().st_mtime == 0


def test_a_consumer_restart_keeps_the_file_and_a_shutdown_removes_it(heartbeat_env, consumer, worker_state):
    step = WorkerLiveness(consumer)
    step.start(consumer)
    step.stop(consumer)
    assert heartbeat_env.exists() and consumer.timer.calls == []
    step.shutdown(consumer)
    assert not heartbeat_env.exists()


def test_the_check_passes_a_fresh_heartbeat_and_fails_a_stale_or_missing_one(tmp_path):
    path = tmp_path / "heartbeat"
    assert "no heartbeat file" in check(path, max_age=30)
    path.touch()
    os.utime(path, (1000, 1000))
    assert check(path, max_age=30, now=1029) is None
    assert "31.0s old" in check(path, max_age=30, now=1031)


def run_check(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "payments.ops.liveness", *args],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=30,
    )


def test_the_command_exits_zero_for_a_fresh_heartbeat_and_one_for_a_stale_file(tmp_path):
    path = tmp_path / "heartbeat"
    path.touch()
    assert run_check("--heartbeat", str(path), "--max-age", "30").returncode == 0
    os.utime(path, (0, 0))
    stale = run_check("--heartbeat", str(path), "--max-age", "30")
    assert stale.returncode == 1 and "worker not live" in stale.stderr


def test_the_command_reads_the_file_and_max_age_from_the_environment(tmp_path):
    path = tmp_path / "heartbeat"
    path.touch()
    os.utime(path, (path.stat().st_mtime - 20,) * 2)
    env = {liveness.HEARTBEAT_FILE_ENV: str(path), liveness.MAX_AGE_ENV: "10"}
    assert run_check(env=env).returncode == 1
    assert run_check(env={**env, liveness.MAX_AGE_ENV: "60"}).returncode == 0


def test_the_command_without_a_heartbeat_file_is_a_usage_error():
    env = {k: v for k, v in os.environ.items() if k != liveness.HEARTBEAT_FILE_ENV}
    result = subprocess.run([sys.executable, "-m", "payments.ops.liveness"], capture_output=True, text=True, env=env)
    assert result.returncode == 2
