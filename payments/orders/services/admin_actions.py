"""What the order admin's actions do: re-queue an order, or re-verify it with the gateway now."""

from django.db import transaction

from payments.core.dispatch import order_dispatch_next
from payments.core.exceptions import IllegalTransition
from payments.core.lifecycle import Action, Outcome, acting_as, event_record, order_lock, sale_fields, transition_locked
from payments.core.statuses import SALE_DECIDED_STATUSES, OrderStatus
from payments.models import Order
from payments.orders.services.charge import paid_sale_search
from payments.orders.services.verify import sale_verify


def order_requeue(*, order_id, actor=None):
    """Admin action: dispatch the order's next task again; a parked order gets a fresh claim budget.

    `actor` (the admin user) is recorded on the events the action appends.
    """
    with acting_as(actor):
        return _order_requeue(order_id)


def _order_requeue(order_id):
    with transaction.atomic():
        order = order_lock(order_id)
        if order.status in SALE_DECIDED_STATUSES:
            raise IllegalTransition(f"Order {order.pk} is {order.status}; it cannot be re-queued.")
        if order.status == OrderStatus.NEEDS_REVIEW:
            # Resetting claims is safe: `ever_claimed` stays set, so the next claim searches first.
            transition_locked(
                order,
                OrderStatus.PROCESSING,
                action=Action.REQUEUE,
                outcome=Outcome.ADMIN_REQUEUE,
                claims=0,
                lease_expires_at=None,
                # Back in the works: nothing has failed (yet) on this attempt.
                failure_reason="",
                status_detail="Re-queued by an admin.",
            )
        else:
            event_record(order, Action.REQUEUE, outcome=Outcome.ADMIN_REQUEUE)
        transaction.on_commit(lambda: order_dispatch_next(order))
    return order


def order_reverify(*, order_id, actor=None):
    """Admin action: ask the gateway now and settle the order from what it says.

    An order without a transaction id is looked up by order_id first, so a sale whose answer
    was lost can be adopted. `actor` (the admin user) is recorded on the events it appends.
    """
    with acting_as(actor):
        return _order_reverify(order_id)


def _order_reverify(order_id):
    order = Order.objects.get(pk=order_id)
    if order.status in SALE_DECIDED_STATUSES:
        raise IllegalTransition(f"Order {order.pk} is {order.status}; there is nothing to re-verify.")
    if not order.transaction_id:
        existing = paid_sale_search(order)
        if existing is None:
            return order
        with transaction.atomic():
            order = order_lock(order_id)
            if order.status in SALE_DECIDED_STATUSES:
                return order
            if not order.transaction_id:
                transition_locked(
                    order,
                    OrderStatus.PROCESSING,
                    outcome=Outcome.SALE_ADOPTED,
                    payment_method_nonce="",
                    failure_reason="",
                    **sale_fields(existing),
                )
    return sale_verify(order, allowed_from=(OrderStatus.PROCESSING, OrderStatus.NEEDS_REVIEW))
