"""HTTP entry points of the customers API: `/api/customers/[<id>/[payment-methods/[<pm>/]]]`.

Thin like payments/orders/api.py: parse with a serializer, call one service or selector, render.
Owner-scoped: another user's customer or payment method answers 404, as an unknown id does.
"""

from django.urls import reverse
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from payments.customers import schema
from payments.customers.selectors import (
    customer_get_for_owner,
    customer_list_for_owner,
    payment_method_get_for_customer,
    payment_method_list_for_customer,
)
from payments.customers.serializers import (
    CustomerCreateInputSerializer,
    CustomerOutputSerializer,
    PaymentMethodCreateInputSerializer,
    PaymentMethodOutputSerializer,
)
from payments.customers.services import customer_create, payment_method_add, payment_method_delete
from payments.http.pagination import StrictPageNumberPagination
from payments.http.parsers import BoundedJSONParser
from payments.http.renderers import API_RENDERERS
from payments.http.throttling import OrderCreateRateThrottle


def _owned_customer(request, customer_id):
    customer = customer_get_for_owner(owner=request.user, customer_id=customer_id)
    if customer is None:
        raise NotFound("No customer with this id.")
    return customer


class _WritesThrottledLikeOrders(APIView):
    """Creating customers and cards spends the caller's order budget (API_ORDER_CREATE_RATE)."""

    renderer_classes = API_RENDERERS
    parser_classes = [BoundedJSONParser]
    pagination_class = StrictPageNumberPagination

    def get_throttles(self):
        throttles = super().get_throttles()
        if self.request.method in ("POST", "DELETE"):
            throttles.append(OrderCreateRateThrottle())
        return throttles


class CustomerListCreateApi(_WritesThrottledLikeOrders):
    """`/api/customers/`: create a customer, or list yours."""

    name = "Customers"
    description = "Create a customer (to save payment methods on) or list yours, newest first."

    @schema.customers_list
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(customer_list_for_owner(owner=request.user), request, view=self)
        return paginator.get_paginated_response(CustomerOutputSerializer(page, many=True).data)

    @schema.customers_create
    def post(self, request):
        serializer = CustomerCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = customer_create(owner=request.user, **serializer.validated_data)
        location = request.build_absolute_uri(reverse("payments:customer-detail", kwargs={"customer_id": customer.pk}))
        return Response(CustomerOutputSerializer(customer).data, status=status.HTTP_201_CREATED,
                        headers={"Location": location})


class CustomerDetailApi(APIView):
    """`/api/customers/<id>/`: one of your customers."""

    name = "Customer"
    renderer_classes = API_RENDERERS

    @schema.customers_retrieve
    def get(self, request, customer_id):
        return Response(CustomerOutputSerializer(_owned_customer(request, customer_id)).data)


class PaymentMethodListCreateApi(_WritesThrottledLikeOrders):
    """`/api/customers/<id>/payment-methods/`: save a card from a nonce, or list the customer's."""

    name = "Payment methods"
    description = "Save a card from a nonce (answered 202; stored in Braintree's vault by a worker) or list them."

    @schema.payment_methods_list
    def get(self, request, customer_id):
        customer = _owned_customer(request, customer_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(payment_method_list_for_customer(customer=customer), request, view=self)
        return paginator.get_paginated_response(PaymentMethodOutputSerializer(page, many=True).data)

    @schema.payment_methods_create
    def post(self, request, customer_id):
        customer = _owned_customer(request, customer_id)
        serializer = PaymentMethodCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        method = payment_method_add(
            customer=customer, nonce=data["payment_method_nonce"], make_default=data["make_default"]
        )
        location = request.build_absolute_uri(
            reverse("payments:payment-method-detail", kwargs={"customer_id": customer.pk, "payment_method_id": method.pk})
        )
        return Response(PaymentMethodOutputSerializer(method).data, status=status.HTTP_202_ACCEPTED,
                        headers={"Location": location})


class PaymentMethodDetailApi(_WritesThrottledLikeOrders):
    """`/api/customers/<id>/payment-methods/<pm>/`: one saved card; DELETE it."""

    name = "Payment method"

    def _owned_method(self, request, customer_id, payment_method_id):
        customer = _owned_customer(request, customer_id)
        method = payment_method_get_for_customer(customer=customer, payment_method_id=payment_method_id)
        if method is None:
            raise NotFound("No payment method with this id.")
        return method

    @schema.payment_methods_retrieve
    def get(self, request, customer_id, payment_method_id):
        return Response(PaymentMethodOutputSerializer(self._owned_method(request, customer_id, payment_method_id)).data)

    @schema.payment_methods_destroy
    def delete(self, request, customer_id, payment_method_id):
        method = payment_method_delete(payment_method=self._owned_method(request, customer_id, payment_method_id))
        return Response(PaymentMethodOutputSerializer(method).data, status=status.HTTP_202_ACCEPTED)
