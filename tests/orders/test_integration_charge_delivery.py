"""Exactly-once charging under redelivery, lost responses, transient errors and a dead broker.

Everything here runs through a real `celery worker` process, the real braintree SDK over HTTP
and the simulator's fault injection; assertions read the simulator's ledger and the order rows.
"""

import time
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db import connection, transaction

from celery_app import app as celery_app
from devtools.polling import wait_until
from devtools.settings import FAST_SETTINGS
from devtools.sim import SALE_REQUESTS
from devtools.stack import free_port
from payments.core.statuses import OrderStatus
from payments.models import Order, OrderEvent
from payments.orders.services import order_create
from payments.tasks import charge_order_task, reconcile_orders_task
from tests.factories import UserFactory
from tests.fixtures.pipeline import (
    WORKER_DB_APP_NAME,
    sales_in_ledger,
    wait_for_final,
    wait_for_order,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

def create_order(amount="10.00"):
    return order_create(
        owner=UserFactory(), amount=Decimal(amount), nonce="fake-valid-nonce", currency="USD",
        description="", idempotency_key=None,
    ).order


def test_redelivered_charge_does_not_charge_twice_and_needs_no_reconciler(worker, sim):
    # given: a slow sale, so the order can be row-locked between the claim and the recording
    sim.set_faults({"rules": [{"kind": "latency", "latency_ms": 1500, "count": 1, **SALE_REQUESTS}]})
    order = create_order()
    wait_for_order(order.pk, lambda o: o.status == OrderStatus.PROCESSING, desc="the claim")
    with transaction.atomic():
        Order.objects.select_for_update().get(pk=order.pk)
        wait_until(lambda: sales_in_ledger(sim, order.pk), timeout=10, desc="the sale at the gateway")
        time.sleep(0.3)
        # when: the pool child dies after the gateway charged, before the order recorded it;
        # acks_late + reject_on_worker_lost put the message back on the queue
        killed = [worker.kill_child(pid) for pid in worker.child_pids()]
        assert killed
    # the redelivered message finds the dead worker's lease and comes back when it expires;
    # no reconciler runs in this test
    order = wait_for_final(order.pk, timeout=FAST_SETTINGS["PAYMENTS_CLAIM_LEASE_SECONDS"] + 20)
    # then
    assert not order.events.filter(action=OrderEvent.Action.REQUEUE).exists()
    [sale] = sales_in_ledger(sim, order.pk)
    assert order.status == OrderStatus.PAID
    assert order.transaction_id == sale["id"]
    assert Decimal(sale["amount"]) == order.amount
    adopted = order.events.get(action=OrderEvent.Action.SEARCH, outcome="found_paid")
    assert adopted.transaction_id == sale["id"]
    # The dead worker's audit insert may still land (its backend was queued on the row lock),
    # but every sale row names the one transaction.
    sale_rows = order.events.filter(action=OrderEvent.Action.SALE)
    assert set(sale_rows.values_list("transaction_id", flat=True)) <= {sale["id"]}


def test_sale_whose_response_was_lost_ends_paid_with_the_gateway_transaction(worker, sim):
    # given: the simulator commits the first sale, then drops the connection without answering
    sim.set_faults({"rules": [{"kind": "drop", "count": 1, **SALE_REQUESTS}]})
    # when
    order = create_order()
    order = wait_for_final(order.pk)
    # then
    [sale] = sales_in_ledger(sim, order.pk)
    assert order.status == OrderStatus.PAID
    assert order.transaction_id == sale["id"]
    sale_outcomes = list(order.events.filter(action=OrderEvent.Action.SALE).values_list("outcome", flat=True))
    assert sale_outcomes == ["unavailable"]
    assert order.events.filter(action=OrderEvent.Action.SEARCH, outcome="found_paid").exists()


def test_sale_that_hangs_past_the_client_timeout_and_commits_later_is_adopted_not_failed(worker, sim):
    # given: the first sale is held at the gateway for twice the client timeout and committed
    # after the worker gave up; a resend with the same api_request_key meanwhile gets 915233
    hang = 2 * FAST_SETTINGS["BRAINTREE_TIMEOUT_SECONDS"]
    sim.set_faults({"rules": [{"kind": "hang", "count": 1, "seconds": hang, **SALE_REQUESTS}]})
    # when
    order = create_order()
    order = wait_for_final(order.pk, timeout=30)
    # then: the late sale is the order's one charge, recorded as paid
    [sale] = sales_in_ledger(sim, order.pk)
    assert sale["status"] == "submitted_for_settlement"
    assert order.status == OrderStatus.PAID
    assert order.transaction_id == sale["id"]
    assert order.events.filter(action=OrderEvent.Action.SEARCH, outcome="found_paid").exists()


def test_transient_errors_retry_with_growing_delays_then_need_review(worker, sim):
    # given: every sale answers 503
    sim.set_faults({"rules": [{"kind": "error", "status": 503, **SALE_REQUESTS}]})
    # when
    order = create_order()
    order = wait_for_final(order.pk, timeout=30)
    # then: first try + PAYMENTS_MAX_RETRIES (3) retries, 1 s, 2 s, 4 s apart (backoff 1, cap 4)
    assert order.status == OrderStatus.NEEDS_REVIEW
    assert order.events.order_by("-id").first().outcome == "retries_exhausted"
    sales = list(order.events.filter(action=OrderEvent.Action.SALE).order_by("id"))
    assert [s.outcome for s in sales] == ["unavailable"] * 4
    gaps = [(b.created_at - a.created_at).total_seconds() for a, b in zip(sales, sales[1:])]
    for gap, expected in zip(gaps, [1, 2, 4]):
        assert expected - 0.1 <= gap <= expected + 1.5, gaps
    assert gaps[0] < gaps[1] < gaps[2]
    assert sales_in_ledger(sim, order.pk) == []
    assert order.payment_method_nonce == "fake-valid-nonce"


@contextmanager
def broker_unreachable():
    """Point this process's Celery producer at a closed port, as if Redis were down."""
    conf = celery_app.conf
    saved = conf.get("broker_write_url")
    _reset_producer_pools()
    # The write URL, because a CELERY_BROKER_URL variable would shadow conf.broker_url.
    conf.broker_write_url = f"redis://127.0.0.1:{free_port()}/0"
    try:
        yield
    finally:
        _reset_producer_pools()
        conf.broker_write_url = saved


def _reset_producer_pools():
    # kombu keeps connection pools per broker URL; dropping the app's cached references makes
    # the next publish pick the pool of the current URL (the real one stays open for later).
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def test_order_left_pending_with_the_broker_down_is_dispatched_by_the_reconciler(worker, sim):
    # given: the broker is down when the order commits
    with broker_unreachable():
        started = time.monotonic()
        order = create_order()
        create_seconds = time.monotonic() - started
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert create_seconds < 3
    # when: the broker is back and the reconciler runs on the maintenance queue
    reconcile_orders_task.delay(pending_after_seconds=0, processing_after_seconds=0, limit=50)
    order = wait_for_final(order.pk)
    # then
    assert order.status == OrderStatus.PAID
    [sale] = sales_in_ledger(sim, order.pk)
    assert order.transaction_id == sale["id"]
    trail = list(order.events.values_list("action", "outcome"))
    assert trail[:3] == [("create", ""), ("requeue", "reconciler_charge"), ("claim", "claimed")], trail


def test_concurrent_duplicate_deliveries_of_one_charge_make_one_sale(worker, sim):
    # given: a slow gateway, so both pool children hold a copy of the message at once
    sim.set_faults({"rules": [{"kind": "latency", "latency_ms": 1000, **SALE_REQUESTS}]})
    order = create_order()
    # when
    for _ in range(3):
        charge_order_task.delay(str(order.pk))
    order = wait_for_final(order.pk)
    # then
    [sale] = sales_in_ledger(sim, order.pk)
    assert order.status == OrderStatus.PAID
    assert order.transaction_id == sale["id"]
    assert order.claims == 1
    assert order.events.filter(action=OrderEvent.Action.SALE).count() == 1


def terminate_worker_db_sessions():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            [WORKER_DB_APP_NAME],
        )
        return cursor.fetchone()[0]


