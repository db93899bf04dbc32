"""The Braintree adapter: the only module that imports `braintree`.

Callers get the project's own frozen dataclasses and exceptions, never SDK objects:
declines, gateway rejections and validation errors come back as a `SaleResult`; transient
failures raise `GatewayUnavailable` (retry) and permanent ones `GatewayMisconfigured` (alert).
"""

import logging
import re
from decimal import Decimal
from urllib.parse import urlsplit

import braintree
from braintree.exceptions import (
    AuthenticationError,
    AuthorizationError,
    ConfigurationError,
    GatewayTimeoutError,
    NotFoundError,
    RequestTimeoutError,
    ServerError,
    ServiceUnavailableError,
    TooManyRequestsError,
    UnexpectedError,
    UpgradeRequiredError,
)
from braintree.exceptions.braintree_error import BraintreeError
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from payments.exceptions import GatewayMisconfigured, GatewayUnavailable
from payments.gateways.base import SaleOutcome, SaleResult, TransactionInfo

logger = logging.getLogger(__name__)

# api_request_key answers that say nothing about whether the sale happened: the first request
# with this key is still being processed (a hung earlier attempt may yet commit), or Braintree
# failed to process it. Treating them as a decline would orphan a charge that lands later.
REQUEST_KEY_UNDECIDED = frozenset({"915233", "915235"})

_TRANSIENT = (
    TooManyRequestsError,
    ServerError,
    ServiceUnavailableError,
    GatewayTimeoutError,
    RequestTimeoutError,
)
_PERMANENT = (AuthenticationError, AuthorizationError, UpgradeRequiredError, ConfigurationError)

# The SDK names the status of an HTTP answer it has no exception class for only in this message
# (braintree/util/http.py raise_exception_from_status). Its transport errors (ConnectionError,
# ReadTimeoutError...) also subclass UnexpectedError, with other messages, and stay transient.
_UNEXPECTED_STATUS = re.compile(r"^Unexpected HTTP_RESPONSE (\d{3})$")


def _client_error_status(exc):
    """The 4xx status an UnexpectedError reports, or None (transport errors, 5xx...)."""
    match = _UNEXPECTED_STATUS.match(str(exc)) if type(exc) is UnexpectedError else None
    status = int(match.group(1)) if match else None
    return status if status is not None and 400 <= status < 500 else None


_OUTCOME_BY_STATUS = {
    "processor_declined": SaleOutcome.DECLINED,
    "gateway_rejected": SaleOutcome.REJECTED,
    "failed": SaleOutcome.PROCESSOR_FAILED,
}


def _environment():
    name = settings.BRAINTREE_ENVIRONMENT
    if name == "sandbox":
        return braintree.Environment.Sandbox
    if name == "production":
        return braintree.Environment.Production
    if name == "simulator":
        url = urlsplit(settings.BRAINTREE_SIMULATOR_URL)
        if not url.hostname:
            raise ImproperlyConfigured("BRAINTREE_SIMULATOR_URL must look like http://host:port")
        port = url.port or (443 if url.scheme == "https" else 80)
        # The SDK concatenates the port into the URL and picks https only for the string "443".
        return braintree.Environment("simulator", url.hostname, str(port), "", False, None)
    raise ImproperlyConfigured(f"BRAINTREE_ENVIRONMENT must be simulator, sandbox or production, not {name!r}")


def _build_sdk():
    configuration = braintree.Configuration(
        environment=_environment(),
        merchant_id=settings.BRAINTREE_MERCHANT_ID,
        public_key=settings.BRAINTREE_PUBLIC_KEY,
        private_key=settings.BRAINTREE_PRIVATE_KEY,
        timeout=settings.BRAINTREE_TIMEOUT_SECONDS,
        # Turns raw `requests` timeouts/connection errors into braintree.exceptions.http.*.
        wrap_http_exceptions=True,
    )
    return braintree.BraintreeGateway(configuration)


