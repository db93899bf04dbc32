"""HTTP entry points of the order API.

Each view parses its input with a serializer, calls one service or selector, and renders the
output. Views never talk to the gateway and never assign a status: services.py owns state.
"""

import io

from django.conf import settings
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ParseError, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from payments.exceptions import RequestBodyTooLarge
from payments.models import Order
from payments.renderers import API_RENDERERS
from payments.selectors import order_get_visible_to, order_list_visible_to
from payments.serializers import (
    ErrorDetailSerializer,
    OrderCreateInputSerializer,
    OrderListFilterSerializer,
    OrderOutputSerializer,
)
from payments.services import order_create
from payments.throttling import OrderCreateRateThrottle

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = Order._meta.get_field("idempotency_key").max_length


class BoundedJSONParser(JSONParser):
    """JSON parser that enforces DATA_UPLOAD_MAX_MEMORY_SIZE.

    DRF reads the WSGI stream itself, so Django's own limit (checked only by `request.body` and
    `request.POST`) never applies to JSON bodies. Refuse on the declared length before reading,
    and read at most one byte past the limit in case the declaration is missing or wrong.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and stream is not None:
            request = (parser_context or {}).get("request")
            declared = request.META.get("CONTENT_LENGTH") if request is not None else None
            if declared and declared.isdigit() and int(declared) > limit:
                raise RequestBodyTooLarge()
            body = stream.read(limit + 1)
            if len(body) > limit:
                raise RequestBodyTooLarge()
            stream = io.BytesIO(body)
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            # A small body can still nest deeper than the decoder's recursion limit ("[[[[...").
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc


def _idempotency_key(request):
    """The request's Idempotency-Key header, or None; a 400 naming the header when unusable."""
    key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
    if key is None:
        return None
    if not key.strip():
        raise ValidationError({IDEMPOTENCY_KEY_HEADER: ["The Idempotency-Key header must not be blank."]})
    if not all(" " <= char <= "~" for char in key):
        # Visible ASCII only, as HTTP header values should be; it also keeps NUL bytes, which
        # PostgreSQL text cannot hold, away from the database.
        raise ValidationError(
            {IDEMPOTENCY_KEY_HEADER: ["The Idempotency-Key header may contain only printable ASCII characters."]}
        )
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise ValidationError(
            {
                IDEMPOTENCY_KEY_HEADER: [
                    f"The Idempotency-Key header must be at most {IDEMPOTENCY_KEY_MAX_LENGTH} "
                    f"characters long (got {len(key)})."
                ]
            }
        )
    return key


# OpenAPI documentation of the answers that several endpoints share.

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


class OrderListCreateApi(APIView):
    """`/api/orders/`: submit an order, or list the caller's orders."""

    # The browsable API's title and text (DRF would show "Order List Create Api" and this
    # docstring with its literal backticks).
    name = "Orders"
    renderer_classes = API_RENDERERS
    description = (
        "Submit an order (POST, answered 202 at once; the charge runs in the background) or list "
        "orders, newest first. You see your own orders; staff see everyone's."
    )

    parser_classes = [BoundedJSONParser]
    # Read by drf-spectacular too, which then documents the page envelope of the list.
    pagination_class = PageNumberPagination

    def get_throttles(self):
        # Reads stay under the general limits; only submissions cost a slot of the per-user
        # order budget, and they are refused before the body is parsed or anything is stored.
        throttles = super().get_throttles()
        if self.request.method == "POST":
            throttles.append(OrderCreateRateThrottle())
        return throttles

    @extend_schema(
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
    def get(self, request):
        filters = OrderListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        orders = order_list_visible_to(user=request.user, status=filters.validated_data.get("status"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(orders, request, view=self)
        return paginator.get_paginated_response(OrderOutputSerializer(page, many=True).data)

    @extend_schema(
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
                ErrorDetailSerializer,
                description="This Idempotency-Key was already used with a different body.",
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
    def post(self, request):
        idempotency_key = _idempotency_key(request)
        serializer = OrderCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = order_create(
            owner=request.user,
            amount=data["amount"],
            nonce=data["payment_method_nonce"],
            currency=data["currency"],
            description=data["description"],
            idempotency_key=idempotency_key,
        )
        location = request.build_absolute_uri(
            reverse("payments:order-detail", kwargs={"order_id": result.order.pk})
        )
        return Response(
            OrderOutputSerializer(result.order).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": location},
        )


class OrderDetailApi(APIView):
    """`/api/orders/<id>/`: one of the caller's orders."""

    name = "Order"
    renderer_classes = API_RENDERERS
    description = (
        "One order. Poll it until its status is paid, failed or needs_review; a failed order "
        "says why in failure_reason, gateway_rejection_reason and errors."
    )

    @extend_schema(
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
    def get(self, request, order_id):
        order = order_get_visible_to(user=request.user, order_id=order_id)
        if order is None:
            raise NotFound("No order with this id.")
        return Response(OrderOutputSerializer(order).data)
