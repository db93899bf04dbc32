"""`/webhooks/braintree/`: Braintree's signed notifications in, 2xx out at once.

Not token-authenticated: the SDK's signature check (through the gateway seam) is the
authentication, and it runs before anything is stored. Processing happens on the queue.
"""

from django.http import HttpResponse
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from payments.core.exceptions import WebhookSignatureInvalid
from payments.gateways import get_gateway
from payments.http.parsers import BoundedFormParser
from payments.webhooks import schema
from payments.webhooks.serializers import BraintreeWebhookInputSerializer
from payments.webhooks.services import webhook_receive


class BraintreeWebhookApi(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    # Braintree retries a refused delivery for hours: never throttle a (signed) notification away.
    throttle_classes = []
    # Its own body limit, not the API's 16 KiB: a dispute notification is larger (config/settings/base.py).
    parser_classes = [BoundedFormParser]
    max_body_bytes_setting = "WEBHOOK_MAX_BODY_BYTES"
    renderer_classes = [JSONRenderer]

    @schema.webhooks_braintree_challenge
    def get(self, request):
        challenge = request.query_params.get("bt_challenge")
        if not challenge:
            raise ValidationError({"bt_challenge": ["This parameter is required."]})
        try:
            answer = get_gateway().verify_webhook_challenge(challenge)
        except WebhookSignatureInvalid as exc:
            raise PermissionDenied("Not a valid bt_challenge.") from exc
        return HttpResponse(answer, content_type="text/plain")

    @schema.webhooks_braintree_notify
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
