"""payments/orders/services/reconcile.py: re-dispatching stuck orders and adopting late sales."""

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from payments.core.statuses import OrderStatus
from payments.models import Order
from payments.orders.services import orders_reconcile
from payments.tasks import charge_order_task
from tests.factories import OrderFactory
from tests.fixtures.services import trail

pytestmark = pytest.mark.django_db

THRESHOLDS = {"pending_after_seconds": 60, "processing_after_seconds": 60, "limit": 10}
NOTHING = {"charge": 0, "verify": 0, "publish_failed": 0, "adopted": 0}


def age(order, minutes=10):
    Order.objects.filter(pk=order.pk).update(updated_at=timezone.now() - timedelta(minutes=minutes))


def test_stuck_orders_are_re_dispatched_once_per_threshold(fake, published):
    # given: a pending order never published, and a sold order whose verify got lost
    pending = OrderFactory(status=OrderStatus.PENDING)
    sold = OrderFactory(status=OrderStatus.PROCESSING, transaction_id="fake000001", payment_method_nonce="")
    fresh = OrderFactory(status=OrderStatus.PENDING)
    age(pending)
    age(sold)
    # when
    first = orders_reconcile(**THRESHOLDS)
    second = orders_reconcile(**THRESHOLDS)
    # then
    assert first == {**NOTHING, "charge": 1, "verify": 1}
    assert second == NOTHING
    assert sorted(published) == sorted([("charge_order_task", str(pending.pk)), ("verify_order_task", str(sold.pk))])
    assert trail(pending) == [("requeue", "reconciler_charge")]
    assert trail(sold) == [("requeue", "reconciler_verify")]
    assert not fresh.events.exists()


def test_an_order_still_leased_by_a_worker_is_not_stuck(fake, published):
    # given
    order = OrderFactory(status=OrderStatus.PROCESSING, lease_expires_at=timezone.now() + timedelta(minutes=1))
    age(order)
    # when
    counts = orders_reconcile(**THRESHOLDS)
    # then
    assert (counts, published) == (NOTHING, [])


def test_an_order_whose_holder_stopped_renewing_is_re_sent_at_once_and_only_once(fake, published):
    # given an order claimed a moment ago whose lease lapsed: its worker died mid-charge
    order = OrderFactory(status=OrderStatus.PROCESSING, claims=1, lease_expires_at=timezone.now() - timedelta(seconds=1))
    # when
    first = orders_reconcile(**THRESHOLDS)
    second = orders_reconcile(**THRESHOLDS)
    # then it is re-sent on the first run, without waiting for the idle threshold, and not again
    assert first == {**NOTHING, "charge": 1}
    assert second == NOTHING
    assert published == [("charge_order_task", str(order.pk))]
    assert Order.objects.get(pk=order.pk).lease_expires_at is None


def dispatched_seconds_ago(order, seconds):
    at = timezone.now() - timedelta(seconds=seconds)
    Order.objects.filter(pk=order.pk).update(created_at=at, updated_at=at)


def test_a_pending_order_overtaken_by_later_orders_is_re_sent_without_waiting_the_idle_threshold(fake, published):
    # given an order dispatched 20 s ago and still pending, while orders dispatched after it were
    # already taken from the queue: its message is gone (a worker took it and died, or it was never sent)
    lost = OrderFactory(status=OrderStatus.PENDING)
    dispatched_seconds_ago(lost, 20)
    later = OrderFactory(status=OrderStatus.PAID, transaction_id="fake000002", payment_method_nonce="")
    dispatched_seconds_ago(later, 10)
    Order.objects.filter(pk=later.pk).update(updated_at=timezone.now())
    # when
    first = orders_reconcile(**THRESHOLDS)
    second = orders_reconcile(**THRESHOLDS)
    # then
    assert first == {**NOTHING, "charge": 1}
    assert second == NOTHING
    assert published == [("charge_order_task", str(lost.pk))]


