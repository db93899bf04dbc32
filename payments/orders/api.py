"""HTTP entry points of the order API.

Each view parses its input with a serializer, calls one service or selector, and renders the
output. Views never talk to the gateway and never assign a status: the services own state.
"""

from django.urls import reverse
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from payments.http.headers import replay_headers
from payments.http.pagination import StrictPageNumberPagination
from payments.http.parsers import BoundedJSONParser, idempotency_key_from
from payments.http.renderers import API_RENDERERS
from payments.http.throttling import OrderCreateRateThrottle
from payments.orders import schema
from payments.orders.selectors import order_get_for_owner, order_get_visible_to, order_list_visible_to
from payments.orders.serializers import (
    OrderCancelInputSerializer,
    OrderCaptureInputSerializer,
    OrderCreateInputSerializer,
    OrderListFilterSerializer,
    OrderOutputSerializer,
)
from payments.orders.services import order_cancel_request, order_capture_request, order_create


class OrderListCreateApi(APIView):
    """`/api/orders/`: submit an order, or list the caller's orders."""

    # The browsable API's title and text (DRF would show "Order List Create Api" and this
    # docstring with its literal backticks).
    name = "Orders"
    renderer_classes = API_RENDERERS
    description = (
        "Submit an order (POST, answered 202 at once; the charge runs in the background) or list "
        "orders, newest first. You see your own orders; holders of the view-order permission see everyone's."
    )

    parser_classes = [BoundedJSONParser]
    # Read by drf-spectacular too, which then documents the page envelope of the list.
    pagination_class = StrictPageNumberPagination

    def get_throttles(self):
        # Reads stay under the general limits; only submissions cost a slot of the per-user
        # order budget, and they are refused before the body is parsed or anything is stored.
        throttles = super().get_throttles()
        if self.request.method == "POST":
            throttles.append(OrderCreateRateThrottle())
        return throttles

    @schema.orders_list
    def get(self, request):
        filters = OrderListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        orders = order_list_visible_to(user=request.user, status=filters.validated_data.get("status"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(orders, request, view=self)
        return paginator.get_paginated_response(OrderOutputSerializer(page, many=True).data)

    @schema.orders_create
    def post(self, request):
        idempotency_key = idempotency_key_from(request)
        serializer = OrderCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = order_create(
            owner=request.user,
            amount=data["amount"],
            nonce=data["payment_method_nonce"],
            payment_method_id=data.get("payment_method"),
            currency=data["currency"],
            description=data["description"],
            idempotency_key=idempotency_key,
            capture=data["capture"],
        )
        location = request.build_absolute_uri(
            reverse("payments:order-detail", kwargs={"order_id": result.order.pk})
        )
        return Response(
            OrderOutputSerializer(result.order).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": location, **replay_headers(result.created)},
        )


class OrderDetailApi(APIView):
    """`/api/orders/<id>/`: one of the caller's orders."""

    name = "Order"
    renderer_classes = API_RENDERERS
    description = (
        "One order. Poll it until its status is paid, failed or needs_review; a failed order "
        "says why in failure_reason, gateway_rejection_reason and errors."
    )

    @schema.orders_retrieve
    def get(self, request, order_id):
        order = order_get_visible_to(user=request.user, order_id=order_id)
        if order is None:
            raise NotFound("No order with this id.")
        return Response(OrderOutputSerializer(order).data)


class _OrderDecisionApi(APIView):
    """A capture or cancel of one of the caller's authorized manual-capture orders."""

    renderer_classes = API_RENDERERS
    parser_classes = [BoundedJSONParser]
    input_serializer = None

    def _decide(self, request, order_id, service):
        order = order_get_for_owner(owner=request.user, order_id=order_id)
        if order is None:
            raise NotFound("No order with this id.")
        idempotency_key = idempotency_key_from(request)
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = service(order_id=order.pk, idempotency_key=idempotency_key, **serializer.validated_data)
        location = request.build_absolute_uri(reverse("payments:order-detail", kwargs={"order_id": order.pk}))
        return Response(
            OrderOutputSerializer(result.order).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": location, **replay_headers(result.created)},
        )


class OrderCaptureApi(_OrderDecisionApi):
    """`/api/orders/<id>/capture/`: capture an authorized order, in full or in part."""

    name = "Capture"
    description = "Capture an authorized manual-capture order (all of it, or `amount`); answered 202."
    input_serializer = OrderCaptureInputSerializer

    @schema.orders_capture
    def post(self, request, order_id):
        return self._decide(request, order_id, order_capture_request)


class OrderCancelApi(_OrderDecisionApi):
    """`/api/orders/<id>/cancel/`: cancel an authorized order (its authorization is voided)."""

    name = "Cancel"
    description = "Cancel an authorized manual-capture order: its authorization is voided; answered 202."
    input_serializer = OrderCancelInputSerializer

    @schema.orders_cancel
    def post(self, request, order_id):
        return self._decide(request, order_id, order_cancel_request)
