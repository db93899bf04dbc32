"""Storing a card in Braintree's vault exactly once, from a nonce, on at-least-once delivery.

The service chooses the vault's customer id (the customer's UUID) and the card's token (from the
payment method's UUID) itself. A retry after an unknown outcome therefore asks the vault for its
own token first, and a second create of the same token is refused by the gateway (91719), which
the adapter answers with the stored card: one card in the vault per payment method, however often
the task runs. No row lock is held across a gateway call.
"""

import logging

from django.db import transaction
from django.db.models import F

from payments.core.dispatch import publish
from payments.core.statuses import PaymentMethodStatus
from payments.gateways import get_gateway
from payments.gateways.base import StoreOutcome
from payments.models import Customer, PaymentMethod
from payments.tasks import delete_payment_method_task, store_payment_method_task

logger = logging.getLogger(__name__)


def payment_method_add(*, customer, nonce, make_default=True):
    """Record a pending payment method and publish its store task after commit."""
    with transaction.atomic():
        method = PaymentMethod.objects.create(
            customer=customer, payment_method_nonce=nonce, make_default=make_default
        )
        method_id = method.pk
        transaction.on_commit(lambda: publish(store_payment_method_task, method_id))
    return method


def payment_method_store(*, payment_method_id):
    """Store the pending method at the gateway (verified), then record `active` or `failed`.

    Raises `GatewayUnavailable` when the outcome is unknown; the task retries, and the retry looks
    the token up before storing again.
    """
    claimed = PaymentMethod.objects.filter(pk=payment_method_id, status=PaymentMethodStatus.PENDING).update(
        store_attempts=F("store_attempts") + 1
    )
    if not claimed:
        return None  # decided already, or deleted before it was stored (the delete task cleans up)
    method = PaymentMethod.objects.select_related("customer").get(pk=payment_method_id)
    gateway = get_gateway()
    customer = method.customer
    if not customer.gateway_customer_created:
        # Idempotent: an existing vault customer (our earlier, unanswered create) is success.
        gateway.customer_create(customer_id=customer.gateway_customer_id, email=customer.email)
        Customer.objects.filter(pk=customer.pk).update(gateway_customer_created=True)
    card = gateway.payment_method_find(method.gateway_token) if method.store_attempts > 1 else None
    if card is not None:
        return _record_stored(method.pk, card)
    if not method.payment_method_nonce:
        return _record_failed(method.pk, reason="No payment method nonce left to store.", error_codes=[])
    result = gateway.payment_method_store(
        customer_id=customer.gateway_customer_id,
        nonce=method.payment_method_nonce,
        token=method.gateway_token,
        make_default=method.make_default,
    )
    if result.outcome == StoreOutcome.STORED:
        return _record_stored(method.pk, result.card)
    return _record_failed(method.pk, reason=_refusal_reason(result), error_codes=result.error_codes)


def _refusal_reason(result):
    if result.verification_status:
        code = f" ({result.processor_response_code})" if result.processor_response_code else ""
        return f"Card verification {result.verification_status.replace('_', ' ')}{code}: {result.message}"[:255]
    return (result.message or "The gateway refused to store the card.")[:255]


def _record_stored(method_id, card):
    """Take the lock and make the method active with the card's masked facts."""
    with transaction.atomic():
        method = PaymentMethod.objects.select_for_update().get(pk=method_id)
        if method.status != PaymentMethodStatus.PENDING:
            if method.status == PaymentMethodStatus.DELETED:
                # Deleted while its store was in flight: the card may have just landed in the
                # vault, so the delete runs (again) after it.
                transaction.on_commit(lambda: publish(delete_payment_method_task, method_id))
            return method
        if card.default:
            PaymentMethod.objects.filter(customer_id=method.customer_id, is_default=True).update(is_default=False)
        method.status = PaymentMethodStatus.ACTIVE
        method.payment_method_nonce = ""
        method.card_type = card.card_type[:32]
        method.last_4 = card.last_4[:4]
        method.expiration_month = card.expiration_month[:2]
        method.expiration_year = card.expiration_year[:4]
        method.is_default = card.default
        method.save(
            update_fields=[
                "status", "payment_method_nonce", "card_type", "last_4", "expiration_month",
                "expiration_year", "is_default", "updated_at",
            ]
        )
    logger.info("Payment method %s stored (%s ending %s)", method_id, method.card_type, method.last_4)
    return method


def _record_failed(method_id, *, reason, error_codes):
    """Take the lock and fail a pending method: nothing was stored, the nonce is dropped."""
    with transaction.atomic():
        method = PaymentMethod.objects.select_for_update().get(pk=method_id)
        if method.status != PaymentMethodStatus.PENDING:
            return method
        method.status = PaymentMethodStatus.FAILED
        method.payment_method_nonce = ""
        method.failure_reason = reason
        method.error_codes = error_codes
        method.save(update_fields=["status", "payment_method_nonce", "failure_reason", "error_codes", "updated_at"])
    logger.info("Payment method %s not stored: %s", method_id, reason)
    return method


def payment_method_give_up(*, payment_method_id, reason):
    """The store task ran out of retries: the method stays pending for the reconciler to re-send.

    Failing it here could be wrong (the gateway may have stored it); the reconciler's next store
    finds the token if so, and fails the method after PAYMENTS_MAX_CLAIMS attempts if not.
    """
    logger.warning("Payment method %s: store gave up, left pending for the reconciler: %s", payment_method_id, reason)
