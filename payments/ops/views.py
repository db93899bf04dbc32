"""Operator views: `GET /metrics` for Prometheus and the ops dashboard at `/`.

The dashboard and its feed show everyone's orders, so they need `payments.view_order`, like
reading others' orders through the API; being staff is not enough. An anonymous visitor is sent to
the admin login, a logged-in one without the permission gets 403.

Both read payments.ops.selectors (the metrics through payments.ops.metrics.OrdersCollector), so the
dashboard and the alerts never disagree about what "stuck" or "needs review" means.
"""

import hmac
import ipaddress

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from payments.core.statuses import OrderStatus
from payments.ops import selectors as selectors_ops
from payments.http.proxies import client_ip
from payments.ops.metrics import metrics_registry
from payments.orders.selectors import VIEW_ANY_ORDER

THROUGHPUT_MINUTES = 15
NEEDS_REVIEW_SHOWN = 10
GATEWAY_ERRORS_WINDOW_SECONDS = 3600
GATEWAY_ERRORS_SHOWN = 10
RECENT_ORDERS_SHOWN = 10
SEARCH_MAX_LENGTH = 64
REFRESH_SECONDS = 5


def _is_loopback(request):
    # The client address of payments/http/proxies.py: the socket's, or what a trusted proxy says.
    # A client cannot claim to be local, and behind a proxy on the same host (itself loopback)
    # the forwarded client counts, not the proxy.
    try:
        return ipaddress.ip_address(client_ip(request)).is_loopback
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


def _order_admin_url(order_id):
    return reverse("admin:payments_order_change", args=[order_id])


def _changelist_url(**filters):
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return reverse("admin:payments_order_changelist") + (f"?{query}" if query else "")


def dashboard_data_build(now=None, *, query=""):
    """Everything the dashboard shows, as JSON-ready data; `query` searches the recent orders."""
    now = now or timezone.now()
    counts = selectors_ops.order_counts_by_status()
    oldest = selectors_ops.oldest_active_order_age_seconds(now=now)
    last_run = selectors_ops.reconciler_last_run()
    timeout = settings.PAYMENTS_OPS_BROKER_TIMEOUT_SECONDS
    depths = selectors_ops.queue_depths(selectors_ops.OPS_QUEUES, timeout=timeout)
    money = selectors_ops.money_today(now=now)
    workers = selectors_ops.workers_health(timeout=timeout)
    return {
        "generated_at": now.isoformat(),
        "counts": counts,
        "total": sum(counts.values()),
        "status_urls": {status: _changelist_url(status__exact=status) for status in counts},
        "all_url": _changelist_url(),
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
                "admin_url": _order_admin_url(order.pk),
            }
            for order in selectors_ops.orders_needing_review(limit=NEEDS_REVIEW_SHOWN)
        ],
        "gateway_errors": [
            {
                "order_id": str(row["order_id"]),
                "status": row["status"],
                "amount": None if row["amount"] is None else str(row["amount"]),
                "currency": row["currency"],
                "call": row["call"],
                "outcome": row["outcome"],
                "code": row["code"],
                "errors": row["errors"],
                "attempt": row["attempt"],
                # Every try of the task: the first and each retry (PAYMENTS_MAX_RETRIES).
                "attempts": settings.PAYMENTS_MAX_RETRIES + 1,
                "at": row["at"].isoformat(),
                "admin_url": _order_admin_url(row["order_id"]),
            }
            for row in selectors_ops.gateway_errors_by_order(
                since_seconds=GATEWAY_ERRORS_WINDOW_SECONDS, limit=GATEWAY_ERRORS_SHOWN, now=now
            )
        ],
        "money_today": {
            "since": money["since"].isoformat(),
            "by_currency": [
                {
                    "currency": currency,
                    "paid": str(entry["paid"]),
                    "paid_count": entry["paid_count"],
                    "refunded": str(entry["refunded"]),
                    "refunded_count": entry["refunded_count"],
                }
                for currency, entry in money["by_currency"].items()
            ],
        },
        "recent_orders": {
            "query": query,
            "orders": [
                {
                    "id": str(order.pk),
                    "status": order.status,
                    "amount": str(order.amount),
                    "currency": order.currency,
                    "transaction_id": order.transaction_id or "",
                    "created_at": order.created_at.isoformat(),
                    "admin_url": _order_admin_url(order.pk),
                }
                for order in selectors_ops.orders_recent(query=query, limit=RECENT_ORDERS_SHOWN)
            ],
        },
        "workers": None if workers is None else [_worker_row(worker, now) for worker in workers],
        "reconciler_last_run": last_run.isoformat() if last_run else None,
        "reconciler_age_seconds": (now - last_run).total_seconds() if last_run else None,
        "queues": depths,
    }


def _worker_row(worker, now):
    liveness = worker.get("liveness") or {}
    checked_at = liveness.get("checked_at")
    if not liveness:
        state = "not watched"
    else:
        state = "live" if liveness.get("live") else "stalled"
    return {
        "name": worker["name"],
        "queues": worker.get("queues", []),
        "concurrency": worker.get("concurrency", 0),
        "in_flight": worker.get("in_flight", 0),
        "waiting": max(0, worker.get("waiting", 0)),
        "processed": worker.get("processed", 0),
        "liveness": state,
        "reason": liveness.get("reason") or "",
        "heartbeat_age_seconds": None if checked_at is None else max(0.0, now.timestamp() - checked_at),
    }


@never_cache
@login_required(login_url="admin:login")
@permission_required(VIEW_ANY_ORDER, raise_exception=True)
@require_GET
def dashboard(request):
    """The ops dashboard: the page renders once, then dashboard.js refreshes it from dashboard_data."""
    return render(
        request,
        "payments/dashboard.html",
        {
            "data": dashboard_data_build(query=_search_query(request)),
            "statuses": OrderStatus.choices,
            "refresh_seconds": REFRESH_SECONDS,
            "throughput_minutes": THROUGHPUT_MINUTES,
            "errors_window_minutes": GATEWAY_ERRORS_WINDOW_SECONDS // 60,
        },
    )


@never_cache
@login_required(login_url="admin:login")
@permission_required(VIEW_ANY_ORDER, raise_exception=True)
@require_GET
def dashboard_data(request):
    return JsonResponse(dashboard_data_build(query=_search_query(request)))


def _search_query(request):
    # A search box's text, kept short: it is matched exactly, never as a pattern.
    return request.GET.get("q", "").strip()[:SEARCH_MAX_LENGTH]


