"""Gateway response documents: transactions, search pages and ``<api-error-response>``.

The field set mirrors a real sandbox capture (see braintree-wire.md §2.4) so every attribute the
SDK exposes reads back with the right Python type instead of raising ``AttributeError``.
"""

from dataclasses import dataclass
from decimal import Decimal

import base64

from braintree_sim import xmlcodec
from braintree_sim.xmlcodec import Array, Date, DateTime

PAGE_SIZE = 50


@dataclass(frozen=True)
class Reply:
    """An HTTP status and an XML body, ready to send."""

    status: int
    body: bytes = b""
    # True when the answer records a transaction, i.e. it is worth replaying for a repeated key.
    has_transaction: bool = False


NOT_FOUND = Reply(404)


_ADDRESS_FIELDS = ("id", "first_name", "last_name", "company", "street_address",
                   "extended_address", "locality", "region", "postal_code", "country_name",
                   "country_code_alpha2", "country_code_alpha3", "country_code_numeric")
_CUSTOMER_FIELDS = ("id", "first_name", "last_name", "company", "email", "phone", "fax",
                    "website", "global_id")
# Top-level fields of Braintree's Transaction response object that the simulator has no value
# for. They are sent as nil so code that reads them behaves as it would on the real gateway
# for a plain card sale, instead of raising AttributeError only in production.
_NIL_FIELDS = (
    "acquirer_reference_number", "authorization_expires_at", "avs_error_response_code",
    "avs_postal_code_response_code", "avs_street_address_response_code", "channel",
    "cvv_response_code", "debit_network", "discount_amount", "escrow_status",
    "installment_count", "master_merchant_account_id", "merchant_address",
    "merchant_identification_number", "merchant_name", "network_response_code",
    "network_response_text", "network_transaction_id", "plan_id", "purchase_order_number",
    "retried_transaction_id", "retrieval_reference_number", "sca_exemption_requested",
    "service_fee_amount", "shipping_amount", "shipping_tax_amount", "ships_from_postal_code",
    "sub_merchant_account_id", "subscription_id", "surcharge_amount", "three_d_secure_info",
    "voice_referral_number", "tax_amount",
)


def global_id(kind, object_id):
    """Braintree's GraphQL id: base64 of ``<kind>_<id>`` without padding."""
    return base64.b64encode(f"{kind}_{object_id}".encode()).decode("ascii").rstrip("=")


