"""The payments error tree. payments/http/errors.py maps it to HTTP answers, in one place.

Anticipated errors (`PaymentsError` subclasses) are part of the contract: the API turns them into
a 4xx with a `detail`. Gateway errors split into transient (`GatewayUnavailable`: retry) and
permanent (`GatewayMisconfigured`: alert a human, never retry).
"""

from rest_framework import status


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
    """The amount exceeds what is left to refund (reserved refunds included).

    409, like RefundNotAllowed: the body is well formed, and the same request succeeds on an order
    with enough left; what refuses it is the order's refunds so far.
    """

    http_status = status.HTTP_409_CONFLICT


class RefundWaitsForSettlement(Exception):
    """A partial refund of a sale that has not settled yet: retried until the sale settles."""


class RefundLeased(OrderLeased):
    """Another worker's claim on the refund holds until `until`."""


class AuthorizationNotCapturable(PaymentsError):
    """A capture or cancel of an order that is not an authorization waiting for one (409).

    Not manual, not authorized (yet, or any more), or already asked to capture or cancel: the
    first capture or cancel request claims the authorization, and every later one is refused.
    """

    http_status = status.HTTP_409_CONFLICT
    default_message = "Only an authorized manual-capture order can be captured or canceled."


class CaptureTooLarge(PaymentsError):
    """A capture above the authorized amount: the gateway would refuse it (400)."""


class PaymentMethodUnusable(PaymentsError):
    """An order named a saved payment method that cannot be charged: not the caller's (answered as
    unknown), not active yet, failed or deleted. A well-formed request about the wrong thing: 422,
    with the message under the field."""

    http_status = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_message = "This payment method cannot be charged."
    field = "payment_method"
