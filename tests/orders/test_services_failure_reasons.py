"""Failed orders say why through the API: failure_reason, gateway_rejection_reason, errors."""

from decimal import Decimal

import pytest

from payments.orders.services import order_charge
from tests.fixtures.api import client_for
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def order_as_api_shows_it(order):
    response = client_for(order.owner).get(f"/api/orders/{order.pk}/")
    assert response.status_code == 200
    return response.json()


def test_a_5001_gateway_rejection_says_why_through_the_api(fake):
    # given: 5001.00 is rejected by the sandbox gateway as application_incomplete
    order = OrderFactory(amount=Decimal("5001.00"))
    # when
    order_charge(order_id=order.pk)
    # then
    body = order_as_api_shows_it(order)
    assert body["status"] == "failed"
    assert body["gateway_status"] == "gateway_rejected"
    assert body["gateway_rejection_reason"] == "application_incomplete"
    assert "application is incomplete" in body["gateway_rejection_message"]
    assert body["failure_reason"] == "Gateway Rejected: application_incomplete"


def test_a_fraud_rejection_names_fraud(fake):
    # given
    order = OrderFactory(payment_method_nonce="fake-gateway-rejected-fraud-nonce")
    # when
    order_charge(order_id=order.pk)
    # then
    body = order_as_api_shows_it(order)
    assert (body["status"], body["gateway_rejection_reason"]) == ("failed", "fraud")


def test_a_validation_error_lists_its_code_with_the_message(fake):
    # given: the sandbox's luhn-invalid nonce fails validation with 81715
    order = OrderFactory(payment_method_nonce="fake-luhn-invalid-nonce")
    # when
    order_charge(order_id=order.pk)
    # then
    body = order_as_api_shows_it(order)
    assert body["status"] == "failed"
    assert body["error_codes"] == ["81715"]
    assert body["errors"] == [{"code": "81715", "message": "Credit card number is invalid."}]
    assert body["failure_reason"]
    assert body["gateway_rejection_reason"] == ""


def test_a_processor_decline_gives_its_text_as_the_failure_reason(fake):
    # given
    order = OrderFactory(amount=Decimal("2000.00"))
    # when
    order_charge(order_id=order.pk)
    # then
    body = order_as_api_shows_it(order)
    assert (body["status"], body["processor_response_code"], body["failure_reason"]) == (
        "failed",
        "2000",
        "Do Not Honor",
    )
    assert body["errors"] == []


def test_an_approved_order_has_no_failure_fields(fake, committed):
    # given
    order = OrderFactory(amount=Decimal("10.00"))
    # when
    with committed():
        order_charge(order_id=order.pk)
    # then
    body = order_as_api_shows_it(order)
    assert (body["failure_reason"], body["gateway_rejection_reason"], body["errors"]) == ("", "", [])
