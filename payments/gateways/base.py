"""The gateway seam: what the services may ask of a payment gateway, in the project's own types.

Importable without configured Django settings and without the SDK: the fake gateway and the unit
tests build on it alone. Declines, rejections and validation errors are `SaleResult`s; only
`GatewayUnavailable` (retry) and `GatewayMisconfigured` (alert) are raised.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from payments.core.statuses import TRANSACTION_PAID_STATUSES

# Braintree's "Cannot use a payment_method_nonce more than once": an earlier sale of ours may
# have spent it, so the services look the order up before calling the sale a failure.
NONCE_CONSUMED = "91564"


class SaleOutcome(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    REJECTED = "rejected"
    PROCESSOR_FAILED = "processor_failed"
    INVALID = "invalid"


@dataclass(frozen=True)
class TransactionInfo:
    id: str
    status: str
    amount: Decimal
    order_id: str
    processor_response_code: str = ""
    processor_response_text: str = ""
    gateway_rejection_reason: str = ""
    # The money's currency and the merchant account that took it: Braintree charges in the
    # account's currency, so verify checks both against the order. Blank when unknown.
    currency_iso_code: str = ""
    merchant_account_id: str = ""
    # After the sale: the sale's refund (credit) transaction ids, and a transaction's type.
    refund_ids: tuple[str, ...] = ()
    type: str = "sale"
    # When an authorization (a sale not submitted for settlement) lapses, if the gateway says.
    authorization_expires_at: object = None  # an aware datetime

    @property
    def is_paid(self):
        return self.status in TRANSACTION_PAID_STATUSES


@dataclass(frozen=True)
class SaleResult:
    outcome: SaleOutcome
    transaction: TransactionInfo | None = None
    error_codes: list[str] = field(default_factory=list)
    message: str = ""


class Gateway(Protocol):
    """The three calls the payments services make; `payments.gateways.get_gateway()` returns one."""

    def sale(
        self,
        *,
        order_id: str,
        amount: Decimal,
        nonce: str,
        api_request_key: str,
        merchant_account_id: str = "",
        submit_for_settlement: bool = True,
    ) -> SaleResult:
        """Charge `amount` with `nonce`, submitted for settlement; idempotent per `api_request_key`.

        `merchant_account_id` picks the account (and so the currency); blank: the gateway's default.
        Without `submit_for_settlement` the sale only authorizes (manual capture).
        """

    def find(self, transaction_id: str) -> TransactionInfo | None:
        """The gateway's view of one transaction, or None if it does not know the id."""

    def search_by_order_id(self, order_id: str) -> list[TransactionInfo]:
        """Every transaction the gateway holds for `order_id` (declined ones included)."""


# After the sale.


class RefundOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    # Braintree's definite "no": the amount is too large, the sale cannot be voided/refunded...
    REFUSED = "refused"


# Validation codes of a refused refund or void that mean "the sale's state moved under you"
# (it settled, or has not yet): the worker looks at the sale again instead of failing the refund.
VOID_NOT_ALLOWED = "91504"
REFUND_UNSETTLED = "91506"
REFUND_ALREADY_COMPLETE = "91512"
REFUND_TOO_LARGE = "91521"
# A capture (submit_for_settlement) of a sale that is not authorized, or above its authorization.
CANNOT_SUBMIT = "91507"
CAPTURE_TOO_LARGE = "91522"


@dataclass(frozen=True)
class RefundResult:
    outcome: RefundOutcome
    transaction: TransactionInfo | None = None
    error_codes: list[str] = field(default_factory=list)
    message: str = ""


@dataclass(frozen=True)
class WebhookEvent:
    """A verified webhook notification, reduced to what the services need."""

    kind: str
    timestamp: object  # an aware datetime
    subject_id: str
    transaction_id: str = ""
    transaction_status: str = ""
    amount: Decimal | None = None
    dispute_status: str = ""
    reason: str = ""


class AfterSaleGateway(Protocol):
    """The calls after the sale: refunds, voids, searches by id and webhook verification."""

    def refund(self, *, transaction_id: str, amount: Decimal, order_id: str, api_request_key: str) -> RefundResult:
        """Refund `amount` of a settled sale; the credit carries `order_id`; idempotent per key."""

    def void(self, *, transaction_id: str, api_request_key: str) -> RefundResult:
        """Void an unsettled sale (nothing is captured); idempotent per key."""

    def submit_for_settlement(self, *, transaction_id: str, amount: Decimal, api_request_key: str) -> RefundResult:
        """Capture `amount` (at most the authorized amount) of an authorized sale; idempotent per key."""

    def search_by_ids(self, ids: list[str]) -> list[TransactionInfo]:
        """The transactions with these ids (unknown ids are left out), in batches the gateway allows."""

    def parse_webhook(self, *, signature: str, payload: str) -> WebhookEvent:
        """Verify and parse a webhook; raises WebhookSignatureInvalid for a forged or garbled one."""

    def verify_webhook_challenge(self, challenge: str) -> str:
        """The answer to Braintree's `bt_challenge` when a webhook URL is registered."""


# Saved payment methods: Braintree's vault.

# Validation codes of a vault call that mean "what you are creating is already there": a retry
# after a lost answer (the service chooses the customer id and the token, so it finds its own).
CUSTOMER_ID_TAKEN = "91609"
TOKEN_TAKEN = "91719"
# A sale on a token that is not (or no longer) in the vault.
PAYMENT_METHOD_TOKEN_INVALID = "91518"


class StoreOutcome(StrEnum):
    STORED = "stored"
    # Verification declined, an unknown or spent nonce...: definite, nothing was stored.
    REFUSED = "refused"


@dataclass(frozen=True)
class CardInfo:
    """What the vault says about a stored card: masked facts only (never the number)."""

    token: str
    card_type: str = ""
    last_4: str = ""
    expiration_month: str = ""
    expiration_year: str = ""
    default: bool = False


@dataclass(frozen=True)
class StoreResult:
    outcome: StoreOutcome
    card: CardInfo | None = None
    error_codes: list[str] = field(default_factory=list)
    message: str = ""
    # A declined verification: its status and the processor's response code (e.g. 2000).
    verification_status: str = ""
    processor_response_code: str = ""


class VaultGateway(Protocol):
    """Customers and stored cards; a sale on a stored card is `Gateway.sale(payment_method_token=...)`."""

    def customer_create(self, *, customer_id: str, email: str = "") -> None:
        """Create the vault customer `customer_id`; one that exists already is success (a retry)."""

    def payment_method_store(
        self, *, customer_id: str, nonce: str, token: str, make_default: bool = True
    ) -> StoreResult:
        """Store the nonce's card on the customer under `token`, verified first; a token already
        stored (a retry after a lost answer) answers with the stored card."""

    def payment_method_find(self, token: str) -> CardInfo | None:
        """The stored card of `token`, or None if the vault does not hold it."""

    def payment_method_delete(self, token: str) -> None:
        """Delete `token` from the vault (a token already gone is success)."""
