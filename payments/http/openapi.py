"""OpenAPI documentation of the answers and parameters that several API views share."""

from decimal import Decimal

from django.conf import settings
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from payments.http.parsers import IDEMPOTENCY_KEY_HEADER, IDEMPOTENCY_KEY_MAX_LENGTH
from payments.http.serializers import ErrorDetailSerializer, amount_pattern


class MoneyFieldSchema(OpenApiSerializerFieldExtension):
    """An amount in the schema is exactly what MoneyField accepts: a string over 0, at most the maximum."""

    target_class = "payments.http.serializers.MoneyField"

    def map_serializer_field(self, auto_schema, direction):
        maximum = Decimal(settings.PAYMENTS_MAX_AMOUNT)
        return {"type": "string", "pattern": amount_pattern(maximum), "example": "12.34"}


class StrictBodySchema(OpenApiSerializerExtension):
    """A body that refuses unknown fields says so: `additionalProperties: false`."""

    target_class = "payments.http.serializers.UnknownFieldsMixin"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = False
        return schema

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
    # Exactly what idempotency_key_from accepts: printable ASCII, not blank, at most the column's length.
    type={"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH, "pattern": "^[ -~]*[!-~][ -~]*$"},
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
    "status_detail": "",
    "gateway_rejection_reason": "",
    "gateway_rejection_message": "",
    "refunded_amount": "0.00",
    "dispute_status": None,
    "dispute_amount": None,
    "dispute_reason": "",
    "capture": "automatic",
    "authorized_amount": None,
    "captured_amount": None,
    "authorization_expires_at": None,
    "payment_method": None,
}

IDEMPOTENT_REPLAYED_RESPONSE_HEADER = {
    "description": "`true` when this answer replays the result of an earlier request with the same "
    "Idempotency-Key (nothing new was created); absent on the first answer.",
    "schema": {"type": "string", "enum": ["true"]},
}
RETRY_AFTER_HEADER = {
    "description": "Seconds to wait before trying again.",
    "schema": {"type": "integer", "minimum": 0},
}
WWW_AUTHENTICATE_HEADER = {
    "description": "How to authenticate: `Token` (send `Authorization: Token <key>`).",
    "schema": {"type": "string"},
}


def _error_response(description, **headers):
    response = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorDetail"}}},
    }
    if headers:
        response["headers"] = headers
    return response


# Answers any operation may give whatever its view does: the plumbing in front of the views (body
# limit, parsers, throttles, the database or broker going away) answers them, always as JSON.
COMMON_ERROR_RESPONSES = {
    "503": _error_response(
        "The database or the broker is unavailable; nothing was done. Retry after `Retry-After` seconds.",
        **{"Retry-After": RETRY_AFTER_HEADER},
    ),
}
AUTHENTICATED_ERROR_RESPONSES = {
    "401": _error_response(
        "Missing or invalid token.", **{"WWW-Authenticate": WWW_AUTHENTICATE_HEADER}
    ),
    "429": _error_response(
        "Too many requests; `Retry-After` says how many seconds to wait. Nothing was done.",
        **{"Retry-After": RETRY_AFTER_HEADER},
    ),
}
BODY_ERROR_RESPONSES = {
    "413": _error_response("The body is larger than the configured limit (API_MAX_BODY_BYTES)."),
    "415": _error_response("The body's media type is not the one this operation reads."),
}


def exclude_unslashed_twins(endpoints, **kwargs):
    """drf-spectacular preprocessing hook: document each route once, with its trailing slash.

    payments/urls.py serves every API route also without the slash (for clients that build URLs
    that way); the twin answers exactly as the canonical route, so the schema leaves it out.
    """
    return [
        (path, path_regex, method, callback)
        for (path, path_regex, method, callback) in endpoints
        if path.endswith("/") or not path.startswith(("/api/", "/webhooks/"))
    ]


def document_common_answers(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation lists every answer it can give.

    The errors that the plumbing gives rather than a view (401 and 429 on authenticated
    operations, 413 and 415 where there is a body, 503 everywhere) are added here once, with their
    headers, so each schema.py declares only what its own view decides. A 2xx answer of a POST
    that takes an Idempotency-Key also documents `Idempotent-Replayed`.
    """
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            extra = dict(COMMON_ERROR_RESPONSES)
            if any(requirement for requirement in operation.get("security", [])):
                extra.update(AUTHENTICATED_ERROR_RESPONSES)
            if "requestBody" in operation:
                extra.update(BODY_ERROR_RESPONSES)
            for code, response in extra.items():
                documented = responses.setdefault(code, response)
                for name, header in response.get("headers", {}).items():
                    documented.setdefault("headers", {}).setdefault(name, header)
            takes_key = any(
                p.get("in") == "header" and p.get("name") == IDEMPOTENCY_KEY_HEADER
                for p in operation.get("parameters", [])
            )
            if takes_key:
                for code, response in responses.items():
                    if code.startswith("2"):
                        response.setdefault("headers", {})["Idempotent-Replayed"] = IDEMPOTENT_REPLAYED_RESPONSE_HEADER
    return result
