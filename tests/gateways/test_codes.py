"""payments/gateways/codes.py: Braintree's codes in words."""

from types import SimpleNamespace

from payments.gateways import codes


def test_known_validation_codes_get_braintree_messages():
    assert codes.error_message("91564") == "Cannot use a payment_method_nonce more than once."
    assert codes.error_message(81531) == "Amount must be greater than zero."


def test_an_unknown_validation_code_still_gets_a_sentence():
    assert codes.error_message("99999") == "Braintree validation error 99999."


def test_errors_are_explained_in_order():
    assert codes.errors_explained(["91565", "81503"]) == [
        {"code": "91565", "message": "Unknown or expired payment_method_nonce."},
        {"code": "81503", "message": "Amount is an invalid format."},
    ]
    assert codes.errors_explained(None) == []


def test_processor_response_codes_cover_the_sandbox_ranges():
    assert codes.processor_response_message("2001") == "Insufficient Funds"
    assert codes.processor_response_message("2999") == "Processor Declined"
    assert codes.processor_response_message("3000") == "Processor Network Unavailable - Try Again"
    assert codes.processor_response_message("") == ""


def test_every_code_the_simulator_produces_has_a_message():
    from braintree_sim import sandbox

    for code in sandbox.MESSAGES:
        assert code in codes.VALIDATION_ERRORS, code


def test_rejection_fields_record_the_reason_or_nothing():
    assert codes.rejection_fields(None) == {}
    assert codes.rejection_fields(SimpleNamespace(gateway_rejection_reason="fraud")) == {
        "gateway_rejection_reason": "fraud"
    }
    assert codes.rejection_reason_message("") == ""
    assert "fraud" in codes.rejection_reason_message("fraud")
