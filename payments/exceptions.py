"""The payments error tree, and its mapping to HTTP answers in one place.

Anticipated errors (`PaymentsError` subclasses) are part of the contract: the API turns them into
a 4xx with a `detail`. Gateway errors split into transient (`GatewayUnavailable`: retry) and
permanent (`GatewayMisconfigured`: alert a human, never retry).
"""

from rest_framework import status
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


class IllegalTransition(PaymentsError):
    """A state change that the order lifecycle forbids (state never goes backwards)."""

    http_status = status.HTTP_409_CONFLICT
    default_message = "The order is not in a state that allows this."


class GatewayError(Exception):
    """Base of everything the gateway adapter raises."""


class GatewayUnavailable(GatewayError):
    """Transient: timeout, connection error, 429 or 5xx. The outcome of a write is unknown."""


class GatewayMisconfigured(GatewayError):
    """Permanent: bad credentials, forbidden, wrong SDK or bad request. Never retried."""


def api_exception_handler(exc, context):
    """DRF exception handler: anticipated errors become `{"detail": ...}` with their status."""
    if isinstance(exc, PaymentsError):
        return Response({"detail": exc.message}, status=exc.http_status)
    return exception_handler(exc, context)
