"""Transaction.sale: sandbox amounts, fake nonces, raw test cards and validation errors."""

from decimal import Decimal

import pytest

from tests.sim.helpers import sale


@pytest.mark.parametrize("amount", ["0.01", "10.00", "1999.99", "3001.00", "4000.99", "4001.50",
                                    "4002.00", "4500.00", "5001.01", "5001.02", "5002.00"])
def test_approved_amount_authorizes_the_sale(gateway, amount):
    # when
    result = sale(gateway, amount)

    # then
    assert result.is_success
    tx = result.transaction
    assert tx.status == "authorized"
    assert tx.amount == Decimal(amount)
    assert tx.processor_response_code == "1000"
    assert tx.processor_response_text == "Approved"
    assert tx.processor_response_type == "approved"
    assert tx.processor_authorization_code


@pytest.mark.parametrize("amount, code, text, kind", [
    ("2000.00", "2000", "Do Not Honor", "soft_declined"),
    ("2001.00", "2001", "Insufficient Funds", "soft_declined"),
    ("2015.00", "2015", "Transaction Not Allowed", "hard_declined"),
    ("2999.99", "2999", "Processor Declined", "soft_declined"),
])
def test_declined_amount_returns_processor_declined_with_the_amount_as_code(
        gateway, amount, code, text, kind):
    # when
    result = sale(gateway, amount, order_id="order-decline")

    # then
    assert not result.is_success
    assert len(result.errors) == 0
    assert result.message == text
    tx = result.transaction
    assert tx.status == "processor_declined"
    assert tx.processor_response_code == code
    assert tx.processor_response_type == kind
    assert tx.additional_processor_response == f"{code} : {text}"
    assert gateway.transaction.find(tx.id).status == "processor_declined"


@pytest.mark.parametrize("amount", ["3000.00", "3000.99"])
def test_failed_amount_returns_failed_with_processor_code_3000(gateway, amount):
    # when
    result = sale(gateway, amount)

    # then
    assert not result.is_success
    assert result.transaction.status == "failed"
    assert result.transaction.processor_response_code == "3000"
    assert result.message == "Processor Network Unavailable - Try Again"


def test_amount_5001_is_gateway_rejected_as_application_incomplete(gateway):
    # when
    result = sale(gateway, "5001.00")

    # then
    assert not result.is_success
    assert result.transaction.status == "gateway_rejected"
    assert result.transaction.gateway_rejection_reason == "application_incomplete"
    assert result.message == "Gateway Rejected: application_incomplete"


def test_submit_for_settlement_option_submits_an_approved_sale(gateway):
    # when
    result = sale(gateway, "12.34", options={"submit_for_settlement": True})

    # then
    tx = result.transaction
    assert tx.status == "submitted_for_settlement"
    assert [event.status for event in tx.status_history] == ["authorized",
                                                             "submitted_for_settlement"]
    assert all(event.amount == Decimal("12.34") for event in tx.status_history)


def test_sale_carries_order_id_card_details_and_timestamps(gateway):
    # when
    tx = sale(gateway, order_id="order-42").transaction

    # then
    found = gateway.transaction.find(tx.id)
    assert found.order_id == "order-42"
    assert found.type == "sale"
    assert found.currency_iso_code == "USD"
    assert found.credit_card_details.masked_number == "411111******1111"
    assert found.credit_card_details.card_type == "Visa"
    assert found.credit_card_details.expiration_date == "12/2030"
    assert found.credit_card_details.is_expired is False
    assert found.created_at <= found.updated_at
    assert found.refund_ids == []
    assert found.refunded_transaction_id is None


@pytest.mark.parametrize("nonce, card_type, last_4", [
    ("fake-valid-nonce", "Visa", "1111"),
    ("fake-valid-visa-nonce", "Visa", "1111"),
    ("fake-valid-amex-nonce", "American Express", "0005"),
    ("fake-valid-mastercard-nonce", "MasterCard", "4444"),
    ("fake-valid-discover-nonce", "Discover", "1117"),
    ("fake-valid-jcb-nonce", "JCB", "0000"),
    ("fake-valid-maestro-nonce", "Maestro", "0000"),
    ("fake-valid-dinersclub-nonce", "Diners Club", "3237"),
    ("fake-valid-debit-nonce", "Visa", "1111"),
    ("fake-valid-prepaid-nonce", "Visa", "1111"),
    ("fake-processor-declined-visa-nonce", "Visa", "1111"),
    ("fake-processor-declined-mastercard-nonce", "MasterCard", "4444"),
    ("fake-processor-declined-amex-nonce", "American Express", "0005"),
    ("fake-processor-declined-discover-nonce", "Discover", "1117"),
    ("fake-processor-failure-jcb-nonce", "JCB", "0000"),
])
def test_static_valid_nonce_authorizes_with_its_card_brand(gateway, nonce, card_type, last_4):
    # when
    result = sale(gateway, nonce=nonce)

    # then
    assert result.is_success
    assert result.transaction.credit_card_details.card_type == card_type
    assert result.transaction.credit_card_details.last_4 == last_4


def test_debit_nonce_marks_the_card_as_debit(gateway):
    # when
    tx = sale(gateway, nonce="fake-valid-debit-nonce").transaction

    # then
    assert tx.credit_card_details.debit == "Yes"
    assert tx.credit_card_details.prepaid == "Unknown"


