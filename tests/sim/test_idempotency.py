"""api_request_key: replays, conflicting reuse (915232) and in-flight duplicates (915233)."""

import threading
import time

from tests.sim.helpers import sale


def test_repeated_sale_with_the_same_key_returns_the_original_transaction(gateway, control):
    # given
    first = sale(gateway, order_id="idem-1", api_request_key="key-1")

    # when
    second = sale(gateway, order_id="idem-1", api_request_key="key-1")

    # then
    assert second.is_success
    assert second.transaction.id == first.transaction.id
    assert len(control.ledger(order_id="idem-1")) == 1


def test_repeated_declined_sale_replays_the_same_decline(gateway, control):
    # given
    first = sale(gateway, "2001.00", order_id="idem-2", api_request_key="key-2")

    # when
    second = sale(gateway, "2001.00", order_id="idem-2", api_request_key="key-2")

    # then
    assert not second.is_success
    assert second.message == first.message == "Insufficient Funds"
    assert second.transaction.id == first.transaction.id
    assert len(control.ledger(order_id="idem-2")) == 1


def test_same_key_with_a_different_request_is_rejected_with_915232(gateway, control):
    # given
    sale(gateway, "10.00", api_request_key="key-3")

    # when
    result = sale(gateway, "11.00", api_request_key="key-3")

    # then
    error, = result.errors.for_object("transaction").on("api_request_key")
    assert error.code == "915232"
    assert len(control.ledger()) == 1


def test_duplicate_while_the_first_request_is_in_flight_is_rejected_with_915233(
        gateway, control):
    # given
    control.set_faults({"kind": "latency", "latency_ms": 800, "count": 1,
                        "methods": ["POST"], "paths": ["/transactions"]})
    outcome = {}
    first = threading.Thread(target=lambda: outcome.update(
        first=sale(gateway, order_id="idem-4", api_request_key="key-4")))
    first.start()
    time.sleep(0.3)

    # when
    second = sale(gateway, order_id="idem-4", api_request_key="key-4")
    first.join()

    # then
    assert second.errors.for_object("transaction").on("api_request_key")[0].code == "915233"
    assert outcome["first"].is_success
    assert len(control.ledger(order_id="idem-4")) == 1


def test_key_released_by_a_validation_error_can_be_used_for_a_corrected_request(gateway):
    # given
    invalid = sale(gateway, "abc", api_request_key="key-5")

    # when
    corrected = sale(gateway, "10.00", api_request_key="key-5")

    # then
    assert not invalid.is_success
    assert corrected.is_success


def test_repeated_void_with_the_same_key_returns_the_voided_transaction(gateway):
    # given
    tx = sale(gateway).transaction
    gateway.transaction.void(tx.id, {"api_request_key": "void-key"})

    # when
    again = gateway.transaction.void(tx.id, {"api_request_key": "void-key"})
    without_key = gateway.transaction.void(tx.id)

    # then
    assert again.is_success and again.transaction.status == "voided"
    assert without_key.errors.for_object("transaction").on("base")[0].code == "91504"


def test_repeated_refund_with_the_same_key_creates_one_credit(gateway, control):
    # given
    tx = sale(gateway, "50.00", options={"submit_for_settlement": True}).transaction
    gateway.testing.settle_transaction(tx.id)
    first = gateway.transaction.refund(tx.id, {"amount": "5.00", "api_request_key": "refund-key"})

    # when
    second = gateway.transaction.refund(tx.id, {"amount": "5.00", "api_request_key": "refund-key"})

    # then
    assert second.transaction.id == first.transaction.id
    credits = [row for row in control.ledger() if row["type"] == "credit"]
    assert len(credits) == 1


def test_too_long_key_is_rejected_with_915230(gateway):
    # when
    result = sale(gateway, api_request_key="k" * 256)

    # then
    assert result.errors.for_object("transaction").on("api_request_key")[0].code == "915230"
