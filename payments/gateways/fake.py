"""An in-process, deterministic gateway with Braintree's documented sandbox rules.

For service tests without a simulator process (`PAYMENTS_GATEWAY = "fake"`). It follows the
same rules as braintree_sim (developer.paypal.com/braintree/docs/reference/general/testing), but
stays a separate, small reimplementation: the simulator is the wire-level contract test of the
real path, this is only a stand-in behind the `Gateway` protocol.

- Amounts: 2000.00-2999.99 processor declined with that code, 3000.00-3000.99 processor
  `failed` (3000, nonce not spent), 5001.00 gateway rejected (application_incomplete); anything
  else approved and submitted for settlement.
- Nonces: the static `fake-*` nonces (`fake-valid-nonce`, `fake-valid-<brand>-nonce`,
  `fake-processor-declined-<brand>-nonce`, which a sale treats like a valid card as the sandbox
  does, `fake-consumed-nonce` -> 91564, `fake-luhn-invalid-nonce` -> 81715,
  `fake-gateway-rejected-fraud-nonce`, `fake-gateway-rejected-risk-thresholds-nonce`); single-use
  nonces from `mint_nonce()` (a second sale -> 91564); anything else -> 91565.
- `api_request_key`: a repeated key with the same parameters returns the original answer, with
  different parameters 915232; validation errors are not remembered.
- Merchant accounts: the simulator's defaults (`MERCHANT_ACCOUNTS`, the first is the default);
  a sale in an unknown `merchant_account_id` -> 91513. Transactions carry the account and its
  currency.
- Faults for tests: `fail_next("sale" | "find" | "search", applied=...)` makes the next call raise
  `GatewayUnavailable`, after the call took effect (a lost answer) or before.
"""

import base64
import hashlib
import hmac
import itertools
import json
import threading
from datetime import datetime
from decimal import Decimal

from payments.core.exceptions import GatewayUnavailable, WebhookSignatureInvalid
from payments.gateways.base import (
    CardInfo,
    StoreOutcome,
    StoreResult,
    CANNOT_SUBMIT,
    CAPTURE_TOO_LARGE,
    REFUND_ALREADY_COMPLETE,
    REFUND_TOO_LARGE,
    REFUND_UNSETTLED,
    VOID_NOT_ALLOWED,
    RefundOutcome,
    RefundResult,
    SaleOutcome,
    SaleResult,
    TransactionInfo,
    WebhookEvent,
)

CARD_BRANDS = ("visa", "amex", "mastercard", "discover", "jcb", "maestro", "dinersclub")
CARD_INDICATORS = ("debit", "prepaid", "commercial", "payroll", "healthcare", "durbin-regulated")

VALID_NONCES = frozenset(
    {"fake-valid-nonce", "fake-processor-failure-jcb-nonce"}
    | {f"fake-valid-{brand}-nonce" for brand in CARD_BRANDS}
    | {f"fake-valid-{indicator}-nonce" for indicator in CARD_INDICATORS}
    # The sandbox declines these in card *verification* only; a sale follows the amount.
    | {f"fake-processor-declined-{brand}-nonce" for brand in ("visa", "mastercard", "amex", "discover")}
)
NONCE_ERRORS = {"fake-consumed-nonce": "91564", "fake-luhn-invalid-nonce": "81715"}
REJECTING_NONCES = {
    "fake-gateway-rejected-fraud-nonce": "fraud",
    "fake-gateway-rejected-risk-thresholds-nonce": "risk_threshold",
}
ERROR_MESSAGES = {
    "81531": "Amount must be greater than zero.",
    "81715": "Credit card number is invalid.",
    "91513": "Merchant account ID is invalid.",
    "91564": "Cannot use a payment_method_nonce more than once.",
    "91565": "Unknown or expired payment_method_nonce.",
    "91518": "Payment method token is invalid.",
    "93105": "Customer ID is invalid.",
    "93107": "Cannot use a payment_method_nonce more than once.",
    "93108": "Unknown or expired payment_method_nonce.",
    "915232": "API request key was reused with different request parameters.",
}
# braintree_sim's default merchant accounts and their currencies; the first is the default one.
MERCHANT_ACCOUNTS = {
    "sim_merchant_account": "USD",
    "sim_merchant_account_eur": "EUR",
    "sim_merchant_account_gbp": "GBP",
    "sim_merchant_account_cad": "CAD",
    "sim_merchant_account_aud": "AUD",
}
# A sale on a stored card goes through `_sell` as this prefix and the token.
VAULT_PREFIX = "vault:"
# The sandbox's verification declines (a sale on these nonces follows the amount instead).
DECLINED_VERIFICATION_NONCES = frozenset(
    f"fake-processor-declined-{brand}-nonce" for brand in ("visa", "mastercard", "amex", "discover")
)
DECLINE_TEXTS = {"2000": "Do Not Honor", "2001": "Insufficient Funds", "2046": "Declined"}


