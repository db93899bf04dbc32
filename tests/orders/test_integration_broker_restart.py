"""A broker restart with a charge in flight: the worker survives and keeps consuming.

Regression test for celery 5.7.0, whose reconnect path closes the lost connection twice and dies
with `AttributeError: 'NoneType' object has no attribute 'hostname'` when unacknowledged messages
are pending (found by the chaos harness, bench/chaos; the reason celery is pinned to 5.6.x).
"""

import pytest
from django.db import connection

from celery_app import app as celery_app
from devtools.polling import wait_until
from devtools.settings import FAST_SETTINGS
from devtools.sim import SALE_REQUESTS
from devtools.stack import RedisServer, Worker, environment
from payments.core.statuses import OrderStatus
from payments.tasks import charge_order_task
from tests.factories import OrderFactory
from tests.fixtures.pipeline import sales_in_ledger, wait_for_final, wait_for_order

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

def publish_charge(broker_url, order):
    """Publish a charge to the private broker, retrying while it comes back up."""

    def publish():
        with celery_app.connection_for_write(broker_url) as conn:
            charge_order_task.apply_async(args=[str(order.pk)], connection=conn, retry=False)
        return True

    wait_until(lambda: _quietly(publish), timeout=10, interval=0.2, desc="a publish to the restarted broker")


def _quietly(action):
    try:
        return action()
    except Exception:
        return False


def test_worker_survives_a_broker_restart_with_a_charge_in_flight(sim, run_dir):
    # given: a worker on a private Redis, charging an order whose sale the gateway holds for 4 s
    sim.set_faults({"rules": [{"kind": "latency", "count": 1, "latency_ms": 4000, **SALE_REQUESTS}]})
    in_flight, after_restart = OrderFactory(), OrderFactory()
    with RedisServer(run_dir=run_dir) as redis_server:
        env = environment(
            db_name=connection.settings_dict["NAME"],
            broker_url=redis_server.url(0),
            simulator_url=sim.url,
            extra={**FAST_SETTINGS, "BRAINTREE_TIMEOUT_SECONDS": 10},
        )
        with Worker(name="broker-restart", queues="payments", concurrency=2, env=env, run_dir=run_dir) as worker:
            publish_charge(redis_server.url(0), in_flight)
            wait_for_order(in_flight.pk, lambda o: o.status == OrderStatus.PROCESSING, desc="the claim")

            # when: the broker dies and comes back empty while the sale is in flight
            redis_server.restart()
            publish_charge(redis_server.url(0), after_restart)

            # then: the worker is still alive and takes new work
            assert wait_for_final(after_restart.pk, timeout=30).status == OrderStatus.PAID
            assert worker.alive()

            # and: the in-flight charge was not cancelled with the connection (running tasks keep
            # running: the threads pool cannot cancel them), so it records the sale the gateway
            # committed once the hold ends; its message died with the broker, which is harmless
            assert wait_for_final(in_flight.pk, timeout=30).status == OrderStatus.PAID
    assert len(sales_in_ledger(sim, in_flight.pk)) == 1
    assert len(sales_in_ledger(sim, after_restart.pk)) == 1
