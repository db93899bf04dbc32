"""The form Braintree posts to the webhook endpoint."""

from rest_framework import serializers

# Braintree payloads are a few kB; this bounds a single field well below the body limit.
WEBHOOK_FIELD_MAX = 200_000


class BraintreeWebhookInputSerializer(serializers.Serializer):
    bt_signature = serializers.CharField(max_length=WEBHOOK_FIELD_MAX, trim_whitespace=False)
    bt_payload = serializers.CharField(max_length=WEBHOOK_FIELD_MAX, trim_whitespace=False)
