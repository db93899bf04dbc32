"""`/webhooks/braintree/`: Braintree's signed notifications in, 2xx out at once.

Not token-authenticated: the SDK's signature check (through the gateway seam) is the
authentication, and it runs before anything is stored. Processing happens on the queue.
"""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from payments.core.exceptions import WebhookSignatureInvalid
from payments.gateways import get_gateway
from payments.webhooks.services import webhook_receive

# Braintree payloads are a few kB; this bounds a single field well below the body limit.
WEBHOOK_FIELD_MAX = 200_000


class BraintreeWebhookInputSerializer(serializers.Serializer):
    bt_signature = serializers.CharField(max_length=WEBHOOK_FIELD_MAX, trim_whitespace=False)
    bt_payload = serializers.CharField(max_length=WEBHOOK_FIELD_MAX, trim_whitespace=False)


class BraintreeWebhookApi(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    # Braintree retries a refused delivery for hours: never throttle a (signed) notification away.
    throttle_classes = []
    parser_classes = [FormParser]
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="webhooks_braintree_challenge",
        tags=["webhooks"],
        summary="Braintree's verification challenge",
        description="Braintree checks a new webhook URL with `?bt_challenge=<hex>`; the answer is "
        "`public_key|signature`, computed by the SDK (`WebhookNotification.verify`).",
        parameters=[OpenApiParameter("bt_challenge", str, OpenApiParameter.QUERY, required=True)],
        responses={200: OpenApiResponse(OpenApiTypes.STR), 400: OpenApiResponse(description="Missing challenge."),
                   403: OpenApiResponse(description="Not a valid challenge.")},
    )
    def get(self, request):
        challenge = request.query_params.get("bt_challenge")
        if not challenge:
            raise ValidationError({"bt_challenge": ["This parameter is required."]})
        try:
            answer = get_gateway().verify_webhook_challenge(challenge)
        except WebhookSignatureInvalid as exc:
            raise PermissionDenied("Not a valid bt_challenge.") from exc
        return HttpResponse(answer, content_type="text/plain")

    @extend_schema(
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
            400: OpenApiResponse(description="Missing form fields."),
            403: OpenApiResponse(description="Bad signature: nothing was stored."),
        },
    )
    def post(self, request):
        form = BraintreeWebhookInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            event = get_gateway().parse_webhook(
                signature=form.validated_data["bt_signature"], payload=form.validated_data["bt_payload"]
            )
        except WebhookSignatureInvalid as exc:
            raise PermissionDenied("Invalid webhook signature.") from exc
        notification, created = webhook_receive(event)
        return Response(
            {"id": notification.pk, "kind": notification.kind, "duplicate": not created}, status=status.HTTP_200_OK
        )