def transaction_doc(tx, disputes=()):
    """Render-ready mapping for one stored transaction dict and its dispute dicts."""
    card = tx["card"] or {}
    doc = {
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
        "settlement_batch_id": tx["settlement_batch_id"],
        "refund_id": tx["refund_ids"][-1] if tx["refund_ids"] else None,
        "refund_ids": Array("item", tx["refund_ids"]),
        "refunded_transaction_id": tx["refunded_transaction_id"],
        "tax_exempt": False,
        "recurring": False,
        "custom_fields": "",
        "add_ons": Array("add_on"),
        "discounts": Array("discount"),
        "disputes": Array("dispute", [dispute_doc(dispute, tx) for dispute in disputes]),
        "authorization_adjustments": Array("authorization_adjustment"),
        "retry_ids": Array("item"),
        "retried": False,
        "pin_verified": False,
        "processed_with_network_token": False,
        "global_id": global_id("transaction", tx["id"]),
        "customer": {**dict.fromkeys(_CUSTOMER_FIELDS), "id": card.get("customer_id")},
        "billing": dict.fromkeys(_ADDRESS_FIELDS),
        "shipping": dict.fromkeys(_ADDRESS_FIELDS),
        "descriptor": tx.get("descriptor") or {"name": None, "phone": None, "url": None},
        "subscription": {"billing_period_start_date": None, "billing_period_end_date": None},
        "credit_card": {
            "token": card.get("token"),
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
            "product_id": "Unknown",
            "image_url": None,
            "unique_number_identifier": None,
            "account_type": "credit",
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
    # After the known fields, so <id> stays the first child as on the real gateway.
    if tx.get("authorization_expires_at"):
        doc["authorization_expires_at"] = DateTime(tx["authorization_expires_at"])
    # Partial settlement: the authorization lists its parts, each part names the authorization.
    doc["partial_settlement_transaction_ids"] = Array("item", tx.get("partial_settlement_transaction_ids", []))
    doc["authorized_transaction_id"] = tx.get("authorized_transaction_id")
    for name in _NIL_FIELDS:
        doc.setdefault(name, None)
    return doc


def dispute_doc(dispute, tx):
    """Render-ready mapping for a dispute, shaped like ``WebhookTesting.sample_notification``'s."""
    return {
        "id": dispute["id"],
        "amount": dispute["amount"],
        "amount_disputed": dispute["amount"],
        "amount_won": dispute["amount_won"],
        "case_number": dispute["case_number"],
        "created_at": DateTime(dispute["created_at"]),
        "currency_iso_code": tx["currency_iso_code"],
        "forwarded_comments": None,
        "kind": dispute["kind"],
        "merchant_account_id": tx["merchant_account_id"],
        "reason": dispute["reason"],
        "reason_code": dispute["reason_code"],
        "reason_description": None,
        "received_date": Date(dispute["received_date"]),
        "reference_number": dispute["reference_number"],
        "reply_by_date": Date(dispute["reply_by_date"]),
        "status": dispute["status"],
        "updated_at": DateTime(dispute["updated_at"]),
        "original_dispute_id": None,
        "global_id": global_id("dispute", dispute["id"]),
        "status_history": Array("status_history", [
            {"status": event["status"], "timestamp": DateTime(event["timestamp"]),
             "effective_date": Date(event["timestamp"][:10])}
            for event in dispute["status_history"]
        ]),
        "evidence": Array("evidence"),
        "transaction": {
            "id": tx["id"],
            "amount": tx["amount"],
            "created_at": DateTime(tx["created_at"]),
            "order_id": tx["order_id"],
            "purchase_order_number": None,
            "payment_instrument_subtype": (tx["card"] or {}).get("card_type"),
        },
        "date_opened": Date(dispute["created_at"][:10]),
        "date_won": Date(dispute["date_won"]) if dispute.get("date_won") else None,
    }


def transaction_reply(tx, status=200, disputes=()):
    """A successful ``<transaction>`` answer."""
    return Reply(status, xmlcodec.render("transaction", transaction_doc(tx, disputes)), True)


def dispute_reply(dispute, tx):
    """``GET /disputes/{id}``: the dispute as ``dispute.find`` reads it."""
    return Reply(200, xmlcodec.render("dispute", dispute_doc(dispute, tx)))


def _error_tree(errors, resource):
    tree = {"errors": Array("error")}
    for err in errors:
        node = tree.setdefault(resource, {"errors": Array("error")})
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


def error_reply(errors, params=None, resource="transaction"):
    """A 422 validation failure listing ``errors`` (the SDK returns an ``ErrorResult``)."""
    doc = {
        "errors": _error_tree(errors, resource),
        "params": {resource: xmlcodec.echo_params(_scrub(params or {}))},
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


def unsupported_search_reply(exc):
    """400 for a criterion the simulator cannot evaluate; the SDK raises ``UnexpectedError``."""
    return Reply(400, xmlcodec.render("error", {"message": str(exc)}))


def search_ids_reply(ids):
    """Step one of a search: every matching id and the page size."""
    doc = {"page_size": PAGE_SIZE, "ids": Array("item", ids)}
    return Reply(200, xmlcodec.render("search_results", doc))


def search_page_reply(transactions, disputes_of):
    """Step two of a search: the transactions in full; ``disputes_of(tx)`` lists each one's disputes."""
    children = [
        ("current_page_number", 1),
        ("page_size", PAGE_SIZE),
        ("total_items", len(transactions)),
    ]
    children.extend(("transaction", transaction_doc(tx, disputes_of(tx))) for tx in transactions)
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
        "merchant_account_id": tx["merchant_account_id"],
        "api_request_key": tx["api_request_key"],
        # The vaulted card charged (None for a nonce or card sale): every sale on it is a charge.
        "payment_method_token": (tx["card"] or {}).get("token"),
        "created_at": tx["created_at"],
        "refunded_transaction_id": tx["refunded_transaction_id"],
        "refund_ids": list(tx["refund_ids"]),
        "dispute_ids": list(tx.get("dispute_ids", ())),
        "processor_response_code": tx["processor_response_code"],
        "processor_settlement_response_code": tx["processor_settlement_response_code"],
        # Every status the transaction went through, oldest first: a capture or void shows once.
        "status_history": [{"status": e["status"], "amount": e["amount"]} for e in tx["status_history"]],
    }


def dispute_row(dispute):
    """The JSON shape of one dispute in the ``/__sim__/disputes`` answers."""
    keys = ("id", "transaction_id", "amount", "currency_iso_code", "kind", "reason", "status",
            "created_at", "updated_at")
    return {key: dispute[key] for key in keys}


def money(value):
    """Format a Decimal the way the gateway prints amounts."""
    return str(Decimal(value).quantize(Decimal("0.01")))
