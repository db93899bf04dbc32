"""A worker serves its own /metrics (payments/ops/worker_metrics.py): no web process is needed.

Real `celery worker` processes on a queue of their own, the real SDK and the simulator; the
scrape goes to the worker's port. The prefork worker's pool processes write to a multiprocess
directory of the worker's own, which its main process serves.
"""

from decimal import Decimal

import pytest
from prometheus_client.parser import text_string_to_metric_families

from devtools.stack import Worker, free_port, http_request
from payments.core.statuses import OrderStatus
from payments.tasks import charge_order_task
from tests.factories import OrderFactory
from tests.fixtures.pipeline import purge_our_queues, wait_for_final, worker_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def samples(text, name):
    """{labels as a sorted tuple: value} of metric sample `name` in a Prometheus text exposition."""
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


@pytest.mark.parametrize("pool", ["threads", "prefork"])
def test_a_worker_serves_the_gateway_calls_it_made_on_its_own_port(simulator, sim, run_dir, django_db_blocker,
                                                                     tmp_path, pool):
    # given a worker with a metrics port, and no web process anywhere
    port, queue = free_port(), f"payments-metrics-{pool}"
    overrides = {"PAYMENTS_WORKER_METRICS_PORT": port, "PROMETHEUS_MULTIPROC_DIR": None}
    if pool == "prefork":
        overrides["PROMETHEUS_MULTIPROC_DIR"] = tmp_path / "metrics"
        (tmp_path / "metrics").mkdir()
    with django_db_blocker.unblock():
        env = worker_env(simulator, **overrides)
    purge_our_queues()
    with Worker(name=f"metrics-{pool}", queues=queue, concurrency=2, pool=pool, env=env, run_dir=run_dir):
        status, _, before = http_request("GET", f"http://127.0.0.1:{port}/metrics")
        assert status == 200

        # when it charges two orders
        orders = [OrderFactory(amount=Decimal(amount)) for amount in ("10.00", "11.00")]
        for order in orders:
            charge_order_task.apply_async(args=[str(order.pk)], queue=queue)
        assert [wait_for_final(order.pk).status for order in orders] == [OrderStatus.PAID, OrderStatus.PAID]
        status, headers, text = http_request("GET", f"http://127.0.0.1:{port}/metrics")

    # then its endpoint counts its own two sales and two finds, under /metrics' names
    assert status == 200 and headers["content-type"].startswith("text/plain")
    calls = samples(text, "payments_gateway_requests_total")
    assert calls[(("call", "sale"), ("outcome", "approved"))] == 2
    assert calls[(("call", "find"), ("outcome", "found"))] == 2
    assert not samples(before, "payments_gateway_requests_total")
    finals = samples(text, "payments_order_time_to_final_seconds_count")
    assert finals[(("status", "paid"),)] == 2
