"""Messages published under each task's stored name still run, whatever module holds the function.

Task names live outside the code: in the beat schedule's rows (migrations), in
CELERY_TASK_ROUTES and in messages already queued when a release rolls out. The names below are
written out, not imported, so that moving a task function cannot silently change them.
"""

from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from celery_app import app as celery_app
from devtools.polling import wait_until
from payments.core.statuses import OrderStatus, RefundStatus
from payments.models import Order, OrderEvent, Refund, WebhookNotification
from payments.orders.services.intake import merchant_account_for, request_fingerprint
from tests.factories import UserFactory
from tests.fixtures.pipeline import wait_for_final

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

STORED_TASK_NAMES = {
    "payments.tasks.charge_order_task": "payments",
    "payments.tasks.verify_order_task": "payments",
    "payments.tasks.refund_order_task": "payments",
    "payments.tasks.capture_order_task": "payments",
    "payments.tasks.cancel_order_task": "payments",
    "payments.tasks.store_payment_method_task": "payments",
    "payments.tasks.delete_payment_method_task": "payments",
    "payments.tasks.process_webhook_task": "payments",
    "payments.tasks.reconcile_orders_task": "maintenance",
    "payments.tasks.track_settlement_task": "maintenance",
}


def pending_order(amount="10.00"):
    """An order row as the API stores it, with no message published for it."""
    nonce, currency = "fake-valid-nonce", "USD"
    order = Order.objects.create(
        owner=UserFactory(),
        amount=Decimal(amount),
        currency=currency,
        merchant_account_id=merchant_account_for(currency),
        payment_method_nonce=nonce,
        request_fingerprint=request_fingerprint(amount=amount, currency=currency, description="", nonce=nonce),
    )
    OrderEvent.objects.create(order=order, action=OrderEvent.Action.CREATE, to_status=order.status)
    return order


def publish_by_name(name, **kwargs):
    """Publish a raw message under `name`, routed as a message queued by an earlier release was."""
    return celery_app.send_task(name, kwargs=kwargs, queue=STORED_TASK_NAMES[name])


def test_every_stored_task_name_is_registered_and_routed_to_its_queue():
    # given: the worker's task registry and the routes in settings
    celery_app.loader.import_default_modules()
    # then
    assert set(STORED_TASK_NAMES) <= set(celery_app.tasks)
    assert {name: route["queue"] for name, route in settings.CELERY_TASK_ROUTES.items()} == STORED_TASK_NAMES


def test_charge_and_verify_messages_under_their_stored_names_pay_the_order(worker, sim):
    # given: a stored order nobody has published a charge for
    order = pending_order()
    # when: a charge message under the stored name arrives (it chains verify by name too)
    publish_by_name("payments.tasks.charge_order_task", order_id=str(order.pk))
    # then
    order = wait_for_final(order.pk)
    assert order.status == OrderStatus.PAID
    sales = [t for t in sim.transactions(order_id=str(order.pk)) if t["type"] == "sale"]
    assert [t["id"] for t in sales] == [order.transaction_id]


def test_refund_message_under_its_stored_name_refunds_the_order(worker, sim):
    # given: a paid order and a refund row with no message published for it
    order = pending_order("12.00")
    publish_by_name("payments.tasks.charge_order_task", order_id=str(order.pk))
    order = wait_for_final(order.pk)
    refund = Refund.objects.create(order=order, amount=order.amount)
    # when
    publish_by_name("payments.tasks.refund_order_task", refund_id=str(refund.pk))
    # then: the sale (not yet settled) is voided in full
    refund = wait_until(
        lambda: Refund.objects.filter(pk=refund.pk, status=RefundStatus.SUCCEEDED).first(),
        timeout=20, interval=0.1, desc="the refund succeeded",
    )
    assert refund.transaction_id is not None
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED


def test_webhook_message_under_its_stored_name_processes_the_notification(worker, sim):
    # given: a stored notification of a kind the service does not act on
    notification = WebhookNotification.objects.create(kind="check", subject_id="check", timestamp=timezone.now())
    # when
    publish_by_name("payments.tasks.process_webhook_task", notification_id=notification.pk)
    # then
    wait_until(
        lambda: WebhookNotification.objects.filter(pk=notification.pk).exclude(state="received").first(),
        timeout=20, interval=0.1, desc="the notification processed",
    )
    notification.refresh_from_db()
    assert notification.state == WebhookNotification.State.IGNORED


def test_reconcile_message_under_its_stored_name_dispatches_a_stuck_order(worker, sim):
    # given: an order stuck in pending for longer than the reconciler's threshold
    order = pending_order()
    an_hour_ago = timezone.now() - timezone.timedelta(hours=1)
    Order.objects.filter(pk=order.pk).update(created_at=an_hour_ago, updated_at=an_hour_ago)
    # when
    publish_by_name("payments.tasks.reconcile_orders_task")
    # then
    assert wait_for_final(order.pk).status == OrderStatus.PAID


def test_settlement_message_under_its_stored_name_runs_the_tracker(worker, sim):
    # given: a paid order whose sale the gateway then settles
    order = pending_order()
    publish_by_name("payments.tasks.charge_order_task", order_id=str(order.pk))
    order = wait_for_final(order.pk)
    sim._control("POST", "settle", {})
    # when
    publish_by_name("payments.tasks.track_settlement_task")
    # then: the tracker asked the gateway and recorded the settlement on the order
    order = wait_until(
        lambda: Order.objects.filter(pk=order.pk, gateway_status="settled").first(),
        timeout=20, interval=0.1, desc="the settlement recorded",
    )
    assert order.settlement_checked_at is not None
    assert order.status == OrderStatus.PAID
