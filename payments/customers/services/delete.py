"""Deleting a saved payment method: refused to new orders at once, removed from the vault by a task."""

import logging

from django.db import transaction
from django.utils import timezone

from payments.core.dispatch import publish
from payments.core.statuses import PaymentMethodStatus
from payments.gateways import get_gateway
from payments.models import PaymentMethod
from payments.tasks import delete_payment_method_task

logger = logging.getLogger(__name__)


def payment_method_delete(*, payment_method):
    """Mark the method deleted (no order is charged on it from now on) and publish the vault delete.

    The row lock is the one order intake takes to check the method, so an order is either
    accepted before the delete (and is refused at its charge, see charge.py) or refused at intake.
    Deleting a deleted method again is a no-op.
    """
    with transaction.atomic():
        method = PaymentMethod.objects.select_for_update().get(pk=payment_method.pk)
        if method.status == PaymentMethodStatus.DELETED:
            return method
        method.status = PaymentMethodStatus.DELETED
        method.payment_method_nonce = ""
        method.deleted_at = timezone.now()
        method.save(update_fields=["status", "payment_method_nonce", "deleted_at", "updated_at"])
        method_id = method.pk
        transaction.on_commit(lambda: publish(delete_payment_method_task, method_id))
    return method


def payment_method_gateway_delete(*, payment_method_id):
    """Delete the method's token from the vault (a token already gone is success), and record it."""
    method = PaymentMethod.objects.filter(pk=payment_method_id, status=PaymentMethodStatus.DELETED).first()
    if method is None:
        return None
    get_gateway().payment_method_delete(method.gateway_token)
    PaymentMethod.objects.filter(pk=method.pk).update(gateway_deleted_at=timezone.now())
    logger.info("Payment method %s deleted from the vault", method.pk)
    return method
