"""The refund API: every answer of POST/GET /api/orders/<id>/refunds/[<refund_id>/]."""

from decimal import Decimal

import pytest

from payments.core.statuses import OrderStatus
from payments.models import Refund
from tests.fixtures.api import client_for
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(user):
    return OrderFactory(owner=user, status=OrderStatus.PAID, transaction_id="txn1", amount=Decimal("10.00"))


def url(order, refund=None):
    return f"/api/orders/{order.pk}/refunds/" + (f"{refund}/" if refund else "")


def post(client, order, body=None, key=None, capture=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    with capture(execute=False):
        return client.post(url(order), body or {}, format="json", **headers)


def test_a_refund_without_amount_refunds_the_remainder_with_202_and_location(
    api_client, paid, django_capture_on_commit_callbacks
):
    response = post(api_client, paid, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 202
    body = response.json()
    refund = Refund.objects.get()
    assert response["Location"] == f"http://testserver/api/orders/{paid.pk}/refunds/{refund.pk}/"
    assert {k: body[k] for k in ("id", "order", "amount", "status", "kind", "transaction_id")} == {
        "id": str(refund.pk), "order": str(paid.pk), "amount": "10.00", "status": "pending", "kind": None,
        "transaction_id": None,
    }
    assert set(body) >= {"created_at", "updated_at"}


def test_a_partial_refund_reserves_its_amount(api_client, paid, django_capture_on_commit_callbacks):
    assert post(api_client, paid, {"amount": "4.00"}, capture=django_capture_on_commit_callbacks).json()["amount"] == "4.00"
    assert post(api_client, paid, capture=django_capture_on_commit_callbacks).json()["amount"] == "6.00"


def test_a_refund_over_the_remainder_answers_409_and_stores_nothing(api_client, paid, django_capture_on_commit_callbacks):
    post(api_client, paid, {"amount": "7.00"}, capture=django_capture_on_commit_callbacks)
    response = post(api_client, paid, {"amount": "3.01"}, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 409
    assert "remainder of 3.00" in response.json()["detail"]
    assert Refund.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [({"amount": 5}, "amount"), ({"amount": "0"}, "amount"), ({"amount": "1.234"}, "amount"), ({"amonut": "1"}, "amonut")],
)
def test_an_invalid_body_answers_400_naming_the_field(api_client, paid, body, field, django_capture_on_commit_callbacks):
    response = post(api_client, paid, body, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert field in response.json()
    assert not Refund.objects.exists()


@pytest.mark.parametrize("status", [OrderStatus.PENDING, OrderStatus.PROCESSING, OrderStatus.FAILED, OrderStatus.NEEDS_REVIEW])
def test_an_order_that_is_not_paid_answers_409(api_client, user, status, django_capture_on_commit_callbacks):
    order = OrderFactory(owner=user, status=status)
    response = post(api_client, order, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 409
    assert not Refund.objects.exists()


def test_a_fully_refunded_order_answers_409(api_client, paid, django_capture_on_commit_callbacks):
    post(api_client, paid, capture=django_capture_on_commit_callbacks)
    assert post(api_client, paid, capture=django_capture_on_commit_callbacks).status_code == 409


def test_the_same_key_and_body_replays_the_refund_and_another_body_answers_422(
    api_client, paid, django_capture_on_commit_callbacks
):
    first = post(api_client, paid, {"amount": "2.00"}, key="r-1", capture=django_capture_on_commit_callbacks)
    again = post(api_client, paid, {"amount": "2.00"}, key="r-1", capture=django_capture_on_commit_callbacks)
    other = post(api_client, paid, {"amount": "3.00"}, key="r-1", capture=django_capture_on_commit_callbacks)
    assert (first.status_code, again.status_code, other.status_code) == (202, 202, 422)
    assert again.json()["id"] == first.json()["id"]
    assert Refund.objects.count() == 1
    # and only the replay says it is one
    assert (first.has_header("Idempotent-Replayed"), again["Idempotent-Replayed"]) == (False, "true")


def test_a_refund_names_its_currency_and_neither_a_failure_nor_a_wait_at_first(
    api_client, user, django_capture_on_commit_callbacks
):
    # given a paid order in pounds
    order = OrderFactory(owner=user, status=OrderStatus.PAID, transaction_id="txn2", amount="8.00", currency="GBP")
    # when
    body = post(api_client, order, {"amount": "2.00"}, capture=django_capture_on_commit_callbacks).json()
    # then
    assert (body["currency"], body["failure_reason"], body["status_detail"], body["kind"]) == ("GBP", "", "", None)


def test_refunds_answer_without_the_trailing_slash_too(api_client, paid, django_capture_on_commit_callbacks):
    # given / when a client that builds URLs without the slash
    with django_capture_on_commit_callbacks(execute=False):
        created = api_client.post(f"/api/orders/{paid.pk}/refunds", {"amount": "1.00"}, format="json")
    listed = api_client.get(f"/api/orders/{paid.pk}/refunds")
    read = api_client.get(f"/api/orders/{paid.pk}/refunds/{created.json()['id']}")
    # then each answers as its canonical route would, and Location is the canonical URL
    assert (created.status_code, listed.status_code, read.status_code) == (202, 200, 200)
    assert created["Location"].endswith(f"/refunds/{created.json()['id']}/")
    assert listed.json()["count"] == 1


def test_a_key_still_in_flight_answers_409(api_client, paid, django_capture_on_commit_callbacks):
    from unittest import mock

    with mock.patch("payments.refunds.services.try_lock_idempotency_key", return_value=False):
        response = post(api_client, paid, {"amount": "2.00"}, key="busy", capture=django_capture_on_commit_callbacks)
    assert response.status_code == 409
    assert not Refund.objects.exists()


def test_someone_elses_order_answers_404_for_post_list_and_detail(paid, django_capture_on_commit_callbacks):
    refund = Refund.objects.create(order=paid, amount=Decimal("1.00"))
    stranger = client_for(UserFactory())
    assert post(stranger, paid, capture=django_capture_on_commit_callbacks).status_code == 404
    assert stranger.get(url(paid)).status_code == 404
    assert stranger.get(url(paid, refund.pk)).status_code == 404
    assert Refund.objects.count() == 1


def test_the_owner_lists_and_reads_refunds(api_client, paid):
    first = Refund.objects.create(order=paid, amount=Decimal("1.00"))
    Refund.objects.create(order=paid, amount=Decimal("2.00"))
    listing = api_client.get(url(paid))
    assert listing.status_code == 200
    assert [r["amount"] for r in listing.json()["results"]] == ["1.00", "2.00"]
    detail = api_client.get(url(paid, first.pk))
    assert (detail.status_code, detail.json()["id"]) == (200, str(first.pk))


def test_an_unknown_refund_of_an_owned_order_answers_404(api_client, paid):
    assert api_client.get(url(paid, "6d1f0a8e-3b7c-4d2a-9e5f-1a2b3c4d5e6f")).status_code == 404


def test_an_anonymous_client_answers_401(anonymous_client, paid):
    assert anonymous_client.get(url(paid)).status_code == 401


def test_the_order_shows_its_refunded_amount_and_dispute(api_client, paid):
    paid.refunded_amount = Decimal("4.00")
    paid.status = OrderStatus.PARTIALLY_REFUNDED
    paid.dispute_status, paid.dispute_amount, paid.dispute_reason = "open", Decimal("10.00"), "fraud"
    paid.save()
    body = api_client.get(f"/api/orders/{paid.pk}/").json()
    assert (body["status"], body["refunded_amount"], body["dispute_status"], body["dispute_amount"]) == (
        "partially_refunded", "4.00", "open", "10.00"
    )
