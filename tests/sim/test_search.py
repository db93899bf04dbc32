"""Transaction.search over the two-step ids/page protocol."""

from datetime import datetime, timedelta
from decimal import Decimal

import braintree
from braintree import TransactionSearch as Search

from tests.sim.helpers import sale


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
