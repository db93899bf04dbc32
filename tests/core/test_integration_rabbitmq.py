"""The charging pipeline on RabbitMQ: quorum queues, real acks, native delayed delivery.

One stack per module on a private vhost of the machine's RabbitMQ (deleted at the end): the
gateway simulator, gunicorn and `celery worker -Q payments` (2 prefork children), all with
CELERY_BROKER_URL=amqp://…/<vhost>, so their settings take the RabbitMQ block of
config/settings/base.py. No beat runs: whatever recovers here is the broker's redelivery, not
the reconciler. Outcomes are read from the database and the simulator's ledger. The reconnect
test runs its own `-P threads` worker and gunicorn on a second vhost, next to the module's.
"""

import os
import time
from decimal import Decimal

import pytest
from django.db import connection

from devtools.ledger import sales, successful_sales
from devtools.polling import wait_for_api_order, wait_until
from devtools.rabbitmq import Vhost, rabbitmqctl
from devtools.settings import FAST_SETTINGS
from devtools.sim import SALE_REQUESTS
from devtools.stack import Simulator, WebServer, Worker, environment, http_request, start_together, stop_together
from payments.models import Order, OrderEvent
from payments.core.statuses import OrderStatus
from payments.tokens.services import api_token_issue
from tests.factories import UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class Stack:
    def __init__(self, vhost, sim, web, worker):
        self.vhost, self.sim, self.web, self.worker = vhost, sim, web, worker


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("rabbitmq")
    with django_db_blocker.unblock():
        db_name = connection.settings_dict["NAME"]
    with Vhost(f"payments_test_{os.getpid()}") as vhost, Simulator(run_dir=run_dir) as sim:
        env = environment(db_name=db_name, broker_url=vhost.url, simulator_url=sim.url, extra=FAST_SETTINGS)
        web = WebServer(env=env, run_dir=run_dir)
        worker = Worker(name="rabbit-payments", queues="payments", concurrency=2, env=env, run_dir=run_dir)
        processes = [worker, web]
        try:
            start_together(processes)
            yield Stack(vhost, sim, web, worker)
        finally:
            stop_together(processes)


@pytest.fixture
def token():
    return api_token_issue(UserFactory())


@pytest.fixture
def sim(stack):
    stack.sim.reset()
    yield stack.sim
    stack.sim.set_faults({})


def submit(stack, token, amount="10.00"):
    status, _, body = http_request("POST", f"{stack.web.url}/api/orders/",
                                   body={"amount": amount, "payment_method_nonce": "fake-valid-nonce"},
                                   headers={"Authorization": f"Token {token}"})
    assert status == 202, body
    return body["id"]


def final(stack, token, order_id, timeout=30):
    try:
        return wait_for_api_order(stack.web.url, token, order_id, timeout=timeout)
    except TimeoutError as exc:
        pytest.fail(str(exc))


def assert_paid_by_one_sale(stack, order):
    charged = successful_sales(sales(stack.sim.transactions(order_id=order["id"])))
    assert order["status"] == "paid"
    assert len(charged) == 1, charged
    assert charged[0]["id"] == order["transaction_id"]
    assert Decimal(charged[0]["amount"]) == Decimal(order["amount"])


def test_order_is_charged_end_to_end_through_quorum_queues(stack, sim, token):
    # when
    order = final(stack, token, submit(stack, token))

    # then the customer paid once, through the topology the settings declare
    assert_paid_by_one_sale(stack, order)
    queues = stack.vhost.queues()
    assert queues["payments"]["type"] == "quorum"
    assert queues["dead_letter"]["type"] == "quorum"
    assert stack.vhost.exchanges()["payments"] == "topic"
    # quorum queues have no global QoS: the worker said it uses a static prefetch
    assert "Global QoS is disabled" in stack.worker.log_text(since_start=True)


