"""A worker SIGKILLed mid-capture: the next claim looks at the gateway first and never captures twice.

Real `celery worker -P threads` processes, the real SDK and the simulator. The capture goes to a
worker on a queue of its own with a short lease; the simulator holds its `submit_for_settlement`
(hang) or commits it and drops the answer (drop), and the worker is killed. Once its lease has
lapsed the reconciler sends the capture again, a live worker claims the order, finds the sale
captured and records it: one settlement in the ledger, the order `paid` with the amount asked
(payments/orders/services/capture.py).
"""

from decimal import Decimal
from unittest import mock

import pytest

from devtools.ledger import sales
from devtools.polling import wait_until
from devtools.settings import PRODUCTION_CONNECTIONS, RECOMMENDED_POOL
from devtools.stack import Worker
from payments.core.statuses import OrderStatus
from payments.models import CaptureMode, OrderEvent
from payments.orders.services import (
    authorizations_reconcile,
    order_capture_request,
    order_charge,
)
from payments.tasks import capture_order_task
from tests.factories import OrderFactory
from tests.fixtures.pipeline import purge_our_queues, wait_for_order, worker_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LEASE = 2
HANG_SECONDS = 4
QUEUE = "payments-capture-kill"
CAPTURE_REQUESTS = {"methods": ["PUT"], "paths": ["/transactions/*/submit_for_settlement"]}
Action, Outcome = OrderEvent.Action, OrderEvent.Outcome


@pytest.fixture
def doomed_worker(simulator, sim, run_dir, django_db_blocker):
    """A threads worker on a queue of its own, with a 2 s lease, waiting out a hung gateway call."""
    with django_db_blocker.unblock():
        env = worker_env(
            simulator,
            PAYMENTS_CLAIM_LEASE_SECONDS=LEASE,
            PAYMENTS_CLAIM_RENEW_SECONDS=0.5,
            BRAINTREE_TIMEOUT_SECONDS=HANG_SECONDS * 3,
            PAYMENTS_CLAIM_HOLD_MAX_SECONDS=60,
            # Its retry after a lost answer waits long enough for the kill to come first.
            PAYMENTS_RETRY_BACKOFF=10,
            PAYMENTS_RETRY_BACKOFF_MAX=10,
            **PRODUCTION_CONNECTIONS,
        )
    purge_our_queues()
    with Worker(name="capture-kill", queues=QUEUE, concurrency=2, pool=RECOMMENDED_POOL, env=env,
                run_dir=run_dir) as worker:
        yield worker
    purge_our_queues()


def authorized_order(amount):
    """A manual order authorized at the simulator (sold in this process) and verified."""
    order = OrderFactory(amount=Decimal(amount), capture=CaptureMode.MANUAL)
    order_charge(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.AUTHORIZED
    return order


def capture_on(queue, order, amount):
    """Record the capture as the API does, but send its task to `queue` (the doomed worker's)."""
    with mock.patch("payments.orders.services.capture.publish"):
        order_capture_request(order_id=order.pk, amount=Decimal(amount))
    capture_order_task.apply_async(args=[str(order.pk)], queue=queue)


def events_after(order, event_id):
    return list(OrderEvent.objects.filter(order_id=order.pk, id__gt=event_id).order_by("id"))


def claims(order):
    """The capture's claims (the sale's own claim before them is not one)."""
    return list(
        OrderEvent.objects.filter(order_id=order.pk, action=Action.CLAIM, detail__decision="capture").order_by("id")
    )


def resend_once_lapsed():
    """The reconciler's pass over authorized orders, until it sends the capture again."""
    return wait_until(lambda: (c := authorizations_reconcile(idle_seconds=0, limit=10))["decision"] and c,
                      timeout=LEASE + 15, interval=0.5, desc="the reconciler re-sending the capture")


def assert_captured_once(sim, order, amount):
    """One sale, submitted for settlement once for `amount` (it may have settled since), never voided."""
    [sale] = sales(sim.transactions(order_id=str(order.pk)))
    assert (sale["id"], Decimal(sale["amount"])) == (order.transaction_id, Decimal(amount))
    history = [event["status"] for event in sale["status_history"]]
    assert history[:2] == ["authorized", "submitted_for_settlement"], history
    assert history.count("submitted_for_settlement") == 1 and "voided" not in history, history


def assert_last_claim_looked_first(order):
    """The last claim's first gateway call was a find that saw the capture; it wrote nothing."""
    last_claim = claims(order)[-1]
    after = events_after(order, last_claim.id)
    assert (after[0].action, after[0].outcome) == (Action.FIND, Outcome.FOUND)
    assert after[0].detail["status"] == "submitted_for_settlement"
    assert not [e for e in after if e.action == Action.CAPTURE and e.outcome in (Outcome.APPROVED, Outcome.UNAVAILABLE)]


def test_a_worker_killed_while_its_capture_hangs_at_the_gateway_is_captured_once(doomed_worker, worker, sim):
    # given an authorized order whose capture the gateway holds, then commits to nobody
    order = authorized_order("50.00")
    sim.set_faults({"rules": [{"kind": "hang", "seconds": HANG_SECONDS, "count": 1, **CAPTURE_REQUESTS}]})
    capture_on(QUEUE, order, "30.00")
    wait_until(lambda: claims(order), timeout=15, desc="the capture's claim")
    # (the hang rule's count falls to 0 when the simulator starts holding the capture)
    wait_until(lambda: sim.faults()["rules"][0]["count"] == 0, timeout=15, interval=0.1,
               desc="the capture held at the gateway")
    # when the worker is killed (node loss) while the capture is on the wire
    doomed_worker.kill_main()
    wait_until(lambda: sales(sim.transactions(order_id=str(order.pk)))[0]["status"] == "submitted_for_settlement",
               timeout=HANG_SECONDS + 10, desc="the held capture committed")
    counts = resend_once_lapsed()

    # then a live worker finished it from what the gateway shows: paid with 30.00, settled once
    assert counts["decision"] == 1
    order = wait_for_order(order.pk, lambda o: o.status == OrderStatus.PAID, timeout=30, desc="paid")
    assert order.captured_amount == Decimal("30.00")
    assert len(claims(order)) == 2
    assert_captured_once(sim, order, "30.00")
    assert_last_claim_looked_first(order)


def test_a_worker_killed_after_its_capture_committed_with_the_answer_lost_is_captured_once(
    doomed_worker, worker, sim
):
    # given an authorized order whose capture the gateway commits, then drops the answer of
    order = authorized_order("50.00")
    sim.set_faults({"rules": [{"kind": "drop", "count": 1, **CAPTURE_REQUESTS}]})
    capture_on(QUEUE, order, "50.00")
    # when the worker is killed right after it saw no answer (its retry still waiting)
    wait_until(lambda: OrderEvent.objects.filter(order_id=order.pk, action=Action.CAPTURE,
                                                 outcome=Outcome.UNAVAILABLE).exists(),
               timeout=15, interval=0.05, desc="the lost answer")
    doomed_worker.kill_main()
    counts = resend_once_lapsed()

    # then the next claim looked, found the capture and recorded it: one settlement of 50.00
    assert counts["decision"] == 1
    order = wait_for_order(order.pk, lambda o: o.status == OrderStatus.PAID, timeout=30, desc="paid")
    assert order.captured_amount == Decimal("50.00")
    assert len(claims(order)) == 2
    assert_captured_once(sim, order, "50.00")
    assert_last_claim_looked_first(order)