def _raise_mapped(exc, operation):
    # ConfigurationError subclasses UnexpectedError, so the permanent check must come first.
    if isinstance(exc, _PERMANENT):
        raise GatewayMisconfigured(f"Braintree {operation} refused: {type(exc).__name__}") from exc
    client_error = _client_error_status(exc)
    if client_error is not None:
        # The gateway refused the request itself (400: ill-formed XML, an unsupported search...):
        # the same request gets the same answer, so retrying only burns the retry budget.
        raise GatewayMisconfigured(f"Braintree {operation} refused the request: HTTP {client_error}") from exc
    if isinstance(exc, _TRANSIENT) or isinstance(exc, UnexpectedError):
        raise GatewayUnavailable(f"Braintree {operation} unavailable: {type(exc).__name__}: {exc}") from exc
    # Anything else (e.g. 404 on a merchant path) is a wiring problem that retrying cannot fix.
    raise GatewayMisconfigured(f"Braintree {operation} failed: {type(exc).__name__}") from exc


def _text(value):
    return "" if value is None else str(value)


def _transaction_info(txn):
    return TransactionInfo(
        id=txn.id,
        status=_text(txn.status),
        amount=Decimal(txn.amount),
        order_id=_text(getattr(txn, "order_id", None)),
        processor_response_code=_text(getattr(txn, "processor_response_code", None)),
        processor_response_text=_text(getattr(txn, "processor_response_text", None)),
        gateway_rejection_reason=_text(getattr(txn, "gateway_rejection_reason", None)),
        currency_iso_code=_text(getattr(txn, "currency_iso_code", None)),
        merchant_account_id=_text(getattr(txn, "merchant_account_id", None)),
    )


def _sale_result(result):
    if result.is_success:
        return SaleResult(outcome=SaleOutcome.APPROVED, transaction=_transaction_info(result.transaction))
    codes = [str(error.code) for error in result.errors.deep_errors]
    txn = result.transaction
    if txn is None:
        return SaleResult(outcome=SaleOutcome.INVALID, error_codes=codes, message=_text(result.message))
    info = _transaction_info(txn)
    outcome = _OUTCOME_BY_STATUS.get(info.status, SaleOutcome.DECLINED)
    return SaleResult(outcome=outcome, transaction=info, error_codes=codes, message=_text(result.message))


class BraintreeGateway:
    """The `Gateway` over the real SDK (Braintree itself, or braintree_sim over HTTP)."""

    def __init__(self, sdk=None):
        # One SDK client per process: it holds the configuration and a requests session.
        self.sdk = sdk if sdk is not None else _build_sdk()

    def sale(self, *, order_id, amount, nonce, api_request_key, merchant_account_id=""):
        """Charge `amount` (Decimal) with `nonce`, submitted for settlement; idempotent per key.

        `merchant_account_id` names the account, hence the currency, the sale is made in.
        """
        params = {
            # A str, never a float: the SDK serialises floats wrongly and money must not round.
            "amount": str(Decimal(amount).quantize(Decimal("0.01"))),
            "payment_method_nonce": nonce,
            "order_id": order_id,
            "api_request_key": api_request_key,
            "options": {"submit_for_settlement": True},
        }
        if merchant_account_id:
            params["merchant_account_id"] = merchant_account_id
        try:
            result = self.sdk.transaction.sale(params)
        except BraintreeError as exc:
            _raise_mapped(exc, "sale")
        if result is None:
            # An empty or foreign body: we cannot tell whether the sale happened.
            raise GatewayUnavailable("Braintree sale returned an unreadable response")
        sale_result = _sale_result(result)
        undecided = REQUEST_KEY_UNDECIDED.intersection(sale_result.error_codes)
        if sale_result.outcome == SaleOutcome.INVALID and undecided:
            raise GatewayUnavailable(
                f"Braintree has not decided the sale with this api_request_key ({min(undecided)})"
            )
        return sale_result

    def find(self, transaction_id):
        """The gateway's view of one transaction, or None if the gateway does not know the id."""
        try:
            txn = self.sdk.transaction.find(transaction_id)
        except NotFoundError:
            return None
        except BraintreeError as exc:
            _raise_mapped(exc, "find")
        except KeyError as exc:
            # The SDK raises KeyError on an empty or foreign body: treat it like a garbled response.
            raise GatewayUnavailable("Braintree find returned an unreadable response") from exc
        return _transaction_info(txn)

    def search_by_order_id(self, order_id):
        """Every transaction the gateway holds for `order_id` (declined ones included)."""
        try:
            collection = self.sdk.transaction.search(braintree.TransactionSearch.order_id == order_id)
            # Iterating fetches the pages, so it must stay inside the try.
            return [_transaction_info(txn) for txn in collection.items]
        except BraintreeError as exc:
            _raise_mapped(exc, "search")
