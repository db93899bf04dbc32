"""OpenAPI declarations of the webhooks API (drf-spectacular's `extend_schema`), one per operation.

The views in api.py stay a few lines; what a client reads about each operation is here.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers

from payments.http.openapi import VALIDATION_ERROR_SCHEMA
from payments.http.serializers import ErrorDetailSerializer
from payments.webhooks.serializers import BraintreeWebhookInputSerializer

webhooks_braintree_challenge = extend_schema(
    operation_id="webhooks_braintree_challenge",
    tags=["webhooks"],
    summary="Braintree's verification challenge",
    description="Braintree checks a new webhook URL with `?bt_challenge=<hex>`; the answer is "
    "`public_key|signature`, computed by the SDK (`WebhookNotification.verify`).",
    # The SDK verifies only what Braintree sends: 20 to 32 lower-case hex digits; anything else is 403.
    parameters=[
        OpenApiParameter(
            "bt_challenge", {"type": "string", "pattern": "^[a-f0-9]{20,32}$"}, OpenApiParameter.QUERY, required=True
        )
    ],
    responses={
        (200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="`public_key|signature`."),
        400: OpenApiResponse(VALIDATION_ERROR_SCHEMA, description="Missing challenge."),
        403: OpenApiResponse(ErrorDetailSerializer, description="Not a valid challenge."),
    },
)

webhooks_braintree_notify = extend_schema(
    operation_id="webhooks_braintree_notify",
    tags=["webhooks"],
    summary="Receive a Braintree webhook",
    description=(
        "Form fields `bt_signature` and `bt_payload`, as Braintree posts them. The signature is "
        "verified with the SDK (`WebhookNotification.parse`); a valid notification is stored once "
        "(deduplicated on kind + subject id + timestamp: Braintree retries and does not order its "
        "deliveries) and answered 200 at once; it is applied to its order on the queue. Handled: "
        "dispute_opened/won/lost/accepted, transaction_settled, transaction_settlement_declined; "
        "other kinds are stored and ignored."
    ),
    request={"application/x-www-form-urlencoded": BraintreeWebhookInputSerializer},
    responses={
        200: inline_serializer(
            "WebhookAccepted",
            {"id": serializers.IntegerField(), "kind": serializers.CharField(), "duplicate": serializers.BooleanField()},
        ),
        400: OpenApiResponse(VALIDATION_ERROR_SCHEMA, description="Missing form fields."),
        403: OpenApiResponse(ErrorDetailSerializer, description="Bad signature: nothing was stored."),
    },
)
