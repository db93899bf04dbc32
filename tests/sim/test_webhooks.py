"""Signed webhooks for disputes and settlement, delivered to --webhook-url with bounded retries."""

import time

import pytest

from tests.sim.helpers import Control, WebhookReceiver, sale, sdk_gateway, settled_sale, wait_for


@pytest.fixture
def receiver():
    server = WebhookReceiver()
    yield server
    server.close()


@pytest.fixture
def hooked(make_sim, receiver):
    return make_sim(webhook_url=receiver.url, webhook_retry_delay=0.05)


def _parse(gateway, form):
    return gateway.webhook_notification.parse(form["bt_signature"], form["bt_payload"])


def _delivered(receiver, count=1):
    assert wait_for(lambda: len(receiver.received) >= count), "webhook not delivered"
    return receiver.received[:count]


@pytest.mark.parametrize("outcome, kind", [("win", "dispute_won"), ("lose", "dispute_lost"),
                                           ("accept", "dispute_accepted")])
def test_dispute_webhooks_are_accepted_by_the_sdk(hooked, receiver, outcome, kind):
    # given
    gateway, control = sdk_gateway(hooked.url), Control(hooked.url)
    tx = settled_sale(gateway, "70.00")
    dispute_id = control.post("/__sim__/disputes",
                              {"transaction_id": tx.id}).json()["dispute"]["id"]

    # when
    control.post(f"/__sim__/disputes/{dispute_id}/{outcome}")

    # then
    opened, closed = (_parse(gateway, form) for form in _delivered(receiver, 2))
    assert (opened.kind, opened.dispute.id, opened.dispute.status) == (
        "dispute_opened", dispute_id, "open")
    assert (closed.kind, closed.dispute.id) == (kind, dispute_id)
    assert closed.dispute.transaction.id == tx.id
    assert closed.dispute.amount_disputed == tx.amount


def test_sdk_accept_of_a_dispute_does_not_send_a_webhook_but_the_testing_route_does(
        hooked, receiver):
    # given: Braintree notifies a dispute's outcome, not the merchant's own accept call
    gateway, control = sdk_gateway(hooked.url), Control(hooked.url)
    dispute_id = control.post("/__sim__/disputes", {
        "transaction_id": settled_sale(gateway).id}).json()["dispute"]["id"]
    _delivered(receiver, 1)

    # when
    gateway.dispute.accept(dispute_id)
    time.sleep(0.2)

    # then
    assert len(receiver.received) == 1


@pytest.mark.parametrize("amount, kind, status", [
    ("10.00", "transaction_settled", "settled"),
    ("4001.00", "transaction_settlement_declined", "settlement_declined"),
])
def test_settlement_through_the_control_route_notifies_when_asked(
        hooked, receiver, amount, kind, status):
    # given
    gateway, control = sdk_gateway(hooked.url), Control(hooked.url)
    tx = sale(gateway, amount, options={"submit_for_settlement": True}).transaction

    # when
    control.post("/__sim__/settle", {"notify": True})

    # then
    notification = _parse(gateway, _delivered(receiver)[0])
    assert (notification.kind, notification.transaction.id) == (kind, tx.id)
    assert notification.transaction.status == status


def test_settlement_through_the_control_route_is_silent_by_default(hooked, receiver):
    # given
    sale(sdk_gateway(hooked.url), options={"submit_for_settlement": True})

    # when
    Control(hooked.url).post("/__sim__/settle")
    time.sleep(0.2)

    # then
    assert receiver.received == []


def test_forced_settlement_decline_of_a_submitted_sale_declines_now_and_notifies(
        hooked, receiver):
    # given
    gateway, control = sdk_gateway(hooked.url), Control(hooked.url)
    tx = sale(gateway, "10.00", options={"submit_for_settlement": True}).transaction

    # when
    response = control.post(f"/__sim__/transactions/{tx.id}/decline_settlement")

    # then
    assert response.status_code == 200 and response.json()["declined_now"] is True
    found = gateway.transaction.find(tx.id)
    assert (found.status, found.processor_settlement_response_code) == (
        "settlement_declined", "4001")
    notification = _parse(gateway, _delivered(receiver)[0])
    assert notification.kind == "transaction_settlement_declined"


def test_forced_settlement_decline_of_an_authorized_sale_applies_when_it_settles(gateway, control):
    # given
    tx = sale(gateway, "10.00").transaction

    # when
    marked = control.post(f"/__sim__/transactions/{tx.id}/decline_settlement").json()
    gateway.transaction.submit_for_settlement(tx.id)
    gateway.testing.settle_transaction(tx.id)

    # then
    assert marked["declined_now"] is False
    assert gateway.transaction.find(tx.id).status == "settlement_declined"


@pytest.mark.parametrize("make_transaction", [
    lambda gw: settled_sale(gw),
    lambda gw: gw.transaction.void(sale(gw).transaction.id).transaction,
])
def test_forced_settlement_decline_of_a_settled_or_voided_sale_is_refused(
        gateway, control, make_transaction):
    # given
    tx = make_transaction(gateway)

    # when
    response = control.post(f"/__sim__/transactions/{tx.id}/decline_settlement")

    # then
    assert response.status_code == 409
    assert gateway.transaction.find(tx.id).status == tx.status


