"""The recommended payments pool (threads) keeps the promises a prefork pool's time limits kept.

The threads pool enforces no task time limits, so nothing kills a task whose gateway call hangs.
What bounds it instead is the gateway client's timeout, and the claim lease is sized above the
longest charge (a search, a sale and a find, each bounded by BRAINTREE_TIMEOUT_SECONDS): a hung call
must end, and the lease be released, before the lease runs out, while the pool's other threads
keep charging. A real `celery worker -P threads` process, the real SDK and the simulator's hang.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from devtools.polling import wait_until
from devtools.settings import FAST_SETTINGS, PRODUCTION_CONNECTIONS, RECOMMENDED_POOL
from devtools.sim import SALE_REQUESTS
from devtools.stack import Worker
from payments.core.statuses import OrderStatus
from payments.models import OrderEvent
from payments.orders.services import order_create
from payments.tasks import charge_order_task
from tests.factories import OrderFactory, UserFactory
from tests.fixtures.pipeline import (
    WORKER_DB_APP_NAME,
    purge_our_queues,
    sales_in_ledger,
    wait_for_final,
    worker_env,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TIMEOUT = FAST_SETTINGS["BRAINTREE_TIMEOUT_SECONDS"]
# Above a search, a sale and a find, each bounded by the client timeout, as in production (10 s, 120 s).
LEASE = 3 * TIMEOUT + 1


@pytest.fixture
def threads_worker(simulator, sim, run_dir, django_db_blocker):
    with django_db_blocker.unblock():
        env = worker_env(simulator, PAYMENTS_CLAIM_LEASE_SECONDS=LEASE, **PRODUCTION_CONNECTIONS)
    purge_our_queues()
    with Worker(name="threads", queues="payments", concurrency=4, pool=RECOMMENDED_POOL, env=env,
                run_dir=run_dir) as worker:
        yield worker
    purge_our_queues()


def create_order(amount="10.00"):
    return order_create(
        owner=UserFactory(), amount=Decimal(amount), nonce="fake-valid-nonce", currency="USD",
        description="", idempotency_key=None,
    ).order


def event(order_id, action, outcome):
    return OrderEvent.objects.filter(order_id=order_id, action=action, outcome=outcome).order_by("id").first()


def test_a_hung_sale_on_the_threads_pool_gives_up_its_lease_before_the_lease_runs_out(threads_worker, sim):
    # given: the first sale is held at the gateway four client timeouts, longer than the lease
    hang = 4 * TIMEOUT
    assert hang > LEASE
    sim.set_faults({"rules": [{"kind": "hang", "count": 1, "seconds": hang, **SALE_REQUESTS}]})
    hung = create_order()
    claim = wait_until(lambda: event(hung.pk, OrderEvent.Action.CLAIM, "claimed"), timeout=15, desc="the claim")
    # when: another order arrives while that sale hangs
    other = create_order("11.00")
    # then: the other threads keep charging; the other order is paid while the first still hangs
    other = wait_for_final(other.pk, timeout=hang)
    assert other.status == OrderStatus.PAID
    # and the hung call ended at the client timeout, its lease released, before the lease ran out
    gave_up = wait_until(lambda: event(hung.pk, OrderEvent.Action.SALE, "unavailable"), timeout=LEASE + 5,
                         desc="the timed-out sale")
    assert gave_up.created_at - claim.created_at < timedelta(seconds=LEASE)
    # a live lease refuses every claim, so a retry's claim within the first lease proves it released
    reclaimed = wait_until(
        lambda: OrderEvent.objects.filter(order_id=hung.pk, action=OrderEvent.Action.CLAIM).order_by("id")[1:2].first(),
        timeout=LEASE + 5, desc="the retry's claim")
    assert reclaimed.created_at < claim.created_at + timedelta(seconds=LEASE)
    # and the late sale is the order's one charge: no second sale came from a stuck thread
    hung = wait_for_final(hung.pk, timeout=hang + 30)
    [sale] = sales_in_ledger(sim, hung.pk)
    assert (hung.status, hung.transaction_id) == (OrderStatus.PAID, sale["id"])


@pytest.mark.parametrize("health_checks", ["true", "false"])
def test_a_connection_the_server_killed_while_the_worker_idled_costs_no_order(
    simulator, sim, run_dir, django_db_blocker, health_checks
):
    # given: one thread on a queue of its own (the session's prefork worker consumes `payments`),
    # so the next task runs on the connection the first one kept; Celery's per-task lines at
    # INFO, to see a retry
    queue = f"payments-hc-{health_checks}"

    def charge_new_order(amount):
        order = OrderFactory(amount=Decimal(amount))
        charge_order_task.apply_async(args=[str(order.pk)], queue=queue)
        return order

    overrides = {**PRODUCTION_CONNECTIONS, "DATABASE_CONN_HEALTH_CHECKS": health_checks, "CELERY_TASK_LOG_LEVEL": "INFO"}
    with django_db_blocker.unblock():
        env = worker_env(simulator, **overrides)
    purge_our_queues()
    with Worker(name=f"threads-hc-{health_checks}", queues=queue, concurrency=1, pool=RECOMMENDED_POOL,
                env=env, run_dir=run_dir) as worker:
        first = wait_for_final(charge_new_order("10.00").pk)
        assert first.status == OrderStatus.PAID
        # when: the server ends the worker's idle session (pg_terminate_backend, as a failover would)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = %s AND datname = current_database()",
                [WORKER_DB_APP_NAME],
            )
            assert cursor.fetchone()[0] >= 1
        # then: the next order is charged once all the same; with the health check the dead
        # connection is replaced before the task's first query, without it the task fails that
        # query and is retried (OperationalError is retryable), well within the wait
        second = wait_for_final(charge_new_order("11.00").pk, timeout=30)
        [sale] = sales_in_ledger(sim, second.pk)
        assert (second.status, second.transaction_id) == (OrderStatus.PAID, sale["id"])
    retried = [line for line in worker.log_path.read_text().splitlines() if " retry: " in line]
    if health_checks == "true":
        assert retried == []
    else:
        [retry] = retried
        assert "OperationalError" in retry
    purge_our_queues()
