"""The Braintree adapter: with its transport (`transport.py`), the only code importing `braintree`.

Callers get the project's own frozen dataclasses and exceptions, never SDK objects:
declines, gateway rejections and validation errors come back as a `SaleResult`; transient
failures raise `GatewayUnavailable` (retry) and permanent ones `GatewayMisconfigured` (alert).
"""

import functools
import logging
import re
from datetime import timezone as dt_timezone
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

from payments.core.exceptions import GatewayMisconfigured, GatewayUnavailable, WebhookSignatureInvalid
from payments.gateways.base import (
    CUSTOMER_ID_TAKEN,
    TOKEN_TAKEN,
    CardInfo,
    RefundOutcome,
    RefundResult,
    SaleOutcome,
    SaleResult,
    StoreOutcome,
    StoreResult,
    TransactionInfo,
    WebhookEvent,
)
from payments.gateways.transport import PooledHttp

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


def _http_strategy():
    name = settings.BRAINTREE_HTTP_TRANSPORT
    if name == "pooled":
        return functools.partial(PooledHttp, max_connections=settings.BRAINTREE_HTTP_MAX_CONNECTIONS)
    if name == "sdk":
        return None  # the SDK's own: a requests session per thread
    raise ImproperlyConfigured(f"BRAINTREE_HTTP_TRANSPORT must be pooled or sdk, not {name!r}")


def _build_sdk():
    configuration = braintree.Configuration(
        environment=_environment(),
        merchant_id=settings.BRAINTREE_MERCHANT_ID,
        public_key=settings.BRAINTREE_PUBLIC_KEY,
        private_key=settings.BRAINTREE_PRIVATE_KEY,
        timeout=settings.BRAINTREE_TIMEOUT_SECONDS,
        # Turns transport timeouts/connection errors into braintree.exceptions.http.*.
        wrap_http_exceptions=True,
        http_strategy=_http_strategy(),
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
        refund_ids=tuple(str(i) for i in (getattr(txn, "refund_ids", None) or ())),
        type=_text(getattr(txn, "type", None)) or "sale",
        authorization_expires_at=_aware(getattr(txn, "authorization_expires_at", None)),
    )


