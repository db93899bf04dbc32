"""Reads of orders. Nothing here writes."""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from payments.core.statuses import ACTIVE_STATUSES, OrderStatus
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


def order_list_visible_to(*, user, status=None):
    """The orders `user` may read: staff see everyone's (support, the browsable API), others their own."""
    if user.is_staff:
        orders = Order.objects.all()
        if status is not None:
            orders = orders.filter(status=status)
        return orders.order_by("-created_at", "-id")
    return order_list_for_owner(owner=user, status=status)


def order_get_visible_to(*, user, order_id):
    """One order `user` may read, or None (for a non-staff user, only their own)."""
    if user.is_staff:
        return Order.objects.filter(pk=order_id).first()
    return order_get_for_owner(owner=user, order_id=order_id)


def orders_stuck(*, pending_after_seconds, processing_after_seconds, limit, now=None):
    """Active orders nobody has moved for a while: pending ones, and processing ones whose lease expired.

    The `status IN (pending, processing)` filter matches the partial index `order_active_by_age`,
    so the query reads only the few active rows however large the table grows.
    """
    now = now or timezone.now()
    lease_expired = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)
    return (
        Order.objects.filter(status__in=ACTIVE_STATUSES)
        .filter(
            Q(status=OrderStatus.PENDING, updated_at__lt=now - timedelta(seconds=pending_after_seconds))
            | (
                Q(status=OrderStatus.PROCESSING, updated_at__lt=now - timedelta(seconds=processing_after_seconds))
                & lease_expired
            )
        )
        .order_by("updated_at")
        .only("id", "status", "transaction_id", "updated_at")[:limit]
    )


def orders_in_doubt(*, recheck_after_seconds, window_seconds, limit, now=None):
    """Orders parked in needs_review with no recorded sale, young enough for a late sale to land.

    A sale whose answer never came (timeout, a key still in flight) can commit at the gateway
    after the worker's retries ran out. Rechecking these orders keeps such a charge from being
    orphaned. The partial index `order_in_review_by_age` holds only these (rare) rows.
    """
    now = now or timezone.now()
    return (
        Order.objects.filter(
            status=OrderStatus.NEEDS_REVIEW,
            transaction_id__isnull=True,
            updated_at__lt=now - timedelta(seconds=recheck_after_seconds),
            created_at__gte=now - timedelta(seconds=window_seconds),
        )
        .order_by("updated_at")
        .only("id", "status", "updated_at")[:limit]
    )