def authorize(amount):
    """The sandbox's answer to an amount: `(status, response code, response text, rejection reason)`."""
    if Decimal("2000.00") <= amount <= Decimal("2999.99"):
        code = str(int(amount))
        return "processor_declined", code, DECLINE_TEXTS.get(code, "Processor Declined"), ""
    if Decimal("3000.00") <= amount <= Decimal("3000.99"):
        return "failed", "3000", "Processor Network Unavailable - Try Again", ""
    if amount == Decimal("5001.00"):
        return "gateway_rejected", "", "", "application_incomplete"
    return "submitted_for_settlement", "1000", "Approved", ""


class FakeGateway:
    """A `Gateway` whose ledger lives in this object; `payments.gateways.reset_gateway()` empties it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._ledger = {}  # transaction id -> TransactionInfo, in creation order
        self._answers = {}  # api_request_key -> (parameters, SaleResult)
        self._minted = {}  # single-use nonce -> spent?
        self._faults = []  # (operation, applied)
        self._vault = {}  # token -> CardInfo
        self._customers = set()
        self.calls = []  # (operation, argument), for tests that count round trips

    # -- test controls

    def mint_nonce(self):
        """A new single-use nonce, like a client-side tokenization."""
        with self._lock:
            nonce = f"fake-single-use-{next(self._ids):06d}"
            self._minted[nonce] = False
        return nonce

    def fail_next(self, operation, *, applied=False):
        """The next `operation` call raises GatewayUnavailable; `applied`: after taking effect."""
        self._faults.append((operation, applied))

    def alter(self, transaction_id, **changes):
        """Make the gateway's record disagree with the order (amount, order_id, status...)."""
        with self._lock:
            txn = self._ledger[transaction_id]
            self._ledger[transaction_id] = TransactionInfo(**{**txn.__dict__, **changes})

    def transactions(self, order_id=None):
        """The ledger, oldest first, optionally for one order_id."""
        return [t for t in self._ledger.values() if order_id is None or t.order_id == order_id]

    # -- the Gateway protocol

    def sale(
        self, *, order_id, amount, nonce="", api_request_key, merchant_account_id="", submit_for_settlement=True,
        payment_method_token="",
    ):
        """Charge `amount` with `nonce`, submitted for settlement (or only authorized); idempotent per key."""
        self.calls.append(("sale", api_request_key))
        applied = self._fault("sale")
        if applied is False:
            raise GatewayUnavailable("Fake sale unavailable before the request was processed")
        amount = Decimal(amount).quantize(Decimal("0.01"))
        if payment_method_token:
            # A stored card: reusable, every sale on it is a charge.
            nonce = VAULT_PREFIX + payment_method_token
        params = (order_id, amount, nonce, merchant_account_id, submit_for_settlement)
        with self._lock:
            if api_request_key in self._answers:
                first_params, answer = self._answers[api_request_key]
                if first_params != params:
                    answer = self._invalid("915232")
            else:
                answer = self._sell(order_id, amount, nonce, merchant_account_id)
                if answer.outcome == SaleOutcome.APPROVED and not submit_for_settlement:
                    authorized = TransactionInfo(**{**answer.transaction.__dict__, "status": "authorized"})
                    self._ledger[authorized.id] = authorized
                    answer = SaleResult(outcome=SaleOutcome.APPROVED, transaction=authorized)
                if answer.transaction is not None:
                    self._answers[api_request_key] = (params, answer)
        if applied:
            raise GatewayUnavailable("Fake sale answer lost after the sale was processed")
        return answer

    def find(self, transaction_id):
        """The ledger's record of `transaction_id`, or None."""
        self.calls.append(("find", transaction_id))
        if self._fault("find") is not None:
            raise GatewayUnavailable("Fake find unavailable")
        return self._ledger.get(transaction_id)

    def search_by_order_id(self, order_id):
        """Every transaction of `order_id`, declined ones included, oldest first."""
        self.calls.append(("search", order_id))
        if self._fault("search") is not None:
            raise GatewayUnavailable("Fake search unavailable")
        return self.transactions(order_id)

    # -- after the sale (the simulator's rules, in short)

    def refund(self, *, transaction_id, amount, order_id, api_request_key):
        """Refund a settled sale, at most its unrefunded remainder; idempotent per key."""
        self.calls.append(("refund", api_request_key))
        applied = self._fault("refund")
        if applied is False:
            raise GatewayUnavailable("Fake refund unavailable before the request was processed")
        amount = Decimal(amount).quantize(Decimal("0.01"))
        with self._lock:
            if api_request_key in self._answers:
                answer = self._answers[api_request_key][1]
            else:
                answer = self._refund_locked(transaction_id, amount, order_id)
                if answer.outcome == RefundOutcome.SUCCEEDED:
                    self._answers[api_request_key] = ((transaction_id, amount, order_id), answer)
        if applied:
            raise GatewayUnavailable("Fake refund answer lost after the refund was processed")
        return answer


    def _refund_locked(self, transaction_id, amount, order_id):
        sale = self._ledger[transaction_id]
        if sale.status not in ("settled", "settling"):
            return RefundResult(outcome=RefundOutcome.REFUSED, error_codes=[REFUND_UNSETTLED], message="unsettled")
        refunded = sum((self._ledger[i].amount for i in sale.refund_ids), Decimal("0"))
        if refunded >= sale.amount:
            return RefundResult(outcome=RefundOutcome.REFUSED, error_codes=[REFUND_ALREADY_COMPLETE], message="complete")
        if refunded + amount > sale.amount:
            return RefundResult(outcome=RefundOutcome.REFUSED, error_codes=[REFUND_TOO_LARGE], message="too large")
        credit = TransactionInfo(
            id=f"fake{next(self._ids):06d}",
            status="submitted_for_settlement",
            amount=amount,
            order_id=order_id,
            type="credit",
        )
        self._ledger[credit.id] = credit
        self._ledger[sale.id] = TransactionInfo(**{**sale.__dict__, "refund_ids": (*sale.refund_ids, credit.id)})
        return RefundResult(outcome=RefundOutcome.SUCCEEDED, transaction=credit)


    def void(self, *, transaction_id, api_request_key):
        """Void an authorized or submitted_for_settlement sale; idempotent per key."""
        self.calls.append(("void", api_request_key))
        applied = self._fault("void")
        if applied is False:
            raise GatewayUnavailable("Fake void unavailable before the request was processed")
        with self._lock:
            if api_request_key in self._answers:
                answer = self._answers[api_request_key][1]
            else:
                sale = self._ledger[transaction_id]
                if sale.status not in ("authorized", "submitted_for_settlement"):
                    answer = RefundResult(outcome=RefundOutcome.REFUSED, error_codes=[VOID_NOT_ALLOWED], message="no void")
                else:
                    voided = TransactionInfo(**{**sale.__dict__, "status": "voided"})
                    self._ledger[sale.id] = voided
                    answer = RefundResult(outcome=RefundOutcome.SUCCEEDED, transaction=voided)
                    self._answers[api_request_key] = ((transaction_id,), answer)
        if applied:
            raise GatewayUnavailable("Fake void answer lost after the void was processed")
        return answer


    def submit_for_settlement(self, *, transaction_id, amount, api_request_key):
        """Capture `amount` (at most the authorization, else 91522) of an authorized sale; idempotent per key."""
        self.calls.append(("submit_for_settlement", api_request_key))
        applied = self._fault("submit_for_settlement")
        if applied is False:
            raise GatewayUnavailable("Fake capture unavailable before the request was processed")
        amount = Decimal(amount).quantize(Decimal("0.01"))
        with self._lock:
            if api_request_key in self._answers:
                answer = self._answers[api_request_key][1]
            else:
                sale = self._ledger[transaction_id]
                if sale.status != "authorized":
                    answer = RefundResult(
                        outcome=RefundOutcome.REFUSED, error_codes=[CANNOT_SUBMIT], message="not authorized"
                    )
                elif amount > sale.amount:
                    answer = RefundResult(
                        outcome=RefundOutcome.REFUSED, error_codes=[CAPTURE_TOO_LARGE], message="too large"
                    )
                else:
                    captured = TransactionInfo(
                        **{**sale.__dict__, "status": "submitted_for_settlement", "amount": amount}
                    )
                    self._ledger[sale.id] = captured
                    answer = RefundResult(outcome=RefundOutcome.SUCCEEDED, transaction=captured)
                    self._answers[api_request_key] = ((transaction_id, amount), answer)
        if applied:
            raise GatewayUnavailable("Fake capture answer lost after the capture was processed")
        return answer

    def search_by_ids(self, ids):
        """The ledger's transactions with these ids."""
        self.calls.append(("search_by_ids", tuple(ids)))
        if self._fault("search") is not None:
            raise GatewayUnavailable("Fake search unavailable")
        return [self._ledger[i] for i in ids if i in self._ledger]


    # -- the vault (the simulator's rules, in short)

    def customer_create(self, *, customer_id, email=""):
        """Create the vault customer; an existing one is success."""
        self.calls.append(("customer_create", customer_id))
        applied = self._fault("customer_create")
        if applied is False:
            raise GatewayUnavailable("Fake customer create unavailable")
        self._customers.add(customer_id)
        if applied:
            raise GatewayUnavailable("Fake customer create answer lost")

    def payment_method_store(self, *, customer_id, nonce, token, make_default=True):
        """Verify and store the nonce's card under `token`; a stored token answers with its card."""
        self.calls.append(("payment_method_store", token))
        applied = self._fault("payment_method_store")
        if applied is False:
            raise GatewayUnavailable("Fake payment method store unavailable")
        with self._lock:
            answer = self._store_locked(customer_id, nonce, token, make_default)
        if applied:
            raise GatewayUnavailable("Fake payment method store answer lost")
        return answer

    def _store_locked(self, customer_id, nonce, token, make_default):
        if token in self._vault:
            return StoreResult(outcome=StoreOutcome.STORED, card=self._vault[token])
        if customer_id not in self._customers:
            return StoreResult(outcome=StoreOutcome.REFUSED, error_codes=["93105"], message=ERROR_MESSAGES["93105"])
        single_use = nonce in self._minted
        if single_use and self._minted[nonce]:
            return StoreResult(outcome=StoreOutcome.REFUSED, error_codes=["93107"], message=ERROR_MESSAGES["93107"])
        if not (single_use or nonce in VALID_NONCES):
            return StoreResult(outcome=StoreOutcome.REFUSED, error_codes=["93108"], message=ERROR_MESSAGES["93108"])
        if single_use:
            self._minted[nonce] = True
        if nonce in DECLINED_VERIFICATION_NONCES:
            return StoreResult(
                outcome=StoreOutcome.REFUSED,
                message="Do Not Honor",
                verification_status="processor_declined",
                processor_response_code="2000",
            )
        card = CardInfo(token=token, card_type="Visa", last_4="1111", expiration_month="12",
                        expiration_year="2030", default=bool(make_default))
        self._vault[token] = card
        return StoreResult(outcome=StoreOutcome.STORED, card=card)

    def payment_method_find(self, token):
        """The stored card of `token`, or None."""
        self.calls.append(("payment_method_find", token))
        if self._fault("payment_method_find") is not None:
            raise GatewayUnavailable("Fake payment method find unavailable")
        return self._vault.get(token)

    def payment_method_delete(self, token):
        """Forget `token`; an unknown one is success."""
        self.calls.append(("payment_method_delete", token))
        if self._fault("payment_method_delete") is not None:
            raise GatewayUnavailable("Fake payment method delete unavailable")
        self._vault.pop(token, None)

    # -- after the sale: a test control, then webhooks

    def settle(self, transaction_id, status="settled"):
        """Test control: settle (or decline the settlement of) a submitted sale."""
        self.alter(transaction_id, status=status)


    def parse_webhook(self, *, signature, payload):
        """Accept what `fake_webhook` signed; anything else is forged."""
        if not signature or not hmac.compare_digest(signature, fake_webhook_sign(payload or "")):
            raise WebhookSignatureInvalid("signature does not match payload")
        body = json.loads(base64.b64decode(payload))
        amount = body.get("amount")
        return WebhookEvent(
            kind=body["kind"],
            timestamp=datetime.fromisoformat(body["timestamp"]),
            subject_id=body["subject_id"],
            transaction_id=body.get("transaction_id", ""),
            transaction_status=body.get("transaction_status", ""),
            amount=Decimal(amount) if amount is not None else None,
            dispute_status=body.get("dispute_status", ""),
            reason=body.get("reason", ""),
        )


    def verify_webhook_challenge(self, challenge):
        """`fake|<hmac>` for a hex challenge."""
        if not all(c in "0123456789abcdef" for c in challenge) or not 20 <= len(challenge) <= 32:
            raise WebhookSignatureInvalid("challenge contains non-hex characters")
        return f"fake|{fake_webhook_sign(challenge)}"

    # -- internals

    def _fault(self, operation):
        """None when no fault is armed for `operation`, else whether it strikes after the call."""
        for index, (armed, applied) in enumerate(self._faults):
            if armed == operation:
                del self._faults[index]
                return applied
        return None

    @staticmethod
    def _invalid(code):
        return SaleResult(outcome=SaleOutcome.INVALID, error_codes=[code], message=ERROR_MESSAGES[code])

    def _sell(self, order_id, amount, nonce, merchant_account_id):
        if amount <= 0:
            return self._invalid("81531")
        account = merchant_account_id or next(iter(MERCHANT_ACCOUNTS))
        if account not in MERCHANT_ACCOUNTS:
            return self._invalid("91513")
        if nonce.startswith(VAULT_PREFIX) and nonce[len(VAULT_PREFIX):] not in self._vault:
            return self._invalid("91518")
        vaulted = nonce.startswith(VAULT_PREFIX)
        if nonce in NONCE_ERRORS:
            return self._invalid(NONCE_ERRORS[nonce])
        single_use = nonce in self._minted
        if single_use and self._minted[nonce]:
            return self._invalid("91564")
        if not (vaulted or single_use or nonce in VALID_NONCES or nonce in REJECTING_NONCES):
            return self._invalid("91565")
        if nonce in REJECTING_NONCES:
            status, code, text, rejection = "gateway_rejected", "", "", REJECTING_NONCES[nonce]
        else:
            status, code, text, rejection = authorize(amount)
        txn = TransactionInfo(
            id=f"fake{next(self._ids):06d}",
            status=status,
            amount=amount,
            order_id=order_id,
            processor_response_code=code,
            processor_response_text=text,
            gateway_rejection_reason=rejection,
            currency_iso_code=MERCHANT_ACCOUNTS[account],
            merchant_account_id=account,
        )
        self._ledger[txn.id] = txn
        # A failed authorization never reached the processor: the nonce stays usable.
        if single_use and status != "failed":
            self._minted[nonce] = True
        if status == "submitted_for_settlement":
            return SaleResult(outcome=SaleOutcome.APPROVED, transaction=txn)
        outcome = {
            "processor_declined": SaleOutcome.DECLINED,
            "gateway_rejected": SaleOutcome.REJECTED,
            "failed": SaleOutcome.PROCESSOR_FAILED,
        }[status]
        message = text or f"Gateway Rejected: {rejection}"
        return SaleResult(outcome=outcome, transaction=txn, message=message)


# Webhooks of the fake gateway: base64 JSON signed with an HMAC only this module knows.

FAKE_WEBHOOK_KEY = b"fake-webhook-key"


def fake_webhook_sign(payload):
    """The signature the fake gateway accepts for `payload` (tests build webhooks with it)."""
    return hmac.new(FAKE_WEBHOOK_KEY, payload.encode(), hashlib.sha256).hexdigest()


def fake_webhook(kind, *, subject_id, timestamp, **fields):
    """A signed fake notification: `(bt_signature, bt_payload)`."""
    body = {"kind": kind, "subject_id": subject_id, "timestamp": timestamp.isoformat(), **fields}
    payload = base64.b64encode(json.dumps(body, default=str).encode()).decode()
    return fake_webhook_sign(payload), payload
