"""Braintree sandbox semantics: test amounts, test nonces, test cards and validation errors.

Everything here is pure data or pure functions so the rules can be read in one place and
compared with developer.paypal.com/braintree/docs/reference/general/testing.
"""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Optional


@dataclass(frozen=True)
class ValidationError:
    """One Braintree validation error; ``path`` is the object path below ``transaction``."""

    code: str
    attribute: str
    message: str
    path: tuple = ()


def error(code, attribute, path=()):
    """Build a :class:`ValidationError` with Braintree's message for ``code``."""
    return ValidationError(code, attribute, MESSAGES[code], path)


MESSAGES = {
    "81501": "Amount cannot be negative.",
    "81502": "Amount is required.",
    "81503": "Amount is an invalid format.",
    "81528": "Amount is too large.",
    "81531": "Amount must be greater than zero.",
    "81709": "Expiration date is required.",
    "81710": "Expiration date is invalid.",
    "81714": "Credit card number is required.",
    "81715": "Credit card number is invalid.",
    "81717": "Credit card number is not an accepted test number.",
    "91501": "Order ID is too long.",
    "91504": "Transaction can only be voided if status is authorized, submitted_for_settlement,"
    " or - for PayPal - settlement_pending.",
    "91505": "Cannot refund credit",
    "91506": "Cannot refund transaction unless it is settled.",
    "91507": "Cannot submit for settlement unless status is authorized.",
    "915103": "Cannot submit for partial settlement.",
    "91508": "Cannot determine payment method.",
    "91512": "Transaction has already been completely refunded.",
    "91513": "Merchant account ID is invalid.",
    "91521": "Refund amount is too large.",
    "91523": "Transaction type is invalid.",
    "91522": "Settlement amount is too large.",
    "91564": "Cannot use a payment_method_nonce more than once.",
    "91565": "Unknown or expired payment_method_nonce.",
    "91575": "Cannot simulate transaction settlement for this transaction status.",
    "95704": "Disputes can only be accepted when they are in an Open state",
    "915230": "API request key is too long.",
    "915232": "API request key was reused with different request parameters.",
    "915233": "A request with this API request key is still being processed.",
}

# Settlement response code of a decline forced through the control API's decline_settlement
# route (the first sandbox settlement-declined amount).
FORCED_SETTLEMENT_DECLINE_CODE = "4001"
MAX_AMOUNT = Decimal("99999999.99")
MAX_ORDER_ID = 255
MAX_API_REQUEST_KEY = 255
_AMOUNT_FORMAT = re.compile(r"\A-?\d+(\.\d{1,2})?\Z")


def parse_amount(raw, required=True):
    """Return ``(Decimal or None, ValidationError or None)`` for an amount as sent by the SDK."""
    if raw is None or raw == "":
        return None, (error("81502", "amount") if required else None)
    text = str(raw).strip()
    if not _AMOUNT_FORMAT.match(text):
        return None, error("81503", "amount")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None, error("81503", "amount")
    if value < 0:
        return None, error("81501", "amount")
    if value == 0:
        return None, error("81531", "amount")
    if value > MAX_AMOUNT:
        return None, error("81528", "amount")
    return value.quantize(Decimal("0.01")), None


@dataclass(frozen=True)
class Authorization:
    """What the simulated processor answers for an authorization of a given amount."""

    status: str
    code: str
    text: str
    response_type: str
    gateway_rejection_reason: Optional[str] = None


_DECLINE_TEXTS = {
    "2000": ("Do Not Honor", "soft_declined"),
    "2001": ("Insufficient Funds", "soft_declined"),
    "2002": ("Limit Exceeded", "soft_declined"),
    "2003": ("Cardholder's Activity Limit Exceeded", "soft_declined"),
    "2004": ("Expired Card", "hard_declined"),
    "2005": ("Invalid Credit Card Number", "hard_declined"),
    "2006": ("Invalid Expiration Date", "hard_declined"),
    "2015": ("Transaction Not Allowed", "hard_declined"),
    "2038": ("Processor Declined", "soft_declined"),
    "2046": ("Declined", "soft_declined"),
}

