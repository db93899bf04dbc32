"""HTTP entry points of the refund API: `/api/orders/<id>/refunds/[<refund_id>/]`.

Thin like payments/orders/api.py: parse with a serializer, call one service or selector, render.
"""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from payments.http.openapi import ERROR_401, IDEMPOTENCY_KEY_PARAMETER, VALIDATION_ERROR_SCHEMA
from payments.http.parsers import BoundedJSONParser, idempotency_key_from
from payments.http.serializers import ErrorDetailSerializer
from payments.orders.selectors import order_get_for_owner
from payments.refunds.selectors import refund_get_for_order, refund_list_for_order
from payments.refunds.serializers import RefundCreateInputSerializer, RefundOutputSerializer
from payments.refunds.services import refund_create

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
    "status": "pending",
    "kind": "",
    "transaction_id": None,
    "failure_reason": "",
    "created_at": "2026-01-02T12:00:00Z",
    "updated_at": "2026-01-02T12:00:00Z",
}


def _owned_order(request, order_id):
    order = order_get_for_owner(owner=request.user, order_id=order_id)
    if order is None:
        raise NotFound("No order with this id.")
    return order


class RefundListCreateApi(APIView):
    """`/api/orders/<id>/refunds/`: ask for a refund, or list the order's refunds."""

    parser_classes = [BoundedJSONParser]
    pagination_class = PageNumberPagination

    @extend_schema(
        operation_id="refunds_list",
        tags=["refunds"],
        summary="List an order's refunds",
        description="The order's refunds and voids, oldest first.",
        parameters=[ORDER_ID_PARAMETER],
        responses={200: RefundOutputSerializer(many=True), 401: ERROR_401, 404: ERROR_404},
    )
    def get(self, request, order_id):
        order = _owned_order(request, order_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(refund_list_for_order(order=order), request, view=self)
        return paginator.get_paginated_response(RefundOutputSerializer(page, many=True).data)

    @extend_schema(
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
                description="Invalid body, or an amount over the refundable remainder.",
                examples=[
                    OpenApiExample("Too large", value={"detail": "The amount exceeds the refundable remainder of 7.00."}),
                    OpenApiExample("Not a string", value={"amount": ['Send the amount as a string, e.g. "12.34"; '
                                                                     "JSON numbers are not accepted."]}),
                ],
            ),
            401: ERROR_401,
            404: ERROR_404,
            409: OpenApiResponse(
                ErrorDetailSerializer,
                description="The order is not paid (or already refunded in full), or the first request "
                "with this Idempotency-Key is still being processed.",
            ),
            422: OpenApiResponse(ErrorDetailSerializer, description="This Idempotency-Key was used with another body."),
        },
    )
    def post(self, request, order_id):
        order = _owned_order(request, order_id)
        idempotency_key = idempotency_key_from(request)
        serializer = RefundCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = refund_create(
            order_id=order.pk, amount=serializer.validated_data.get("amount"), idempotency_key=idempotency_key
        )
        location = request.build_absolute_uri(
            reverse("payments:refund-detail", kwargs={"order_id": order.pk, "refund_id": result.refund.pk})
        )
        return Response(
            RefundOutputSerializer(result.refund).data, status=status.HTTP_202_ACCEPTED, headers={"Location": location}
        )


class RefundDetailApi(APIView):
    """`/api/orders/<id>/refunds/<refund_id>/`: one refund of one of the caller's orders."""

    @extend_schema(
        operation_id="refunds_retrieve",
        tags=["refunds"],
        summary="Get one refund",
        parameters=[
            ORDER_ID_PARAMETER,
            OpenApiParameter("refund_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The refund's id."),
        ],
        responses={200: RefundOutputSerializer, 401: ERROR_401, 404: ERROR_404},
    )
    def get(self, request, order_id, refund_id):
        order = _owned_order(request, order_id)
        refund = refund_get_for_order(order=order, refund_id=refund_id)
        if refund is None:
            raise NotFound("No refund with this id.")
        return Response(RefundOutputSerializer(refund).data)
