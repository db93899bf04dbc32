"""Transaction search criteria as the SDK's ``TransactionSearch`` nodes serialise them.

Supported: text fields (``is``, ``is_not``, ``starts_with``, ``ends_with``, ``contains``),
multiple-value fields (a list), and ranges (``min``, ``max``, ``is``) on ``amount``,
``created_at`` and the ``<status>_at`` timestamps taken from the status history.
"""

from datetime import datetime
from decimal import Decimal, InvalidOperation

TEXT_FIELDS = {"id", "order_id", "merchant_account_id", "currency_iso_code",
               "processor_authorization_code", "refunded_transaction_id"}
MULTI_FIELDS = {"ids": "id", "status": "status", "type": "type",
                "merchant_account_id": "merchant_account_id"}
_TEXT_OPS = {
    "is": lambda actual, wanted: actual == wanted,
    "is_not": lambda actual, wanted: actual != wanted,
    "starts_with": lambda actual, wanted: actual.startswith(wanted),
    "ends_with": lambda actual, wanted: actual.endswith(wanted),
    "contains": lambda actual, wanted: wanted in actual,
}
SUPPORTED = sorted(TEXT_FIELDS | set(MULTI_FIELDS) | {"amount", "created_at", "<status>_at"})


def _timestamp(text):
    return datetime.fromisoformat(str(text).replace("Z", "+00:00")).replace(tzinfo=None)


def _decimal(text):
    try:
        return Decimal(str(text))
    except InvalidOperation:
        return None


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


def _in_range(actual, bounds, convert):
    if actual is None:
        return False
    if not isinstance(bounds, dict):
        bounds = {"is": bounds}
    for op, raw in bounds.items():
        wanted = convert(raw)
        if wanted is None:
            continue
        if op == "min" and actual < wanted:
            return False
        if op == "max" and actual > wanted:
            return False
        if op == "is" and actual != wanted:
            return False
    return True


def _matches_field(tx, field, wanted):
    if isinstance(wanted, list):
        key = MULTI_FIELDS.get(field)
        return key is None or tx.get(key) in wanted
    if field == "amount":
        return _in_range(Decimal(tx["amount"]), wanted, _decimal)
    if field.endswith("_at"):
        return _in_range(_range_value(tx, field), wanted, _timestamp)
    if field in TEXT_FIELDS and isinstance(wanted, dict):
        actual = tx.get(field) or ""
        return all(_TEXT_OPS[op](actual, value or "") for op, value in wanted.items()
                   if op in _TEXT_OPS)
    return True


def matches(tx, criteria):
    """True if the stored transaction satisfies every supported criterion."""
    return all(_matches_field(tx, field, wanted) for field, wanted in criteria.items())


def find_ids(transactions, criteria):
    """Ids of matching transactions, newest first like the gateway."""
    return [tx["id"] for tx in reversed(transactions) if matches(tx, criteria)]


def page(transactions_by_id, criteria):
    """Step two: the transactions named in ``criteria['ids']`` that still match, in that order."""
    ids = criteria.get("ids") or []
    rest = {key: value for key, value in criteria.items() if key != "ids"}
    found = (transactions_by_id(tx_id) for tx_id in ids)
    return [tx for tx in found if tx is not None and matches(tx, rest)]
