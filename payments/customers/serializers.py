"""Wire formats of the customers API: strict input serializers, separate output serializers.

The gateway token and the nonce never appear in an answer: a payment method is named by its own
id, and only masked card facts are shown.
"""

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from payments.http.serializers import (
    HIDDEN_CHARACTERS_REFUSED_PATTERN,
    NONCE_ALPHABET,
    NONCE_MAX_LENGTH,
    ClassCachedFieldsMixin,
    StrictBooleanField,
    StrictCharField,
    UnknownFieldsMixin,
    refuse_hidden_characters,
)
from payments.models import Customer, PaymentMethod


@extend_schema_field(
    {"type": "string", "maxLength": Customer._meta.get_field("reference").max_length,
     "pattern": HIDDEN_CHARACTERS_REFUSED_PATTERN}
)
class ReferenceField(StrictCharField):
    """The client's reference: the schema states exactly which characters it accepts."""


class CustomerCreateInputSerializer(UnknownFieldsMixin, serializers.Serializer):
    """Body of `POST /api/customers/` (every field optional)."""

    email = serializers.EmailField(required=False, allow_blank=True, default="", help_text="The customer's email.")
    reference = ReferenceField(
        max_length=Customer._meta.get_field("reference").max_length,
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=False,
        validators=[refuse_hidden_characters],
        help_text="Your own reference for this customer (e.g. your user id); no control characters.",
    )


@extend_schema_serializer(component_name="Customer")
class CustomerOutputSerializer(ClassCachedFieldsMixin, serializers.ModelSerializer):
    """A customer as API clients see it."""

    # Blank when none was given: a plain string, not the schema's "email" format.
    email = serializers.CharField(read_only=True, help_text="The customer's email, or blank.")

    class Meta:
        model = Customer
        fields = ["id", "email", "reference", "created_at"]
        read_only_fields = fields


class PaymentMethodCreateInputSerializer(UnknownFieldsMixin, serializers.Serializer):
    """Body of `POST /api/customers/<id>/payment-methods/`."""

    payment_method_nonce = StrictCharField(
        max_length=NONCE_MAX_LENGTH,
        validators=[NONCE_ALPHABET],
        write_only=True,
        help_text="Braintree payment method nonce from Drop-in or Hosted Fields: the card is stored in "
        "Braintree's vault from it (verified first). Never returned.",
    )
    make_default = StrictBooleanField(
        required=False, default=True, help_text="Make it the customer's default card (default true)."
    )


@extend_schema_serializer(component_name="PaymentMethod")
class PaymentMethodOutputSerializer(ClassCachedFieldsMixin, serializers.ModelSerializer):
    """A saved payment method: masked card facts only, never the gateway token or the nonce."""

    customer = serializers.UUIDField(source="customer_id", read_only=True)
    default = serializers.BooleanField(source="is_default", read_only=True, help_text="The customer's default card.")

    class Meta:
        model = PaymentMethod
        fields = [
            "id",
            "customer",
            "status",
            "card_type",
            "last_4",
            "expiration_month",
            "expiration_year",
            "default",
            "failure_reason",
            "created_at",
            "updated_at",
            "deleted_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "status": {
                "help_text": "pending → active | failed; active → deleted. Only an active method can be "
                "charged (`payment_method` of `POST /api/orders/`)."
            },
            "failure_reason": {"help_text": "Why the card was not stored, e.g. a declined verification."},
            "last_4": {"help_text": "The card number's last four digits (the rest is never known here)."},
        }
