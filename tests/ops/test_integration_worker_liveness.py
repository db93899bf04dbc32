"""The liveness check against real `celery worker` processes (prefork and threads pools).

Each test starts its own worker with the heartbeat bootstep switched on and small bounds, sends
real charge tasks for real orders, and runs `python -m payments.ops.liveness` as a probe would. The
charges go to a queue of this test's own (and verifications to `payments`), so a session worker
of another test module cannot execute what the worker under test is holding.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

from devtools.polling import wait_until
from devtools.stack import Worker
from payments.ops.liveness import HEARTBEAT_FILE_ENV, HUNG_ENV, INTERVAL_ENV, STALL_ENV
from payments.core.statuses import OrderStatus
from payments.models import Order
from payments.tasks import charge_order_task
from tests.factories import OrderFactory
from tests.fixtures.pipeline import purge_our_queues, wait_for_final, worker_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

INTERVAL = 0.5
STALL = 2.0
MAX_AGE = 3.0
# The promise of deploy/README.md: a stall is visible to the probe within stall + interval + max age.
DETECTION_BOUND = STALL + INTERVAL + MAX_AGE
SLACK = 2.0  # process start-up of the probe itself and scheduling on a shared machine
QUEUE = f"liveness-{os.getpid()}"


@pytest.fixture
def start_worker(simulator, sim, run_dir, tmp_path):
    started = []

    def start(pool="prefork", concurrency=2, wait=True, **overrides):
        heartbeat = tmp_path / f"heartbeat-{len(started)}"
        env = worker_env(simulator, **{
            HEARTBEAT_FILE_ENV: heartbeat, INTERVAL_ENV: INTERVAL, STALL_ENV: STALL, **overrides,
        })
        worker = Worker(name=f"liveness{len(started)}-{pool}", queues=f"{QUEUE},payments", pool=pool,
                        concurrency=concurrency, env=env, run_dir=run_dir)
        started.append(worker)
        worker.heartbeat = heartbeat
        worker.start(wait=wait)
        return worker

    purge_our_queues()
    yield start
    for worker in started:
        worker.signal_group(signal.SIGCONT)  # a frozen pool cannot finish its warm shutdown
        worker.stop()
    purge_our_queues()


def probe(worker):
    """The liveness probe as deploy/ runs it; True when it passes."""
    result = subprocess.run(
        [sys.executable, "-m", "payments.ops.liveness", "--heartbeat", str(worker.heartbeat), "--max-age", str(MAX_AGE)],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode == 0


def seconds_until_probe_fails(worker, timeout):
    started = time.monotonic()
    wait_until(lambda: not probe(worker), timeout=timeout, interval=0.2, desc="the probe to fail")
    return time.monotonic() - started


def charge(count):
    orders = [OrderFactory() for _ in range(count)]
    for order in orders:
        charge_order_task.apply_async(kwargs={"order_id": order.pk}, queue=QUEUE)
    return orders


def probe_keeps_passing(worker, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert probe(worker), worker.tail()
        time.sleep(0.5)


@pytest.mark.parametrize("pool", ["prefork", "threads"])
def test_a_worker_that_pays_orders_passes_the_liveness_probe(start_worker, pool):
    # given
    worker = start_worker(pool=pool)
    assert probe(worker)
    # when: orders flow through it for longer than the probe's max age
    orders = charge(6)
    probe_keeps_passing(worker, MAX_AGE * 2)
    # then
    assert all(wait_for_final(order.pk).status == OrderStatus.PAID for order in orders)
    assert probe(worker)


def test_a_worker_whose_pool_is_frozen_fails_the_probe_while_orders_wait_and_recovers_when_thawed(
    start_worker, record_property,
):
    # given: a prefork worker whose pool processes are stopped, as a pool that cannot execute
    worker = start_worker(pool="prefork", concurrency=2)
    children = worker.child_pids()
    assert len(children) == 2
    for pid in children:
        os.kill(pid, signal.SIGSTOP)
    assert probe(worker)
    # when: charges arrive; the main process still reserves them
    orders = charge(2)
    elapsed = seconds_until_probe_fails(worker, timeout=DETECTION_BOUND + SLACK + 5)
    record_property("probe_failed_after_seconds", round(elapsed, 2))
    # then: the probe failed within the bound, no order was charged, the worker logged why
    assert elapsed <= DETECTION_BOUND + SLACK, f"probe failed after {elapsed:.1f}s"
    assert worker.alive()
    for order in orders:
        order.refresh_from_db()
        assert order.status == OrderStatus.PENDING
    assert "Worker liveness: not live" in worker.log_text(since_start=True)
    # and: the same messages are executed once the pool runs again, and the probe passes again
    for pid in children:
        os.kill(pid, signal.SIGCONT)
    assert all(wait_for_final(order.pk).status == OrderStatus.PAID for order in orders)
    wait_until(lambda: probe(worker), timeout=MAX_AGE, interval=0.2, desc="the probe to pass again")


def test_a_threads_worker_stuck_in_a_gateway_call_fails_the_probe(start_worker, sim, record_property):
    # given: sales that hang far longer than a task may run (the threads pool enforces no limit)
    sim.set_faults({"rules": [{"kind": "hang", "seconds": 30, "methods": ["POST"], "paths": ["/transactions"]}]})
    worker = start_worker(pool="threads", concurrency=2, BRAINTREE_TIMEOUT_SECONDS=60, **{HUNG_ENV: 3})
    # when
    charge(2)
    elapsed = seconds_until_probe_fails(worker, timeout=3 + DETECTION_BOUND + SLACK + 5)
    record_property("probe_failed_after_seconds", round(elapsed, 2))
    # then: both threads are held by the hanging sales, and the run-time bound caught it
    assert elapsed <= 3 + INTERVAL + MAX_AGE + SLACK, f"probe failed after {elapsed:.1f}s"
    assert "has run for" in worker.log_text(since_start=True)
    sim.reset()  # aborts the held requests


def test_a_worker_that_lost_a_pool_process_while_starting_fails_the_probe(start_worker, record_property):
    # given: the incident. A pool process SIGKILLed as the worker starts makes Celery 5.6 log
    # `Unrecoverable error: WorkerLostError('Could not start worker processes')` on the first
    # loop; the kill lands in that window almost always, and outside it the pool replaces the
    # process and the worker is healthy, so both outcomes are checked against the probe.
    worker = start_worker(pool="prefork", concurrency=2, wait=False)
    # Both pool processes, not a short-lived helper the start-up may spawn (platform's `uname`).
    children = wait_until(lambda: len(worker.child_pids()) == 2 and worker.child_pids(), timeout=60,
                          interval=0.005, desc="the pool processes")
    os.kill(children[0], signal.SIGKILL)
    orders = charge(2)
    # when
    wait_until(lambda: "Could not start worker processes" in worker.log_text(since_start=True)
               or f"{worker.nodename} ready." in worker.log_text(since_start=True),
               timeout=60, desc="the worker's first loop")
    time.sleep(0.5)
    # then
    lost_pool = "Could not start worker processes" in worker.log_text(since_start=True)
    record_property("lost_pool", lost_pool)
    if lost_pool:
        elapsed = seconds_until_probe_fails(worker, timeout=MAX_AGE + SLACK + 5)
        record_property("probe_failed_after_seconds", round(elapsed, 2))
        assert elapsed <= MAX_AGE + SLACK
        statuses = set(Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True))
        assert statuses == {OrderStatus.PENDING}
    else:
        assert all(wait_for_final(order.pk).status == OrderStatus.PAID for order in orders)
        assert probe(worker)


@pytest.mark.parametrize("pool", ["prefork", "threads"])
def test_a_dead_worker_fails_the_probe(start_worker, pool, record_property):
    # given
    worker = start_worker(pool=pool)
    assert probe(worker)
    # when: the node is lost (SIGKILL of the whole group: no shutdown step runs)
    worker.kill_main()
    # then: the file is left behind but goes stale within the max age
    elapsed = seconds_until_probe_fails(worker, timeout=MAX_AGE + SLACK + 5)
    record_property("probe_failed_after_seconds", round(elapsed, 2))
    assert elapsed <= MAX_AGE + SLACK
    assert worker.heartbeat.exists()


def test_a_worker_that_shut_down_fails_the_probe_at_once(start_worker):
    worker = start_worker(pool="prefork")
    assert probe(worker)
    worker.stop()
    assert not worker.heartbeat.exists()
    assert not probe(worker)
