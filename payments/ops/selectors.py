"""Reads for operators: the ops dashboard (`/`) and the Prometheus collector read these, nothing else.

Every query here is bounded by an index, so a refresh costs the same at a thousand orders as at a
million (docs/how-to/dashboard.md):
- counts by status: one GROUP BY over the index `order_status_by_age` (status, updated_at),
  answered by an index-only scan, and cached for PAYMENTS_OPS_COUNTS_CACHE_SECONDS in the
  shared cache so that many dashboards and scrapes cost one count per interval;
- the oldest active order: the partial index `order_active_by_age` holds only pending and
  processing rows, however many settled orders the table has;
- throughput and the needs_review queue: ranges of `order_status_by_age` in a bounded window;
- recent gateway errors: the partial index `orderevent_gateway_errors` holds only those events;
- money today: the day's paid transitions, a range of the event log's `created_at` index, and the
  day's succeeded refunds (a table a fraction of the orders' size);
- recent orders and their search: the newest rows of the primary ordering, or one exact match
  (id, id prefix, transaction id, amount or status);
- saved payment methods by status: cached like the orders' counts, pending ones (the partial index
  `pm_pending_by_age`) counted fresh;
- workers: one broadcast over the broker (`payments_worker_health`, payments/ops/liveness.py),
  bounded by PAYMENTS_OPS_BROKER_TIMEOUT_SECONDS; the database is not involved.
"""

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F, Min, Q, Sum
from django.db.models.functions import TruncMinute
from django.utils import timezone

from payments.core.statuses import ACTIVE_STATUSES, FINAL_STATUSES, OrderStatus, PaymentMethodStatus, RefundStatus
from payments.models import OpsHeartbeat, Order, OrderEvent, PaymentMethod, Refund

# Gateway answers that mean the gateway, not the customer's card, went wrong.
GATEWAY_ERROR_OUTCOMES = (OrderEvent.Outcome.UNAVAILABLE, OrderEvent.Outcome.PROCESSOR_FAILED)
RECONCILER_HEARTBEAT = "reconciler"
# The queues the service's workers consume (CELERY_TASK_ROUTES and the default queue).
OPS_QUEUES = ("payments", "default", "maintenance")
_COUNTS_CACHE_KEY = "payments:ops:order-counts"
_METHOD_COUNTS_CACHE_KEY = "payments:ops:payment-method-counts"
# Statuses whose rows stay few however large the table grows: counted fresh on every read.
_FEW_STATUSES = (*ACTIVE_STATUSES, OrderStatus.NEEDS_REVIEW)


@dataclass(frozen=True)
class OpsSnapshot:
    counts: dict
    oldest_active_age_seconds: float | None
    reconciler_last_run: datetime | None
    queue_depths: dict
    payment_method_counts: dict = field(default_factory=dict)


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


def payment_method_counts_by_status():
    """{status: count} of saved payment methods for every status (zeros included).

    Pending methods are few (a store takes a second) and counted on every call through the partial
    index `pm_pending_by_age`; the others grow with the customers, so their GROUP BY is shared
    through the cache for PAYMENTS_OPS_COUNTS_CACHE_SECONDS, as the orders' is.
    """
    ttl = settings.PAYMENTS_OPS_COUNTS_CACHE_SECONDS
    counts = cache.get(_METHOD_COUNTS_CACHE_KEY) if ttl else None
    if counts is None:
        counts = dict.fromkeys(PaymentMethodStatus.values, 0)
        counts.update(_counts(PaymentMethod.objects.all()))
        if ttl:
            cache.set(_METHOD_COUNTS_CACHE_KEY, counts, ttl)
    pending = PaymentMethod.objects.filter(status=PaymentMethodStatus.PENDING).count()
    return {**counts, PaymentMethodStatus.PENDING.value: pending}


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
        payment_method_counts=payment_method_counts_by_status(),
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


