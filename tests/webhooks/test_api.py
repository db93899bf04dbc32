"""POST/GET /webhooks/braintree/ with the fake gateway's signatures: every answer."""

from datetime import timedelta
from unittest import mock
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from payments import gateways
from payments.gateways.fake import fake_webhook
from payments.core.statuses import OrderStatus
from payments.models import WebhookNotification
from payments.tasks import process_webhook_task
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db
URL = "/webhooks/braintree/"


@pytest.fixture(autouse=True)
def fake(settings):
    settings.PAYMENTS_GATEWAY = "fake"
    gateways.reset_gateway()
    yield
    gateways.reset_gateway()


@pytest.fixture
def queued():
    sent = []
    with mock.patch.object(process_webhook_task, "apply_async", side_effect=lambda args=None, **kw: sent.append(args[0])):
        yield sent


def form(signature, payload):
    """Braintree's body: x-www-form-urlencoded `bt_signature` + `bt_payload`."""
    return {
        "data": urlencode({"bt_signature": signature, "bt_payload": payload}),
        "content_type": "application/x-www-form-urlencoded",
    }


def test_a_signed_notification_is_stored_queued_and_answered_200(
    anonymous_client, queued, django_capture_on_commit_callbacks
):
    signature, payload = fake_webhook("dispute_opened", subject_id="dp1", timestamp=timezone.now(), transaction_id="t1")
    with django_capture_on_commit_callbacks(execute=True):
        response = anonymous_client.post(URL, **form(signature, payload))
    assert response.status_code == 200
    notification = WebhookNotification.objects.get()
    assert response.json() == {"id": notification.pk, "kind": "dispute_opened", "duplicate": False}
    assert queued == [str(notification.pk)]


def test_a_duplicate_delivery_is_stored_once(anonymous_client, queued, django_capture_on_commit_callbacks):
    signature, payload = fake_webhook("transaction_settled", subject_id="t1", timestamp=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        anonymous_client.post(URL, **form(signature, payload))
    again = anonymous_client.post(URL, **form(signature, payload))
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    assert WebhookNotification.objects.get().deliveries == 2


def test_a_forged_signature_answers_403_and_stores_nothing(anonymous_client, queued):
    _, payload = fake_webhook("dispute_lost", subject_id="dp1", timestamp=timezone.now())
    response = anonymous_client.post(URL, **form("0" * 64, payload))
    assert response.status_code == 403
    assert not WebhookNotification.objects.exists()
    assert queued == []


def test_a_tampered_payload_answers_403(anonymous_client, queued):
    signature, _ = fake_webhook("dispute_lost", subject_id="dp1", timestamp=timezone.now())
    _, other = fake_webhook("dispute_won", subject_id="dp1", timestamp=timezone.now() + timedelta(seconds=1))
    assert anonymous_client.post(URL, **form(signature, other)).status_code == 403
    assert not WebhookNotification.objects.exists()


def test_missing_fields_answer_400(anonymous_client, queued):
    response = anonymous_client.post(
        URL, data="bt_payload=abc", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert "bt_signature" in response.json()
    assert not WebhookNotification.objects.exists()


def test_the_challenge_is_answered_by_the_gateway(anonymous_client):
    response = anonymous_client.get(URL, {"bt_challenge": "0123456789abcdef0123"})
    assert response.status_code == 200
    assert response.content.decode().startswith("fake|")


def test_a_bad_or_missing_challenge_is_refused(anonymous_client):
    assert anonymous_client.get(URL, {"bt_challenge": "not hex!"}).status_code == 403
    assert anonymous_client.get(URL).status_code == 400


def test_a_processed_dispute_shows_on_the_order(anonymous_client, user, django_capture_on_commit_callbacks):
    from tests.fixtures.api import client_for

    order = OrderFactory(owner=user, status=OrderStatus.PAID, transaction_id="t9")
    signature, payload = fake_webhook(
        "dispute_opened", subject_id="dp9", timestamp=timezone.now(), transaction_id="t9", amount="10.00", reason="fraud"
    )
    with mock.patch.object(process_webhook_task, "apply_async",
                           side_effect=lambda args=None, **kw: process_webhook_task.run(args[0])):
        with django_capture_on_commit_callbacks(execute=True):
            anonymous_client.post(URL, **form(signature, payload))
    body = client_for(user).get(f"/api/orders/{order.pk}/").json()
    assert (body["dispute_status"], body["dispute_amount"], body["dispute_reason"]) == ("open", "10.00", "fraud")


def test_a_notification_larger_than_the_apis_body_limit_is_accepted(
    anonymous_client, queued, settings, django_capture_on_commit_callbacks
):
    # given a dispute notification of about 60 kB, far past the API's 16 KiB
    signature, payload = fake_webhook(
        "dispute_opened", subject_id="dp1", timestamp=timezone.now(), transaction_id="t1", evidence="e" * 45_000
    )
    body = form(signature, payload)
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE < len(body["data"]) < settings.WEBHOOK_MAX_BODY_BYTES
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = anonymous_client.post(URL, **body)
    # then
    assert response.status_code == 200
    assert response.json()["kind"] == "dispute_opened"


def test_a_body_over_the_webhooks_own_limit_answers_413_and_stores_nothing(anonymous_client, queued, settings):
    # given
    settings.WEBHOOK_MAX_BODY_BYTES = 32 * 1024
    signature, payload = fake_webhook("dispute_opened", subject_id="dp1", timestamp=timezone.now(), evidence="e" * 30_000)
    # when
    response = anonymous_client.post(URL, **form(signature, payload))
    # then
    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is larger than the limit of 32768 bytes."}
    assert not WebhookNotification.objects.exists()
    assert queued == []
