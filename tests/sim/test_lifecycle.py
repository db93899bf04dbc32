"""void, submit_for_settlement, refund and the SDK's testing gateway."""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import braintree
import pytest

from tests.sim.helpers import sale


@pytest.fixture
def settled(gateway):
    tx = sale(gateway, "100.00", options={"submit_for_settlement": True}).transaction
    return gateway.testing.settle_transaction(tx.id).transaction


def test_void_of_an_authorized_sale_voids_it(gateway):
    # given
    tx = sale(gateway).transaction

    # when
    result = gateway.transaction.void(tx.id)

    # then
    assert result.is_success
    assert result.transaction.status == "voided"
    assert gateway.transaction.find(tx.id).status == "voided"


def test_void_of_a_submitted_sale_voids_it(gateway):
    # given
    tx = sale(gateway, options={"submit_for_settlement": True}).transaction

    # when
    result = gateway.transaction.void(tx.id)

    # then
    assert result.transaction.status == "voided"


def test_void_of_a_settled_sale_is_rejected_with_91504(gateway, settled):
    # when
    result = gateway.transaction.void(settled.id)

    # then
    error, = result.errors.for_object("transaction").on("base")
    assert error.code == "91504"
    assert gateway.transaction.find(settled.id).status == "settled"


def test_submit_for_settlement_submits_the_full_amount(gateway):
    # given
    tx = sale(gateway, "40.00").transaction

    # when
    result = gateway.transaction.submit_for_settlement(tx.id)

    # then
    assert result.transaction.status == "submitted_for_settlement"
    assert result.transaction.amount == Decimal("40.00")


def test_submit_for_settlement_of_a_smaller_amount_captures_only_that(gateway):
    # given
    tx = sale(gateway, "40.00").transaction

    # when
    result = gateway.transaction.submit_for_settlement(tx.id, "15.50")

    # then
    assert result.transaction.amount == Decimal("15.50")


def test_submit_for_settlement_of_a_larger_amount_is_rejected_with_91522(gateway):
    # given
    tx = sale(gateway, "40.00").transaction

    # when
    result = gateway.transaction.submit_for_settlement(tx.id, "40.01")

    # then
    assert result.errors.for_object("transaction").on("amount")[0].code == "91522"


def test_submit_for_settlement_twice_is_rejected_with_91507(gateway):
    # given
    tx = sale(gateway, options={"submit_for_settlement": True}).transaction

    # when
    result = gateway.transaction.submit_for_settlement(tx.id)

    # then
    assert result.errors.for_object("transaction").on("base")[0].code == "91507"


def test_full_refund_creates_a_credit_linked_to_the_sale(gateway, settled):
    # when
    result = gateway.transaction.refund(settled.id)

    # then
    credit = result.transaction
    assert result.is_success
    assert credit.type == "credit"
    assert credit.amount == Decimal("100.00")
    assert credit.status == "submitted_for_settlement"
    assert credit.processor_response_code == "1002"
    assert credit.refunded_transaction_id == settled.id
    original = gateway.transaction.find(settled.id)
    assert original.refund_ids == [credit.id]
    assert original.refund_id == credit.id


def test_repeated_partial_refunds_are_allowed_up_to_the_amount(gateway, settled):
    # when
    first = gateway.transaction.refund(settled.id, "30.00")
    second = gateway.transaction.refund(settled.id, {"amount": "70.00", "order_id": "r-2"})
    third = gateway.transaction.refund(settled.id, "0.01")

    # then
    assert first.transaction.amount == Decimal("30.00")
    assert second.transaction.amount == Decimal("70.00")
    assert second.transaction.order_id == "r-2"
    assert third.errors.for_object("transaction").on("base")[0].code == "91512"
    assert len(gateway.transaction.find(settled.id).refund_ids) == 2


def test_refund_larger_than_the_remainder_is_rejected_with_91521(gateway, settled):
    # given
    gateway.transaction.refund(settled.id, "60.00")

    # when
    result = gateway.transaction.refund(settled.id, "40.01")

    # then
    assert result.errors.for_object("transaction").on("amount")[0].code == "91521"


def test_refund_without_amount_refunds_the_remainder(gateway, settled):
    # given
    gateway.transaction.refund(settled.id, "60.00")

    # when
    result = gateway.transaction.refund(settled.id)

    # then
    assert result.transaction.amount == Decimal("40.00")


def test_refund_of_an_unsettled_sale_is_rejected_with_91506(gateway):
    # given
    tx = sale(gateway, options={"submit_for_settlement": True}).transaction

    # when
    result = gateway.transaction.refund(tx.id)

    # then
    error, = result.errors.for_object("transaction").on("base")
    assert error.code == "91506"
    assert error.message == "Cannot refund transaction unless it is settled."


