"""Gateway response documents: transactions, search pages and ``<api-error-response>``.

The field set mirrors a real sandbox capture (see braintree-wire.md §2.4) so every attribute the
SDK exposes reads back with the right Python type instead of raising ``AttributeError``.
"""

from dataclasses import dataclass
from decimal import Decimal

from braintree_sim import xmlcodec
from braintree_sim.xmlcodec import Array, DateTime

PAGE_SIZE = 50


@dataclass(frozen=True)
class Reply:
    """An HTTP status and an XML body, ready to send."""

    status: int
    body: bytes = b""
    # True when the answer records a transaction, i.e. it is worth replaying for a repeated key.
    has_transaction: bool = False


NOT_FOUND = Reply(404)


def transaction_doc(tx):
    """Render-ready mapping for one stored transaction dict."""
    card = tx["card"] or {}
    return {
        "id": tx["id"],
        "status": tx["status"],
        "type": tx["type"],
        "currency_iso_code": tx["currency_iso_code"],
        "amount": tx["amount"],
        "merchant_account_id": tx["merchant_account_id"],
        "order_id": tx["order_id"],
        "created_at": DateTime(tx["created_at"]),
        "updated_at": DateTime(tx["updated_at"]),
        "payment_instrument_type": "credit_card",
        "processor_response_code": tx["processor_response_code"],
        "processor_response_text": tx["processor_response_text"],
        "processor_response_type": tx["processor_response_type"],
        "additional_processor_response": tx["additional_processor_response"],
        "processor_authorization_code": tx["processor_authorization_code"],
        "processor_settlement_response_code": tx["processor_settlement_response_code"],
        "processor_settlement_response_text": tx["processor_settlement_response_text"],
        "gateway_rejection_reason": tx["gateway_rejection_reason"],
        "voice_referral_number": None,
        "settlement_batch_id": tx["settlement_batch_id"],
        "refund_id": tx["refund_ids"][-1] if tx["refund_ids"] else None,
        "refund_ids": Array("item", tx["refund_ids"]),
        "refunded_transaction_id": tx["refunded_transaction_id"],
        "tax_amount": None,
        "tax_exempt": False,
        "recurring": False,
        "custom_fields": "",
        "add_ons": Array("add_on"),
        "discounts": Array("discount"),
        "disputes": Array("dispute"),
        "credit_card": {
            "token": None,
            "bin": card.get("bin"),
            "last_4": card.get("last_4"),
            "card_type": card.get("card_type"),
            "expiration_month": card.get("expiration_month"),
            "expiration_year": card.get("expiration_year"),
            "customer_location": "US",
            "cardholder_name": card.get("cardholder_name"),
            "expired": False,
            "debit": card.get("debit", "Unknown"),
            "prepaid": card.get("prepaid", "Unknown"),
            "commercial": card.get("commercial", "Unknown"),
            "payroll": card.get("payroll", "Unknown"),
            "healthcare": card.get("healthcare", "Unknown"),
            "durbin_regulated": card.get("durbin_regulated", "Unknown"),
            "country_of_issuance": "USA",
            "issuing_bank": "Simulated Bank",
        },
        "status_history": Array(
            "status_event",
            [
                {
                    "timestamp": DateTime(event["timestamp"]),
                    "status": event["status"],
                    "amount": event["amount"],
                    "user": "sim",
                    "transaction_source": "api",
                }
                for event in tx["status_history"]
            ],
        ),
        "disbursement_details": {"disbursement_date": None, "settlement_amount": None},
    }


def transaction_reply(tx, status=200):
    """A successful ``<transaction>`` answer."""
    return Reply(status, xmlcodec.render("transaction", transaction_doc(tx)), True)


def _error_tree(errors):
    tree = {"errors": Array("error")}
    for err in errors:
        node = tree.setdefault("transaction", {"errors": Array("error")})
        for step in err.path:
            node = node.setdefault(step, {"errors": Array("error")})
        node["errors"].items.append(
            {"code": err.code, "attribute": err.attribute, "message": err.message}
        )
    return tree


def _scrub(params):
    card = params.get("credit_card")
    if isinstance(card, dict):
        card = {key: value for key, value in card.items() if key not in ("number", "cvv")}
        params = {**params, "credit_card": card}
    return params


def error_reply(errors, params=None):
    """A 422 validation failure listing ``errors`` (the SDK returns an ``ErrorResult``)."""
    doc = {
        "errors": _error_tree(errors),
        "params": {"transaction": xmlcodec.echo_params(_scrub(params or {}))},
        "message": "\n".join(err.message for err in errors),
    }
    return Reply(422, xmlcodec.render("api_error_response", doc))


def unsuccessful_reply(tx, params):
    """A 422 for a decline, gateway rejection or failure: no errors, but the transaction."""
    if tx["status"] == "gateway_rejected":
        message = f"Gateway Rejected: {tx['gateway_rejection_reason']}"
    else:
        message = tx["processor_response_text"]
    doc = {
        "errors": {"errors": Array("error")},
        "params": {"transaction": xmlcodec.echo_params(_scrub(params))},
        "message": message,
        "transaction": transaction_doc(tx),
    }
    return Reply(422, xmlcodec.render("api_error_response", doc), True)


def search_ids_reply(ids):
    """Step one of a search: every matching id and the page size."""
    doc = {"page_size": PAGE_SIZE, "ids": Array("item", ids)}
    return Reply(200, xmlcodec.render("search_results", doc))


def search_page_reply(transactions):
    """Step two of a search: the requested transactions in full."""
    children = [
        ("current_page_number", 1),
        ("page_size", PAGE_SIZE),
        ("total_items", len(transactions)),
    ]
    children.extend(("transaction", transaction_doc(tx)) for tx in transactions)
    return Reply(200, xmlcodec.render("credit_card_transactions", children))


def ledger_row(tx):
    """The JSON shape of one transaction in ``GET /__sim__/transactions``."""
    return {
        "id": tx["id"],
        "order_id": tx["order_id"],
        "type": tx["type"],
        "status": tx["status"],
        "amount": tx["amount"],
        "currency_iso_code": tx["currency_iso_code"],
        "api_request_key": tx["api_request_key"],
        "created_at": tx["created_at"],
        "refunded_transaction_id": tx["refunded_transaction_id"],
        "processor_response_code": tx["processor_response_code"],
    }


def money(value):
    """Format a Decimal the way the gateway prints amounts."""
    return str(Decimal(value).quantize(Decimal("0.01")))