def _aware(value):
    # The SDK parses Braintree's UTC timestamps into naive datetimes.
    if value is None or not hasattr(value, "tzinfo"):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt_timezone.utc)


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

    def sale(
        self, *, order_id, amount, nonce="", api_request_key, merchant_account_id="", submit_for_settlement=True,
        payment_method_token="",
    ):
        """Charge `amount` (Decimal) with `nonce`, submitted for settlement; idempotent per key.

        `merchant_account_id` names the account, hence the currency, the sale is made in.
        Without `submit_for_settlement` the sale only authorizes, for a capture later.
        """
        params = {
            # A str, never a float: the SDK serialises floats wrongly and money must not round.
            "amount": str(Decimal(amount).quantize(Decimal("0.01"))),
            "order_id": order_id,
            "api_request_key": api_request_key,
            "options": {"submit_for_settlement": bool(submit_for_settlement)},
        }
        if payment_method_token:
            # A stored card: reusable, so a resale on it is a second charge (no 91564 to stop it).
            params["payment_method_token"] = payment_method_token
        else:
            params["payment_method_nonce"] = nonce
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

    # -- after the sale

    def refund(self, *, transaction_id, amount, order_id, api_request_key):
        """Refund `amount` of a settled sale; the credit carries `order_id`; idempotent per key."""
        params = {
            "amount": str(Decimal(amount).quantize(Decimal("0.01"))),
            "order_id": order_id,
            "api_request_key": api_request_key,
        }
        return self._after_sale_write("refund", lambda: self.sdk.transaction.refund(transaction_id, params))

    def void(self, *, transaction_id, api_request_key):
        """Void an unsettled sale; idempotent per key."""
        params = {"api_request_key": api_request_key}
        return self._after_sale_write("void", lambda: self.sdk.transaction.void(transaction_id, params))

    def submit_for_settlement(self, *, transaction_id, amount, api_request_key):
        """Capture `amount` of an authorized sale (Braintree refuses more than authorized); idempotent per key."""
        amount = str(Decimal(amount).quantize(Decimal("0.01")))
        params = {"api_request_key": api_request_key}
        return self._after_sale_write(
            "submit_for_settlement", lambda: self.sdk.transaction.submit_for_settlement(transaction_id, amount, params)
        )

    def _after_sale_write(self, operation, call):
        try:
            result = call()
        except NotFoundError as exc:
            raise GatewayMisconfigured(f"Braintree {operation}: unknown transaction") from exc
        except BraintreeError as exc:
            _raise_mapped(exc, operation)
        if result is None:
            raise GatewayUnavailable(f"Braintree {operation} returned an unreadable response")
        if result.is_success:
            return RefundResult(outcome=RefundOutcome.SUCCEEDED, transaction=_transaction_info(result.transaction))
        codes = [str(error.code) for error in result.errors.deep_errors]
        if REQUEST_KEY_UNDECIDED.intersection(codes):
            # Like a sale: an earlier write with this key may still commit.
            raise GatewayUnavailable(f"Braintree has not decided the {operation} with this api_request_key")
        return RefundResult(outcome=RefundOutcome.REFUSED, error_codes=codes, message=_text(result.message))

    def search_by_ids(self, ids):
        """The transactions with these ids; the SDK pages through the results (50 per page)."""
        if not ids:
            return []
        try:
            collection = self.sdk.transaction.search(braintree.TransactionSearch.ids.in_list(list(ids)))
            return [_transaction_info(txn) for txn in collection.items]
        except BraintreeError as exc:
            _raise_mapped(exc, "search")

    def parse_webhook(self, *, signature, payload):
        """Verify the signature with the SDK and reduce the notification to a `WebhookEvent`."""
        try:
            notification = self.sdk.webhook_notification.parse(signature, payload)
        except braintree.exceptions.InvalidSignatureError as exc:
            raise WebhookSignatureInvalid(str(exc)) from exc
        except (ValueError, KeyError, TypeError) as exc:
            # A signed body that is not a notification: as useless as a forged one.
            raise WebhookSignatureInvalid(f"unreadable notification: {type(exc).__name__}") from exc
        return _webhook_event(notification)

    def verify_webhook_challenge(self, challenge):
        """Braintree's `bt_challenge` answer, `public_key|hmac`."""
        try:
            return self.sdk.webhook_notification.verify(challenge)
        except braintree.exceptions.InvalidChallengeError as exc:
            raise WebhookSignatureInvalid(str(exc)) from exc

    # -- the vault (saved payment methods)

    def customer_create(self, *, customer_id, email=""):
        """Create the vault customer `customer_id`; one that exists already (a retry) is success."""
        params = {"id": customer_id}
        if email:
            params["email"] = email
        result = self._vault_call("customer create", lambda: self.sdk.customer.create(params))
        if result.is_success:
            return
        codes = [str(error.code) for error in result.errors.deep_errors]
        if CUSTOMER_ID_TAKEN in codes:
            return
        raise GatewayMisconfigured(f"Braintree customer create refused: {sorted(codes)}")

    def payment_method_store(self, *, customer_id, nonce, token, make_default=True):
        """Store the nonce's card under `token`, verified; a token already stored answers with its card."""
        params = {
            "customer_id": customer_id,
            "payment_method_nonce": nonce,
            "token": token,
            "options": {"verify_card": True, "make_default": bool(make_default)},
        }
        result = self._vault_call("payment method create", lambda: self.sdk.payment_method.create(params))
        if result.is_success:
            return StoreResult(outcome=StoreOutcome.STORED, card=_card_info(result.payment_method))
        codes = [str(error.code) for error in result.errors.deep_errors]
        if TOKEN_TAKEN in codes:
            # Our own earlier store went through and its answer was lost: that is the card.
            card = self.payment_method_find(token)
            if card is not None:
                return StoreResult(outcome=StoreOutcome.STORED, card=card)
        verification = getattr(result, "credit_card_verification", None)
        return StoreResult(
            outcome=StoreOutcome.REFUSED,
            error_codes=codes,
            message=_text(result.message),
            verification_status=_text(getattr(verification, "status", None)),
            processor_response_code=_text(getattr(verification, "processor_response_code", None)),
        )

    def payment_method_find(self, token):
        """The stored card of `token`, or None."""
        try:
            return _card_info(self._vault_call("payment method find", lambda: self.sdk.payment_method.find(token)))
        except _VaultNotFound:
            return None

    def payment_method_delete(self, token):
        """Delete `token` from the vault; a token already gone is success."""
        try:
            self._vault_call("payment method delete", lambda: self.sdk.payment_method.delete(token))
        except _VaultNotFound:
            return

    def _vault_call(self, operation, call):
        try:
            result = call()
        except NotFoundError as exc:
            raise _VaultNotFound() from exc
        except BraintreeError as exc:
            _raise_mapped(exc, operation)
        except KeyError as exc:
            raise GatewayUnavailable(f"Braintree {operation} returned an unreadable response") from exc
        if result is None:
            raise GatewayUnavailable(f"Braintree {operation} returned an unreadable response")
        return result


class _VaultNotFound(Exception):
    """A vault call's 404, turned into "not there" by the methods that expect it."""


def _card_info(method):
    return CardInfo(
        token=_text(method.token),
        card_type=_text(getattr(method, "card_type", None)),
        last_4=_text(getattr(method, "last_4", None)),
        expiration_month=_text(getattr(method, "expiration_month", None)),
        expiration_year=_text(getattr(method, "expiration_year", None)),
        default=bool(getattr(method, "default", False)),
    )


def _webhook_event(notification):
    kind = _text(notification.kind)
    timestamp = notification.timestamp
    if timestamp is not None and timestamp.tzinfo is None:
        # The SDK parses Braintree's UTC timestamps into naive datetimes.
        timestamp = timestamp.replace(tzinfo=dt_timezone.utc)
    dispute = getattr(notification, "dispute", None)
    if dispute is not None:
        details = getattr(dispute, "transaction", None)
        amount = getattr(dispute, "amount_disputed", None) or getattr(dispute, "amount", None)
        return WebhookEvent(
            kind=kind,
            timestamp=timestamp,
            subject_id=_text(dispute.id),
            transaction_id=_text(getattr(details, "id", None)),
            amount=Decimal(amount) if amount is not None else None,
            dispute_status=_text(getattr(dispute, "status", None)),
            reason=_text(getattr(dispute, "reason", None)),
        )
    txn = getattr(notification, "transaction", None)
    if txn is not None:
        return WebhookEvent(
            kind=kind,
            timestamp=timestamp,
            subject_id=_text(txn.id),
            transaction_id=_text(txn.id),
            transaction_status=_text(txn.status),
            amount=Decimal(txn.amount) if getattr(txn, "amount", None) is not None else None,
        )
    return WebhookEvent(kind=kind, timestamp=timestamp, subject_id="")
