"""Reads of orders. Nothing here writes."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Max, Q
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


# Reading other people's orders (support, the browsable API, the ops dashboard) is this model
# permission, granted per user or group in the admin; being staff alone grants nothing.
VIEW_ANY_ORDER = "payments.view_order"


def may_view_any_order(user):
    """Whether `user` may read every order, not only their own (superusers hold every permission)."""
    return user.has_perm(VIEW_ANY_ORDER)


def order_list_visible_to(*, user, status=None):
    """The orders `user` may read: everyone's with `payments.view_order`, else their own."""
    if may_view_any_order(user):
        orders = Order.objects.all()
        if status is not None:
            orders = orders.filter(status=status)
        return orders.order_by("-created_at", "-id")
    return order_list_for_owner(owner=user, status=status)


def order_get_visible_to(*, user, order_id):
    """One order `user` may read, or None (without `payments.view_order`, only their own)."""
    if may_view_any_order(user):
        return Order.objects.filter(pk=order_id).first()
    return order_get_for_owner(owner=user, order_id=order_id)


def orders_stuck(*, pending_after_seconds, processing_after_seconds, limit, now=None):
    """Active orders nobody is moving: pending ones whose message is gone, processing ones without a holder.

    A pending order is stuck once idle `pending_after_seconds`, or sooner once it was overtaken:
    orders dispatched after it have already been claimed (`orders_claim_frontier`), so its message
    is no longer in the queue ahead of them (its publish failed, or a worker took it and died
    before claiming it). A pending order that waits behind a backlog is never overtaken, so a
    backlog is not sent twice.

    A processing order without a lease was released for a retry that is on its way (or sold, its
    verify on its way): it is stuck once idle `processing_after_seconds`. One whose lease has
    lapsed lost its holder (a live holder renews it, payments/core/leases.py): it is stuck at once.

    The `status IN (pending, processing)` filter matches the partial index `order_active_by_age`,
    so the query reads only the few active rows however large the table grows.
    """
    now = now or timezone.now()
    pending = Q(status=OrderStatus.PENDING, updated_at__lt=now - timedelta(seconds=pending_after_seconds))
    frontier = orders_claim_frontier(since=now - timedelta(seconds=pending_after_seconds))
    if frontier is not None:
        # Its last dispatch (creation, or the reconciler's re-send: updated_at) came before the
        # frontier by more than a publish can take, and long enough ago for any worker to claim.
        dispatched_before = min(now - timedelta(seconds=OVERTAKEN_AFTER_SECONDS),
                                frontier - timedelta(seconds=settings.PAYMENTS_PUBLISH_TIMEOUT_SECONDS + 1))
        pending |= Q(status=OrderStatus.PENDING, updated_at__lt=dispatched_before)
    return (
        Order.objects.filter(status__in=ACTIVE_STATUSES)
        .filter(
            pending
            | Q(
                status=OrderStatus.PROCESSING,
                lease_expires_at__isnull=True,
                updated_at__lt=now - timedelta(seconds=processing_after_seconds),
            )
            | Q(status=OrderStatus.PROCESSING, lease_expires_at__lte=now)
        )
        .order_by("updated_at")
        .only("id", "status", "transaction_id", "updated_at")[:limit]
    )


# A pending order overtaken this long ago is stuck: far longer than a worker takes from
# receiving a message to claiming its order, so the order's own message is not on its way.
OVERTAKEN_AFTER_SECONDS = 5
# Where a claim moves an order from pending (after-sale statuses come later, from other paths).
CLAIMED_STATUSES = (
    OrderStatus.PROCESSING,
    OrderStatus.PAID,
    OrderStatus.FAILED,
    OrderStatus.NEEDS_REVIEW,
    # A manual-capture order's sale ends in these instead of paid.
    OrderStatus.AUTHORIZED,
    OrderStatus.AUTHORIZATION_EXPIRED,
)


def orders_claim_frontier(*, since):
    """The creation time of the newest order claimed (left pending) since `since`, or None.

    Orders are created, then published, in one queue that workers take in order: an order created
    before this one and still pending, its message published first, should have been taken first.
    A creation time is the earliest its order can have been published, so the frontier never
    runs ahead of the queue. Reads `order_status_by_age` ranges of the orders that moved recently.
    """
    return (
        Order.objects.filter(status__in=CLAIMED_STATUSES, updated_at__gte=since)
        .aggregate(frontier=Max("created_at"))["frontier"]
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


def orders_decision_stuck(*, idle_seconds, limit, now=None):
    """Authorized orders asked to capture or cancel, idle `idle_seconds` with no live claim.

    Their task was lost (a publish that failed, a broker that dropped it) or gave up on a
    database outage: the decision is recorded, so sending the task again is all they need.
    """
    now = now or timezone.now()
    return (
        Order.objects.filter(status=OrderStatus.AUTHORIZED, updated_at__lt=now - timedelta(seconds=idle_seconds))
        .exclude(authorization_decision="")
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
        .order_by("updated_at")
        .only("id", "authorization_decision", "updated_at")[:limit]
    )


def orders_authorization_lapsed(*, recheck_after_seconds, limit, now=None):
    """Authorized orders whose authorization the gateway said expires by now, not asked about lately.

    Reads the partial index `order_authorized_by_expiry`; `settlement_checked_at` spaces the
    questions about one order (a gateway clock a little behind ours answers "authorized" still).
    """
    now = now or timezone.now()
    return (
        Order.objects.filter(status=OrderStatus.AUTHORIZED, authorization_expires_at__lte=now)
        .filter(
            Q(settlement_checked_at__isnull=True)
            | Q(settlement_checked_at__lt=now - timedelta(seconds=recheck_after_seconds))
        )
        .order_by("authorization_expires_at")
        .only("id", "transaction_id", "authorization_expires_at")[:limit]
    )
