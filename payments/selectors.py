"""Reads of orders. Nothing here writes."""

from payments.models import Order


def order_list_for_owner(*, owner, status=None):
    """The owner's orders, newest first, optionally of one public status."""
    orders = Order.objects.filter(owner=owner)
    if status is not None:
        orders = orders.filter(status=status)
    return orders.order_by("-created_at", "-id")


def order_get_for_owner(*, owner, order_id):
    """The owner's order, or None: someone else's order is indistinguishable from a missing one."""
    return Order.objects.filter(owner=owner, pk=order_id).first()
