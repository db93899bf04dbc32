"""Transaction.search over the two-step ids/page protocol."""

from datetime import datetime, timedelta
from decimal import Decimal

import braintree
import pytest
from braintree import TransactionSearch as Search

from tests.sim.helpers import sale, settled_sale


def test_search_by_order_id_returns_every_attempt_for_the_order(gateway):
    # given
    declined = sale(gateway, "2000.00", order_id="order-7").transaction
    approved = sale(gateway, "20.00", order_id="order-7").transaction
    sale(gateway, "20.00", order_id="order-8")

    # when
    found = gateway.transaction.search(Search.order_id == "order-7")

    # then
    assert sorted(tx.id for tx in found) == sorted([declined.id, approved.id])
    assert found.maximum_size == 2


def test_search_by_id_finds_exactly_that_transaction(gateway):
    # given
    tx = sale(gateway).transaction
    sale(gateway)

    # when
    found = list(gateway.transaction.search(Search.id == tx.id))

    # then
    assert [each.id for each in found] == [tx.id]


def test_search_by_status_filters_on_current_status(gateway):
    # given
    voided = sale(gateway).transaction
    gateway.transaction.void(voided.id)
    sale(gateway)

    # when
    found = list(gateway.transaction.search(
        Search.status.in_list([braintree.Transaction.Status.Voided])))

    # then
    assert [tx.id for tx in found] == [voided.id]


def test_search_by_amount_range_is_inclusive(gateway):
    # given
    for amount in ("5.00", "10.00", "15.00", "20.00"):
        sale(gateway, amount, order_id="ranged")

    # when
    found = gateway.transaction.search(Search.amount.between("10.00", "15.00"))

    # then
    assert sorted(tx.amount for tx in found) == [Decimal("10.00"), Decimal("15.00")]


def test_search_by_created_at_range_excludes_outside_transactions(gateway):
    # given
    tx = sale(gateway).transaction
    now = datetime.utcnow()

    # when
    inside = gateway.transaction.search(
        Search.created_at.between(now - timedelta(minutes=1), now + timedelta(minutes=1)))
    before = gateway.transaction.search(Search.created_at <= now - timedelta(hours=1))

    # then
    assert [each.id for each in inside] == [tx.id]
    assert before.maximum_size == 0


def test_search_combines_criteria(gateway):
    # given
    match = sale(gateway, "30.00", order_id="combo").transaction
    sale(gateway, "2000.00", order_id="combo")

    # when
    found = gateway.transaction.search(
        Search.order_id == "combo",
        Search.status.in_list([braintree.Transaction.Status.Authorized]),
    )

    # then
    assert [tx.id for tx in found] == [match.id]


def test_search_with_more_than_one_page_returns_every_result(gateway):
    # given
    created = {sale(gateway, order_id="bulk").transaction.id for _ in range(120)}

    # when
    found = gateway.transaction.search(Search.order_id == "bulk")

    # then
    assert found.maximum_size == 120
    ids = [tx.id for tx in found]
    assert len(ids) == 120
    assert set(ids) == created


def test_search_without_matches_is_empty(gateway):
    # when
    found = gateway.transaction.search(Search.order_id == "nothing-here")

    # then
    assert found.maximum_size == 0
    assert list(found) == []


@pytest.mark.parametrize("criterion", [
    Search.billing_first_name == "no_such_person",
    Search.customer_email == "nobody@example.com",
    Search.dispute_date >= datetime(2020, 1, 1),
    Search.credit_card_number == "4111111111111111",
    Search.credit_card_number.starts_with("4111111"),
    Search.user.in_list(["someone"]),
])
def test_search_on_an_unsupported_criterion_is_an_error_not_every_transaction(
        gateway, criterion):
    # given
    sale(gateway)

    # when / then
    with pytest.raises(braintree.exceptions.UnexpectedError, match="400"):
        gateway.transaction.search(criterion)


