"""GET /api/orders/<id>/ and GET /api/orders/: owner isolation, status filter, pagination."""

import uuid
from decimal import Decimal

import pytest
from rest_framework.pagination import PageNumberPagination

from payments.core.statuses import OrderStatus
from tests.factories import CustomerFactory, OrderFactory, PaymentMethodFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_client_reads_its_order_with_the_gateway_outcome(api_client, user):
    # given a declined order of this client
    order = OrderFactory(
        owner=user,
        amount=Decimal("2000.00"),
        status=OrderStatus.FAILED,
        transaction_id="p3r9z1wb",
        gateway_status="processor_declined",
        processor_response_code="2000",
        processor_response_text="Do Not Honor",
        error_codes=["81509", "91564"],
    )

    # when
    response = api_client.get(f"/api/orders/{order.pk}/")

    # then every public field is there, and the nonce is not
    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in body if key not in ("created_at", "updated_at")} == {
        "id": str(order.pk),
        "status": "failed",
        "amount": "2000.00",
        "currency": "USD",
        "description": "",
        "transaction_id": "p3r9z1wb",
        "gateway_status": "processor_declined",
        "processor_response_code": "2000",
        "processor_response_text": "Do Not Honor",
        "error_codes": ["81509", "91564"],
        "errors": [
            {"code": "81509", "message": "Credit card type is not accepted by this merchant account."},
            {"code": "91564", "message": "Cannot use a payment_method_nonce more than once."},
        ],
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
    assert set(body) >= {"created_at", "updated_at"}
    assert "payment_method_nonce" not in body


def test_someone_elses_order_answers_404_like_an_unknown_one(api_client):
    # given an order of another client
    theirs = OrderFactory(owner=UserFactory())

    # when
    response_theirs = api_client.get(f"/api/orders/{theirs.pk}/")
    response_unknown = api_client.get(f"/api/orders/{uuid.uuid4()}/")

    # then the two answers cannot be told apart
    assert response_theirs.status_code == response_unknown.status_code == 404
    assert response_theirs.json() == response_unknown.json() == {"detail": "No order with this id."}


def test_order_url_with_an_id_that_is_not_a_uuid_answers_404_as_json(api_client):
    # given / when
    response = api_client.get("/api/orders/12345/")

    # then
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_reading_an_order_needs_a_token(anonymous_client, user):
    # given
    order = OrderFactory(owner=user)

    # when
    response = anonymous_client.get(f"/api/orders/{order.pk}/")

    # then
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_list_shows_only_the_clients_orders_newest_first(api_client, user):
    # given two orders of this client and one of another
    older = OrderFactory(owner=user)
    newer = OrderFactory(owner=user)
    OrderFactory(owner=UserFactory())

    # when
    response = api_client.get("/api/orders/")

    # then
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [order["id"] for order in body["results"]] == [str(newer.pk), str(older.pk)]


def test_an_order_on_a_saved_card_shows_the_methods_id_and_never_its_token(api_client, user):
    # given an order charged on a saved card, and one paid with a nonce
    method = PaymentMethodFactory(customer=CustomerFactory(owner=user))
    on_card = OrderFactory(owner=user, payment_method=method, payment_method_nonce="")
    with_nonce = OrderFactory(owner=user)

    # when
    detail = api_client.get(f"/api/orders/{on_card.pk}/").json()
    listed = {order["id"]: order for order in api_client.get("/api/orders/").json()["results"]}

    # then the detail and the list name the method by the id the API knows it by
    assert detail["payment_method"] == listed[str(on_card.pk)]["payment_method"] == str(method.pk)
    assert listed[str(with_nonce.pk)]["payment_method"] is None
    # and the gateway's token appears nowhere
    assert method.gateway_token not in str(detail)


def test_the_schema_documents_payment_method_as_a_nullable_id(anonymous_client):
    # given / when
    schema = anonymous_client.get("/api/schema/", {"format": "json"}).json()

    # then
    field = schema["components"]["schemas"]["Order"]["properties"]["payment_method"]
    assert (field["type"], field["format"], field.get("nullable")) == ("string", "uuid", True)
    assert "payment_method" in schema["components"]["schemas"]["Order"]["required"]


def test_list_filters_by_status(api_client, user):
    # given orders in several statuses
    paid = OrderFactory(owner=user, status=OrderStatus.PAID, transaction_id="t1")
    OrderFactory(owner=user, status=OrderStatus.PENDING)
    OrderFactory(owner=user, status=OrderStatus.FAILED)
    OrderFactory(owner=UserFactory(), status=OrderStatus.PAID, transaction_id="t2")

    # when
    response = api_client.get("/api/orders/", {"status": "paid"})

    # then only this client's paid order is listed
    assert response.status_code == 200
    assert [order["id"] for order in response.json()["results"]] == [str(paid.pk)]


@pytest.mark.parametrize("value", ["done", "PAID", "paid,failed"])
def test_list_with_an_unknown_status_answers_400_naming_the_parameter(api_client, value):
    # given / when
    response = api_client.get("/api/orders/", {"status": value})

    # then
    assert response.status_code == 400
    assert list(response.json()) == ["status"]


def test_list_is_paginated(api_client, user, monkeypatch):
    # given three orders and pages of two
    monkeypatch.setattr(PageNumberPagination, "page_size", 2)
    orders = [OrderFactory(owner=user) for _ in range(3)]

    # when
    first = api_client.get("/api/orders/")
    second = api_client.get(first.json()["next"])

    # then the pages hold every order once, newest first
    assert first.json()["count"] == 3
    assert first.json()["previous"] is None
    assert second.json()["next"] is None
    listed = [order["id"] for page in (first, second) for order in page.json()["results"]]
    assert listed == [str(order.pk) for order in reversed(orders)]


def test_list_page_out_of_range_answers_404(api_client, user):
    # given
    OrderFactory(owner=user)

    # when
    response = api_client.get("/api/orders/", {"page": 9})

    # then
    assert response.status_code == 404
    assert "detail" in response.json()
