"""POST /api/orders/<id>/capture/ and /cancel/: answers, refusals and Idempotency-Key replays."""

from decimal import Decimal

import pytest

from payments.core.statuses import OrderStatus
from payments.models import CaptureMode, Order
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def authorized(user):
    """One of the caller's manual orders, authorized for 50.00."""
    return OrderFactory(
        owner=user,
        amount=Decimal("50.00"),
        capture=CaptureMode.MANUAL,
        status=OrderStatus.AUTHORIZED,
        transaction_id="auth0001",
        gateway_status="authorized",
        authorized_amount=Decimal("50.00"),
        payment_method_nonce="",
    )


def test_a_manual_order_is_accepted_with_its_capture_mode(api_client, published, committed):
    # when
    with committed():
        response = api_client.post(
            "/api/orders/",
            {"amount": "50.00", "payment_method_nonce": "fake-valid-nonce", "capture": "manual"},
            format="json",
        )
    # then
    assert response.status_code == 202
    assert response.json()["capture"] == "manual"
    assert Order.objects.get().capture == CaptureMode.MANUAL


def test_an_unknown_capture_mode_is_refused(api_client):
    # when
    response = api_client.post(
        "/api/orders/", {"amount": "50.00", "payment_method_nonce": "fake-valid-nonce", "capture": "later"},
        format="json",
    )
    # then
    assert response.status_code == 400
    assert "capture" in response.json()


def test_a_capture_answers_202_and_dispatches_the_capture(api_client, authorized, published, committed):
    # when
    with committed():
        response = api_client.post(f"/api/orders/{authorized.pk}/capture/", {"amount": "30.00"}, format="json")
    # then
    assert response.status_code == 202
    assert response["Location"] == f"http://testserver/api/orders/{authorized.pk}/"
    assert response.json()["status"] == "authorized"
    assert published == [("capture_order_task", str(authorized.pk))]
    authorized.refresh_from_db()
    assert (authorized.authorization_decision, authorized.decision_amount) == ("capture", Decimal("30.00"))


def test_a_second_capture_is_409_and_a_capture_above_the_authorization_400(api_client, authorized, published):
    # given
    assert api_client.post(f"/api/orders/{authorized.pk}/capture/", {}, format="json").status_code == 202
    # when
    second = api_client.post(f"/api/orders/{authorized.pk}/capture/", {"amount": "10.00"}, format="json")
    above = api_client.post(f"/api/orders/{authorized.pk}/capture/", {"amount": "50.01"}, format="json")
    # then
    assert second.status_code == 409
    assert above.status_code == 400


def test_a_cancel_answers_202_and_a_capture_after_it_is_409(api_client, authorized, published, committed):
    # when
    with committed():
        cancel = api_client.post(f"/api/orders/{authorized.pk}/cancel/", format="json")
    capture = api_client.post(f"/api/orders/{authorized.pk}/capture/", format="json")
    # then
    assert cancel.status_code == 202
    assert capture.status_code == 409
    assert published == [("cancel_order_task", str(authorized.pk))]


def test_an_order_that_is_not_authorized_cannot_be_captured_or_canceled(api_client, user, published):
    # given
    paid = OrderFactory(owner=user, status=OrderStatus.PAID, transaction_id="sale0001")
    # when / then
    assert api_client.post(f"/api/orders/{paid.pk}/capture/", format="json").status_code == 409
    assert api_client.post(f"/api/orders/{paid.pk}/cancel/", format="json").status_code == 409


def test_someone_elses_order_is_404(api_client, published):
    # given
    other = OrderFactory(capture=CaptureMode.MANUAL, status=OrderStatus.AUTHORIZED, transaction_id="x1")
    # when / then
    assert api_client.post(f"/api/orders/{other.pk}/capture/", format="json").status_code == 404
    assert api_client.post(f"/api/orders/{other.pk}/cancel/", format="json").status_code == 404


def test_an_idempotency_key_replays_the_capture(api_client, authorized, published, committed):
    # given
    headers = {"HTTP_IDEMPOTENCY_KEY": "capture-1"}
    url = f"/api/orders/{authorized.pk}/capture/"
    with committed():
        first = api_client.post(url, {"amount": "30.00"}, format="json", **headers)
    # when
    with committed():
        replay = api_client.post(url, {"amount": "30.00"}, format="json", **headers)
        other_body = api_client.post(url, {"amount": "20.00"}, format="json", **headers)
    # then
    assert (first.status_code, replay.status_code, other_body.status_code) == (202, 202, 422)
    assert replay["Idempotent-Replayed"] == "true"
    assert len(published) == 1


def test_a_cancel_with_a_body_is_refused(api_client, authorized, published):
    # when
    response = api_client.post(f"/api/orders/{authorized.pk}/cancel/", {"amount": "1.00"}, format="json")
    # then
    assert response.status_code == 400