def test_unsupported_criterion_next_to_supported_ones_is_still_an_error(gateway):
    # given
    sale(gateway, order_id="mixed")

    # when / then
    with pytest.raises(braintree.exceptions.UnexpectedError):
        gateway.transaction.search(Search.order_id == "mixed",
                                   Search.billing_first_name == "no_such_person")


def test_search_for_refunds_of_a_sale_finds_its_credits_only(gateway):
    # given
    tx = settled_sale(gateway, order_id="refunded-order")
    first = gateway.transaction.refund(tx.id, "10.00").transaction
    second = gateway.transaction.refund(tx.id, "15.00").transaction
    settled_sale(gateway, order_id="other-order")

    # when
    by_ids = gateway.transaction.search(
        Search.ids.in_list(gateway.transaction.find(tx.id).refund_ids))
    by_order = gateway.transaction.search(
        Search.order_id == "refunded-order",
        Search.type == braintree.Transaction.Type.Credit,
        Search.refund == True)  # noqa: E712 - the SDK's search DSL overloads ==

    # then
    assert sorted(each.id for each in by_ids) == sorted([first.id, second.id])
    assert sorted(each.id for each in by_order) == sorted([first.id, second.id])
    assert {each.refunded_transaction_id for each in by_order} == {tx.id}


def test_search_refund_false_excludes_refunds(gateway):
    # given
    tx = settled_sale(gateway, order_id="not-refunds")
    gateway.transaction.refund(tx.id)

    # when
    found = gateway.transaction.search(Search.order_id == "not-refunds",
                                       Search.refund == False)  # noqa: E712

    # then
    assert [each.id for each in found] == [tx.id]


def test_batched_search_by_ids_and_status_finds_the_settled_sales(gateway):
    # given
    settled = [settled_sale(gateway, "10.00").id for _ in range(3)]
    declined = settled_sale(gateway, "4001.00").id
    submitted = sale(gateway, options={"submit_for_settlement": True}).transaction.id

    # when
    found = gateway.transaction.search(
        Search.ids.in_list(settled + [declined, submitted]),
        Search.status.in_list([braintree.Transaction.Status.Settled,
                               braintree.Transaction.Status.SettlementDeclined]))

    # then
    statuses = {each.id: each.status for each in found}
    assert statuses == {**{tx_id: "settled" for tx_id in settled},
                        declined: "settlement_declined"}


def test_search_by_settled_at_uses_the_settlement_time(gateway):
    # given
    tx = settled_sale(gateway)
    sale(gateway, options={"submit_for_settlement": True})
    now = datetime.utcnow()

    # when
    recent = gateway.transaction.search(Search.settled_at >= now - timedelta(minutes=1))
    old = gateway.transaction.search(Search.settled_at <= now - timedelta(hours=1))

    # then
    assert [each.id for each in recent] == [tx.id]
    assert old.maximum_size == 0


def test_search_by_merchant_account_and_currency(gateway):
    # given
    gbp = sale(gateway, merchant_account_id="sim_merchant_account_gbp").transaction
    sale(gateway)

    # when
    by_account = gateway.transaction.search(
        Search.merchant_account_id.in_list(["sim_merchant_account_gbp"]))
    by_currency = gateway.transaction.search(Search.currency == "GBP")

    # then
    assert [each.id for each in by_account] == [gbp.id]
    assert [each.id for each in by_currency] == [gbp.id]


def test_search_by_card_bin_last_four_and_card_type(gateway):
    # given
    amex = sale(gateway, nonce="fake-valid-amex-nonce").transaction
    sale(gateway, nonce="fake-valid-visa-nonce")

    # when
    by_bin = gateway.transaction.search(
        Search.credit_card_number.starts_with(amex.credit_card_details.bin))
    by_last_4 = gateway.transaction.search(
        Search.credit_card_number.ends_with(amex.credit_card_details.last_4))
    by_type = gateway.transaction.search(
        Search.credit_card_card_type.in_list([braintree.CreditCard.CardType.AmEx]))

    # then
    assert [each.id for each in by_bin] == [amex.id]
    assert [each.id for each in by_last_4] == [amex.id]
    assert [each.id for each in by_type] == [amex.id]
