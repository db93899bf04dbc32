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
        self, *, order_id: str, amount: Decimal, nonce: str, api_request_key: str, merchant_account_id: str = ""
    ) -> SaleResult:
        """Charge `amount` with `nonce`, submitted for settlement; idempotent per `api_request_key`.

        `merchant_account_id` picks the account (and so the currency); blank: the gateway's default.
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

    def search_by_ids(self, ids: list[str]) -> list[TransactionInfo]:
        """The transactions with these ids (unknown ids are left out), in batches the gateway allows."""

    def parse_webhook(self, *, signature: str, payload: str) -> WebhookEvent:
        """Verify and parse a webhook; raises WebhookSignatureInvalid for a forged or garbled one."""

    def verify_webhook_challenge(self, challenge: str) -> str:
        """The answer to Braintree's `bt_challenge` when a webhook URL is registered."""
