"""Transaction search criteria as the SDK's ``TransactionSearch`` nodes serialise them.

Every criterion the simulator can evaluate is listed here. Anything else raises
:class:`UnsupportedCriterion`, which the server answers with an error: ignoring a criterion would
silently answer "every transaction", and a client could act on that wrong answer.
"""

from datetime import datetime
from decimal import Decimal, InvalidOperation


class UnsupportedCriterion(ValueError):
    """A search field, operator or value the simulator cannot evaluate."""


def _card(field):
    return lambda tx: (tx["card"] or {}).get(field)


# field -> how to read it from a stored transaction
TEXT_FIELDS = {
    "id": lambda tx: tx["id"],
    "order_id": lambda tx: tx["order_id"],
    "processor_authorization_code": lambda tx: tx["processor_authorization_code"],
    "settlement_batch_id": lambda tx: tx["settlement_batch_id"],
    "currency": lambda tx: tx["currency_iso_code"],
    "credit_card_cardholder_name": _card("cardholder_name"),
    "credit_card_expiration_date": lambda tx: (
        f"{tx['card']['expiration_month']}/{tx['card']['expiration_year']}" if tx["card"] else None
    ),
}
MULTI_FIELDS = {
    "ids": lambda tx: tx["id"],
    "status": lambda tx: tx["status"],
    "type": lambda tx: tx["type"],
    "merchant_account_id": lambda tx: tx["merchant_account_id"],
    "payment_instrument_type": lambda tx: "credit_card",
    "credit_card_card_type": _card("card_type"),
}
# <status>_at ranges are read from the status history.
STATUS_TIMESTAMPS = {"authorization_expired_at", "authorized_at", "failed_at",
                     "gateway_rejected_at", "processor_declined_at", "settled_at",
                     "submitted_for_settlement_at", "voided_at"}
_TEXT_OPS = {
    "is": lambda actual, wanted: actual == wanted,
    "is_not": lambda actual, wanted: actual != wanted,
    "starts_with": lambda actual, wanted: actual.startswith(wanted),
    "ends_with": lambda actual, wanted: actual.endswith(wanted),
    "contains": lambda actual, wanted: wanted in actual,
}
# The SDK's credit_card_number is a partial match; only the bin and last four are stored, so
# longer prefixes or suffixes cannot be answered and are refused.
_CARD_NUMBER_OPS = {
    "starts_with": lambda card, wanted: (card.get("bin") or "").startswith(wanted),
    "ends_with": lambda card, wanted: (card.get("last_4") or "").endswith(wanted),
}
_CARD_NUMBER_LIMITS = {"starts_with": 6, "ends_with": 4}
SUPPORTED = sorted(set(TEXT_FIELDS) | set(MULTI_FIELDS) | STATUS_TIMESTAMPS
                   | {"amount", "created_at", "refund", "credit_card_number"})


def _timestamp(text):
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError as exc:
        raise UnsupportedCriterion(f"invalid datetime {text!r}") from exc


def _decimal(text):
    try:
        return Decimal(str(text))
    except InvalidOperation as exc:
        raise UnsupportedCriterion(f"invalid amount {text!r}") from exc


def _range_value(tx, field):
    if field == "amount":
        return Decimal(tx["amount"])
    if field == "created_at":
        return _timestamp(tx["created_at"])
    status = field[: -len("_at")]
    for event in tx["status_history"]:
        if event["status"] == status:
            return _timestamp(event["timestamp"])
    return None


def _range_test(field, bounds):
    convert = _decimal if field == "amount" else _timestamp
    if not isinstance(bounds, dict) or not bounds or set(bounds) - {"min", "max", "is"}:
        raise UnsupportedCriterion(f"{field}: expected min, max or is")
    wanted = {op: convert(raw) for op, raw in bounds.items()}

    def test(tx):
        actual = _range_value(tx, field)
        if actual is None:
            return False
        return (("min" not in wanted or actual >= wanted["min"])
                and ("max" not in wanted or actual <= wanted["max"])
                and ("is" not in wanted or actual == wanted["is"]))
    return test


def _text_test(field, ops, table, read):
    if not isinstance(ops, dict) or not ops or set(ops) - set(table):
        raise UnsupportedCriterion(f"{field}: expected one of {sorted(table)}")
    return lambda tx: all(table[op](read(tx), value or "") for op, value in ops.items())


def _field_test(field, wanted):
    """A predicate on a stored transaction for one criterion; raises if it is not supported."""
    if field in MULTI_FIELDS:
        if not isinstance(wanted, list):
            raise UnsupportedCriterion(f"{field}: expected a list")
        read, accepted = MULTI_FIELDS[field], set(wanted)
        return lambda tx: read(tx) in accepted
    if field in TEXT_FIELDS:
        read = TEXT_FIELDS[field]
        return _text_test(field, wanted, _TEXT_OPS, lambda tx: read(tx) or "")
    if field == "credit_card_number":
        if isinstance(wanted, dict) and any(len(value or "") > _CARD_NUMBER_LIMITS.get(op, 0)
                                            for op, value in wanted.items()):
            raise UnsupportedCriterion("credit_card_number: at most 6 leading or 4 trailing digits")
        return _text_test(field, wanted, _CARD_NUMBER_OPS, lambda tx: tx["card"] or {})
    if field == "refund":
        if not isinstance(wanted, bool):
            raise UnsupportedCriterion("refund: expected true or false")
        return lambda tx: (tx["refunded_transaction_id"] is not None) == wanted
    if field in ("amount", "created_at") or field in STATUS_TIMESTAMPS:
        return _range_test(field, wanted)
    raise UnsupportedCriterion(f"search criterion {field!r} is not supported by braintree_sim"
                               f" (supported: {', '.join(SUPPORTED)})")


def compile_criteria(criteria):
    """One predicate for all criteria; raises :class:`UnsupportedCriterion` before any match."""
    if not isinstance(criteria, dict):
        raise UnsupportedCriterion("expected a <search> element")
    tests = [_field_test(field, wanted) for field, wanted in criteria.items()]
    return lambda tx: all(test(tx) for test in tests)


def find_ids(transactions, criteria):
    """Ids of matching transactions, newest first like the gateway."""
    matches = compile_criteria(criteria)
    return [tx["id"] for tx in reversed(transactions) if matches(tx)]


def page(transactions_by_id, criteria):
    """Step two: the transactions named in ``criteria['ids']`` that still match, in that order."""
    if not isinstance(criteria, dict) or not isinstance(criteria.get("ids"), list):
        raise UnsupportedCriterion("a search page needs an ids list")
    matches = compile_criteria(criteria)
    found = (transactions_by_id(tx_id) for tx_id in criteria["ids"])
    return [tx for tx in found if tx is not None and matches(tx)]
