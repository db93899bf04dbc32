"""Order intake: store a new order once per Idempotency-Key and dispatch its charge after commit."""

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction

from payments.core.dispatch import order_dispatch
from payments.core.exceptions import CurrencyWithoutMerchantAccount, IdempotencyKeyInFlight, IdempotencyKeyReused
from payments.core.idempotency import try_lock_idempotency_key
from payments.models import Order, OrderEvent


@dataclass(frozen=True)
class OrderCreateResult:
    order: Order
    created: bool


def request_fingerprint(*, amount, currency, description, nonce):
    """What makes two requests with one Idempotency-Key "the same request" (12.3 equals 12.30)."""
    canonical = json.dumps(
        [str(Decimal(amount).quantize(Decimal("0.01"))), currency, description, nonce],
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def order_create(*, owner, amount, nonce, currency="USD", description="", idempotency_key=None):
    """Store a new order and dispatch its charge after commit; replays an idempotent request.

    Raises `CurrencyWithoutMerchantAccount` (nothing stored) for a currency that no configured
    merchant account charges in: the API refuses it first, this guards every other caller.
    """
    merchant_account_id = merchant_account_for(currency)
    fingerprint = request_fingerprint(amount=amount, currency=currency, description=description, nonce=nonce)
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
            )
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
