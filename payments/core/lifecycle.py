"""The order state machine: the allowed moves, the row lock, the one transition helper, events.

Names say who holds the row lock: `order_lock(order_id)` takes it, inside the caller's
`transaction.atomic()`; a `*_locked(order, ...)` helper expects an order fetched that way. No
network call happens while the lock is held: gateway calls run between two short transactions.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from payments.core.exceptions import IllegalTransition
from payments.core.logs import log_transition
from payments.core.metrics import order_final_observe
from payments.core.statuses import AFTER_SALE_MOVES, FINAL_STATUSES, OrderStatus
from payments.models import LastSaleOutcome, Order, OrderEvent

Action = OrderEvent.Action
Outcome = OrderEvent.Outcome

# The person on whose behalf events are being written (an admin action), else None. A context
# variable rather than a parameter: an admin action runs the same services as the workers
# (search, verify, transitions), and every event they append must name the person.
_actor = ContextVar("payments_event_actor", default=None)


@contextmanager
def acting_as(user):
    """Every event appended inside the block records `user` as its actor."""
    token = _actor.set(user)
    try:
        yield
    finally:
        _actor.reset(token)


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
# After the sale: refunds and settlement move a paid order forward, never back.
ALLOWED_TRANSITIONS[OrderStatus.PAID] |= {
    OrderStatus.PARTIALLY_REFUNDED,
    OrderStatus.REFUNDED,
    OrderStatus.SETTLEMENT_DECLINED,
}
ALLOWED_TRANSITIONS[OrderStatus.PARTIALLY_REFUNDED] = {OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED}
ALLOWED_TRANSITIONS[OrderStatus.REFUNDED] = set()
ALLOWED_TRANSITIONS[OrderStatus.SETTLEMENT_DECLINED] = set()
# Manual capture: verify rests a sold order in `authorized` (or finds its authorization expired
# already); the merchant's capture makes it paid, a cancel or the gateway's expiry ends it.
ALLOWED_TRANSITIONS[OrderStatus.PROCESSING] |= {OrderStatus.AUTHORIZED, OrderStatus.AUTHORIZATION_EXPIRED}
ALLOWED_TRANSITIONS[OrderStatus.NEEDS_REVIEW] |= {OrderStatus.AUTHORIZED, OrderStatus.AUTHORIZATION_EXPIRED}
ALLOWED_TRANSITIONS[OrderStatus.AUTHORIZED] = set(AFTER_SALE_MOVES[OrderStatus.AUTHORIZED])
ALLOWED_TRANSITIONS[OrderStatus.CANCELED] = set()
ALLOWED_TRANSITIONS[OrderStatus.AUTHORIZATION_EXPIRED] = set()


def order_lock(order_id):
    """The order row, locked until the caller's `transaction.atomic()` block ends."""
    return Order.objects.select_for_update().get(pk=order_id)


def transition_locked(order, to_status, *, outcome, action=Action.TRANSITION, detail=None, earlier=(), **fields):
    """Move a locked order to `to_status`, saving `fields`, and append the event row.

    `earlier` are unsaved rows (`event_row`, `transition_row`) of what happened before the move, a
    gateway call whose answer decided it: they are inserted with the transition's row in one
    statement, so the move is one UPDATE and one INSERT. Raises IllegalTransition (and changes
    nothing) for a move ALLOWED_TRANSITIONS does not list.
    """
    check_move(order, to_status)
    for name, value in fields.items():
        setattr(order, name, value)
    transition = _moved_row(order, to_status, outcome=outcome, action=action, detail=detail)
    order.save(update_fields=["status", "updated_at", *fields])
    OrderEvent.objects.bulk_create([*earlier, transition])
    return order


def check_move(order, to_status):
    """Raise IllegalTransition for a move ALLOWED_TRANSITIONS does not list."""
    if to_status not in ALLOWED_TRANSITIONS[order.status]:
        raise IllegalTransition(f"Order {order.pk} cannot move from {order.status} to {to_status}.")