def test_static_nonce_can_be_reused(gateway):
    # when
    first = sale(gateway)
    second = sale(gateway)

    # then
    assert first.is_success and second.is_success
    assert first.transaction.id != second.transaction.id


def test_consumed_nonce_is_rejected_with_91564(gateway):
    # when
    result = sale(gateway, nonce="fake-consumed-nonce")

    # then
    assert not result.is_success
    error, = result.errors.for_object("transaction").on("payment_method_nonce")
    assert error.code == "91564"
    assert error.message == "Cannot use a payment_method_nonce more than once."
    assert result.transaction is None


def test_unknown_nonce_is_rejected_with_91565(gateway):
    # when
    result = sale(gateway, nonce="doesnt-exist")

    # then
    error, = result.errors.for_object("transaction").on("payment_method_nonce")
    assert error.code == "91565"


def test_luhn_invalid_nonce_is_rejected_as_an_invalid_card_number(gateway):
    # when
    result = sale(gateway, nonce="fake-luhn-invalid-nonce")

    # then
    error, = result.errors.for_object("transaction").for_object("credit_card").on("number")
    assert error.code == "81715"


@pytest.mark.parametrize("nonce, reason", [
    ("fake-gateway-rejected-fraud-nonce", "fraud"),
    ("fake-gateway-rejected-risk-thresholds-nonce", "risk_threshold"),
])
def test_gateway_rejected_nonce_rejects_the_sale(gateway, nonce, reason):
    # when
    result = sale(gateway, nonce=nonce)

    # then
    assert result.transaction.status == "gateway_rejected"
    assert result.transaction.gateway_rejection_reason == reason


@pytest.mark.parametrize("number, card_type", [
    ("4111111111111111", "Visa"),
    ("5555555555554444", "MasterCard"),
    ("378282246310005", "American Express"),
    ("6011111111111117", "Discover"),
    ("3530111333300000", "JCB"),
])
def test_raw_test_card_number_authorizes(gateway, number, card_type):
    # when
    result = gateway.transaction.sale({
        "amount": "25.00",
        "credit_card": {"number": number, "expiration_date": "05/2031", "cvv": "123"},
    })

    # then
    assert result.is_success
    card = result.transaction.credit_card_details
    assert (card.bin, card.last_4, card.card_type) == (number[:6], number[-4:], card_type)
    assert card.expiration_date == "05/2031"


def test_raw_card_follows_the_amount_rules(gateway):
    # when
    result = gateway.transaction.sale({
        "amount": "2000.00",
        "credit_card": {"number": "4111111111111111", "expiration_month": "05",
                        "expiration_year": "2031"},
    })

    # then
    assert result.transaction.status == "processor_declined"


@pytest.mark.parametrize("card, attribute, code", [
    ({"expiration_date": "05/2031"}, "number", "81714"),
    ({"number": "4111111111111112", "expiration_date": "05/2031"}, "number", "81715"),
    ({"number": "4242424242424242", "expiration_date": "05/2031"}, "number", "81717"),
    ({"number": "4111111111111111"}, "expiration_date", "81709"),
    ({"number": "4111111111111111", "expiration_date": "13/2031"}, "expiration_date", "81710"),
])
def test_invalid_raw_card_is_rejected_with_a_credit_card_error(gateway, card, attribute, code):
    # when
    result = gateway.transaction.sale({"amount": "10.00", "credit_card": card})

    # then
    errors = result.errors.for_object("transaction").for_object("credit_card").on(attribute)
    assert [error.code for error in errors] == [code]
    assert "number" not in result.params["transaction"].get("credit_card", {})


@pytest.mark.parametrize("amount, code, message", [
    (None, "81502", "Amount is required."),
    ("abc", "81503", "Amount is an invalid format."),
    ("10.001", "81503", "Amount is an invalid format."),
    ("-1.00", "81501", "Amount cannot be negative."),
    ("0.00", "81531", "Amount must be greater than zero."),
    ("100000000.00", "81528", "Amount is too large."),
])
def test_invalid_amount_is_rejected_with_braintree_code_and_message(gateway, amount, code, message):
    # when
    result = sale(gateway, amount)

    # then
    assert not result.is_success
    error, = result.errors.for_object("transaction").on("amount")
    assert (error.code, error.message) == (code, message)
    assert result.message == message


def test_too_long_order_id_is_rejected_with_91501(gateway, control):
    # when
    result = sale(gateway, order_id="x" * 256)

    # then
    error, = result.errors.for_object("transaction").on("order_id")
    assert error.code == "91501"
    assert control.ledger() == []


def test_several_validation_errors_are_reported_together(gateway):
    # when
    result = gateway.transaction.sale({"payment_method_nonce": "nope", "order_id": "y" * 300})

    # then
    codes = sorted(error.code for error in result.errors.deep_errors)
    assert codes == ["81502", "91501", "91565"]
    assert result.message.count("\n") == 2


def test_sale_without_payment_method_is_rejected(gateway):
    # when
    result = gateway.transaction.sale({"amount": "10.00"})

    # then
    assert [error.code for error in result.errors.deep_errors] == ["91508"]