def test_refund_larger_than_the_sale_is_rejected_with_91521_and_nothing_refunded(
        gateway, settled, control):
    # when
    result = gateway.transaction.refund(settled.id, "100.01")

    # then
    error, = result.errors.for_object("transaction").on("amount")
    assert (error.code, error.message) == ("91521", "Refund amount is too large.")
    assert [row["type"] for row in control.ledger()] == ["sale"]


def test_concurrent_refunds_never_sum_to_more_than_the_sale(gateway, settled, control):
    # when
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: gateway.transaction.refund(settled.id, "30.00"),
                                range(8)))

    # then
    assert sum(result.is_success for result in results) == 3
    credits = [row for row in control.ledger() if row["type"] == "credit"]
    assert sum(Decimal(row["amount"]) for row in credits) == Decimal("90.00")
    assert {r.errors.deep_errors[0].code for r in results if not r.is_success} == {"91521"}


def test_voided_refund_no_longer_counts_against_the_sale(gateway, settled):
    # given
    credit = gateway.transaction.refund(settled.id).transaction

    # when
    voided = gateway.transaction.void(credit.id)
    again = gateway.transaction.refund(settled.id, "100.00")

    # then
    assert voided.transaction.status == "voided"
    assert again.is_success


def test_refund_of_a_settlement_declined_sale_is_rejected_with_91506(gateway):
    # given
    tx = sale(gateway, "4001.00", options={"submit_for_settlement": True}).transaction
    gateway.testing.settle_transaction(tx.id)

    # when
    result = gateway.transaction.refund(tx.id)

    # then
    assert result.errors.for_object("transaction").on("base")[0].code == "91506"


def test_void_of_a_voided_or_refunded_sale_is_rejected_with_91504(gateway, settled):
    # given
    voided = sale(gateway).transaction
    gateway.transaction.void(voided.id)
    gateway.transaction.refund(settled.id)

    # when / then
    for tx_id in (voided.id, settled.id):
        assert gateway.transaction.void(tx_id).errors.deep_errors[0].code == "91504"


def test_refund_of_a_credit_is_rejected_with_91505(gateway, settled):
    # given
    credit = gateway.transaction.refund(settled.id).transaction
    gateway.testing.settle_transaction(credit.id)

    # when
    result = gateway.transaction.refund(credit.id)

    # then
    assert result.errors.for_object("transaction").on("base")[0].code == "91505"


@pytest.mark.parametrize("amount, status, code", [
    ("100.00", "settled", "4000"),
    ("4001.00", "settlement_declined", "4001"),
    ("4002.50", "settled", "4000"),
    ("4500.00", "settlement_declined", "4500"),
    ("5001.02", "settled", "4000"),
])
def test_settle_applies_the_sandbox_settlement_amounts(gateway, amount, status, code):
    # given
    tx = sale(gateway, amount, options={"submit_for_settlement": True}).transaction

    # when
    result = gateway.testing.settle_transaction(tx.id)

    # then
    assert result.transaction.status == status
    assert result.transaction.processor_settlement_response_code == code


@pytest.mark.parametrize("action, status", [
    ("settlement_confirm_transaction", "settlement_confirmed"),
    ("settlement_decline_transaction", "settlement_declined"),
    ("settlement_pending_transaction", "settlement_pending"),
])
def test_testing_gateway_moves_a_submitted_sale(gateway, action, status):
    # given
    tx = sale(gateway, options={"submit_for_settlement": True}).transaction

    # when
    result = getattr(gateway.testing, action)(tx.id)

    # then
    assert result.transaction.status == status
    assert gateway.transaction.find(tx.id).status_history[-1].status == status


def test_settle_of_an_authorized_sale_is_rejected_with_91575(gateway):
    # given
    tx = sale(gateway).transaction

    # when
    result = gateway.testing.settle_transaction(tx.id)

    # then
    assert result.errors.for_object("transaction").on("base")[0].code == "91575"


@pytest.mark.parametrize("call", [
    lambda gw: gw.transaction.find("nosuchid"),
    lambda gw: gw.transaction.void("nosuchid"),
    lambda gw: gw.transaction.refund("nosuchid"),
    lambda gw: gw.transaction.submit_for_settlement("nosuchid"),
    lambda gw: gw.testing.settle_transaction("nosuchid"),
])
def test_operations_on_an_unknown_id_raise_not_found(gateway, call):
    # when / then
    with pytest.raises(braintree.exceptions.NotFoundError):
        call(gateway)