def transition_row(order, to_status, *, outcome, action=Action.TRANSITION, detail=None):
    """Move a locked order to `to_status` in memory only, log it, and return the move's unsaved row.

    For a move that a later `transition_locked` in the same transaction saves together with its
    own (one UPDATE and one INSERT for both).
    """
    check_move(order, to_status)
    return _moved_row(order, to_status, outcome=outcome, action=action, detail=detail)


def _moved_row(order, to_status, *, outcome, action, detail):
    # The move itself, once `check_move` allowed it.
    from_status, order.status = order.status, to_status
    log_transition(order, from_status, to_status, outcome=outcome, action=action)
    return OrderEvent(
        order=order,
        action=action,
        from_status=from_status,
        to_status=to_status,
        outcome=outcome,
        transaction_id=order.transaction_id or "",
        detail=detail or {},
        actor=_actor.get(),
    )


def order_end_locked(
    order, to_status, *, outcome, reason="", action=Action.TRANSITION, detail=None, earlier=(), **fields
):
    """End the work on a locked order: paid, failed, or parked in needs_review for a human.

    Every ending drops the lease and says why in `failure_reason`; a final order also drops its
    nonce (a spent or spendable credential is not kept), while a parked one keeps it so that an
    admin re-queue can still sell.
    """
    if to_status in FINAL_STATUSES:
        fields["payment_method_nonce"] = ""
        # After the commit, so a rolled-back ending is never counted.
        transaction.on_commit(lambda: order_final_observe(order))
    return transition_locked(
        order,
        to_status,
        outcome=outcome,
        action=action,
        detail=detail,
        earlier=earlier,
        failure_reason=reason[:255],
        # An ended order no longer waits for anything.
        status_detail="",
        lease_expires_at=None,
        **fields,
    )


def order_park(order_id, *, reason):
    """Take the lock and park a non-final order in needs_review; a final order is left alone."""
    with transaction.atomic():
        order = order_lock(order_id)
        if OrderStatus.NEEDS_REVIEW not in ALLOWED_TRANSITIONS[order.status]:
            return order
        return order_end_locked(order, OrderStatus.NEEDS_REVIEW, outcome=Outcome.PARKED, reason=reason)


def event_row(order, action, *, outcome, transaction_id="", detail=None):
    """An unsaved event that changes no status (a gateway call, a re-queue), naming the order's status now."""
    return OrderEvent(
        order=order,
        action=action,
        from_status=order.status,
        to_status=order.status,
        outcome=outcome,
        transaction_id=transaction_id or "",
        detail=detail or {},
        actor=_actor.get(),
    )


def event_record(order, action, *, outcome, transaction_id="", detail=None):
    """Append an event that changes no status (a gateway call, a re-queue); needs no lock."""
    event_row(order, action, outcome=outcome, transaction_id=transaction_id, detail=detail).save()


def sale_event_row(order, outcome, *, transaction_id="", detail=None):
    """The unsaved event of one sale call; the caller saves `last_sale_outcome=outcome` with it."""
    return event_row(order, Action.SALE, outcome=Outcome(str(outcome)), transaction_id=transaction_id, detail=detail)


def sale_event_record(order, outcome, *, transaction_id="", detail=None):
    """Append the event of one sale call and remember its outcome on the order, atomically.

    For a sale whose answer decides nothing yet (no answer at all, or one that needs a search).
    `last_sale_outcome` is what giving up decides on; the update goes first so that the row lock
    it takes orders concurrent writers' events the same way as their outcomes.
    """
    outcome = LastSaleOutcome(str(outcome))
    with transaction.atomic():
        Order.objects.filter(pk=order.pk).update(last_sale_outcome=outcome)
        order.last_sale_outcome = outcome
        sale_event_row(order, outcome, transaction_id=transaction_id, detail=detail).save()


def lease_is_live(order, now):
    return order.lease_expires_at is not None and order.lease_expires_at > now


def lease_from_now(now=None):
    return (now or timezone.now()) + timedelta(seconds=settings.PAYMENTS_CLAIM_LEASE_SECONDS)


def sale_fields(txn):
    """The order columns that record a gateway transaction."""
    return {
        "transaction_id": txn.id,
        "gateway_status": txn.status,
        "processor_response_code": txn.processor_response_code,
        "processor_response_text": txn.processor_response_text[:255],
    }