def test_charge_whose_database_connection_was_killed_is_retried_without_a_second_sale(worker, sim):
    # given: a slow sale, so the worker holds its database session while the gateway charges
    sim.set_faults({"rules": [{"kind": "latency", "latency_ms": 1500, "count": 1, **SALE_REQUESTS}]})
    order = create_order()
    wait_for_order(order.pk, lambda o: o.status == OrderStatus.PROCESSING, desc="the claim")
    # when: the database drops the worker's connection mid-charge
    assert terminate_worker_db_sessions() >= 1
    order = wait_for_final(order.pk)
    # then: the retry finds the sale instead of selling again
    [sale] = sales_in_ledger(sim, order.pk)
    assert order.status == OrderStatus.PAID
    assert order.transaction_id == sale["id"]
    assert order.claims == 2
    assert order.events.filter(action=OrderEvent.Action.SEARCH, outcome="found_paid").exists()


def test_verify_that_keeps_failing_needs_review_with_the_transaction_kept(worker, sim):
    # given: the sale goes through, then every find answers 503
    sim.set_faults({"rules": [{"kind": "error", "status": 503, "methods": ["GET"], "paths": ["/transactions/*"]}]})
    # when
    order = create_order()
    order = wait_for_final(order.pk, timeout=30)
    # then
    [sale] = sales_in_ledger(sim, order.pk)
    assert order.status == OrderStatus.NEEDS_REVIEW
    assert order.transaction_id == sale["id"]
    # the charge's own find right after the sale, then verify_order_task's first try and retries
    finds = order.events.filter(action=OrderEvent.Action.FIND).values_list("outcome", flat=True)
    assert list(finds) == ["unavailable"] * (1 + 1 + FAST_SETTINGS["PAYMENTS_MAX_RETRIES"])
