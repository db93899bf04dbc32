"""The whole service as separate processes: orders go in over HTTP, the gateway's ledger tells.

One stack per module: the gateway simulator, `celery worker -Q payments`, the reconciliation
worker (`-Q default,maintenance`), beat with the DatabaseScheduler and gunicorn, all on the test
database. They use a private redis-server rather than the suite's db 11, because other
integration tests keep their own workers on db 11 consuming the same queue names.
"""

import uuid
from decimal import Decimal

import pytest
from django.db import connection

from devtools.ledger import sales, successful_sales
from devtools.polling import wait_for_api_order
from devtools.settings import FAST_SETTINGS
from devtools.sim import SALE_REQUESTS
from devtools.stack import (
    Beat,
    RedisServer,
    Simulator,
    WebServer,
    Worker,
    environment,
    http_request,
    start_together,
    stop_together,
)
from payments.core.statuses import TRANSACTION_PAID_STATUSES
from payments.tokens.services import api_token_issue
from tests.factories import UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MAX_RETRIES = FAST_SETTINGS["PAYMENTS_MAX_RETRIES"]


class Stack:
    def __init__(self, web, sim):
        self.web = web
        self.sim = sim


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("end-to-end")
    with django_db_blocker.unblock():
        db_name = connection.settings_dict["NAME"]
    with RedisServer(run_dir=run_dir) as redis_server, Simulator(run_dir=run_dir) as sim:
        env = environment(
            db_name=db_name, broker_url=redis_server.url(0), simulator_url=sim.url, extra=FAST_SETTINGS
        )
        web = WebServer(env=env, run_dir=run_dir)
        processes = [
            Worker(name="payments", queues="payments", concurrency=2, env=env, run_dir=run_dir),
            Worker(name="maintenance", queues="default,maintenance", env=env, run_dir=run_dir),
            Beat(env=env, run_dir=run_dir),
            web,
        ]
        try:
            start_together(processes)
            yield Stack(web=web, sim=sim)
        finally:
            stop_together(processes)


@pytest.fixture
def token():
    return api_token_issue(UserFactory())


@pytest.fixture
def faults(stack):
    yield stack.sim
    stack.sim.set_faults({})


def submit_order(stack, token, *, amount, nonce):
    status, headers, body = http_request(
        "POST",
        f"{stack.web.url}/api/orders/",
        body={"amount": amount, "payment_method_nonce": nonce},
        headers={"Authorization": f"Token {token}"},
    )
    assert status == 202, body
    return body["id"]


def final_order(stack, token, order_id, timeout=25):
    """Poll the API until the order rests; its last answer otherwise, in the failure message."""
    try:
        return wait_for_api_order(stack.web.url, token, order_id, timeout=timeout)
    except TimeoutError as exc:
        pytest.fail(str(exc))


def order_sales(stack, order_id):
    return sales(stack.sim.transactions(order_id=order_id))


def assert_paid_by_exactly_one_sale(stack, order):
    charged = successful_sales(order_sales(stack, order["id"]))
    assert len(charged) == 1, charged
    assert charged[0]["id"] == order["transaction_id"]
    assert Decimal(charged[0]["amount"]) == Decimal(order["amount"])


def test_approved_order_is_paid_by_one_matching_sale(stack, token):
    # given a client with a token and a valid nonce

    # when
    order_id = submit_order(stack, token, amount="10.00", nonce="fake-valid-nonce")
    order = final_order(stack, token, order_id)

    # then
    assert order["status"] == "paid"
    assert order["gateway_status"] in TRANSACTION_PAID_STATUSES
    assert_paid_by_exactly_one_sale(stack, order)


def test_processor_declined_order_fails_with_code_2000(stack, token):
    # given an amount the sandbox processor declines ("Do Not Honor")

    # when
    order_id = submit_order(stack, token, amount="2000.00", nonce="fake-valid-nonce")
    order = final_order(stack, token, order_id)

    # then
    assert order["status"] == "failed"
    assert order["gateway_status"] == "processor_declined"
    assert order["processor_response_code"] == "2000"
    assert successful_sales(order_sales(stack, order_id)) == []


def test_gateway_rejected_order_fails_as_gateway_rejected(stack, token):
    # given an amount the sandbox gateway rejects

    # when
    order_id = submit_order(stack, token, amount="5001.00", nonce="fake-valid-nonce")
    order = final_order(stack, token, order_id)

    # then
    assert order["status"] == "failed"
    assert order["gateway_status"] == "gateway_rejected"
    assert successful_sales(order_sales(stack, order_id)) == []


def test_sale_failing_with_503_twice_is_retried_and_charged_once(stack, token, faults):
    # given the gateway answers the next two sale requests with 503
    faults.set_faults({"rules": [{"kind": "error", "status": 503, "count": 2, **SALE_REQUESTS}]})

    # when
    order_id = submit_order(stack, token, amount="10.00", nonce="fake-valid-nonce")
    order = final_order(stack, token, order_id)

    # then the retries got through, and the customer was charged once
    assert order["status"] == "paid"
    assert faults.faults()["rules"][0]["count"] == 0
    assert len(order_sales(stack, order_id)) == 1
    assert_paid_by_exactly_one_sale(stack, order)


def test_processor_failure_is_retried_up_to_the_cap_then_fails(stack, token):
    # given an amount for which the sandbox processor answers "failed" (3000) every time

    # when
    order_id = submit_order(stack, token, amount="3000.00", nonce="fake-valid-nonce")
    order = final_order(stack, token, order_id)

    # then it was sold again after the first failure, but no more often than the cap allows
    attempts = order_sales(stack, order_id)
    assert order["status"] == "failed"
    assert order["processor_response_code"] == "3000"
    assert 2 <= len(attempts) <= MAX_RETRIES + 1, attempts
    assert successful_sales(attempts) == []


def test_consumed_nonce_fails_with_91564(stack, token):
    # given a nonce that was already used

    # when
    order_id = submit_order(stack, token, amount="10.00", nonce="fake-consumed-nonce")
    order = final_order(stack, token, order_id)

    # then
    assert order["status"] == "failed"
    assert "91564" in order["error_codes"]
    assert successful_sales(order_sales(stack, order_id)) == []


def test_unknown_nonce_fails_with_91565(stack, token):
    # given a nonce the gateway never issued
    nonce = f"never-issued-{uuid.uuid4()}"

    # when
    order_id = submit_order(stack, token, amount="10.00", nonce=nonce)
    order = final_order(stack, token, order_id)

    # then
    assert order["status"] == "failed"
    assert "91565" in order["error_codes"]
    assert successful_sales(order_sales(stack, order_id)) == []
