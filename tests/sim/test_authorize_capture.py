"""Authorize now, capture later: authorizations, partial settlement, expiry and idempotent captures."""

import time
from decimal import Decimal

import braintree

from tests.sim.helpers import sale, sdk_gateway


def test_a_sale_without_submit_for_settlement_is_an_authorization_that_says_when_it_expires(gateway):
    # when
    tx = sale(gateway, "50.00").transaction
    # then
    assert tx.status == "authorized"
    assert tx.authorization_expires_at is not None
    assert gateway.transaction.find(tx.id).authorization_expires_at == tx.authorization_expires_at


def test_a_search_by_status_authorized_finds_the_authorizations(gateway):
    # given
    held = sale(gateway, "50.00", order_id="held").transaction
    sale(gateway, "50.00", order_id="held", options={"submit_for_settlement": True})
    # when
    found = gateway.transaction.search(
        braintree.TransactionSearch.order_id == "held",
        braintree.TransactionSearch.status == braintree.Transaction.Status.Authorized,
    )
    # then
    assert [tx.id for tx in found.items] == [held.id]


def test_partial_settlements_are_new_sales_and_never_exceed_the_authorization(gateway):
    # given
    auth = sale(gateway, "100.00").transaction
    # when
    first = gateway.transaction.submit_for_partial_settlement(auth.id, Decimal("60.00"))
    second = gateway.transaction.submit_for_partial_settlement(auth.id, Decimal("30.00"))
    too_much = gateway.transaction.submit_for_partial_settlement(auth.id, Decimal("10.01"))
    # then
    assert first.is_success and second.is_success
    assert (first.transaction.type, first.transaction.status, first.transaction.amount) == (
        "sale", "submitted_for_settlement", Decimal("60.00"))
    assert first.transaction.authorized_transaction_id == auth.id
    assert too_much.errors.deep_errors[0].code == "91522"
    parent = gateway.transaction.find(auth.id)
    assert parent.status == "settlement_pending"
    assert parent.partial_settlement_transaction_ids == [first.transaction.id, second.transaction.id]


def test_a_partial_settlement_cannot_itself_be_split(gateway):
    # given
    auth = sale(gateway, "100.00").transaction
    part = gateway.transaction.submit_for_partial_settlement(auth.id, Decimal("50.00")).transaction
    # when
    result = gateway.transaction.submit_for_partial_settlement(part.id, Decimal("10.00"))
    # then
    assert result.errors.deep_errors[0].code == "915103"


def test_a_capture_with_an_api_request_key_is_replayed_not_repeated(gateway):
    # given
    auth = sale(gateway, "50.00").transaction
    key = {"api_request_key": "capture-1"}
    # when
    first = gateway.transaction.submit_for_settlement(auth.id, Decimal("30.00"), key)
    replay = gateway.transaction.submit_for_settlement(auth.id, Decimal("30.00"), key)
    # then: the same answer, where a second capture without the key is refused
    assert first.is_success and replay.is_success
    assert replay.transaction.amount == Decimal("30.00")
    assert gateway.transaction.submit_for_settlement(auth.id).errors.deep_errors[0].code == "91507"


def test_a_void_with_an_api_request_key_is_replayed_not_repeated(gateway):
    # given
    auth = sale(gateway, "50.00").transaction
    # when
    first = gateway.transaction.void(auth.id, {"api_request_key": "void-1"})
    replay = gateway.transaction.void(auth.id, {"api_request_key": "void-1"})
    # then
    assert first.is_success and replay.is_success
    assert replay.transaction.status == "voided"


def test_an_authorization_expires_after_the_configured_time_and_can_no_longer_be_captured(make_sim):
    # given: a simulator whose authorizations last one second
    server = make_sim(authorization_ttl=1)
    gateway = sdk_gateway(server.url)
    auth = sale(gateway, "50.00").transaction
    # when
    time.sleep(2.1)
    # then
    assert gateway.transaction.find(auth.id).status == "authorization_expired"
    assert gateway.transaction.submit_for_settlement(auth.id).errors.deep_errors[0].code == "91507"
    assert gateway.transaction.void(auth.id).errors.deep_errors[0].code == "91504"


def test_an_expired_authorization_is_found_by_a_search_on_its_status(make_sim):
    # given
    server = make_sim(authorization_ttl=1)
    gateway = sdk_gateway(server.url)
    auth = sale(gateway, "50.00", order_id="lapsed").transaction
    time.sleep(2.1)
    # when
    found = gateway.transaction.search(
        braintree.TransactionSearch.order_id == "lapsed",
        braintree.TransactionSearch.status == "authorization_expired",
    )
    # then
    assert [tx.id for tx in found.items] == [auth.id]
