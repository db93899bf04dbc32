"""Operator views: `GET /metrics` for Prometheus and the staff dashboard at `/`.

Both read payments.ops.selectors (the metrics through payments.ops.metrics.OrdersCollector), so the
dashboard and the alerts never disagree about what "stuck" or "needs review" means.
"""

import hmac
import ipaddress

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from payments.core.statuses import OrderStatus
from payments.ops import selectors as selectors_ops
from payments.ops.metrics import metrics_registry

THROUGHPUT_MINUTES = 15
NEEDS_REVIEW_SHOWN = 10
GATEWAY_ERRORS_WINDOW_SECONDS = 3600
GATEWAY_ERRORS_SHOWN = 10
REFRESH_SECONDS = 5


def _is_loopback(request):
    # The socket's address, never a forwarded header: a client cannot claim to be local.
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def _metrics_refusal(request):
    """None if the scrape may proceed, else the 401/403 answer."""
    token = settings.METRICS_TOKEN
    if not token:
        if _is_loopback(request):
            return None
        return JsonResponse({"detail": "Metrics answer loopback clients only unless METRICS_TOKEN is set."},
                            status=403)
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented:
        response = JsonResponse({"detail": "Bearer token required."}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if not hmac.compare_digest(presented.strip().encode(), token.encode()):
        return JsonResponse({"detail": "Invalid token."}, status=403)
    return None


@never_cache
@require_GET
def metrics(request):
    """Prometheus text exposition of every process's event metrics and the database gauges."""
    refusal = _metrics_refusal(request)
    if refusal is not None:
        return refusal
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)


def dashboard_data_build(now=None):
    """Everything the dashboard shows, as JSON-ready data."""
    now = now or timezone.now()
    counts = selectors_ops.order_counts_by_status()
    oldest = selectors_ops.oldest_active_order_age_seconds(now=now)
    last_run = selectors_ops.reconciler_last_run()
    depths = selectors_ops.queue_depths(
        selectors_ops.OPS_QUEUES, timeout=settings.PAYMENTS_OPS_BROKER_TIMEOUT_SECONDS
    )
    return {
        "generated_at": now.isoformat(),
        "counts": counts,
        "total": sum(counts.values()),
        "oldest_active_age_seconds": oldest,
        "throughput": [
            {"minute": minute.isoformat(), **by_status}
            for minute, by_status in selectors_ops.finals_per_minute(minutes=THROUGHPUT_MINUTES, now=now)
        ],
        "needs_review": [
            {
                "id": str(order.pk),
                "amount": str(order.amount),
                "currency": order.currency,
                "reason": order.failure_reason,
                "parked_seconds": max(0.0, (now - order.updated_at).total_seconds()),
                "admin_url": reverse("admin:payments_order_change", args=[order.pk]),
            }
            for order in selectors_ops.orders_needing_review(limit=NEEDS_REVIEW_SHOWN)
        ],
        "gateway_errors": [
            {
                "order_id": str(event.order_id),
                "action": event.action,
                "outcome": event.outcome,
                "at": event.created_at.isoformat(),
                "admin_url": reverse("admin:payments_order_change", args=[event.order_id]),
            }
            for event in selectors_ops.gateway_errors_recent(
                since_seconds=GATEWAY_ERRORS_WINDOW_SECONDS, limit=GATEWAY_ERRORS_SHOWN, now=now
            )
        ],
        "reconciler_last_run": last_run.isoformat() if last_run else None,
        "reconciler_age_seconds": (now - last_run).total_seconds() if last_run else None,
        "queues": depths,
    }


@never_cache
@staff_member_required
@require_GET
def dashboard(request):
    """The ops dashboard: the page renders once, then dashboard.js refreshes it from dashboard_data."""
    return render(
        request,
        "payments/dashboard.html",
        {
            "data": dashboard_data_build(),
            "statuses": OrderStatus.choices,
            "refresh_seconds": REFRESH_SECONDS,
            "throughput_minutes": THROUGHPUT_MINUTES,
            "errors_window_minutes": GATEWAY_ERRORS_WINDOW_SECONDS // 60,
        },
    )


@never_cache
@staff_member_required
@require_GET
def dashboard_data(request):
    return JsonResponse(dashboard_data_build())