def gateway_errors_by_order(*, since_seconds, limit, now=None):
    """The orders whose gateway calls failed lately, newest first, each with its tries and last error.

    Returns dicts: order id, status, amount, currency, `errors` (failed calls in the window),
    `attempts` (the order's tries: its Celery tries and sale attempts), the last call, outcome,
    code (Braintree's 3000, or the SDK's error name for a call without an answer) and when.
    """
    events = list(gateway_errors_recent(since_seconds=since_seconds, limit=limit * 20, now=now))
    grouped = {}
    for event in events:  # newest first: the first seen is the order's latest error
        row = grouped.get(event.order_id)
        if row is None:
            row = grouped[event.order_id] = {
                "order_id": event.order_id,
                "call": event.action,
                "outcome": event.outcome,
                "code": _gateway_error_code(event),
                "at": event.created_at,
                "errors": 0,
            }
        row["errors"] += 1
    rows = list(grouped.values())[:limit]
    orders = Order.objects.in_bulk([row["order_id"] for row in rows])
    for row in rows:
        order = orders.get(row["order_id"])
        row["status"] = order.status if order else ""
        row["amount"] = order.amount if order else None
        row["currency"] = order.currency if order else ""
        # A processor "failed" (3000) moves the sale to its next attempt; a call without an answer
        # is retried by Celery under the same attempt: either way each error was one try.
        row["attempt"] = max(row["errors"], (order.sale_attempt + 1) if order else 0)
    return rows


_SDK_ERROR = re.compile(r"unavailable: (\w+)")


def _gateway_error_code(event):
    if event.outcome == OrderEvent.Outcome.PROCESSOR_FAILED:
        codes = (event.detail or {}).get("error_codes") or []
        return codes[0] if codes else "3000"
    found = _SDK_ERROR.search(str((event.detail or {}).get("error", "")))
    return found.group(1) if found else "no answer"


def money_today(*, now=None):
    """Paid and refunded since midnight (the current time zone), per currency: `{currency: {...}}`.

    Paid counts each order once, on the day its sale was recorded paid (its `-> paid` transition),
    whatever happened to it since; refunded sums the refunds and voids that succeeded today.
    """
    now = now or timezone.now()
    start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    paid = (
        OrderEvent.objects.filter(created_at__gte=start, to_status=OrderStatus.PAID)
        .exclude(from_status=OrderStatus.PAID)
        .values(currency=F("order__currency"))
        .annotate(total=Sum("order__amount"), count=Count("order_id", distinct=True))
        .order_by()
    )
    refunded = (
        Refund.objects.filter(status=RefundStatus.SUCCEEDED, updated_at__gte=start)
        .values(currency=F("order__currency"))
        .annotate(total=Sum("amount"), count=Count("id"))
        .order_by()
    )
    money = {}
    for kind, rows in (("paid", paid), ("refunded", refunded)):
        for row in rows:
            entry = money.setdefault(
                row["currency"], {"paid": Decimal("0.00"), "paid_count": 0, "refunded": Decimal("0.00"), "refunded_count": 0}
            )
            entry[kind] = row["total"] or Decimal("0.00")
            entry[f"{kind}_count"] = row["count"]
    return {"since": start, "by_currency": dict(sorted(money.items()))}


def orders_recent(*, query="", limit):
    """The newest orders, or those matching `query`: an id or its first characters, a transaction id,
    an amount ("12.34") or a status. An empty query lists the newest."""
    orders = Order.objects.order_by("-created_at").only(
        "id", "status", "amount", "currency", "transaction_id", "created_at", "updated_at"
    )
    query = (query or "").strip()
    if not query:
        return list(orders[:limit])
    return list(orders.filter(_order_search(query))[:limit])


def _order_search(query):
    wanted = Q(transaction_id=query)
    if query in OrderStatus.values:
        wanted |= Q(status=query)
    try:
        wanted |= Q(id=uuid.UUID(query))
    except ValueError:
        if re.fullmatch(r"[0-9a-fA-F-]{4,35}", query):
            wanted |= Q(id__startswith=query.lower())
    try:
        amount = Decimal(query)
    except InvalidOperation:
        amount = None
    if amount is not None and amount.is_finite() and amount > 0 and amount.as_tuple().exponent >= -2:
        wanted |= Q(amount=amount)
    return wanted


WORKER_HEALTH_COMMAND = "payments_worker_health"


def workers_health(*, timeout):
    """Each worker that answers a broadcast within `timeout` s: its queues, tasks in flight,
    tasks processed and liveness (payments/ops/liveness.py); None when the broker cannot be asked."""
    from celery_app import app

    options = {"socket_connect_timeout": timeout, "socket_timeout": timeout, "max_retries": 0}
    try:
        with app.connection_for_write(connect_timeout=timeout, transport_options=options) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2 * timeout)
            replies = app.control.broadcast(WORKER_HEALTH_COMMAND, reply=True, timeout=timeout, connection=conn)
    except Exception:  # noqa: BLE001 - kombu raises transport-specific errors; all mean "unknown"
        return None
    workers = [
        {"name": name, **answer}
        for reply in replies or []
        for name, answer in reply.items()
        if isinstance(answer, dict) and "error" not in answer
    ]
    return sorted(workers, key=lambda worker: worker["name"])
