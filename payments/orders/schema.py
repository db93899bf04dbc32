"""OpenAPI declarations of the order API (drf-spectacular's `extend_schema`), one per operation.

The views in api.py stay a few lines; what a client reads about each operation is here.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema

from payments.http.openapi import (
    ERROR_401,
    ERROR_404,
    IDEMPOTENCY_KEY_PARAMETER,
    ORDER_EXAMPLE,
    VALIDATION_ERROR_SCHEMA,
)
from payments.http.serializers import ErrorDetailSerializer
from payments.orders.serializers import (
    OrderCancelInputSerializer,
    OrderCaptureInputSerializer,
    OrderCreateInputSerializer,
    OrderListFilterSerializer,
    OrderOutputSerializer,
)

orders_list = extend_schema(
    operation_id="orders_list",
    tags=["orders"],
    summary="List your orders",
    description="The caller's orders, newest first, optionally only those in one status.",
    parameters=[OrderListFilterSerializer],
    responses={
        200: OrderOutputSerializer(many=True),
        400: OpenApiResponse(
            VALIDATION_ERROR_SCHEMA,
            description="Invalid filter.",
            examples=[
                OpenApiExample("Unknown status", value={"status": ['"done" is not a valid choice.']})
            ],
        ),
        401: ERROR_401,
        404: OpenApiResponse(ErrorDetailSerializer, description="Page number out of range."),
    },
)

orders_create = extend_schema(
    operation_id="orders_create",
    tags=["orders"],
    summary="Submit an order",
    description=(
        "Stores the order and answers at once with **202 Accepted**: the charge runs in the "
        "background (sale, then verify). Poll the URL in the `Location` header until `status` "
        "is `paid`, `failed` or `needs_review`.\n\n"
        "`amount` must be a JSON string with at most two decimals; JSON numbers are refused "
        "because binary floating point cannot hold most cents exactly. Unknown fields are "
        "refused so that a misspelt field (e.g. `curency`) cannot silently fall back to a "
        "default."
    ),
    parameters=[
        IDEMPOTENCY_KEY_PARAMETER,
        OpenApiParameter(
            name="Location",
            type=OpenApiTypes.URI,
            location=OpenApiParameter.HEADER,
            response=[202],
            description="Absolute URL of the order, to poll with GET.",
        ),
    ],
    request=OrderCreateInputSerializer,
    examples=[
        OpenApiExample(
            "Minimal order",
            value={"amount": "12.34", "payment_method_nonce": "fake-valid-nonce"},
            request_only=True,
        ),
        OpenApiExample(
            "Order in euros with a description",
            value={
                "amount": "99.90",
                "payment_method_nonce": "fake-valid-visa-nonce",
                "currency": "EUR",
                "description": "Order #1001",
            },
            request_only=True,
        ),
    ],
    responses={
        202: OpenApiResponse(
            OrderOutputSerializer,
            description=(
                "Accepted; the order is stored and its charge queued. A replay of an earlier "
                "request with the same Idempotency-Key answers the same way, with the original order."
            ),
            examples=[OpenApiExample("Accepted order", value=ORDER_EXAMPLE, response_only=True)],
        ),
        400: OpenApiResponse(
            VALIDATION_ERROR_SCHEMA,
            description="Invalid body or Idempotency-Key header; each field lists its messages.",
            examples=[
                OpenApiExample(
                    "Amount sent as a JSON number",
                    value={
                        "amount": [
                            'Send the amount as a string, e.g. "12.34"; JSON numbers are not accepted.'
                        ]
                    },
                ),
                OpenApiExample(
                    "Several fields",
                    value={
                        "amount": ["The amount must be greater than zero."],
                        "payment_method_nonce": ["This field is required."],
                        "currency": [
                            '"XYZ" is not a supported currency; use one of USD, EUR, GBP '
                            "(upper-case ISO 4217 codes with a merchant account)."
                        ],
                    },
                ),
                OpenApiExample(
                    "Body is not JSON",
                    value={"detail": "JSON parse error - Expecting value: line 1 column 1 (char 0)"},
                ),
                OpenApiExample(
                    "Idempotency-Key too long",
                    value={
                        "Idempotency-Key": [
                            "The Idempotency-Key header must be at most 255 characters long (got 300)."
                        ]
                    },
                ),
            ],
        ),
        401: ERROR_401,
        409: OpenApiResponse(
            ErrorDetailSerializer,
            description="The first request with this Idempotency-Key is still being processed; retry later.",
        ),
        413: OpenApiResponse(
            ErrorDetailSerializer,
            description="The body is larger than the configured limit (API_MAX_BODY_BYTES).",
        ),
        415: OpenApiResponse(
            ErrorDetailSerializer,
            description="The body is not `application/json`.",
            examples=[
                OpenApiExample("Form post", value={"detail": 'Unsupported media type "text/plain" in request.'})
            ],
        ),
        422: OpenApiResponse(
            VALIDATION_ERROR_SCHEMA,
            description="This Idempotency-Key was already used with a different body (`detail`), or "
            "`payment_method` names no saved method of yours, or one that is pending, failed or deleted "
            "(a message under `payment_method`).",
            examples=[
                OpenApiExample("Key reused", value={"detail": "This Idempotency-Key was already used with a "
                                                              "different request body."}),
                OpenApiExample("Deleted method", value={"payment_method": ["This payment method was deleted."]}),
            ],
        ),
        429: OpenApiResponse(
            ErrorDetailSerializer,
            description="More submissions than API_ORDER_CREATE_RATE allows this user; the "
            "`Retry-After` header says how many seconds to wait. Nothing was stored.",
            examples=[
                OpenApiExample(
                    "Throttled", value={"detail": "Request was throttled. Expected available in 12 seconds."}
                )
            ],
        ),
    },
)

orders_retrieve = extend_schema(
    operation_id="orders_retrieve",
    tags=["orders"],
    summary="Get one of your orders",
    description="Poll this until `status` is `paid`, `failed` or `needs_review`.",
    responses={
        200: OpenApiResponse(
            OrderOutputSerializer,
            examples=[
                OpenApiExample(
                    "Paid order",
                    value={
                        **ORDER_EXAMPLE,
                        "status": "paid",
                        "transaction_id": "k8x2m4qd",
                        "gateway_status": "submitted_for_settlement",
                        "processor_response_code": "1000",
                        "processor_response_text": "Approved",
                        "updated_at": "2026-01-01T12:00:02Z",
                    },
                ),
                OpenApiExample(
                    "Declined order",
                    value={
                        **ORDER_EXAMPLE,
                        "status": "failed",
                        "transaction_id": "p3r9z1wb",
                        "gateway_status": "processor_declined",
                        "processor_response_code": "2000",
                        "processor_response_text": "Do Not Honor",
                        "updated_at": "2026-01-01T12:00:02Z",
                    },
                ),
            ],
        ),
        401: ERROR_401,
        404: ERROR_404,
    },
    parameters=[
        OpenApiParameter("order_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The order's id.")
    ],
)


_ORDER_ID = OpenApiParameter("order_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The order's id.")
_AUTHORIZED_EXAMPLE = {
    **ORDER_EXAMPLE,
    "status": "authorized",
    "amount": "50.00",
    "transaction_id": "k2m8q4zd",
    "gateway_status": "authorized",
    "processor_response_code": "1000",
    "processor_response_text": "Approved",
    "capture": "manual",
    "authorized_amount": "50.00",
    "authorization_expires_at": "2026-01-08T12:00:01Z",
}
_DECISION_409 = OpenApiResponse(
    ErrorDetailSerializer,
    description="The order is not an authorized manual-capture order waiting for a decision: not manual, "
    "not authorized (yet, or any more), or already asked to capture or cancel (the first request wins). "
    "Or the first request with this Idempotency-Key is still being processed.",
)
_DECISION_422 = OpenApiResponse(ErrorDetailSerializer, description="This Idempotency-Key was used with another body.")

orders_capture = extend_schema(
    operation_id="orders_capture",
    tags=["orders"],
    summary="Capture an authorized order (in full or in part)",
    description=(
        "For an order created with `\"capture\": \"manual\"` and now `authorized`: records the capture "
        "and answers **202 Accepted**; a worker submits the authorization for settlement (Braintree "
        "`submit_for_settlement`, for `amount` or, without it, the whole authorization) and the order "
        "becomes `paid` with `captured_amount`. Poll the order. One capture or cancel per order: the "
        "first request wins, later ones answer 409; a replay with the same Idempotency-Key and body "
        "answers the same capture."
    ),
    parameters=[_ORDER_ID, IDEMPOTENCY_KEY_PARAMETER],
    request=OrderCaptureInputSerializer,
    examples=[
        OpenApiExample("Partial capture", value={"amount": "30.00"}, request_only=True),
        OpenApiExample("The whole authorization", value={}, request_only=True),
    ],
    responses={
        202: OpenApiResponse(
            OrderOutputSerializer,
            description="Accepted: the capture is on its way.",
            examples=[OpenApiExample("Capture accepted", value=_AUTHORIZED_EXAMPLE, response_only=True)],
        ),
        400: OpenApiResponse(
            VALIDATION_ERROR_SCHEMA,
            description="Invalid body, or an amount above the authorized amount.",
        ),
        401: ERROR_401,
        404: ERROR_404,
        409: _DECISION_409,
        422: _DECISION_422,
    },
)

orders_cancel = extend_schema(
    operation_id="orders_cancel",
    tags=["orders"],
    summary="Cancel an authorized order (void its authorization)",
    description=(
        "For an `authorized` manual-capture order: records the cancel and answers **202 Accepted**; a "
        "worker voids the authorization (the customer's funds are released) and the order becomes "
        "`canceled`. The first capture or cancel request wins; later ones answer 409."
    ),
    parameters=[_ORDER_ID, IDEMPOTENCY_KEY_PARAMETER],
    request=OrderCancelInputSerializer,
    responses={
        202: OpenApiResponse(OrderOutputSerializer, description="Accepted: the void is on its way."),
        400: OpenApiResponse(VALIDATION_ERROR_SCHEMA, description="A body with fields (none are accepted)."),
        401: ERROR_401,
        404: ERROR_404,
        409: _DECISION_409,
        422: _DECISION_422,
    },
)