APPROVED = Authorization("authorized", "1000", "Approved", "approved")
PARTIALLY_APPROVED_CODE = "1004"
REFUND_PROCESSED = Authorization("submitted_for_settlement", "1002", "Processed", "approved")
FAILED = Authorization("failed", "3000", "Processor Network Unavailable - Try Again", "soft_declined")


def gateway_rejected(reason):
    """The authorization result of a transaction blocked by a gateway rule."""
    return Authorization("gateway_rejected", "", "", "", gateway_rejection_reason=reason)


def refund_outcome(amount):
    """The sandbox's refund table: ``(authorization, soft_decline)`` for a refund of ``amount``.

    2000.00-2999.99 simulate a processor decline of the refund: a hard decline fails it
    (``processor_declined``), a soft one lets it through with the decline in
    ``additional_processor_response``.
    """
    if Decimal("2000.00") <= amount <= Decimal("2999.99"):
        code = str(int(amount))
        text, kind = _DECLINE_TEXTS.get(code, ("Processor Declined", "soft_declined"))
        if kind == "hard_declined":
            return Authorization("processor_declined", code, text, kind), None
        return REFUND_PROCESSED, f"{code} : {text}"
    return REFUND_PROCESSED, None


def authorize(amount):
    """Apply the sandbox authorization table (the amount decides the outcome)."""
    if Decimal("2000.00") <= amount <= Decimal("2999.99"):
        code = str(int(amount))
        text, kind = _DECLINE_TEXTS.get(code, ("Processor Declined", "soft_declined"))
        return Authorization("processor_declined", code, text, kind)
    if Decimal("3000.00") <= amount <= Decimal("3000.99"):
        return FAILED
    if amount == Decimal("5001.00"):
        return gateway_rejected("application_incomplete")
    return APPROVED


def settlement_outcome(amount):
    """Return ``(status, processor_settlement_response_code)`` for settling ``amount``.

    The sandbox declines settlement for 4001.xx and 4003.00-5000.99 "on certain transaction
    types"; the simulator applies it to every sale so the path can be exercised at all.
    """
    if Decimal("4001.00") <= amount <= Decimal("4001.99") or (
        Decimal("4003.00") <= amount <= Decimal("5000.99")
    ):
        return "settlement_declined", str(int(amount))
    return "settled", "4000"


_VISA = {"bin": "411111", "last_4": "1111", "card_type": "Visa"}
_BRANDS = {
    "visa": _VISA,
    "amex": {"bin": "378282", "last_4": "0005", "card_type": "American Express"},
    "mastercard": {"bin": "555555", "last_4": "4444", "card_type": "MasterCard"},
    "discover": {"bin": "601111", "last_4": "1117", "card_type": "Discover"},
    "jcb": {"bin": "353011", "last_4": "0000", "card_type": "JCB"},
    "maestro": {"bin": "630400", "last_4": "0000", "card_type": "Maestro"},
    "dinersclub": {"bin": "385200", "last_4": "3237", "card_type": "Diners Club"},
}
_INDICATORS = ("debit", "prepaid", "commercial", "payroll", "healthcare", "durbin_regulated")


def _card(brand=_VISA, indicator=None):
    card = dict(brand)
    card.update({name: "Unknown" for name in _INDICATORS})
    if indicator:
        card[indicator] = "Yes"
    card.update({"expiration_month": "12", "expiration_year": "2030"})
    return card


@dataclass(frozen=True)
class NonceRule:
    """How a static ``fake-*`` nonce behaves in a sale."""

    card: Optional[dict] = None
    error_code: Optional[str] = None
    error_attribute: str = "payment_method_nonce"
    error_path: tuple = ()
    rejection: Optional[str] = None