def test_message_of_a_sigkilled_pool_child_is_redelivered_and_the_order_paid_once(stack, sim, token):
    # given a slow sale, so the pool child is mid-sale when it dies
    sim.set_faults({"rules": [{"kind": "latency", "latency_ms": 1500, "count": 1, **SALE_REQUESTS}]})
    order_id = submit(stack, token)
    wait_until(lambda: Order.objects.filter(pk=order_id, status=OrderStatus.PROCESSING).exists(),
               timeout=15, desc="the claim")
    time.sleep(0.3)

    # when every pool child is SIGKILLed (reject_on_worker_lost: the message goes back to the queue)
    killed = [stack.worker.kill_child(pid) for pid in stack.worker.child_pids()]
    assert any(killed)

    # then RabbitMQ redelivered it (no beat, no reconciler here): after the dead child's claim
    # lease the redelivered charge searched the gateway first, and the customer paid once
    order = final(stack, token, order_id, timeout=FAST_SETTINGS["PAYMENTS_CLAIM_LEASE_SECONDS"] + 30)
    assert_paid_by_one_sale(stack, order)
    events = OrderEvent.objects.filter(order_id=order_id)
    assert events.filter(action=OrderEvent.Action.CLAIM, outcome=OrderEvent.Outcome.CLAIMED).count() >= 2
    assert events.filter(action=OrderEvent.Action.SEARCH).exists()


def test_retry_countdowns_wait_in_the_broker_and_are_delivered(stack, sim, token):
    # given the gateway answers the next two sales with 503 (retry countdowns 1 s then 2 s)
    sim.set_faults({"rules": [{"kind": "error", "status": 503, "count": 2, **SALE_REQUESTS}]})

    # when
    order = final(stack, token, submit(stack, token))

    # then both retries were delivered, about their countdown apart, and the order is paid once
    assert_paid_by_one_sale(stack, order)
    tries = list(OrderEvent.objects.filter(order_id=order["id"], action=OrderEvent.Action.SALE).order_by("id"))
    assert [t.outcome for t in tries][:2] == ["unavailable", "unavailable"]
    gaps = [(b.created_at - a.created_at).total_seconds() for a, b in zip(tries, tries[1:])]
    assert 0.9 <= gaps[0] <= 3.5, gaps
    assert 1.9 <= gaps[1] <= 4.5, gaps
    # native delayed delivery: the countdowns went through RabbitMQ's delay exchanges
    assert "celery_delayed_27" in stack.vhost.exchanges()


def _payments_prefetch(vhost):
    """The prefetch count of each consumer on the vhost's payments queue."""
    out = rabbitmqctl("list_consumers", "-p", vhost.name, "queue_name", "prefetch_count", "--no-table-headers")
    return [int(count) for name, count in (line.split("\t") for line in out.splitlines() if "\t" in line)
            if name == "payments"]


def test_a_threads_worker_consumes_at_full_prefetch_again_after_the_broker_dropped_it(
        stack, sim, token, tmp_path):
    # given a threads worker (the recommended pool) on a vhost of its own, all 4 threads mid-sale
    concurrency = 4
    sim.set_faults({"rules": [{"kind": "latency", "latency_ms": 2500, **SALE_REQUESTS}]})
    with Vhost(f"payments_test_prefetch_{os.getpid()}") as vhost:
        env = environment(db_name=connection.settings_dict["NAME"], broker_url=vhost.url,
                          simulator_url=stack.sim.url, extra=FAST_SETTINGS)
        web = WebServer(env=env, run_dir=tmp_path)
        worker = Worker(name="rabbit-threads", queues="payments", pool="threads", concurrency=concurrency,
                        env=env, run_dir=tmp_path)
        start_together([worker, web])
        try:
            mine = Stack(vhost, stack.sim, web, worker)
            wait_until(lambda: _payments_prefetch(vhost) == [concurrency], timeout=15, desc="the consumer")
            ids = [submit(mine, token) for _ in range(2 * concurrency)]
            wait_until(lambda: Order.objects.filter(pk__in=ids, status=OrderStatus.PROCESSING).count() == concurrency,
                       timeout=15, desc="every thread mid-sale")

            # when the broker drops the worker's connections while those sales run
            vhost.close_connections()

            # then the worker consumes again, at its full prefetch (Celery's reduction would leave
            # a quorum-queue consumer at 1: it takes the prefetch at basic.consume only)
            wait_until(lambda: _payments_prefetch(vhost), timeout=30, desc="a new consumer")
            assert _payments_prefetch(vhost) == [concurrency]
            sim.set_faults({})
            orders = [final(mine, token, order_id, timeout=FAST_SETTINGS["PAYMENTS_CLAIM_LEASE_SECONDS"] + 45)
                      for order_id in ids]
            for order in orders:
                assert_paid_by_one_sale(mine, order)
        finally:
            stop_together([worker, web])