def test_a_pending_order_waiting_behind_a_backlog_is_not_sent_twice(fake, published):
    # given orders pending for 20 s, none of them or any later one claimed yet (a backlog), while
    # an order dispatched before them was claimed
    head = OrderFactory(status=OrderStatus.PROCESSING, claims=1, lease_expires_at=timezone.now() + timedelta(minutes=1))
    dispatched_seconds_ago(head, 30)
    Order.objects.filter(pk=head.pk).update(updated_at=timezone.now())
    waiting = [OrderFactory(status=OrderStatus.PENDING) for _ in range(3)]
    for order in waiting:
        dispatched_seconds_ago(order, 20)
    # when
    counts = orders_reconcile(**THRESHOLDS)
    # then they wait for their own messages
    assert (counts, published) == (NOTHING, [])


def test_an_order_released_for_its_retry_waits_for_the_idle_threshold(fake, published):
    # given an order whose worker released it a moment ago: its retry is on its way
    OrderFactory(status=OrderStatus.PROCESSING, claims=1, ever_claimed=True, lease_expires_at=None)
    # when
    counts = orders_reconcile(**THRESHOLDS)
    # then the reconciler does not race the retry's backoff
    assert (counts, published) == (NOTHING, [])


def test_a_refused_publish_is_counted_and_the_order_is_tried_again_next_threshold(fake):
    # given
    order = OrderFactory(status=OrderStatus.PENDING)
    age(order)
    # when
    with mock.patch.object(charge_order_task, "apply_async", side_effect=ConnectionError("broker down")):
        counts = orders_reconcile(**THRESHOLDS)
    # then
    assert counts == {**NOTHING, "publish_failed": 1}
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING


def park_after_a_late_sale(fake, order):
    """The order's sale lands at the gateway, but the order was parked before it heard back."""
    sale = fake.sale(order_id=str(order.pk), amount=order.amount, nonce="fake-valid-nonce", api_request_key="k:0")
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.NEEDS_REVIEW)
    age(order, minutes=5)
    return sale.transaction


def test_a_sale_that_landed_after_the_order_was_parked_is_adopted_as_paid(fake, published):
    # given
    order = OrderFactory(amount=Decimal("12.34"), status=OrderStatus.PROCESSING)
    sale = park_after_a_late_sale(fake, order)
    # when
    counts = orders_reconcile(**THRESHOLDS)
    # then: the charge is recorded on its order, not orphaned
    order.refresh_from_db()
    assert counts == {**NOTHING, "adopted": 1}
    assert (order.status, order.transaction_id, order.payment_method_nonce) == (OrderStatus.PAID, sale.id, "")
    assert trail(order) == [("search", "found_paid"), ("transition", "late_sale_adopted")]


def test_a_parked_order_without_a_sale_is_asked_about_once_per_threshold(fake):
    # given
    order = OrderFactory(status=OrderStatus.NEEDS_REVIEW)
    age(order, minutes=5)
    # when
    orders_reconcile(**THRESHOLDS)
    orders_reconcile(**THRESHOLDS)
    # then
    assert Order.objects.get(pk=order.pk).status == OrderStatus.NEEDS_REVIEW
    assert [call[0] for call in fake.calls] == ["search"]


def test_a_late_sale_of_another_amount_is_left_for_a_human(fake):
    # given
    order = OrderFactory(amount=Decimal("12.34"), status=OrderStatus.PROCESSING)
    park_after_a_late_sale(fake, order)
    Order.objects.filter(pk=order.pk).update(amount=Decimal("99.00"))
    # when
    counts = orders_reconcile(**THRESHOLDS)
    # then
    order.refresh_from_db()
    assert counts["adopted"] == 0
    assert (order.status, order.transaction_id) == (OrderStatus.NEEDS_REVIEW, None)
    assert trail(order)[-1] == ("search", "late_sale_amount_mismatch")


def test_a_gateway_outage_ends_the_recheck_run_without_raising(fake):
    # given two parked orders and a gateway that does not answer
    for _ in range(2):
        age(OrderFactory(status=OrderStatus.NEEDS_REVIEW), minutes=5)
    fake.fail_next("search")
    # when
    counts = orders_reconcile(**THRESHOLDS)
    # then: one failed search, and the next run asks again
    assert counts == NOTHING
    assert fake.calls == [("search", fake.calls[0][1])]
