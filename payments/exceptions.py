"""The payments error tree, and its mapping to HTTP answers in one place.

Anticipated errors (`PaymentsError` subclasses) are part of the contract: the API turns them into
a 4xx with a `detail`. Gateway errors split into transient (`GatewayUnavailable`: retry) and
permanent (`GatewayMisconfigured`: alert a human, never retry).
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler


class PaymentsError(Exception):
    """An anticipated error with a message that is safe to show to the API client."""

    http_status = status.HTTP_400_BAD_REQUEST
    default_message = "The request could not be processed."

    def __init__(self, message=None):
        self.message = message or self.default_message
        super().__init__(self.message)


class IdempotencyKeyReused(PaymentsError):
    http_status = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_message = "This Idempotency-Key was already used with a different request body."


class IdempotencyKeyInFlight(PaymentsError):
    http_status = status.HTTP_409_CONFLICT
    default_message = "A request with this Idempotency-Key is still being processed; retry later."


class CurrencyWithoutMerchantAccount(PaymentsError):
    """A currency no configured merchant account charges in (BRAINTREE_MERCHANT_ACCOUNTS)."""

    def __init__(self, currency):
        super().__init__(f'"{currency}" is not a supported currency: no merchant account charges in it.')
        self.currency = currency


class IllegalTransition(PaymentsError):
    """A state change that the order lifecycle forbids (state never goes backwards)."""

    http_status = status.HTTP_409_CONFLICT
    default_message = "The order is not in a state that allows this."


class OrderLeased(Exception):
    """Another worker's claim on the order holds until `until`: not this delivery's turn yet.

    The holder may be alive (a duplicate message) or dead (its message came back to us), and only
    the lease's expiry tells them apart, so the task looks again then.
    """

    def __init__(self, order_id, until):
        self.order_id = order_id
        self.until = until
        super().__init__(f"Order {order_id} is claimed until {until.isoformat()}")


class GatewayError(Exception):
    """Base of everything the gateway adapter raises."""


class GatewayUnavailable(GatewayError):
    """Transient: timeout, connection error, 429 or 5xx. The outcome of a write is unknown."""


class ProcessorUnavailable(GatewayUnavailable):
    """The processor answered `failed` (3000): no money moved; sell again under a new key later."""


class GatewayMisconfigured(GatewayError):
    """Permanent: bad credentials, forbidden, wrong SDK or bad request. Never retried."""


class WebhookSignatureInvalid(GatewayError):
    """A webhook whose signature does not verify (forged, wrong keys, or garbled): answered 403."""


class RefundNotAllowed(PaymentsError):
    """The order cannot be refunded now (not paid, or already refunded in full)."""

    http_status = status.HTTP_409_CONFLICT
    default_message = "Only a paid order can be refunded."


class RefundTooLarge(PaymentsError):
    """The amount exceeds what is left to refund (reserved refunds included)."""

    http_status = status.HTTP_400_BAD_REQUEST


class RefundWaitsForSettlement(Exception):
    """A partial refund of a sale that has not settled yet: retried until the sale settles."""


class RefundLeased(OrderLeased):
    """Another worker's claim on the refund holds until `until`."""


class RequestBodyTooLarge(APIException):
    """The body exceeds DATA_UPLOAD_MAX_MEMORY_SIZE (the API_MAX_BODY_BYTES setting)."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"

    def __init__(self):
        super().__init__(
            f"The request body is larger than the limit of {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
        )


def api_exception_handler(exc, context):
    """DRF exception handler: anticipated errors become `{"detail": ...}` with their status."""
    if isinstance(exc, PaymentsError):
        return Response({"detail": exc.message}, status=exc.http_status)
    if isinstance(exc, RequestDataTooBig):
        # Django raises this (a SuspiciousOperation, hence a bare 400 or a 500 when unhandled)
        # from request.body/POST; to the client it is simply a body over the limit.
        exc = RequestBodyTooLarge()
    return exception_handler(exc, context)


# Project-level handlers (config/urls.py): errors outside DRF views are JSON too, and never
# carry a traceback or settings.


def json_bad_request(request, exception=None):
    """handler400: a request Django refused before any view ran (e.g. a bad Host header)."""
    return JsonResponse({"detail": "Bad request."}, status=status.HTTP_400_BAD_REQUEST)


def json_permission_denied(request, exception=None):
    """handler403."""
    return JsonResponse({"detail": "Permission denied."}, status=status.HTTP_403_FORBIDDEN)


def json_page_not_found(request, exception=None):
    """handler404: unknown URLs, including order URLs whose id is not a UUID."""
    return JsonResponse({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)


def json_server_error(request):
    """handler500: the only answer an unexpected error gives; details go to the log."""
    return JsonResponse({"detail": "Internal server error."}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
