"""The gateway seam: what the services may ask of a payment gateway, in the project's own types.

Importable without configured Django settings and without the SDK: the fake gateway and the unit
tests build on it alone. Declines, rejections and validation errors are `SaleResult`s; only
`GatewayUnavailable` (retry) and `GatewayMisconfigured` (alert) are raised.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from payments.statuses import TRANSACTION_PAID_STATUSES

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
