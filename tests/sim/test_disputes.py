"""Disputes opened and resolved through /__sim__/disputes, read and accepted through the SDK."""

from decimal import Decimal

import braintree
import pytest

from tests.sim.helpers import sale, settled_sale


def _open(control, transaction_id, **extra):
    return control.post("/__sim__/disputes", {"transaction_id": transaction_id, **extra})


def test_dispute_opened_on_a_settled_sale_shows_on_the_transaction(gateway, control):
    # given
    tx = settled_sale(gateway, "80.00")

    # when
    response = _open(control, tx.id, amount="30.00", reason="product_not_received")

    # then
    assert response.status_code == 201
    opened = response.json()["dispute"]
    assert (opened["status"], opened["amount"]) == ("open", "30.00")
    assert opened["transaction_id"] == tx.id
    dispute, = gateway.transaction.find(tx.id).disputes
    assert dispute.id == opened["id"]
    assert (dispute.status, dispute.amount, dispute.reason) == (
        braintree.Dispute.Status.Open, Decimal("30.00"), "product_not_received")
    assert dispute.transaction.id == tx.id
    assert control.ledger()[0]["dispute_ids"] == [opened["id"]]


def test_dispute_defaults_to_a_fraud_chargeback_for_the_whole_sale(gateway, control):
    # given
    tx = settled_sale(gateway, "55.00", merchant_account_id="sim_merchant_account_gbp")

    # when
    dispute_id = _open(control, tx.id).json()["dispute"]["id"]

    # then
    dispute = gateway.dispute.find(dispute_id)
    assert (dispute.kind, dispute.reason, dispute.amount_disputed) == (
        "chargeback", "fraud", Decimal("55.00"))
    assert (dispute.currency_iso_code, dispute.merchant_account_id) == (
        "GBP", "sim_merchant_account_gbp")


@pytest.mark.parametrize("outcome, status", [("win", "won"), ("lose", "lost"),
                                             ("accept", "accepted")])
def test_open_dispute_can_be_resolved_once(gateway, control, outcome, status):
    # given
    tx = settled_sale(gateway)
    dispute_id = _open(control, tx.id).json()["dispute"]["id"]

    # when
    first = control.post(f"/__sim__/disputes/{dispute_id}/{outcome}")
    again = control.post(f"/__sim__/disputes/{dispute_id}/win")

    # then
    assert first.status_code == 200 and first.json()["dispute"]["status"] == status
    assert again.status_code == 409
    assert gateway.dispute.find(dispute_id).status == status
    assert gateway.transaction.find(tx.id).disputes[0].status == status


def test_won_dispute_records_the_amount_won(gateway, control):
    # given
    tx = settled_sale(gateway, "40.00")
    dispute_id = _open(control, tx.id).json()["dispute"]["id"]

    # when
    control.post(f"/__sim__/disputes/{dispute_id}/win")

    # then
    assert gateway.dispute.find(dispute_id).amount_won == Decimal("40.00")


def test_sdk_accept_closes_an_open_dispute_and_refuses_a_closed_one(gateway, control):
    # given
    dispute_id = _open(control, settled_sale(gateway).id).json()["dispute"]["id"]

    # when
    accepted = gateway.dispute.accept(dispute_id)
    repeated = gateway.dispute.accept(dispute_id)

    # then
    assert accepted.is_success
    assert gateway.dispute.find(dispute_id).status == "accepted"
    assert not repeated.is_success
    assert repeated.errors.for_object("dispute").on("status")[0].code == "95704"


@pytest.mark.parametrize("make_transaction", [
    lambda gw: sale(gw).transaction,
    lambda gw: sale(gw, options={"submit_for_settlement": True}).transaction,
    lambda gw: gw.transaction.refund(settled_sale(gw).id).transaction,
])
def test_dispute_needs_a_captured_sale(gateway, control, make_transaction):
    # given
    tx = make_transaction(gateway)

    # when
    response = _open(control, tx.id)

    # then
    assert response.status_code == 409
    assert gateway.transaction.find(tx.id).disputes == []


@pytest.mark.parametrize("extra", [{"amount": "100.01"}, {"amount": "0"}, {"reason": "boredom"},
                                   {"kind": "complaint"}])
def test_dispute_with_an_invalid_amount_reason_or_kind_is_refused(gateway, control, extra):
    # given
    tx = settled_sale(gateway, "100.00")

    # when
    response = _open(control, tx.id, **extra)

    # then
    assert response.status_code == 409
    assert control.get("/__sim__/disputes")["disputes"] == []


def test_dispute_on_an_unknown_transaction_or_of_an_unknown_id_is_404(gateway, control):
    # when / then
    assert _open(control, "nosuchtx").status_code == 404
    assert control.post("/__sim__/disputes/nosuchdispute/win").status_code == 404
    with pytest.raises(braintree.exceptions.NotFoundError):
        gateway.dispute.find("nosuchdispute")


def test_reset_forgets_disputes(sim, gateway, control):
    # given
    _open(control, settled_sale(gateway).id)

    # when
    sim.reset()

    # then
    assert control.get("/__sim__/disputes")["disputes"] == []
