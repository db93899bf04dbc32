"""Every state change of an order happens here, in short transactions with no network I/O."""

import hashlib
import json
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction

from payments.exceptions import IdempotencyKeyInFlight, IdempotencyKeyReused, IllegalTransition
from payments.models import Order, OrderAttempt, OrderStatus

logger = logging.getLogger(__name__)

# The only moves the lifecycle allows; anything else raises IllegalTransition.
ALLOWED_TRANSITIONS = {
    OrderStatus.PENDING: {OrderStatus.PROCESSING, OrderStatus.FAILED, OrderStatus.NEEDS_REVIEW},
    OrderStatus.PROCESSING: {
        OrderStatus.PROCESSING,
        OrderStatus.PAID,
        OrderStatus.FAILED,
        OrderStatus.NEEDS_REVIEW,
    },
    OrderStatus.NEEDS_REVIEW: {OrderStatus.PROCESSING, OrderStatus.PAID, OrderStatus.FAILED},
    OrderStatus.PAID: set(),
    OrderStatus.FAILED: set(),
}


@dataclass(frozen=True)
class OrderCreateResult:
    order: Order
    created: bool


def _fingerprint(*, amount, currency, description, nonce):
    canonical = json.dumps(
        [str(Decimal(amount).quantize(Decimal("0.01"))), currency, description, nonce],
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _try_lock_idempotency_key(owner_id, key):
    """Take a transaction-scoped advisory lock on (owner, key); False if another request holds it.

    This is what tells "the first request with this key is still running" (409) apart from a
    replay of a finished one. SQLite (the `make run` default) has no advisory locks and serialises
    writers anyway, so there the unique constraint alone decides.
    """
    if connection.vendor != "postgresql":
        return True
    digest = hashlib.blake2b(f"{owner_id}:{key}".encode(), digest_size=8).digest()
    lock_id = int.from_bytes(digest, "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [lock_id])
        return cursor.fetchone()[0]


def order_create(*, owner, amount, nonce, currency="USD", description="", idempotency_key=None):
    """Store a new order and dispatch its charge after commit; replays an idempotent request."""
    fingerprint = _fingerprint(amount=amount, currency=currency, description=description, nonce=nonce)
    try:
        with transaction.atomic():
            if idempotency_key is not None:
                if not _try_lock_idempotency_key(owner.pk, idempotency_key):
                    raise IdempotencyKeyInFlight()
                existing = Order.objects.filter(owner=owner, idempotency_key=idempotency_key).first()
                if existing is not None:
                    return _replay(existing, fingerprint)
            order = Order.objects.create(
                owner=owner,
                amount=amount,
                currency=currency,
                description=description,
                payment_method_nonce=nonce,
                idempotency_key=idempotency_key,
                request_fingerprint=fingerprint,
            )
            OrderAttempt.objects.create(
                order=order, action=OrderAttempt.Action.CREATE, to_status=order.status
            )
            order_id = order.pk
            transaction.on_commit(lambda: order_dispatch(order_id))
    except IntegrityError:
        # Lost a race on the unique (owner, idempotency_key) constraint without advisory locks.
        if idempotency_key is None:
            raise
        existing = Order.objects.get(owner=owner, idempotency_key=idempotency_key)
        return _replay(existing, fingerprint)
    return OrderCreateResult(order=order, created=True)


def _replay(order, fingerprint):
    if order.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return OrderCreateResult(order=order, created=False)


def order_dispatch(order_id):
    """Publish the charge task; a broker failure is logged, never raised.

    The order row is the outbox: an order that could not be published stays `pending` and the
    reconciler dispatches it later, so the API can answer 202 whatever the broker's state.
    """
    from payments.tasks import charge_order_task

    try:
        charge_order_task.apply_async(args=[str(order_id)])
    except Exception:
        logger.warning("Could not publish charge of order %s; the reconciler will", order_id, exc_info=True)
        return False
    return True


def _transition(order, to_status, *, action=OrderAttempt.Action.TRANSITION, outcome="", detail=None, **fields):
    """Move a locked order to `to_status`, saving `fields`, and append the audit row.

    Call inside `transaction.atomic()` with `order` fetched by `select_for_update()`.
    """
    from_status = order.status
    if to_status not in ALLOWED_TRANSITIONS[from_status]:
        raise IllegalTransition(f"Order {order.pk} cannot move from {from_status} to {to_status}.")
    order.status = to_status
    for name, value in fields.items():
        setattr(order, name, value)
    order.save(update_fields=["status", "updated_at", *fields])
    OrderAttempt.objects.create(
        order=order,
        action=action,
        from_status=from_status,
        to_status=to_status,
        outcome=outcome,
        transaction_id=order.transaction_id or "",
        detail=detail or {},
    )
    return order
