"""Braintree's codes in words: validation error codes, processor responses, rejection reasons.

Pure data, no SDK import, so serializers and logs can explain an order without touching the
gateway. The lists hold the codes the sandbox and braintree_sim produce (and their neighbours a
client is likely to meet); an unknown code still gets a generic sentence rather than nothing.
https://developer.paypal.com/braintree/docs/reference/general/validation-errors/all/python
https://developer.paypal.com/braintree/articles/control-panel/transactions/declines
"""

from decimal import Decimal

VALIDATION_ERRORS = {
    "81501": "Amount cannot be negative.",
    "81502": "Amount is required.",
    "81503": "Amount is an invalid format.",
    "81509": "Credit card type is not accepted by this merchant account.",
    "81528": "Amount is too large.",
    "81531": "Amount must be greater than zero.",
    "81709": "Expiration date is required.",
    "81710": "Expiration date is invalid.",
    "81714": "Credit card number is required.",
    "81715": "Credit card number is invalid.",
    "81717": "Credit card number is not an accepted test number.",
    "91501": "Order ID is too long.",
    "91504": "Transaction can only be voided if status is authorized, submitted_for_settlement, "
    "or (for PayPal) settlement_pending.",
    "91505": "Cannot refund credit.",
    "91506": "Cannot refund transaction unless it is settled.",
    "91507": "Cannot submit for settlement unless status is authorized.",
    "915103": "Cannot submit for partial settlement.",
    "91508": "Cannot determine payment method.",
    "91512": "Transaction has already been completely refunded.",
    "91513": "Merchant account ID is invalid.",
    "91521": "Refund amount is too large.",
    "91522": "Settlement amount is too large.",
    "91523": "Transaction type is invalid.",
    # A sale on a saved card whose token is not (or no longer) in the vault.
    "91518": "Payment method token is invalid.",
    "91564": "Cannot use a payment_method_nonce more than once.",
    "91565": "Unknown or expired payment_method_nonce.",
    "91575": "Cannot simulate transaction settlement for this transaction status.",
    "95704": "Disputes can only be accepted when they are in an Open state.",
    "915230": "API request key is too long.",
    "915232": "API request key was reused with different request parameters.",
    "915233": "A request with this API request key is still being processed.",
}

PROCESSOR_RESPONSES = {
    "1000": "Approved",
    "1002": "Processed",
    "1004": "Approved for Partial Amount",
    "2000": "Do Not Honor",
    "2001": "Insufficient Funds",
    "2002": "Limit Exceeded",
    "2003": "Cardholder's Activity Limit Exceeded",
    "2004": "Expired Card",
    "2005": "Invalid Credit Card Number",
    "2006": "Invalid Expiration Date",
    "2007": "No Account",
    "2008": "Card Account Length Error",
    "2009": "No Such Issuer",
    "2010": "Card Issuer Declined CVV",
    "2011": "Voice Authorization Required",
    "2012": "Processor Declined - Possible Lost Card",
    "2013": "Processor Declined - Possible Stolen Card",
    "2014": "Processor Declined - Fraud Suspected",
    "2015": "Transaction Not Allowed",
    "2038": "Processor Declined",
    "2046": "Declined",
    "3000": "Processor Network Unavailable - Try Again",
}

REJECTION_REASONS = {
    "application_incomplete": "The merchant account's application is incomplete (sandbox amount 5001.00).",
    "avs": "The billing address did not pass AVS rules.",
    "avs_and_cvv": "The billing address and CVV did not pass the AVS and CVV rules.",
    "cvv": "The CVV did not pass the CVV rules.",
    "duplicate": "A duplicate of a recent transaction (duplicate checking).",
    "fraud": "Rejected by fraud protection.",
    "risk_threshold": "Rejected by the risk threshold rules.",
    "three_d_secure": "3D Secure authentication failed.",
    "token_issuance": "The payment method could not be tokenized.",
}


def error_message(code):
    """The message of a Braintree validation error code (81xxx, 91xxx, 915xxx)."""
    code = str(code)
    return VALIDATION_ERRORS.get(code, f"Braintree validation error {code}.")


def processor_response_message(code):
    """The text of a processor response code: 1xxx approved, 2000-2999 declined, 3000 failed."""
    code = str(code or "")
    if code in PROCESSOR_RESPONSES:
        return PROCESSOR_RESPONSES[code]
    if not code.isdigit():
        return ""
    number = Decimal(code)
    if 2000 <= number <= 2999:
        return "Processor Declined"
    if 3000 <= number <= 3999:
        return "Processor Network Unavailable - Try Again"
    return ""


def rejection_reason_message(reason):
    """What a `gateway_rejection_reason` means, for people; blank for no rejection."""
    if not reason:
        return ""
    return REJECTION_REASONS.get(reason, f"Rejected by the gateway ({reason}).")


def errors_explained(codes):
    """`[{"code", "message"}]` for a list of validation error codes, in order."""
    return [{"code": str(code), "message": error_message(code)} for code in codes or []]


def rejection_fields(txn):
    """The order column that records why the gateway rejected `txn` (nothing for no transaction)."""
    return {"gateway_rejection_reason": txn.gateway_rejection_reason or ""} if txn is not None else {}
