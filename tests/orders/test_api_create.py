"""POST /api/orders/: the happy path, the dispatch of the charge, and a broker that is down."""

import time
from decimal import Decimal

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from payments.core.statuses import OrderStatus
from payments.models import Order
from tests.fixtures.api import BROKER_PASSWORD

pytestmark = pytest.mark.django_db

VALID_BODY = {
    "amount": "12.34",
    "payment_method_nonce": "fake-valid-nonce",
    "currency": "EUR",
    "description": "Order #1001",
}


def test_create_order_answers_202_with_the_order_and_its_location(api_client, user, django_capture_on_commit_callbacks):
    # given a client with a token
    # when it submits a valid order
    with django_capture_on_commit_callbacks(execute=False):
        response = api_client.post("/api/orders/", VALID_BODY, format="json")

    # then the order is accepted and described
    assert response.status_code == 202
    body = response.json()
    order = Order.objects.get()
    assert response["Location"] == f"http://testserver/api/orders/{order.pk}/"
    assert body == {
        "id": str(order.pk),
        "status": "pending",
        "amount": "12.34",
        "currency": "EUR",
        "description": "Order #1001",
        "transaction_id": None,
        "gateway_status": "",
        "processor_response_code": "",
        "processor_response_text": "",
        "error_codes": [],
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
        "errors": [],
        "failure_reason": "",
        "status_detail": "",
        "gateway_rejection_reason": "",
        "gateway_rejection_message": "",
        "refunded_amount": "0.00",
        "dispute_status": None,
        "dispute_amount": None,
        "dispute_reason": "",
        "capture": "automatic",
        "authorized_amount": None,
        "captured_amount": None,
        "authorization_expires_at": None,
        "payment_method": None,
    }
    assert "payment_method_nonce" not in body
    # and the row holds what was sent, for this owner
    assert (order.owner, order.amount, order.currency, order.status) == (user, Decimal("12.34"), "EUR", "pending")
    assert order.payment_method_nonce == "fake-valid-nonce"


def test_create_order_defaults_to_usd_and_an_empty_description(api_client, django_capture_on_commit_callbacks):
    # given / when
    with django_capture_on_commit_callbacks(execute=False):
        response = api_client.post(
            "/api/orders/", {"amount": "5", "payment_method_nonce": "fake-valid-nonce"}, format="json"
        )

    # then
    assert response.status_code == 202
    assert (response.json()["amount"], response.json()["currency"], response.json()["description"]) == (
        "5.00",
        "USD",
        "",
    )


def test_create_order_dispatches_exactly_one_charge_after_commit(api_client, django_capture_on_commit_callbacks):
    # given / when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api_client.post("/api/orders/", VALID_BODY, format="json")

    # then the charge is published only once the order is committed, and only once
    assert response.status_code == 202
    assert len(callbacks) == 1


def test_charge_message_lands_in_the_payments_queue_of_the_broker(
    api_client, payments_queue, django_capture_on_commit_callbacks
):
    # given the real Redis broker (db 11), with no worker attached that could take the message
    # before we look (in one `make test` run the integration workers start after this suite;
    # another run on the same machine may have its own workers on this db)
    if payments_queue.other_consumers():
        pytest.skip("a worker of another test run consumes the payments queue of the test broker")

    # when an order is created and its transaction commits
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/orders/", VALID_BODY, format="json")

    # then exactly one charge message for this order waits in the payments queue
    assert response.status_code == 202
    assert len(payments_queue.charges_of(response.json()["id"])) == 1


def test_create_order_answers_202_quickly_when_the_broker_is_down(
    api_client, broker_down, caplog, django_capture_on_commit_callbacks
):
    # given a broker that refuses connections
    # when an order is submitted (the after-commit publish fails)
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api_client.post("/api/orders/", VALID_BODY, format="json")
    elapsed = time.monotonic() - started
    assert "Could not publish" in caplog.text
    assert BROKER_PASSWORD not in caplog.text

    # then the client still gets its 202 promptly, and the order waits for the reconciler
    assert len(callbacks) == 1
    assert response.status_code == 202
    assert elapsed < 5
    assert Order.objects.get(pk=response.json()["id"]).status == OrderStatus.PENDING


def test_browsable_api_accepts_session_authentication(user, django_capture_on_commit_callbacks):
    # given a user logged in with a session (the browsable API), not a token
    client = APIClient()
    client.force_login(user)

    # when
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/api/orders/", VALID_BODY, format="json")

    # then
    assert response.status_code == 202


@override_settings(BRAINTREE_MERCHANT_ACCOUNTS={"USD": "acct_usd", "GBP": "acct_gbp"})
def test_an_accepted_order_records_the_merchant_account_of_its_currency(api_client, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=False):
        response = api_client.post("/api/orders/", {**VALID_BODY, "currency": "GBP"}, format="json")

    # then the account it will be charged on is fixed at intake
    assert response.status_code == 202
    assert Order.objects.get().merchant_account_id == "acct_gbp"