STATIC_NONCES = {"fake-valid-nonce": NonceRule(card=_card())}
STATIC_NONCES.update(
    {f"fake-valid-{brand}-nonce": NonceRule(card=_card(card)) for brand, card in _BRANDS.items()}
)
STATIC_NONCES.update(
    {
        f"fake-valid-{name.replace('_', '-')}-nonce": NonceRule(card=_card(indicator=name))
        for name in _INDICATORS
    }
)
STATIC_NONCES.update(
    {
        # These only fail card *verification* in the sandbox; a sale still follows the amount.
        f"fake-processor-declined-{brand}-nonce": NonceRule(card=_card(_BRANDS[brand]))
        for brand in ("visa", "mastercard", "amex", "discover")
    }
)
STATIC_NONCES.update(
    {
        "fake-processor-failure-jcb-nonce": NonceRule(card=_card(_BRANDS["jcb"])),
        "fake-luhn-invalid-nonce": NonceRule(
            error_code="81715", error_attribute="number", error_path=("credit_card",)
        ),
        "fake-consumed-nonce": NonceRule(error_code="91564"),
        "fake-gateway-rejected-fraud-nonce": NonceRule(card=_card(), rejection="fraud"),
        "fake-gateway-rejected-risk-thresholds-nonce": NonceRule(
            card=_card(), rejection="risk_threshold"
        ),
    }
)

TEST_CARD_NUMBERS = {
    "4111111111111111": "Visa",
    "4005519200000004": "Visa",
    "4009348888881881": "Visa",
    "4012000033330026": "Visa",
    "4012000077777777": "Visa",
    "4012888888881881": "Visa",
    "4217651111111119": "Visa",
    "4500600000000061": "Visa",
    "4000111111111115": "Visa",
    "5555555555554444": "MasterCard",
    "2223000048400011": "MasterCard",
    "5105105105105100": "MasterCard",
    "378282246310005": "American Express",
    "371449635398431": "American Express",
    "378734493671000": "American Express",
    "6011111111111117": "Discover",
    "6011000990139424": "Discover",
    "3530111333300000": "JCB",
    "3566002020360505": "JCB",
    "6304000000000000": "Maestro",
    "38520000023237": "Diners Club",
}


def luhn_valid(number):
    """True if ``number`` (digits only) passes the Luhn checksum."""
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _expiration(params):
    if params.get("expiration_date"):
        match = re.fullmatch(r"(\d{1,2})/(\d{2}|\d{4})", str(params["expiration_date"]).strip())
        if not match:
            return None
        month, year = match.groups()
    elif params.get("expiration_month") and params.get("expiration_year"):
        month, year = str(params["expiration_month"]), str(params["expiration_year"])
    else:
        return ()
    if not (month.isdigit() and year.isdigit() and 1 <= int(month) <= 12):
        return None
    year = "20" + year if len(year) == 2 else year
    return f"{int(month):02d}", year


def card_from_params(params):
    """Validate raw ``credit_card`` sale params; return ``(card dict, [ValidationError])``."""
    path = ("credit_card",)
    errors = []
    number = re.sub(r"[\s-]", "", str(params.get("number") or ""))
    if not number:
        errors.append(error("81714", "number", path))
    elif not number.isdigit() or not luhn_valid(number):
        errors.append(error("81715", "number", path))
    elif number not in TEST_CARD_NUMBERS:
        errors.append(error("81717", "number", path))
    expiration = _expiration(params)
    if expiration == ():
        errors.append(error("81709", "expiration_date", path))
    elif expiration is None:
        errors.append(error("81710", "expiration_date", path))
    if errors:
        return None, errors
    card = _card({"bin": number[:6], "last_4": number[-4:], "card_type": TEST_CARD_NUMBERS[number]})
    card["expiration_month"], card["expiration_year"] = expiration
    card["cardholder_name"] = params.get("cardholder_name")
    return card, []


def card_summary(card):
    """The card fields a tokenize call hands back to a client (never the full number)."""
    return {key: card[key] for key in ("bin", "last_4", "card_type", "expiration_month", "expiration_year")}
