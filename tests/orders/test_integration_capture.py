"""Manual capture through the API, with real workers, the real SDK and the simulator's ledger.

The acceptance sequence: a manual order rests in `authorized` (the ledger: authorized); a 30.00
capture of a 50.00 authorization makes it `paid` with `captured_amount` 30.00 and the ledger
settling 30.00; a second capture is 409; a capture above the authorization 400; a cancel of
another authorized order makes it `canceled` (the ledger: voided); a capture after the cancel is
409; an automatic order is captured at the sale as before. One stack per module, as in
test_integration_end_to_end.py.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from devtools.ledger import sales
from devtools.polling import wait_for_api_order
from devtools.settings import FAST_SETTINGS
from devtools.stack import (
    RedisServer,
    Simulator,
    WebServer,
    Worker,
    environment,
    http_request,
    start_together,
    stop_together,
)
from payments.tokens.services import api_token_issue
from tests.factories import UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class Stack:
    def __init__(self, web, sim):
        self.web = web
        self.sim = sim


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("capture")
    with django_db_blocker.unblock():
        db_name = connection.settings_dict["NAME"]
    with RedisServer(run_dir=run_dir) as redis_server, Simulator(run_dir=run_dir) as sim:
        env = environment(
            db_name=db_name, broker_url=redis_server.url(0), simulator_url=sim.url, extra=FAST_SETTINGS
        )
        web = WebServer(env=env, run_dir=run_dir)
        processes = [Worker(name="payments", queues="payments", concurrency=2, env=env, run_dir=run_dir), web]
        try:
            start_together(processes)
            yield Stack(web=web, sim=sim)
        finally:
            stop_together(processes)


@pytest.fixture
def token():
    return api_token_issue(UserFactory())


def post(stack, token, path, body=None, key=None):
    headers = {"Authorization": f"Token {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    status, _, answer = http_request("POST", f"{stack.web.url}{path}", body=body or {}, headers=headers)
    return status, answer


def submit_order(stack, token, *, amount, capture):
    status, body = post(
        stack, token, "/api/orders/", {"amount": amount, "payment_method_nonce": "fake-valid-nonce", "capture": capture}
    )
    assert status == 202, body
    return body["id"]


def order_in(stack, token, order_id, *statuses):
    try:
        return wait_for_api_order(stack.web.url, token, order_id, timeout=25, statuses=frozenset(statuses))
    except TimeoutError as exc:
        pytest.fail(str(exc))


def ledger_sale(stack, order_id):
    [sale] = sales(stack.sim.transactions(order_id=order_id))
    return sale


def test_authorize_then_capture_part_refuse_more_then_cancel_another(stack, token):
    # given: a manual order of 50.00
    order_id = submit_order(stack, token, amount="50.00", capture="manual")
    # then it rests in authorized, and the gateway holds an authorization
    order = order_in(stack, token, order_id, "authorized")
    assert (order["authorized_amount"], order["captured_amount"]) == ("50.00", None)
    assert ledger_sale(stack, order_id)["status"] == "authorized"

    # when: 30.00 of it is captured
    status, body = post(stack, token, f"/api/orders/{order_id}/capture/", {"amount": "30.00"}, key="cap-1")
    assert status == 202, body
    # then: paid, 30.00 captured, and the ledger settles 30.00
    order = order_in(stack, token, order_id, "paid")
    assert order["captured_amount"] == "30.00"
    sale = ledger_sale(stack, order_id)
    assert (sale["status"], Decimal(sale["amount"])) == ("submitted_for_settlement", Decimal("30.00"))
    # and a replay of that capture answers the same, a second capture 409, one above the authorization 400
    assert post(stack, token, f"/api/orders/{order_id}/capture/", {"amount": "30.00"}, key="cap-1")[0] == 202
    assert post(stack, token, f"/api/orders/{order_id}/capture/", {"amount": "10.00"})[0] == 409
    assert post(stack, token, f"/api/orders/{order_id}/capture/", {"amount": "60.00"})[0] == 400

    # given: another authorized order
    other_id = submit_order(stack, token, amount="20.00", capture="manual")
    order_in(stack, token, other_id, "authorized")
    # when: it is canceled
    status, body = post(stack, token, f"/api/orders/{other_id}/cancel/")
    assert status == 202, body
    # then: canceled, the authorization voided, and a capture after the cancel 409
    other = order_in(stack, token, other_id, "canceled")
    assert other["captured_amount"] is None
    assert ledger_sale(stack, other_id)["status"] == "voided"
    assert post(stack, token, f"/api/orders/{other_id}/capture/")[0] == 409


def test_an_automatic_order_is_captured_at_the_sale(stack, token):
    # when
    order_id = submit_order(stack, token, amount="50.00", capture="automatic")
    # then
    order = order_in(stack, token, order_id, "paid")
    assert (order["capture"], order["authorized_amount"]) == ("automatic", None)
    assert ledger_sale(stack, order_id)["status"] == "submitted_for_settlement"
    assert post(stack, token, f"/api/orders/{order_id}/capture/")[0] == 409


def test_a_capture_racing_a_cancel_ends_in_exactly_one_of_them(stack, token):
    # given
    order_id = submit_order(stack, token, amount="40.00", capture="manual")
    order_in(stack, token, order_id, "authorized")
    # when: both are POSTed at once (the API serialises them on the order's row)
    start = threading.Barrier(2)

    def ask(action):
        start.wait()
        return action, post(stack, token, f"/api/orders/{order_id}/{action}/")[0]

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = dict(pool.map(ask, ["capture", "cancel"]))
    # then: one won, the other was refused, and the ledger holds exactly the winner's write
    assert sorted(answers.values()) == [202, 409], answers
    winner = "capture" if answers["capture"] == 202 else "cancel"
    order = order_in(stack, token, order_id, "paid" if winner == "capture" else "canceled")
    history = [event["status"] for event in ledger_sale(stack, order_id)["status_history"]]
    written = [status for status in history if status in ("submitted_for_settlement", "voided")]
    assert written == ["submitted_for_settlement" if winner == "capture" else "voided"], history
    assert order["captured_amount"] == ("40.00" if winner == "capture" else None)
