"""Braintree webhooks: store each notification once, answer at once, apply it on a queue.

Braintree delivers at least once, retries failed deliveries for hours and does not order them.
So a notification is stored under a unique (kind, subject id, timestamp), a redelivery only
counts, and applying it is idempotent: the row's state moves `received` → `processed` |
`ignored` under its lock. A dispute's status on the order follows the newest notification by
timestamp, so a late delivery of an older one is recorded as an event but changes nothing.
"""

import logging

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from payments.core.dispatch import publish
from payments.core.lifecycle import Action, Outcome, event_record, order_lock
from payments.core.statuses import DisputeStatus
from payments.models import Order, Refund, WebhookNotification
from payments.tasks import process_webhook_task
from payments.webhooks.settlement import order_settlement_record

logger = logging.getLogger(__name__)

DISPUTE_KINDS = {
    "dispute_opened": DisputeStatus.OPEN,
    "dispute_won": DisputeStatus.WON,
    "dispute_lost": DisputeStatus.LOST,
    "dispute_accepted": DisputeStatus.ACCEPTED,
}
SETTLEMENT_KINDS = {
    "transaction_settled": "settled",
    "transaction_settlement_declined": "settlement_declined",
}

State = WebhookNotification.State


def webhook_receive(event):
    """Store a verified notification once and queue it; returns `(notification, created)`."""
    data = {
        "transaction_id": event.transaction_id,
        "transaction_status": event.transaction_status,
        "amount": None if event.amount is None else str(event.amount),
        "dispute_status": event.dispute_status,
        "reason": event.reason,
    }
    key = {"kind": event.kind[:64], "subject_id": event.subject_id[:64], "timestamp": event.timestamp}
    try:
        with transaction.atomic():
            notification = WebhookNotification.objects.create(**key, data=data)
            transaction.on_commit(lambda: publish(process_webhook_task, notification.pk))
        return notification, True
    except IntegrityError:
        WebhookNotification.objects.filter(**key).update(deliveries=F("deliveries") + 1)
        notification = WebhookNotification.objects.get(**key)
        if notification.state == State.RECEIVED:
            # The first delivery's publish may have been lost; processing twice is harmless.
            publish(process_webhook_task, notification.pk)
        return notification, False


def webhook_process(*, notification_id):
    """Apply a stored notification to its order, once; unknown kinds and subjects are ignored."""
    with transaction.atomic():
        notification = WebhookNotification.objects.select_for_update().get(pk=notification_id)
        if notification.state != State.RECEIVED:
            return notification
        if notification.kind in DISPUTE_KINDS:
            applied = _dispute_apply(notification)
        elif notification.kind in SETTLEMENT_KINDS:
            applied = _settlement_apply(notification)
        else:
            applied = False
        notification.state = State.PROCESSED if applied else State.IGNORED
        notification.processed_at = timezone.now()
        notification.save(update_fields=["state", "processed_at"])
    return notification


def _dispute_apply(notification):
    data = notification.data
    order = Order.objects.filter(transaction_id=data.get("transaction_id") or None).first()
    if order is None:
        logger.warning("Webhook %s: dispute on unknown transaction %s", notification.pk, data.get("transaction_id"))
        return False
    order = order_lock(order.pk)
    status = DISPUTE_KINDS[notification.kind]
    newest = _dispute_is_newer(order, notification.timestamp, status)
    event_record(
        order,
        Action.DISPUTE,
        outcome=Outcome.DISPUTE,
        transaction_id=order.transaction_id,
        detail={
            "notification": notification.pk,
            "kind": notification.kind,
            "dispute": notification.subject_id,
            "amount": data.get("amount"),
            "reason": data.get("reason"),
            "applied": newest,
        },
    )
    if newest:
        order.dispute_id = notification.subject_id
        order.dispute_status = status
        order.dispute_amount = data.get("amount")
        order.dispute_reason = (data.get("reason") or "")[:64]
        order.dispute_updated_at = notification.timestamp
        order.save(
            update_fields=[
                "dispute_id", "dispute_status", "dispute_amount", "dispute_reason", "dispute_updated_at", "updated_at"
            ]
        )
    return True


def _dispute_is_newer(order, timestamp, status):
    """Whether a notification says something newer than what the order shows.

    Timestamps have one-second precision, so an open and its decision can share one: on a tie a
    decided dispute (won, lost, accepted) is the newer, since an open one never follows it.
    """
    if order.dispute_updated_at is None or timestamp > order.dispute_updated_at:
        return True
    if timestamp < order.dispute_updated_at:
        return False
    return status != DisputeStatus.OPEN or order.dispute_status == DisputeStatus.OPEN


def _settlement_apply(notification):
    txn_id = notification.data.get("transaction_id") or notification.subject_id
    order = Order.objects.filter(transaction_id=txn_id).only("pk").first()
    if order is not None:
        order_settlement_record(order.pk, SETTLEMENT_KINDS[notification.kind], source=f"webhook {notification.pk}")
        return True
    # A refund's credit settling: only its gateway status is worth keeping.
    return bool(Refund.objects.filter(transaction_id=txn_id).update(gateway_status=SETTLEMENT_KINDS[notification.kind]))
