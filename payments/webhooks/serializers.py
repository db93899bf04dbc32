"""The form Braintree posts to the webhook endpoint."""

from django.core.validators import RegexValidator
from rest_framework import serializers

# Braintree's payloads are a few kB to tens of kB (a dispute carries its transaction); this bounds
# one field, and WEBHOOK_MAX_BODY_BYTES the whole form with its URL encoding.
WEBHOOK_FIELD_MAX = 200_000
NO_NUL = RegexValidator(r"^[^\x00]*\Z", message="Null characters are not allowed.")


class BraintreeWebhookInputSerializer(serializers.Serializer):
    # min_length and the pattern state in the schema what DRF refuses anyway: a blank field, a NUL.
    bt_signature = serializers.CharField(
        min_length=1, max_length=WEBHOOK_FIELD_MAX, trim_whitespace=False, validators=[NO_NUL]
    )
    bt_payload = serializers.CharField(
        min_length=1, max_length=WEBHOOK_FIELD_MAX, trim_whitespace=False, validators=[NO_NUL]
    )
