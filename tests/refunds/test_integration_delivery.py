"""Refunds and voids through a real worker, the real SDK and the simulator, redelivery included."""

import time
from decimal import Decimal

import pytest
from django.db import transaction

from devtools.ledger import credits_of
from devtools.polling import wait_until
from devtools.settings import FAST_SETTINGS
from devtools.sim import REFUND_REQUESTS
from payments.core.statuses import OrderStatus
from payments.models import Order, Refund
from payments.orders.services import order_create
from payments.refunds.services import refund_create
from payments.core.statuses import RefundKind, RefundStatus
from tests.factories import UserFactory
from tests.fixtures.pipeline import sales_in_ledger, wait_for_final

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def paid_order(sim, amount="10.00"):
    order = order_create(
        owner=UserFactory(), amount=Decimal(amount), nonce="fake-valid-nonce", currency="USD", description="",
        idempotency_key=None,
    ).order
    order = wait_for_final(order.pk)
    assert order.status == OrderStatus.PAID
    return order


def sim_settle(sim):
    sim._control("POST", "settle", {})


def wait_for_refund(refund_id, statuses=(RefundStatus.SUCCEEDED, RefundStatus.FAILED, RefundStatus.NEEDS_REVIEW),
                    timeout=25):
    def check():
        refund = Refund.objects.get(pk=refund_id)
        return refund if refund.status in statuses else None

    try:
        return wait_until(check, timeout=timeout, interval=0.1, desc="the refund's outcome")
    except TimeoutError:
        refund = Refund.objects.get(pk=refund_id)
        raise AssertionError(f"refund is {refund.status}: {refund.failure_reason}") from None


def credits_in_ledger(sim, order):
    return credits_of(sim.transactions(), order.transaction_id)


def test_a_full_refund_of_an_unsettled_sale_is_a_void(worker, sim):
    # given
    order = paid_order(sim)
    # when
    refund = wait_for_refund(refund_create(order_id=order.pk).refund.pk)
    # then
    order.refresh_from_db()
    [sale] = sales_in_ledger(sim, order.pk)
    assert (refund.status, refund.kind, refund.transaction_id) == (RefundStatus.SUCCEEDED, RefundKind.VOID, sale["id"])
    assert sale["status"] == "voided"
    assert credits_in_ledger(sim, order) == []
    assert (order.status, order.refunded_amount) == (OrderStatus.REFUNDED, Decimal("10.00"))


def test_partial_refunds_of_a_settled_sale_are_credits_and_refund_the_order_in_full(worker, sim):
    # given
    order = paid_order(sim)
    sim_settle(sim)
    # when
    first = wait_for_refund(refund_create(order_id=order.pk, amount=Decimal("3.00")).refund.pk)
    second = wait_for_refund(refund_create(order_id=order.pk).refund.pk)
    # then
    order.refresh_from_db()
    ledger = credits_in_ledger(sim, order)
    assert sorted(Decimal(c["amount"]) for c in ledger) == [Decimal("3.00"), Decimal("7.00")]
    assert {c["id"] for c in ledger} == {first.transaction_id, second.transaction_id}
    assert {c["order_id"] for c in ledger} == {str(first.pk), str(second.pk)}
    assert (first.kind, second.kind) == (RefundKind.REFUND, RefundKind.REFUND)
    assert (order.status, order.refunded_amount) == (OrderStatus.REFUNDED, Decimal("10.00"))


def test_a_partial_refund_of_an_unsettled_sale_waits_pending_then_refunds_after_settlement(worker, sim):
    # given
    order = paid_order(sim)
    refund = refund_create(order_id=order.pk, amount=Decimal("4.00")).refund
    wait_until(
        lambda: Refund.objects.filter(
            pk=refund.pk, status=RefundStatus.PENDING, status_detail__startswith="Waiting", failure_reason=""
        )
        .exists(),
        timeout=10, desc="the refund waiting for settlement",
    )
    assert credits_in_ledger(sim, order) == []
    # when
    sim_settle(sim)
    # then
    refund = wait_for_refund(refund.pk)
    order.refresh_from_db()
    assert (refund.status, refund.kind) == (RefundStatus.SUCCEEDED, RefundKind.REFUND)
    assert [Decimal(c["amount"]) for c in credits_in_ledger(sim, order)] == [Decimal("4.00")]
    assert (order.status, order.refunded_amount) == (OrderStatus.PARTIALLY_REFUNDED, Decimal("4.00"))


def test_a_redelivered_refund_task_of_a_killed_worker_does_not_refund_twice(worker, sim):
    # given: a settled sale, and a slow refund, so the order can be row-locked before recording
    order = paid_order(sim)
    sim_settle(sim)
    sim.set_faults({"rules": [{"kind": "latency", "latency_ms": 1500, "count": 1, **REFUND_REQUESTS}]})
    refund = refund_create(order_id=order.pk, amount=Decimal("5.00")).refund
    with transaction.atomic():
        Order.objects.select_for_update().get(pk=order.pk)
        wait_until(lambda: credits_in_ledger(sim, order), timeout=10, desc="the credit at the gateway")
        time.sleep(0.3)
        # when: the worker dies after the gateway refunded, before the refund was recorded
        assert [worker.kill_child(pid) for pid in worker.child_pids()]
    # then: the redelivered task adopts the gateway's credit
    refund = wait_for_refund(refund.pk, timeout=FAST_SETTINGS["PAYMENTS_CLAIM_LEASE_SECONDS"] + 25)
    [credit] = credits_in_ledger(sim, order)
    assert (refund.status, refund.transaction_id) == (RefundStatus.SUCCEEDED, credit["id"])
    assert credit["order_id"] == str(refund.pk)
    assert refund.claims >= 2
    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == (OrderStatus.PARTIALLY_REFUNDED, Decimal("5.00"))


def test_a_refund_whose_answer_was_dropped_is_recorded_once(worker, sim):
    order = paid_order(sim)
    sim_settle(sim)
    sim.set_faults({"rules": [{"kind": "drop", "count": 1, **REFUND_REQUESTS}]})
    refund = wait_for_refund(refund_create(order_id=order.pk).refund.pk)
    [credit] = credits_in_ledger(sim, order)
    assert (refund.status, refund.transaction_id) == (RefundStatus.SUCCEEDED, credit["id"])
