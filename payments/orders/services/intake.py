"""Order intake: store a new order once per Idempotency-Key and dispatch its charge after commit."""

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction

from payments.core.dispatch import order_dispatch
from payments.core.exceptions import (
    CurrencyWithoutMerchantAccount,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    PaymentMethodUnusable,
)
from payments.core.idempotency import try_lock_idempotency_key
from payments.core.statuses import PaymentMethodStatus
from payments.models import CaptureMode, Order, OrderEvent, PaymentMethod


@dataclass(frozen=True)
class OrderCreateResult:
    order: Order
    created: bool


def request_fingerprint(*, amount, currency, description, nonce, capture=CaptureMode.AUTOMATIC):
    """What makes two requests with one Idempotency-Key "the same request" (12.3 equals 12.30)."""
    fields = [str(Decimal(amount).quantize(Decimal("0.01"))), currency, description, nonce]
    if capture != CaptureMode.AUTOMATIC:
        # Only when not the default, so the fingerprints stored before the field still match.
        fields.append(str(capture))
    canonical = json.dumps(fields, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def order_create(
    *,
    owner,
    amount,
    nonce="",
    currency="USD",
    description="",
    idempotency_key=None,
    capture=CaptureMode.AUTOMATIC,
    payment_method_id=None,
):
    """Store a new order and dispatch its charge after commit; replays an idempotent request.

    `capture="manual"` only authorizes at the sale: the order rests in `authorized` until captured.

    Raises `CurrencyWithoutMerchantAccount` (nothing stored) for a currency that no configured
    merchant account charges in: the API refuses it first, this guards every other caller.
    """
    merchant_account_id = merchant_account_for(currency)
    payment_method = _payment_method_of(owner, payment_method_id) if payment_method_id is not None else None
    fingerprint = request_fingerprint(
        amount=amount,
        currency=currency,
        description=description,
        # A saved method stands where the nonce stood, so a replay naming another method differs.
        nonce=f"payment_method:{payment_method.pk}" if payment_method is not None else nonce,
        capture=capture,
    )
    try:
        with transaction.atomic():
            # Under the key's lock a conflicting insert can only be a finished request with the
            # same key: the insert itself finds it (IntegrityError, handled below), so the
            # common case, a new key, needs no lookup first.
            if idempotency_key is not None and not try_lock_idempotency_key(owner.pk, idempotency_key):
                raise IdempotencyKeyInFlight()
            order = Order.objects.create(
                owner=owner,
                amount=amount,
                currency=currency,
                merchant_account_id=merchant_account_id,
                description=description,
                payment_method_nonce=nonce,
                idempotency_key=idempotency_key,
                request_fingerprint=fingerprint,
                capture=capture,
                payment_method=payment_method,
            )
            if payment_method is not None:
                _payment_method_check(payment_method.pk)
            OrderEvent.objects.create(order=order, action=OrderEvent.Action.CREATE, to_status=order.status)
            order_id = order.pk
            transaction.on_commit(lambda: order_dispatch(order_id))
    except IntegrityError:
        # The unique (owner, idempotency_key) constraint: a replay of a finished request (or,
        # without advisory locks, a lost race). The transaction rolled back: nothing was stored.
        existing = (
            Order.objects.filter(owner=owner, idempotency_key=idempotency_key).first()
            if idempotency_key is not None
            else None
        )
        if existing is None:
            raise
        return _replay(existing, fingerprint)
    return OrderCreateResult(order=order, created=True)


# Why a saved payment method cannot be charged, by its status.
PAYMENT_METHOD_UNUSABLE = {
    PaymentMethodStatus.PENDING: "This payment method is still being stored; wait until it is active.",
    PaymentMethodStatus.FAILED: "This payment method could not be stored (see its failure_reason).",
    PaymentMethodStatus.DELETED: "This payment method was deleted.",
}


def _payment_method_of(owner, payment_method_id):
    """The owner's saved method; another user's answers like an unknown id, so ids cannot be probed."""
    method = PaymentMethod.objects.filter(pk=payment_method_id, customer__owner=owner).first()
    if method is None:
        raise PaymentMethodUnusable("No payment method with this id.")
    return method


def _payment_method_check(payment_method_id):
    """Refuse (rolling the insert back) an order on a method that is not active.

    After the insert: the order's foreign key holds a KEY SHARE lock on the method's row until
    commit, which waits for, or holds off, the FOR UPDATE of a concurrent delete. So an order is
    either accepted before the delete or refused here, and orders on one method never wait for
    each other. A replay of a finished request never gets here: its insert fails first (IntegrityError).
    """
    status = PaymentMethod.objects.filter(pk=payment_method_id).values_list("status", flat=True).first()
    if status != PaymentMethodStatus.ACTIVE:
        raise PaymentMethodUnusable(PAYMENT_METHOD_UNUSABLE.get(status, "No payment method with this id."))


def merchant_account_for(currency):
    """The merchant account that charges `currency` (BRAINTREE_MERCHANT_ACCOUNTS)."""
    try:
        return settings.BRAINTREE_MERCHANT_ACCOUNTS[currency]
    except KeyError:
        raise CurrencyWithoutMerchantAccount(currency) from None


def _replay(order, fingerprint):
    if order.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return OrderCreateResult(order=order, created=False)
