"""OpenAPI declarations of the refunds API (drf-spectacular's `extend_schema`), one per operation.

The views in api.py stay a few lines; what a client reads about each operation is here.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema

from payments.http.openapi import ERROR_401, IDEMPOTENCY_KEY_PARAMETER, VALIDATION_ERROR_SCHEMA
from payments.http.serializers import ErrorDetailSerializer
from payments.refunds.serializers import RefundCreateInputSerializer, RefundOutputSerializer

ORDER_ID_PARAMETER = OpenApiParameter(
    "order_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The order's id."
)
ERROR_404 = OpenApiResponse(
    ErrorDetailSerializer,
    description="No such order (or refund) among the caller's orders; someone else's answers the same.",
)

REFUND_EXAMPLE = {
    "id": "6d1f0a8e-3b7c-4d2a-9e5f-1a2b3c4d5e6f",
    "order": "0b6a4f3e-8d0c-4c3a-9a1f-2f5d8e7c6b1a",
    "amount": "5.00",
    "currency": "USD",
    "status": "pending",
    "kind": None,
    "transaction_id": None,
    "failure_reason": "",
    "status_detail": "",
    "created_at": "2026-01-02T12:00:00Z",
    "updated_at": "2026-01-02T12:00:00Z",
}


refunds_list = extend_schema(
    operation_id="refunds_list",
    tags=["refunds"],
    summary="List an order's refunds",
    description="The order's refunds and voids, oldest first.",
    parameters=[ORDER_ID_PARAMETER],
    responses={200: RefundOutputSerializer(many=True), 401: ERROR_401, 404: ERROR_404},
)

refunds_create = extend_schema(
    operation_id="refunds_create",
    tags=["refunds"],
    summary="Refund an order (in part or in full)",
    description=(
        "Reserves the amount and answers **202 Accepted**; a worker then asks Braintree for the "
        "sale's status and decides: a settled sale is **refunded**; a full refund of a sale that has "
        "not settled yet **voids** it (nothing is captured); a partial refund of an unsettled sale "
        "**waits** (status `pending`) until the sale settles. Poll the `Location` until `status` is "
        "`succeeded`, `failed` or `needs_review`. Without `amount`, everything not yet refunded is "
        "refunded. Several partial refunds may be asked; together they never exceed the sale."
    ),
    parameters=[
        ORDER_ID_PARAMETER,
        IDEMPOTENCY_KEY_PARAMETER,
        OpenApiParameter(
            name="Location", type=OpenApiTypes.URI, location=OpenApiParameter.HEADER, response=[202],
            description="Absolute URL of the refund, to poll with GET.",
        ),
    ],
    request=RefundCreateInputSerializer,
    examples=[
        OpenApiExample("Partial refund", value={"amount": "5.00"}, request_only=True),
        OpenApiExample("Everything not yet refunded", value={}, request_only=True),
    ],
    responses={
        202: OpenApiResponse(
            RefundOutputSerializer,
            description="Accepted. A replay with the same Idempotency-Key and body answers the same refund.",
            examples=[OpenApiExample("Accepted refund", value=REFUND_EXAMPLE, response_only=True)],
        ),
        400: OpenApiResponse(
            VALIDATION_ERROR_SCHEMA,
            description="Invalid body; each field lists its messages.",
            examples=[
                OpenApiExample("Not a string", value={"amount": ['Send the amount as a string, e.g. "12.34"; '
                                                                 "JSON numbers are not accepted."]}),
            ],
        ),
        401: ERROR_401,
        404: ERROR_404,
        409: OpenApiResponse(
            ErrorDetailSerializer,
            description="The order cannot be refunded this much now: it is not paid, it is already refunded "
            "in full, or the amount exceeds what is left to refund (refunds under way count). Or the first "
            "request with this Idempotency-Key is still being processed.",
            examples=[
                OpenApiExample("Too large", value={"detail": "The amount exceeds the refundable remainder of 7.00."}),
                OpenApiExample("Not paid", value={"detail": "Only a paid order can be refunded; this one is pending."}),
            ],
        ),
        422: OpenApiResponse(ErrorDetailSerializer, description="This Idempotency-Key was used with another body."),
    },
)

refunds_retrieve = extend_schema(
    operation_id="refunds_retrieve",
    tags=["refunds"],
    summary="Get one refund",
    parameters=[
        ORDER_ID_PARAMETER,
        OpenApiParameter("refund_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The refund's id."),
    ],
    responses={200: RefundOutputSerializer, 401: ERROR_401, 404: ERROR_404},
)
