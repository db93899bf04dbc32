"""OpenAPI declarations of the customers API (drf-spectacular's `extend_schema`), one per operation."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema

from payments.customers.serializers import (
    CustomerCreateInputSerializer,
    CustomerOutputSerializer,
    PaymentMethodCreateInputSerializer,
    PaymentMethodOutputSerializer,
)
from payments.http.openapi import ERROR_401, VALIDATION_ERROR_SCHEMA
from payments.http.serializers import ErrorDetailSerializer

CUSTOMER_ID_PARAMETER = OpenApiParameter(
    "customer_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The customer's id."
)
PAYMENT_METHOD_ID_PARAMETER = OpenApiParameter(
    "payment_method_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The payment method's id."
)
ERROR_404 = OpenApiResponse(
    ErrorDetailSerializer,
    description="No such customer (or payment method) among the caller's; someone else's answers the same.",
)
ERROR_PAGE_404 = OpenApiResponse(ErrorDetailSerializer, description="Page number out of range.")
ERROR_400 = OpenApiResponse(VALIDATION_ERROR_SCHEMA, description="Invalid body; each field lists its messages.")

CUSTOMER_EXAMPLE = {
    "id": "3f2b8c1e-5a4d-4e6f-8b7a-9c0d1e2f3a4b",
    "email": "ada@example.com",
    "reference": "user-42",
    "created_at": "2026-01-02T12:00:00Z",
}
PAYMENT_METHOD_EXAMPLE = {
    "id": "8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d",
    "customer": "3f2b8c1e-5a4d-4e6f-8b7a-9c0d1e2f3a4b",
    "status": "active",
    "card_type": "Visa",
    "last_4": "1111",
    "expiration_month": "12",
    "expiration_year": "2030",
    "default": True,
    "failure_reason": "",
    "created_at": "2026-01-02T12:00:00Z",
    "updated_at": "2026-01-02T12:00:01Z",
    "deleted_at": None,
}

customers_list = extend_schema(
    operation_id="customers_list",
    tags=["customers"],
    summary="List your customers",
    description="Your customers, newest first.",
    responses={200: CustomerOutputSerializer(many=True), 401: ERROR_401, 404: ERROR_PAGE_404},
)

customers_create = extend_schema(
    operation_id="customers_create",
    tags=["customers"],
    summary="Create a customer",
    description="A customer to save payment methods on. Braintree's vault customer is created with its first card.",
    request=CustomerCreateInputSerializer,
    examples=[OpenApiExample("Customer", value={"email": "ada@example.com", "reference": "user-42"}, request_only=True)],
    responses={
        201: OpenApiResponse(
            CustomerOutputSerializer,
            examples=[OpenApiExample("Created", value=CUSTOMER_EXAMPLE, response_only=True)],
        ),
        400: ERROR_400,
        401: ERROR_401,
    },
)

customers_retrieve = extend_schema(
    operation_id="customers_retrieve",
    tags=["customers"],
    summary="Get one customer",
    parameters=[CUSTOMER_ID_PARAMETER],
    responses={200: CustomerOutputSerializer, 401: ERROR_401, 404: ERROR_404},
)

payment_methods_list = extend_schema(
    operation_id="payment_methods_list",
    tags=["customers"],
    summary="List a customer's payment methods",
    description="Newest first; failed ones included, with their `failure_reason`; deleted ones are gone.",
    parameters=[CUSTOMER_ID_PARAMETER],
    responses={200: PaymentMethodOutputSerializer(many=True), 401: ERROR_401,
               404: OpenApiResponse(ErrorDetailSerializer, description="No such customer among the caller's, "
                                    "or page number out of range.")},
)

payment_methods_create = extend_schema(
    operation_id="payment_methods_create",
    tags=["customers"],
    summary="Save a payment method",
    description=(
        "Answers **202 Accepted** with the method `pending`; a worker stores the card in Braintree's "
        "vault from the nonce, verified first, exactly once (the service chooses the vault token, so a "
        "retry finds the stored card instead of storing another). Poll the `Location` until `status` is "
        "`active` (then charge it with `payment_method` on `POST /api/orders/`) or `failed` "
        "(`failure_reason` says why, e.g. a declined verification)."
    ),
    parameters=[
        CUSTOMER_ID_PARAMETER,
        OpenApiParameter(
            name="Location", type=OpenApiTypes.URI, location=OpenApiParameter.HEADER, response=[202],
            description="Absolute URL of the payment method, to poll with GET.",
        ),
    ],
    request=PaymentMethodCreateInputSerializer,
    examples=[OpenApiExample("From a nonce", value={"payment_method_nonce": "fake-valid-visa-nonce"}, request_only=True)],
    responses={
        202: OpenApiResponse(
            PaymentMethodOutputSerializer,
            examples=[OpenApiExample("Accepted", value={**PAYMENT_METHOD_EXAMPLE, "status": "pending", "card_type": "",
                                                        "last_4": "", "expiration_month": "", "expiration_year": "",
                                                        "default": False}, response_only=True)],
        ),
        400: ERROR_400,
        401: ERROR_401,
        404: ERROR_404,
    },
)

payment_methods_retrieve = extend_schema(
    operation_id="payment_methods_retrieve",
    tags=["customers"],
    summary="Get one payment method",
    parameters=[CUSTOMER_ID_PARAMETER, PAYMENT_METHOD_ID_PARAMETER],
    responses={
        200: OpenApiResponse(
            PaymentMethodOutputSerializer,
            examples=[OpenApiExample("Active", value=PAYMENT_METHOD_EXAMPLE, response_only=True)],
        ),
        401: ERROR_401,
        404: ERROR_404,
    },
)

payment_methods_destroy = extend_schema(
    operation_id="payment_methods_destroy",
    tags=["customers"],
    summary="Delete a payment method",
    description=(
        "Answers **202 Accepted** with the method `deleted`: from now on no order is charged on it "
        "(orders accepted before and not yet charged fail), a worker deletes it from Braintree's vault, "
        "and the method answers 404 like an unknown one."
    ),
    parameters=[CUSTOMER_ID_PARAMETER, PAYMENT_METHOD_ID_PARAMETER],
    responses={202: PaymentMethodOutputSerializer, 401: ERROR_401, 404: ERROR_404},
)
