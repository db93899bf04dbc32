"""Prometheus metrics of the payments service: what happens (counters, histograms) and what is.

Event metrics (gateway calls, time to a final status, task retries, reconciled orders) are
recorded by whichever process does the work: a Celery pool child, a gunicorn worker. With
PROMETHEUS_MULTIPROC_DIR set, prometheus_client keeps them in per-process files in that directory
and the web's /metrics sums every process's files, so one scrape sees the workers of the host too
(https://prometheus.github.io/client_python/multiprocess/). State metrics, read from the database
at scrape time, are payments/ops/metrics.py's.
"""

import time
from functools import wraps

from prometheus_client import Counter, Histogram

from payments.core.exceptions import GatewayMisconfigured, GatewayUnavailable

# Time from an order's creation to paid or failed: queueing, retries and gateway latency.
ORDER_TIME_TO_FINAL = Histogram(
    "payments_order_time_to_final_seconds",
    "Seconds from an order's creation to its final status (paid or failed).",
    ["status"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600),
)
GATEWAY_REQUESTS = Counter(
    "payments_gateway_requests",
    "Gateway calls by call (sale, find, search, capture, void, refund, and the vault's customer.create, payment_method.create, "
    "payment_method.find, payment_method.delete) and outcome (the sale outcome, succeeded, stored, refused, found, "
    "not_found, ok, unavailable, misconfigured, error).",
    ["call", "outcome"],
)
GATEWAY_DURATION = Histogram(
    "payments_gateway_request_duration_seconds",
    "Wall time of one gateway call, answered or not.",
    ["call"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
TASK_RETRIES = Counter("payments_task_retries", "Celery task retries, by task name.", ["task"])
RECONCILED_ORDERS = Counter(
    "payments_reconciled_orders",
    "Orders the reconciler acted on, by kind (charge, verify, adopted, publish_failed).",
    ["kind"],
)

GATEWAY_CALLS = {"sale": "sale", "find": "find", "search_by_order_id": "search"}
# The vault's calls (saved payment methods), named as Braintree's SDK names them.
GATEWAY_CALLS.update({
    "customer_create": "customer.create",
    "payment_method_store": "payment_method.create",
    "payment_method_find": "payment_method.find",
    "payment_method_delete": "payment_method.delete",
})
# After the sale: a capture (`submit_for_settlement` of a manual order's authorization), a void and
# a refund are money movements of their own, told apart from the sale and from each other.
GATEWAY_CALLS.update({"submit_for_settlement": "capture", "void": "void", "refund": "refund"})


def _outcome_of(call, result):
    if call in ("sale", "payment_method.create", "capture", "void", "refund"):
        return str(result.outcome)
    if call in ("find", "payment_method.find"):
        return "found" if result is not None else "not_found"
    return "ok"


def _timed(call, method):
    @wraps(method)
    def timed(*args, **kwargs):
        started = time.perf_counter()
        outcome = "error"
        try:
            result = method(*args, **kwargs)
            outcome = _outcome_of(call, result)
            return result
        except GatewayUnavailable:
            outcome = "unavailable"
            raise
        except GatewayMisconfigured:
            outcome = "misconfigured"
            raise
        finally:
            GATEWAY_DURATION.labels(call).observe(time.perf_counter() - started)
            GATEWAY_REQUESTS.labels(call, outcome).inc()

    return timed


def gateway_instrument(gateway):
    """Time and count every call the services make on `gateway`; returns the same object.

    The methods are wrapped on the instance rather than behind a proxy, so the gateway stays its
    backend's type with its own attributes (the SDK config, a fake's ledger) for the code and tests
    that look at them.
    """
    for method_name, call in GATEWAY_CALLS.items():
        setattr(gateway, method_name, _timed(call, getattr(gateway, method_name)))
    return gateway


def order_final_observe(order):
    """Record how long `order` took from creation to its final status (paid or failed)."""
    ORDER_TIME_TO_FINAL.labels(order.status).observe(max(0.0, time.time() - order.created_at.timestamp()))
