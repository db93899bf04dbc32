"""Braintree webhooks signed by the simulator, verified by the real SDK, applied by a real worker."""

from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.test import Client

from devtools.polling import wait_until
from payments.core.statuses import OrderStatus
from payments.models import Order, WebhookNotification
from payments.orders.services import order_create
from tests.factories import UserFactory
from tests.fixtures.pipeline import wait_for_final

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
URL = "/webhooks/braintree/"


def paid_order(amount="10.00"):
    order = order_create(
        owner=UserFactory(), amount=Decimal(amount), nonce="fake-valid-nonce", currency="USD", description="",
        idempotency_key=None,
    ).order
    order = wait_for_final(order.pk)
    assert order.status == OrderStatus.PAID
    return order


def sim_webhooks(sim, kind=None):
    hooks = sim._control("GET", "webhooks")["webhooks"]
    return [h for h in hooks if kind is None or h["kind"] == kind]


def deliver(hook):
    """POST a kept notification as Braintree does (x-www-form-urlencoded)."""
    body = urlencode({"bt_signature": hook["bt_signature"], "bt_payload": hook["bt_payload"]})
    return Client().post(URL, body, content_type="application/x-www-form-urlencoded")


def wait_for(predicate, desc, timeout=15):
    return wait_until(lambda: predicate() or None, timeout=timeout, interval=0.1, desc=desc)


def test_dispute_webhooks_duplicated_and_reordered_are_reflected_once_each(worker, sim):
    # given: a settled sale with a dispute opened and then won at the gateway
    order = paid_order()
    sim._control("POST", "settle", {})
    dispute = sim._control("POST", "disputes", {"transaction_id": order.transaction_id, "reason": "fraud"})["dispute"]
    sim._control("POST", f"disputes/{dispute['id']}/win", {})
    opened, won = sim_webhooks(sim, "dispute_opened")[0], sim_webhooks(sim, "dispute_won")[0]
    # when: delivered out of order, each twice
    answers = [deliver(h) for h in (won, opened, won, opened)]
    # then
    assert [a.status_code for a in answers] == [200, 200, 200, 200]
    assert [a.json()["duplicate"] for a in answers] == [False, False, True, True]
    wait_for(lambda: not WebhookNotification.objects.filter(state="received").exists(), "the webhooks processed")
    order.refresh_from_db()
    assert (order.dispute_id, order.dispute_status, order.dispute_amount, order.dispute_reason) == (
        dispute["id"], "won", Decimal("10.00"), "fraud"
    )
    assert order.events.filter(action="dispute").count() == 2


def test_a_forged_webhook_is_refused_and_nothing_is_stored(worker, sim):
    order = paid_order()
    sim._control("POST", "settle", {})
    sim._control("POST", "disputes", {"transaction_id": order.transaction_id})
    hook = sim_webhooks(sim, "dispute_opened")[0]
    forged = {**hook, "bt_signature": hook["bt_signature"][:-4] + "0000"}
    tampered = {**hook, "bt_payload": hook["bt_payload"].replace("A", "B", 1)}
    assert [deliver(forged).status_code, deliver(tampered).status_code] == [403, 403]
    assert not WebhookNotification.objects.exists()


def test_a_settlement_declined_webhook_makes_the_paid_order_settlement_declined(worker, sim):
    order = paid_order()
    sim._control("POST", f"transactions/{order.transaction_id}/decline_settlement", {})
    hook = sim_webhooks(sim, "transaction_settlement_declined")[0]
    assert deliver(hook).status_code == 200
    wait_for(lambda: Order.objects.get(pk=order.pk).status == OrderStatus.SETTLEMENT_DECLINED, "the decline")


def test_the_bt_challenge_is_answered_with_the_sdk(sim):
    answer = Client().get(URL, {"bt_challenge": "0123456789abcdef0123"})
    assert answer.status_code == 200
    assert answer.content.decode().startswith("sim_public_key|")


def test_the_settlement_tracker_records_settled_and_declined_sales(worker, sim):
    from payments.webhooks.settlement import orders_track_settlement

    # given: one sale settled, one declined at settlement, one still submitted
    settled, declined = paid_order("10.00"), paid_order("11.00")
    sim._control("POST", f"transactions/{declined.transaction_id}/decline_settlement", {})
    sim._control("POST", "settle", {})
    unsettled = paid_order("12.00")
    # when: batches of two ids per search
    counts = orders_track_settlement(limit=10, batch_size=2)
    # then
    assert (counts["checked"], counts["settled"], counts["settlement_declined"]) == (3, 1, 1)
    assert Order.objects.get(pk=declined.pk).status == OrderStatus.SETTLEMENT_DECLINED
    assert Order.objects.get(pk=settled.pk).gateway_status == "settled"
    assert Order.objects.get(pk=unsettled.pk).gateway_status == "submitted_for_settlement"
