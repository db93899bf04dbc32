"""Saved payment methods through the whole service: a token is reusable, so every resale would be a
real second charge, and the claim, the lease, the search before a resale and the api_request_key
are all that stand in the way.

One stack per module (as tests/orders/test_integration_end_to_end.py): the simulator with its
vault, a prefork payments worker whose pool processes the tests SIGKILL, the maintenance worker,
beat and gunicorn, on a private redis-server. Assertions read the simulator's ledger.
"""

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection

from devtools.ledger import successful_sales
from devtools.polling import wait_for_api_order, wait_until
from devtools.settings import FAST_SETTINGS
from devtools.sim import sale_rule
from devtools.stack import Beat, RedisServer, Simulator, WebServer, Worker, environment, http_request, start_together, stop_together
from payments.models import Order, OrderEvent, PaymentMethod
from payments.tokens.services import api_token_issue
from tests.factories import UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SEARCH_REQUESTS = {"methods": ["POST"], "paths": ["/transactions/advanced_search*"]}


class Stack:
    def __init__(self, web, sim, payments):
        self.web, self.sim, self.payments = web, sim, payments


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("saved-methods")
    with django_db_blocker.unblock():
        db_name = connection.settings_dict["NAME"]
    with RedisServer(run_dir=run_dir) as redis_server, Simulator(run_dir=run_dir) as sim:
        env = environment(db_name=db_name, broker_url=redis_server.url(0), simulator_url=sim.url, extra=FAST_SETTINGS)
        web = WebServer(env=env, run_dir=run_dir)
        payments = Worker(name="payments", queues="payments", concurrency=4, env=env, run_dir=run_dir)
        processes = [
            payments,
            Worker(name="maintenance", queues="default,maintenance", env=env, run_dir=run_dir),
            Beat(env=env, run_dir=run_dir),
            web,
        ]
        try:
            start_together(processes)
            yield Stack(web=web, sim=sim, payments=payments)
        finally:
            stop_together(processes)


@pytest.fixture
def faults(stack):
    yield stack.sim
    stack.sim.set_faults({})


def api(stack, token, method, path, body=None):
    return http_request(method, f"{stack.web.url}{path}", body=body, headers={"Authorization": f"Token {token}"})


def active_method(stack, token):
    """A customer and an active saved card, through the API: `(customer_id, method_id)`."""
    status, _, customer = api(stack, token, "POST", "/api/customers/", {"email": "ada@example.com"})
    assert status == 201, customer
    path = f"/api/customers/{customer['id']}/payment-methods/"
    status, _, method = api(stack, token, "POST", path, {"payment_method_nonce": "fake-valid-visa-nonce"})
    assert (status, method["status"]) == (202, "pending"), method

    def active():
        _, _, body = api(stack, token, "GET", f"{path}{method['id']}/")
        return body if body["status"] != "pending" else None

    body = wait_until(active, timeout=20, desc="the payment method stored")
    assert (body["status"], body["last_4"], body["card_type"]) == ("active", "1111", "Visa"), body
    return customer["id"], method["id"]


def order_on(stack, token, method_id, amount="10.00"):
    status, _, body = api(stack, token, "POST", "/api/orders/", {"amount": amount, "payment_method": method_id})
    assert status == 202, body
    return body["id"]


def sales_on(stack, token_of_method):
    return [row for row in stack.sim.transactions() if row["payment_method_token"] == token_of_method]


def test_sixty_orders_on_one_saved_card_with_workers_killed_are_each_charged_exactly_once(stack, faults):
    # given: a customer's active card, and sales slow enough that kills land mid-charge
    token = api_token_issue(UserFactory())
    _, method_id = active_method(stack, token)
    vault_token = PaymentMethod.token_for(method_id)
    faults.set_faults({"rules": [sale_rule(kind="latency", latency_ms=150)]})
    stop = threading.Event()
    killed = []

    def killer():
        while not stop.wait(0.7):
            pid = stack.payments.kill_child()
            if pid:
                killed.append(pid)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    # when: 60 orders on the card while pool processes are SIGKILLed
    try:
        order_ids = [order_on(stack, token, method_id) for _ in range(60)]
        orders = [wait_for_api_order(stack.web.url, token, order_id, timeout=120) for order_id in order_ids]
    finally:
        stop.set()
        thread.join()
    # then: every order paid by exactly one successful sale on the token, the one it recorded
    assert killed
    assert [o["status"] for o in orders] == ["paid"] * 60, [o for o in orders if o["status"] != "paid"]
    ledger = stack.sim.transactions()
    for order in orders:
        charged = successful_sales([row for row in ledger if row["order_id"] == order["id"]])
        assert [row["id"] for row in charged] == [order["transaction_id"]], (order["id"], charged)
        assert charged[0]["payment_method_token"] == vault_token
        assert Decimal(charged[0]["amount"]) == Decimal(order["amount"])
    assert len(successful_sales(sales_on(stack, vault_token))) == 60
    # and: another user cannot see the card nor charge it
    stranger = api_token_issue(UserFactory())
    customer_id = str(PaymentMethod.objects.get(pk=method_id).customer_id)
    status, _, _ = api(stack, stranger, "GET", f"/api/customers/{customer_id}/payment-methods/{method_id}/")
    assert status == 404
    status, _, body = api(stack, stranger, "POST", "/api/orders/", {"amount": "1.00", "payment_method": method_id})
    assert (status, body) == (422, {"payment_method": ["No payment method with this id."]})
    # and: once deleted, it is never charged again
    status, _, body = api(stack, token, "DELETE", f"/api/customers/{customer_id}/payment-methods/{method_id}/")
    assert (status, body["status"]) == (202, "deleted")
    status, _, body = api(stack, token, "POST", "/api/orders/", {"amount": "1.00", "payment_method": method_id})
    assert (status, body) == (422, {"payment_method": ["This payment method was deleted."]})
    wait_until(lambda: PaymentMethod.objects.get(pk=method_id).gateway_deleted_at, timeout=20,
               desc="the vault delete")
    time.sleep(1)
    assert len(sales_on(stack, vault_token)) == len(successful_sales(sales_on(stack, vault_token))) == 60


def test_a_vaulted_sale_whose_answer_is_lost_and_whose_worker_dies_is_charged_once(stack, faults):
    # given: the gateway commits the first sale and drops the answer; the retry's search before
    # reselling is slow, and the worker doing it is killed
    token = api_token_issue(UserFactory())
    _, method_id = active_method(stack, token)
    faults.set_faults({"rules": [
        sale_rule(kind="drop", count=1),
        {"kind": "latency", "latency_ms": 2500, "count": 1, **SEARCH_REQUESTS},
    ]})
    # when
    order_id = order_on(stack, token, method_id)
    wait_until(lambda: Order.objects.get(pk=order_id).claims >= 2, timeout=20, desc="the retry's claim")
    time.sleep(0.5)
    killed = [stack.payments.kill_child(pid) for pid in stack.payments.child_pids()]
    order = wait_for_api_order(stack.web.url, token, order_id, timeout=60)
    # then: exactly one sale on the token for this order, the one the order recorded
    assert any(killed)
    sales = [row for row in stack.sim.transactions(order_id=order_id)]
    assert [row["id"] for row in sales] == [order["transaction_id"]], sales
    assert sales[0]["payment_method_token"] == PaymentMethod.token_for(method_id)
    assert order["status"] == "paid"
    events = OrderEvent.objects.filter(order_id=order_id)
    assert events.filter(action="sale", outcome="unavailable").exists()
    assert events.filter(action="search", outcome="found_paid", transaction_id=order["transaction_id"]).exists()
