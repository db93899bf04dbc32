"""Reads of refunds and webhook notifications. Nothing here writes."""

from payments.models import Refund


def refund_list_for_order(*, order):
    """The order's refunds, oldest first."""
    return Refund.objects.filter(order=order).select_related("order").order_by("created_at", "id")


def refund_get_for_order(*, order, refund_id):
    """The order's refund, or None."""
    return Refund.objects.filter(order=order, pk=refund_id).select_related("order").first()
