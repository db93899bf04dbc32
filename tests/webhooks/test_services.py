"""payments/webhooks/services.py and settlement.py on the fake gateway."""

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from payments.gateways.base import WebhookEvent
from payments.core.statuses import OrderStatus
from payments.models import Order, WebhookNotification
from payments.webhooks.settlement import orders_track_settlement
from payments.webhooks.services import webhook_process, webhook_receive
from payments.tasks import process_webhook_task, refund_order_task
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def queued():
    sent = []
    with (
        mock.patch.object(process_webhook_task, "apply_async", side_effect=lambda args=None, **kw: sent.append(args[0])),
        mock.patch.object(refund_order_task, "apply_async", side_effect=lambda args=None, **kw: sent.append(args[0])),
    ):
        yield sent


@pytest.fixture
def paid(db):
    return OrderFactory(status=OrderStatus.PAID, transaction_id="txn1", gateway_status="submitted_for_settlement")


def dispute(kind, seconds, amount="10.00"):
    return WebhookEvent(
        kind=kind, timestamp=NOW + timedelta(seconds=seconds), subject_id="dp1", transaction_id="txn1",
        amount=Decimal(amount), reason="fraud",
    )


def receive_and_process(event):
    notification, created = webhook_receive(event)
    webhook_process(notification_id=notification.pk)
    return notification, created


def test_a_duplicate_notification_is_stored_once_and_applied_once(paid, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first, created = receive_and_process(dispute("dispute_opened", 0))
    again, created_again = receive_and_process(dispute("dispute_opened", 0))
    assert (created, created_again, again.pk) == (True, False, first.pk)
    first.refresh_from_db()
    assert (first.state, first.deliveries) == ("processed", 2)
    assert paid.events.filter(action="dispute").count() == 1
    paid.refresh_from_db()
    assert (paid.dispute_status, paid.dispute_amount, paid.dispute_reason) == ("open", Decimal("10.00"), "fraud")


def test_a_late_older_dispute_notification_does_not_overwrite_a_newer_status(paid, queued):
    receive_and_process(dispute("dispute_won", 60))
    receive_and_process(dispute("dispute_opened", 0))
    paid.refresh_from_db()
    assert paid.dispute_status == "won"
    assert paid.events.filter(action="dispute").count() == 2


def test_an_unknown_kind_is_stored_and_ignored(paid, queued):
    notification, _ = receive_and_process(WebhookEvent(kind="subscription_went_past_due", timestamp=NOW, subject_id="s1"))
    assert WebhookNotification.objects.get(pk=notification.pk).state == "ignored"
    paid.refresh_from_db()
    assert paid.status == OrderStatus.PAID


def test_a_settlement_declined_webhook_makes_a_paid_order_settlement_declined(paid, queued):
    receive_and_process(
        WebhookEvent(kind="transaction_settlement_declined", timestamp=NOW, subject_id="txn1", transaction_id="txn1")
    )
    paid.refresh_from_db()
    assert (paid.status, paid.gateway_status) == (OrderStatus.SETTLEMENT_DECLINED, "settlement_declined")


def test_the_tracker_records_settled_and_declined_sales_in_batches(fake, queued, published):
    # given: three paid orders, sold at the fake gateway
    orders = []
    for amount in ("10.00", "11.00", "12.00"):
        order = OrderFactory(amount=Decimal(amount))
        from payments.orders.services import order_charge, order_verify

        order_charge(order_id=order.pk)
        order_verify(order_id=order.pk)
        orders.append(Order.objects.get(pk=order.pk))
    fake.settle(orders[0].transaction_id)
    fake.settle(orders[1].transaction_id, status="settlement_declined")
    fake.calls.clear()
    # when
    counts = orders_track_settlement(limit=10, batch_size=2)
    # then
    assert counts["checked"] == 3 and counts["settled"] == 1 and counts["settlement_declined"] == 1
    assert [op for op, _ in fake.calls] == ["search_by_ids", "search_by_ids"]
    statuses = [Order.objects.get(pk=o.pk).status for o in orders]
    assert statuses == [OrderStatus.PAID, OrderStatus.SETTLEMENT_DECLINED, OrderStatus.PAID]
    assert Order.objects.get(pk=orders[0].pk).gateway_status == "settled"


def test_a_decided_dispute_wins_over_an_open_one_with_the_same_timestamp(paid, queued):
    receive_and_process(dispute("dispute_lost", 0))
    receive_and_process(dispute("dispute_opened", 0))
    paid.refresh_from_db()
    assert paid.dispute_status == "lost"
