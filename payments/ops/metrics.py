"""What one scrape of /metrics renders: every process's event metrics plus state read at scrape time.

State metrics (orders and saved payment methods by status, the oldest active order, the
needs_review queue, queue depths, the reconciler's last run) are read from the database by
`OrdersCollector`, through the same selectors as the ops dashboard, so they are right whichever
host or process did the work. Event metrics are defined in payments/core/metrics.py.
"""

import os

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from prometheus_client.core import GaugeMetricFamily


class OrdersCollector:
    """Gauges read from the database at scrape time, through payments.ops.selectors."""

    def describe(self):
        # Nothing up front: registering must not query the database.
        return []

    def collect(self):
        from payments.ops.selectors import ops_snapshot_for_metrics

        snapshot = ops_snapshot_for_metrics()
        orders = GaugeMetricFamily("payments_orders", "Orders by status, now.", labels=["status"])
        for status, count in snapshot.counts.items():
            orders.add_metric([status], count)
        yield orders
        methods = GaugeMetricFamily(
            "payments_payment_methods", "Saved payment methods by status, now.", labels=["status"]
        )
        for status, count in snapshot.payment_method_counts.items():
            methods.add_metric([status], count)
        yield methods
        yield GaugeMetricFamily(
            "payments_oldest_pending_order_age_seconds",
            "Age of the oldest order still pending or processing (0 when there is none).",
            value=snapshot.oldest_active_age_seconds or 0.0,
        )
        yield GaugeMetricFamily(
            "payments_orders_needs_review", "Orders parked in needs_review for a human.",
            value=snapshot.counts.get("needs_review", 0),
        )
        queues = GaugeMetricFamily(
            "payments_queue_messages", "Messages waiting in a broker queue (absent when the broker did not answer).",
            labels=["queue"],
        )
        for queue, depth in snapshot.queue_depths.items():
            if depth is not None:
                queues.add_metric([queue], depth)
        yield queues
        yield GaugeMetricFamily(
            "payments_broker_up", "1 if the broker answered the queue-depth probe of this scrape.",
            value=1 if all(d is not None for d in snapshot.queue_depths.values()) else 0,
        )
        if snapshot.reconciler_last_run is not None:
            yield GaugeMetricFamily(
                "payments_reconciler_last_run_timestamp_seconds",
                "Unix time the reconciler task last finished a run.",
                value=snapshot.reconciler_last_run.timestamp(),
            )


def metrics_registry():
    """The registry one scrape renders: every process's event metrics plus the database gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Default())
    registry.register(OrdersCollector())
    return registry


class _Default:
    """This process's own metrics (no multiprocess directory): the default registry's collectors."""

    def describe(self):
        return []

    def collect(self):
        yield from REGISTRY.collect()
