"""A claim lives as long as its worker does: renewed while the sale is in flight, lapsed soon after a SIGKILL.

Real `celery worker -P threads` processes, the real SDK and the simulator, with a lease far
shorter than the sale: a live worker keeps its claim through it, and a killed worker's order is
re-sent by the reconciler on its first run after the lease lapsed, and charged once
(payments/core/leases.py, docs/decisions/0007-claim-lease-heartbeat.md).
"""

from decimal import Decimal

import pytest

from devtools.ledger import successful_sales
from devtools.polling import wait_until
from devtools.settings import PRODUCTION_CONNECTIONS, RECOMMENDED_POOL
from devtools.sim import sale_rule
from devtools.stack import Worker
from payments.core.statuses import OrderStatus
from payments.models import OrderEvent
from payments.orders.services import orders_reconcile
from payments.tasks import charge_order_task
from tests.factories import OrderFactory
from tests.fixtures.pipeline import purge_our_queues, sales_in_ledger, wait_for_final, worker_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LEASE = 2
# Every sale takes this long at the gateway: several leases, well inside the client's timeout.
SALE_SECONDS = 5
QUEUE = "payments-heartbeat"
# Reconciler thresholds far above this test's length: only a lapsed lease can make the order stuck.
IDLE = {"pending_after_seconds": 600, "processing_after_seconds": 600, "limit": 10}


@pytest.fixture
def heartbeat_worker(simulator, sim, run_dir, django_db_blocker):
    """A threads worker on a queue of its own, with a 2 s lease renewed every 0.5 s."""
    with django_db_blocker.unblock():
        env = worker_env(
            simulator,
            PAYMENTS_CLAIM_LEASE_SECONDS=LEASE,
            PAYMENTS_CLAIM_RENEW_SECONDS=0.5,
            BRAINTREE_TIMEOUT_SECONDS=SALE_SECONDS * 2,
            PAYMENTS_CLAIM_HOLD_MAX_SECONDS=60,
            **PRODUCTION_CONNECTIONS,
        )
    sim.set_faults({"rules": [sale_rule(kind="latency", latency_ms=SALE_SECONDS * 1000)]})
    purge_our_queues()
    with Worker(name="heartbeat", queues=QUEUE, concurrency=4, pool=RECOMMENDED_POOL, env=env,
                run_dir=run_dir) as worker:
        yield worker
    purge_our_queues()


def claims(order):
    return list(OrderEvent.objects.filter(order_id=order.pk, action=OrderEvent.Action.CLAIM).order_by("id"))


def charge_on(queue, order):
    charge_order_task.apply_async(args=[str(order.pk)], queue=queue)


def test_a_live_worker_keeps_its_claim_through_a_sale_longer_than_the_lease(heartbeat_worker, sim):
    # given an order whose sale is on the wire for several leases
    order = OrderFactory(amount=Decimal("10.00"))
    charge_on(QUEUE, order)
    wait_until(lambda: claims(order), timeout=15, desc="the first claim")

    # when a duplicate of its message arrives while the sale is in flight
    charge_on(QUEUE, order)
    order = wait_for_final(order.pk, timeout=SALE_SECONDS + 20)

    # then the duplicate never took the claim over: one claim, one sale
    assert order.status == OrderStatus.PAID
    assert len(claims(order)) == 1
    [sale] = sales_in_ledger(sim, order.pk)
    assert sale["id"] == order.transaction_id


def test_a_killed_workers_order_is_re_sent_once_its_lease_lapses_and_charged_once(heartbeat_worker, worker, sim):
    # given a sale in flight on a worker that is then SIGKILLed (node loss: no message comes back
    # from Redis before its visibility timeout)
    order = OrderFactory(amount=Decimal("10.00"))
    charge_on(QUEUE, order)
    wait_until(lambda: claims(order), timeout=15, desc="the first claim")
    heartbeat_worker.kill_main()
    sim.set_faults({})

    # when the reconciler runs, with idle thresholds that alone would wait ten minutes
    counts = wait_until(lambda: (c := orders_reconcile(**IDLE))["charge"] and c, timeout=LEASE + 15,
                        interval=0.5, desc="the reconciler re-sending the order")

    # then the order was re-sent once, claimed again by a live worker (which looked the dead
    # worker's sale up, still on the wire or done, before selling), and paid by that one sale
    assert counts["charge"] == 1
    order = wait_for_final(order.pk, timeout=30)
    assert order.status == OrderStatus.PAID
    assert len(claims(order)) >= 2
    [sale] = successful_sales(sim.transactions(order_id=str(order.pk)))
    assert sale["id"] == order.transaction_id
