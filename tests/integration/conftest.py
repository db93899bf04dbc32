"""Fixtures for the charging pipeline: a real simulator, real worker processes, our own queues.

Worker subprocesses use the database pytest-django created (its name is read at run time, so a
`TEST_DB_NAME_TEST` override works too) and the test broker from settings. Retry, lease and
timeout settings are shrunk through the environment so failure paths finish in seconds.
"""

import os
import time

import pytest
from django.conf import settings
from django.db import connection

from celery_app import app as celery_app
from devtools.ledger import sales
from devtools.polling import wait_until
from devtools.settings import FAST_SETTINGS
from devtools.stack import Simulator, Worker, environment
from payments import gateways
from payments.models import Order

OUR_QUEUES = ("payments", "maintenance", "default")

# Names the worker's database sessions, so a test can kill exactly those (pg_stat_activity).
WORKER_DB_APP_NAME = f"pipeline-worker-{os.getpid()}"



@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    """Process logs of the session; pytest keeps the last few runs' for diagnosis."""
    return tmp_path_factory.mktemp("pipeline-tests")


@pytest.fixture(scope="session")
def simulator(run_dir):
    with Simulator(run_dir=run_dir) as sim:
        yield sim


@pytest.fixture
def sim(simulator, settings):
    """The simulator with an empty ledger and no faults; this process's gateway client points at it."""
    simulator.reset()
    settings.BRAINTREE_ENVIRONMENT = "simulator"
    settings.BRAINTREE_SIMULATOR_URL = simulator.url
    settings.BRAINTREE_TIMEOUT_SECONDS = FAST_SETTINGS["BRAINTREE_TIMEOUT_SECONDS"]
    gateways.reset_gateway()
    yield simulator
    simulator.set_faults({})
    gateways.reset_gateway()


def purge_our_queues():
    """Drop messages left in our own queues on the test broker; nothing else is touched."""
    with celery_app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in OUR_QUEUES:
            channel.queue_purge(queue)


def worker_env(simulator, **overrides):
    return environment(
        db_name=connection.settings_dict["NAME"],
        broker_url=settings.CELERY_BROKER_URL,
        simulator_url=simulator.url,
        app_name=WORKER_DB_APP_NAME,
        extra={**FAST_SETTINGS, **overrides},
    )


@pytest.fixture(scope="session")
def _session_worker(simulator, run_dir, django_db_setup, django_db_blocker):
    # One worker for the session: starting Celery costs seconds, and every test resets the
    # simulator and purges the queues anyway.
    with django_db_blocker.unblock():
        env = worker_env(simulator)
    purge_our_queues()
    with Worker(name="pipeline", queues="payments,maintenance", concurrency=2, env=env, run_dir=run_dir) as worker:
        yield worker


@pytest.fixture
def worker(_session_worker, sim):
    """A running `celery worker -Q payments,maintenance` (2 prefork children) and a clean simulator."""
    purge_our_queues()
    if not _session_worker.alive():
        _session_worker.restart()
    yield _session_worker
    purge_our_queues()


def wait_for_order(order_id, predicate, timeout=20, desc="order state"):
    """Poll the order row until `predicate(order)` holds; returns the order."""

    def check():
        order = Order.objects.get(pk=order_id)
        return order if predicate(order) else None

    try:
        return wait_until(check, timeout=timeout, interval=0.1, desc=desc)
    except TimeoutError:
        order = Order.objects.get(pk=order_id)
        audit = list(order.events.values_list("action", "outcome", "to_status"))
        raise AssertionError(f"{desc}: order is {order.status}, audit trail {audit}") from None


def wait_for_final(order_id, timeout=20):
    return wait_for_order(order_id, lambda o: o.is_resting, timeout=timeout, desc="a final status")


def sales_in_ledger(simulator, order_id):
    return sales(simulator.transactions(order_id=str(order_id)))


def settle(seconds):
    """Give asynchronous processes a moment when there is no state to poll for."""
    time.sleep(seconds)
