"""The Idempotency-Key header: replays, mismatches and a first request still in flight."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from payments.models import Order
from payments.orders.services import order_create
from tests.fixtures.api import client_for
from tests.factories import UserFactory

BODY = {"amount": "12.34", "payment_method_nonce": "fake-valid-nonce", "currency": "USD", "description": "Order #7"}
KEY = "checkout-7f3a"


@pytest.mark.django_db
def test_replay_with_the_same_key_and_body_returns_the_same_order_without_a_second_charge(
    api_client, django_capture_on_commit_callbacks
):
    # given a first request with a key
    with django_capture_on_commit_callbacks(execute=False) as first_dispatch:
        first = api_client.post("/api/orders/", BODY, format="json", headers={"Idempotency-Key": KEY})

    # when the client retries it, byte for byte
    with django_capture_on_commit_callbacks(execute=False) as replay_dispatch:
        replay = api_client.post("/api/orders/", BODY, format="json", headers={"Idempotency-Key": KEY})

    # then both answers describe the one order, and only the first dispatched a charge
    assert (first.status_code, replay.status_code) == (202, 202)
    assert replay.json() == first.json()
    assert replay["Location"] == first["Location"]
    assert Order.objects.count() == 1
    assert (len(first_dispatch), len(replay_dispatch)) == (1, 0)
    # and only the replay is marked as one, as Stripe marks it
    assert not first.has_header("Idempotent-Replayed")
    assert replay["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_replay_with_an_equal_amount_written_differently_is_still_a_replay(
    api_client, django_capture_on_commit_callbacks
):
    # given
    with django_capture_on_commit_callbacks(execute=False):
        first = api_client.post(
            "/api/orders/", {**BODY, "amount": "12.3"}, format="json", headers={"Idempotency-Key": KEY}
        )

    # when the same amount comes back as "12.30"
    with django_capture_on_commit_callbacks(execute=False) as replay_dispatch:
        replay = api_client.post(
            "/api/orders/", {**BODY, "amount": "12.30"}, format="json", headers={"Idempotency-Key": KEY}
        )

    # then it is the same request
    assert replay.status_code == 202
    assert replay.json()["id"] == first.json()["id"]
    assert replay_dispatch == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"amount": "12.35"}, id="other amount"),
        pytest.param({"currency": "EUR"}, id="other currency"),
        pytest.param({"description": "Order #8"}, id="other description"),
        pytest.param({"payment_method_nonce": "fake-valid-visa-nonce"}, id="other nonce"),
    ],
)
def test_same_key_with_a_different_body_answers_422_and_changes_nothing(
    api_client, django_capture_on_commit_callbacks, change
):
    # given a first order under the key
    with django_capture_on_commit_callbacks(execute=False):
        first = api_client.post("/api/orders/", BODY, format="json", headers={"Idempotency-Key": KEY})

    # when the key is reused for a different request
    with django_capture_on_commit_callbacks(execute=False) as dispatch:
        response = api_client.post(
            "/api/orders/", {**BODY, **change}, format="json", headers={"Idempotency-Key": KEY}
        )

    # then it is refused, and the first order is untouched
    assert response.status_code == 422
    assert response.json() == {"detail": "This Idempotency-Key was already used with a different request body."}
    assert dispatch == []
    order = Order.objects.get()
    assert str(order.pk) == first.json()["id"]
    assert (order.amount, order.currency, order.description) == (Decimal("12.34"), "USD", "Order #7")


@pytest.mark.django_db
def test_keys_are_scoped_to_the_client(api_client, django_capture_on_commit_callbacks):
    # given a key used by one client
    with django_capture_on_commit_callbacks(execute=False):
        mine = api_client.post("/api/orders/", BODY, format="json", headers={"Idempotency-Key": KEY})

    # when another client happens to use the same key
    with django_capture_on_commit_callbacks(execute=False) as dispatch:
        theirs = client_for(UserFactory()).post(
            "/api/orders/", BODY, format="json", headers={"Idempotency-Key": KEY}
        )

    # then each gets its own order
    assert (mine.status_code, theirs.status_code) == (202, 202)
    assert mine.json()["id"] != theirs.json()["id"]
    assert len(dispatch) == 1


@pytest.mark.django_db
def test_same_key_while_the_first_request_is_still_running_answers_409(user, django_capture_on_commit_callbacks):
    # given a first request with the key, paused inside its transaction on a second database
    # connection: it holds the key's advisory lock until that transaction ends. (Its order row
    # refers to a user this test has not committed; PostgreSQL checks that deferred foreign key
    # only at commit, and this transaction never commits.)
    holding, release = threading.Event(), threading.Event()
    failures = []

    def first_request():
        try:
            with transaction.atomic():
                order_create(
                    owner=user,
                    amount=Decimal("12.34"),
                    nonce=BODY["payment_method_nonce"],
                    description=BODY["description"],
                    idempotency_key=KEY,
                )
                holding.set()
                release.wait(timeout=10)
                # The first request dies before committing, as if its process were killed.
                transaction.set_rollback(True)
        except Exception as exc:  # surfaced by the assertion below, not lost in the thread
            failures.append(exc)
            holding.set()
        finally:
            connection.close()

    thread = threading.Thread(target=first_request)
    thread.start()
    assert holding.wait(timeout=10)
    client = client_for(user)

    try:
        # when the client retries with the same key meanwhile
        with django_capture_on_commit_callbacks(execute=False) as dispatch:
            response = client.post("/api/orders/", BODY, format="json", headers={"Idempotency-Key": KEY})

        # then it is told to retry later, and the retry stored and dispatched nothing
        assert failures == []
        assert response.status_code == 409
        assert response.json() == {
            "detail": "A request with this Idempotency-Key is still being processed; retry later."
        }
        assert Order.objects.count() == 0
        assert dispatch == []
    finally:
        release.set()
        thread.join(timeout=10)

    # and once the first request is gone, the next retry goes through and is charged once
    with django_capture_on_commit_callbacks(execute=False) as dispatch:
        retry = client.post("/api/orders/", BODY, format="json", headers={"Idempotency-Key": KEY})
    assert retry.status_code == 202
    assert Order.objects.count() == 1
    assert len(dispatch) == 1
