"""OpenAPI documentation of the answers and parameters that several API views share."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from payments.http.parsers import IDEMPOTENCY_KEY_HEADER, IDEMPOTENCY_KEY_MAX_LENGTH
from payments.http.serializers import ErrorDetailSerializer

VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": "Field name (or `non_field_errors`, `detail`) → list of messages.",
    "additionalProperties": {
        "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]
    },
}

ERROR_401 = OpenApiResponse(
    ErrorDetailSerializer,
    description="Missing or invalid token. The `WWW-Authenticate: Token` header says how to authenticate.",
    examples=[OpenApiExample("No token", value={"detail": "Authentication credentials were not provided."})],
)
ERROR_404 = OpenApiResponse(
    ErrorDetailSerializer,
    description="No such order among the caller's orders (someone else's order answers the same).",
    examples=[OpenApiExample("Unknown order", value={"detail": "No order with this id."})],
)

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name=IDEMPOTENCY_KEY_HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Makes a retried POST safe. The same key with the same body returns the order created by "
        "the first request (no second order, no second charge); the same key with a different "
        "body answers 422; while the first request with the key is still running, 409. "
        f"At most {IDEMPOTENCY_KEY_MAX_LENGTH} characters; keys are scoped to the caller."
    ),
    examples=[OpenApiExample("A UUID per checkout attempt", value="5f0c7a53-2d5e-4c1b-9a57-3c2b1f6e8d10")],
)

ORDER_EXAMPLE = {
    "id": "0b6a4f3e-8d0c-4c3a-9a1f-2f5d8e7c6b1a",
    "status": "pending",
    "amount": "12.34",
    "currency": "USD",
    "description": "Order #1001",
    "transaction_id": None,
    "gateway_status": "",
    "processor_response_code": "",
    "processor_response_text": "",
    "error_codes": [],
    "created_at": "2026-01-01T12:00:00Z",
    "updated_at": "2026-01-01T12:00:00Z",
    "errors": [],
    "failure_reason": "",
    "gateway_rejection_reason": "",
    "gateway_rejection_message": "",
}
