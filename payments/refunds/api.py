"""HTTP entry points of the refund API: `/api/orders/<id>/refunds/[<refund_id>/]`.

Thin like payments/orders/api.py: parse with a serializer, call one service or selector, render.
"""

from django.urls import reverse
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from payments.http.headers import replay_headers
from payments.http.pagination import StrictPageNumberPagination
from payments.http.parsers import BoundedJSONParser, idempotency_key_from
from payments.http.throttling import RefundCreateRateThrottle
from payments.orders.selectors import order_get_for_owner
from payments.refunds import schema
from payments.refunds.selectors import refund_get_for_order, refund_list_for_order
from payments.refunds.serializers import RefundCreateInputSerializer, RefundOutputSerializer
from payments.refunds.services import refund_create


def _owned_order(request, order_id):
    order = order_get_for_owner(owner=request.user, order_id=order_id)
    if order is None:
        raise NotFound("No order with this id.")
    return order


class RefundListCreateApi(APIView):
    """`/api/orders/<id>/refunds/`: ask for a refund, or list the order's refunds."""

    parser_classes = [BoundedJSONParser]
    pagination_class = StrictPageNumberPagination

    def get_throttles(self):
        # Each refund request may move money back: its own per-user budget, spent before the body
        # is parsed or anything is stored.
        throttles = super().get_throttles()
        if self.request.method == "POST":
            throttles.append(RefundCreateRateThrottle())
        return throttles

    @schema.refunds_list
    def get(self, request, order_id):
        order = _owned_order(request, order_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(refund_list_for_order(order=order), request, view=self)
        return paginator.get_paginated_response(RefundOutputSerializer(page, many=True).data)

    @schema.refunds_create
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
            RefundOutputSerializer(result.refund).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": location, **replay_headers(result.created)},
        )


class RefundDetailApi(APIView):
    """`/api/orders/<id>/refunds/<refund_id>/`: one refund of one of the caller's orders."""

    @schema.refunds_retrieve
    def get(self, request, order_id, refund_id):
        order = _owned_order(request, order_id)
        refund = refund_get_for_order(order=order, refund_id=refund_id)
        if refund is None:
            raise NotFound("No refund with this id.")
        return Response(RefundOutputSerializer(refund).data)