def test_failed_delivery_is_retried_until_the_receiver_accepts_it(make_sim):
    # given
    receiver = WebhookReceiver(fail_first=2)
    sim = make_sim(webhook_url=receiver.url, webhook_retry_delay=0.05)
    gateway, control = sdk_gateway(sim.url), Control(sim.url)
    tx = settled_sale(gateway)

    # when
    control.post("/__sim__/disputes", {"transaction_id": tx.id})

    # then
    try:
        form, = _delivered(receiver)
        assert receiver.attempts == 3
        assert _parse(gateway, form).kind == "dispute_opened"
        record, = control.get("/__sim__/webhooks")["webhooks"]
        assert (record["status"], record["attempts"]) == ("delivered", 3)
    finally:
        receiver.close()


def test_retries_are_bounded_and_back_off(make_sim):
    # given
    receiver = WebhookReceiver(fail_first=100)
    sim = make_sim(webhook_url=receiver.url, webhook_attempts=3, webhook_retry_delay=0.2)
    control = Control(sim.url)
    tx = settled_sale(sdk_gateway(sim.url))
    started = time.monotonic()

    # when
    control.post("/__sim__/disputes", {"transaction_id": tx.id})

    # then
    try:
        failed = wait_for(lambda: [r for r in control.get("/__sim__/webhooks")["webhooks"]
                                   if r["status"] == "failed"])
        elapsed = time.monotonic() - started
        assert failed and failed[0]["attempts"] == 3
        assert "500" in failed[0]["last_error"]
        assert elapsed >= 0.2 + 0.4
        time.sleep(0.5)
        assert receiver.attempts == 3
    finally:
        receiver.close()


def test_unreachable_receiver_counts_as_a_failed_delivery(make_sim):
    # given
    closed = WebhookReceiver()
    url = closed.url
    closed.close()
    sim = make_sim(webhook_url=url, webhook_attempts=2, webhook_retry_delay=0.05)
    control = Control(sim.url)

    # when
    control.post("/__sim__/disputes", {"transaction_id": settled_sale(sdk_gateway(sim.url)).id})

    # then
    record = wait_for(lambda: [r for r in control.get("/__sim__/webhooks")["webhooks"]
                               if r["status"] == "failed"])
    assert record and record[0]["attempts"] == 2


def test_without_a_webhook_url_notifications_are_kept_for_the_harness(gateway, control):
    # given
    tx = settled_sale(gateway)

    # when
    control.post("/__sim__/disputes", {"transaction_id": tx.id})

    # then
    record, = control.get("/__sim__/webhooks")["webhooks"]
    assert (record["status"], record["kind"], record["attempts"]) == (
        "not_sent", "dispute_opened", 0)
    assert _parse(gateway, record).dispute.transaction.id == tx.id


def _notify(gateway, control, kind):
    """Make the simulator send one notification of ``kind``; return the subject transaction."""
    amount = "4001.00" if kind == "transaction_settlement_declined" else "10.00"
    if not kind.startswith("dispute"):
        tx = sale(gateway, amount, options={"submit_for_settlement": True}).transaction
        control.post("/__sim__/settle", {"notify": True})
        return tx
    tx = settled_sale(gateway, amount)
    dispute_id = control.post("/__sim__/disputes",
                              {"transaction_id": tx.id}).json()["dispute"]["id"]
    outcome = {"dispute_won": "win", "dispute_lost": "lose", "dispute_accepted": "accept"}
    if kind in outcome:
        control.post(f"/__sim__/disputes/{dispute_id}/{outcome[kind]}")
    return tx


@pytest.mark.parametrize("kind", ["dispute_opened", "dispute_won", "dispute_lost",
                                  "dispute_accepted", "transaction_settled",
                                  "transaction_settlement_declined"])
def test_notification_has_every_field_of_the_sdks_sample_notification(gateway, control, kind):
    # given
    tx = _notify(gateway, control, kind)
    sample = gateway.webhook_testing.sample_notification(kind, tx.id)

    # when
    record = control.get("/__sim__/webhooks")["webhooks"][-1]
    ours = _parse(gateway, record)
    theirs = _parse(gateway, sample)

    # then
    assert ours.kind == theirs.kind == kind
    assert all(len(line) <= 76 for line in record["bt_payload"].splitlines())
    subject = "dispute" if kind.startswith("dispute") else "transaction"
    assert getattr(ours, subject).status == getattr(theirs, subject).status
    # The sample settles a bank account; the simulator's sales are card sales.
    missing = set(vars(getattr(theirs, subject))) - set(vars(getattr(ours, subject)))
    assert missing - {"us_bank_account"} == set()
    if subject == "dispute":
        assert set(vars(theirs.dispute.transaction)) <= set(vars(ours.dispute.transaction))


def test_redelivery_sends_the_same_signed_notification_again(hooked, receiver):
    # given
    gateway, control = sdk_gateway(hooked.url), Control(hooked.url)
    control.post("/__sim__/disputes", {"transaction_id": settled_sale(gateway).id})
    first, = _delivered(receiver)
    original, = control.get("/__sim__/webhooks")["webhooks"]

    # when
    response = control.post(f"/__sim__/webhooks/{original['id']}/redeliver")

    # then
    assert response.status_code == 201
    assert response.json()["webhook"]["duplicate_of"] == original["id"]
    _, again = _delivered(receiver, 2)
    assert again == first
    assert _parse(gateway, again).kind == "dispute_opened"


def test_redelivery_of_an_unknown_webhook_or_without_a_url_is_refused(hooked, control):
    # when / then
    assert Control(hooked.url).post("/__sim__/webhooks/wh_999/redeliver").status_code == 404
    assert control.post("/__sim__/webhooks/wh_1/redeliver").status_code == 409
