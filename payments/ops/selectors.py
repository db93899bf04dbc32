"""Reads for operators: the ops dashboard (`/`) and the Prometheus collector read these, nothing else.

Every query here is bounded by an index, so a refresh costs the same at a thousand orders as at a
million (docs/how-to/dashboard.md):
- counts by status: one GROUP BY over the index `order_status_by_age` (status, updated_at),
  answered by an index-only scan, and cached for PAYMENTS_OPS_COUNTS_CACHE_SECONDS in the
  shared cache so that many dashboards and scrapes cost one count per interval;
- the oldest active order: the partial index `order_active_by_age` holds only pending and
  processing rows, however many settled orders the table has;
- throughput and the needs_review queue: ranges of `order_status_by_age` in a bounded window;
- recent gateway errors: the partial index `orderevent_gateway_errors` holds only those events.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Min
from django.db.models.functions import TruncMinute
from django.utils import timezone

from payments.core.statuses import ACTIVE_STATUSES, FINAL_STATUSES, OrderStatus
from payments.models import OpsHeartbeat, Order, OrderEvent

# Gateway answers that mean the gateway, not the customer's card, went wrong.
GATEWAY_ERROR_OUTCOMES = (OrderEvent.Outcome.UNAVAILABLE, OrderEvent.Outcome.PROCESSOR_FAILED)
RECONCILER_HEARTBEAT = "reconciler"
# The queues the service's workers consume (CELERY_TASK_ROUTES and the default queue).
OPS_QUEUES = ("payments", "default", "maintenance")
_COUNTS_CACHE_KEY = "payments:ops:order-counts"
# Statuses whose rows stay few however large the table grows: counted fresh on every read.
_FEW_STATUSES = (*ACTIVE_STATUSES, OrderStatus.NEEDS_REVIEW)


@dataclass(frozen=True)
class OpsSnapshot:
    counts: dict
    oldest_active_age_seconds: float | None
    reconciler_last_run: datetime | None
    queue_depths: dict


def order_counts_by_status():
    """{status: count} for every status (zeros included).

    The statuses an operator acts on (pending, processing, needs_review) are counted on every
    call: they are few rows, read as index-only ranges of `order_status_by_age`. Paid and failed
    grow without bound, so their GROUP BY (about 0.1 s at a million orders) is shared through the
    cache for PAYMENTS_OPS_COUNTS_CACHE_SECONDS.
    """
    ttl = settings.PAYMENTS_OPS_COUNTS_CACHE_SECONDS
    counts = cache.get(_COUNTS_CACHE_KEY) if ttl else None
    if counts is None:
        counts = dict.fromkeys(OrderStatus.values, 0)
        counts.update(_counts(Order.objects.all()))
        if ttl:
            cache.set(_COUNTS_CACHE_KEY, counts, ttl)
    fresh = dict.fromkeys(_FEW_STATUSES, 0)
    fresh.update(_counts(Order.objects.filter(status__in=_FEW_STATUSES)))
    return {**counts, **fresh}


def _counts(orders):
    return dict(orders.order_by().values_list("status").annotate(n=Count("*")))


def oldest_active_order_age_seconds(*, now=None):
    """Seconds since the oldest pending or processing order was created; None when there is none."""
    now = now or timezone.now()
    oldest = Order.objects.filter(status__in=ACTIVE_STATUSES).aggregate(oldest=Min("created_at"))["oldest"]
    return None if oldest is None else max(0.0, (now - oldest).total_seconds())


def finals_per_minute(*, minutes, now=None):
    """[(minute, {paid: n, failed: n})] for the last `minutes` minutes, oldest first, zeros included."""
    now = now or timezone.now()
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=minutes - 1)
    rows = (
        Order.objects.filter(status__in=FINAL_STATUSES, updated_at__gte=start)
        .annotate(minute=TruncMinute("updated_at"))
        .order_by()
        .values_list("minute", "status")
        .annotate(n=Count("*"))
    )
    buckets = {start + timedelta(minutes=i): dict.fromkeys(sorted(FINAL_STATUSES), 0) for i in range(minutes)}
    for minute, status, n in rows:
        if minute in buckets:
            buckets[minute][status] = n
    return sorted(buckets.items())


def orders_needing_review(*, limit):
    """The oldest parked orders first: the queue a human works through."""
    return (
        Order.objects.filter(status=OrderStatus.NEEDS_REVIEW)
        .order_by("updated_at")
        .only("id", "amount", "currency", "failure_reason", "created_at", "updated_at")[:limit]
    )


def gateway_errors_recent(*, since_seconds, limit, now=None):
    """The latest gateway calls that got no answer or a processor failure, newest first."""
    now = now or timezone.now()
    return (
        OrderEvent.objects.filter(
            outcome__in=GATEWAY_ERROR_OUTCOMES, created_at__gte=now - timedelta(seconds=since_seconds)
        )
        .order_by("-created_at")
        .only("order_id", "action", "outcome", "detail", "created_at")[:limit]
    )


def reconciler_last_run():
    """When the reconciler task last finished a run (written by the worker), or None."""
    return OpsHeartbeat.objects.filter(name=RECONCILER_HEARTBEAT).values_list("last_run_at", flat=True).first()


def ops_snapshot_for_metrics():
    """The state gauges of /metrics; the dashboard shows the same numbers."""
    return OpsSnapshot(
        counts=order_counts_by_status(),
        oldest_active_age_seconds=oldest_active_order_age_seconds(),
        reconciler_last_run=reconciler_last_run(),
        queue_depths=queue_depths(OPS_QUEUES, timeout=settings.PAYMENTS_OPS_BROKER_TIMEOUT_SECONDS),
    )


def queue_depths(queues, *, timeout):
    """{queue: messages waiting} from the broker (a passive declare), or {queue: None} if it cannot say.

    Bounded by `timeout` seconds for the connection and each call, so a down broker makes the
    dashboard say "unknown" instead of hanging its refresh.
    """
    from celery_app import app

    depths = dict.fromkeys(queues)
    # A fresh, short-timeout connection (as /healthz does): a pooled one may look alive while the
    # broker behind it is gone, and the app's own options are sized for publishing.
    options = {"socket_connect_timeout": timeout, "socket_timeout": timeout, "max_retries": 0}
    try:
        with app.connection_for_write(connect_timeout=timeout, transport_options=options) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2 * timeout)
            for queue in queues:
                channel = conn.channel()
                try:
                    depths[queue] = channel.queue_declare(queue=queue, passive=True).message_count
                except conn.channel_errors:
                    # AMQP closes the channel for a queue nobody declared yet: it holds nothing.
                    depths[queue] = 0
                finally:
                    channel.close()
    except Exception:  # noqa: BLE001 - kombu raises transport-specific errors; all mean "unknown"
        return dict.fromkeys(queues)
    return depths
