"""Wire formats of the order API: strict input serializers, separate output serializers.

The wire rules every API shares (money as a string, strict text, unknown fields refused) live in
payments/http/serializers.py.
"""

from decimal import Decimal

from django.conf import settings
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from payments.core.statuses import DisputeStatus, OrderStatus
from payments.gateways.codes import errors_explained, rejection_reason_message
from payments.http.serializers import (
    NONCE_ALPHABET,
    HIDDEN_CHARACTERS_REFUSED_PATTERN,
    NONCE_MAX_LENGTH,
    ClassCachedFieldsMixin,
    MoneyField,
    OptionalChoiceField,
    StrictCharField,
    UnknownFieldsMixin,
    refuse_hidden_characters,
)
from payments.models import CaptureMode, Order

# The description's schema pattern: what refuse_hidden_characters lets through.
DESCRIPTION_PATTERN = HIDDEN_CHARACTERS_REFUSED_PATTERN


@extend_schema_field(
    {"type": "string", "maxLength": Order._meta.get_field("description").max_length, "pattern": DESCRIPTION_PATTERN}
)
class DescriptionField(StrictCharField):
    """Free text people read: the schema states exactly which characters it accepts."""


class OrderCreateInputSerializer(UnknownFieldsMixin, serializers.Serializer):
    """Body of `POST /api/orders/`."""

    amount = MoneyField(
        help_text='Amount to charge, as a string with at most two decimals, e.g. "12.34". '
        "Must be greater than zero and at most the configured maximum (PAYMENTS_MAX_AMOUNT).",
    )
    payment_method_nonce = StrictCharField(
        max_length=NONCE_MAX_LENGTH,
        validators=[NONCE_ALPHABET],
        write_only=True,
        required=False,
        help_text="Single-use Braintree payment method nonce from the client SDK: letters, digits, "
        f'"-" and "_", at most {NONCE_MAX_LENGTH} characters. Never returned. '
        "Exactly one of `payment_method_nonce` and `payment_method`.",
    )
    payment_method = serializers.UUIDField(
        required=False,
        help_text="The id of an active saved payment method of one of your customers "
        "(`/api/customers/{id}/payment-methods/`), charged instead of a nonce. "
        "Exactly one of `payment_method_nonce` and `payment_method`.",
    )
    currency = serializers.ChoiceField(
        choices=(),
        required=False,
        default="USD",
        help_text="ISO 4217 code, upper-case, one of the currencies with a merchant account "
        "(the keys of BRAINTREE_MERCHANT_ACCOUNTS). "
        "Defaults to USD (required when USD is not configured).",
    )
    description = DescriptionField(
        max_length=Order._meta.get_field("description").max_length,
        required=False,
        allow_blank=True,
        default="",
        # Kept as sent: a trimmed value would let 256 characters with a trailing space through a
        # 255-character limit the schema states.
        trim_whitespace=False,
        validators=[refuse_hidden_characters],
        help_text="Free text shown to the customer and support staff: no control characters "
        "(line breaks included) and no bidirectional control characters (U+202A-U+202E, U+2066-U+2069).",
    )

    capture = serializers.ChoiceField(
        choices=CaptureMode.choices,
        required=False,
        default=CaptureMode.AUTOMATIC,
        help_text="automatic (default): the sale is captured at once. manual: the sale only "
        "authorizes; the order rests in `authorized` until POST .../capture/ or .../cancel/.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Read per instance, not at import, so the configured list is the one in force now.
        # The accepted currencies are exactly those with a merchant account to charge them on.
        currencies = list(settings.BRAINTREE_MERCHANT_ACCOUNTS)
        self.fields["currency"].choices = currencies
        if "USD" not in currencies:
            # The contract's default would be an unsupported currency here, and defaults are not
            # validated: make the client say which currency it means instead.
            self.fields["currency"].required = True
            self.fields["currency"].default = serializers.empty
        self.fields["currency"].error_messages["invalid_choice"] = (
            f'"{{input}}" is not a supported currency; use one of {", ".join(currencies)} '
            "(upper-case ISO 4217 codes with a merchant account)."
        )

    def validate_amount(self, value):
        maximum = Decimal(settings.PAYMENTS_MAX_AMOUNT)
        if value > maximum:
            raise serializers.ValidationError(f"The amount must not exceed {maximum}.")
        return value

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            # Neither way to pay is a missing field like any other: listed with the rest, in one answer.
            neither = isinstance(data, dict) and "payment_method_nonce" not in data and "payment_method" not in data
            if neither and isinstance(exc.detail, dict):
                exc.detail.setdefault(
                    "payment_method_nonce", [ErrorDetail("This field is required.", code="required")]
                )
            raise

    def validate(self, attrs):
        # Exactly one way to pay (the field descriptions say so: a `oneOf` in the schema would cost
        # generated clients their request model). Whether a saved method is the
        # caller's and chargeable is the intake service's question (422), asked under its lock.
        nonce, method_id = attrs.get("payment_method_nonce"), attrs.get("payment_method")
        if nonce and method_id:
            message = "Send either payment_method_nonce or payment_method, not both."
            raise serializers.ValidationError({"payment_method_nonce": [message], "payment_method": [message]})
        if method_id is None and not nonce:
            raise serializers.ValidationError({"payment_method_nonce": ["This field is required."]})
        attrs["payment_method_nonce"] = nonce or ""
        return attrs


class OrderCaptureInputSerializer(UnknownFieldsMixin, serializers.Serializer):
    """Body of `POST /api/orders/<id>/capture/` (an empty body captures the whole authorization)."""

    amount = MoneyField(
        required=False,
        help_text='Amount to capture, a string with at most two decimals, e.g. "30.00"; at most the '
        "authorized amount. Absent: all of it.",
    )


class OrderCancelInputSerializer(UnknownFieldsMixin, serializers.Serializer):
    """Body of `POST /api/orders/<id>/cancel/`: empty (the whole authorization is voided)."""


class OrderListFilterSerializer(serializers.Serializer):
    """Query parameters of `GET /api/orders/`."""

    status = serializers.ChoiceField(
        choices=OrderStatus.choices,
        required=False,
        help_text="Only orders in this public status.",
    )

    def to_internal_value(self, data):
        # `?status=` would otherwise count as no filter at all, and list every order.
        if data.get("status") == "":
            raise serializers.ValidationError({"status": ['"" is not a valid choice.']})
        return super().to_internal_value(data)


class GatewayErrorSerializer(serializers.Serializer):
    """One Braintree validation error of a sale: its code and what it means."""

    code = serializers.CharField(help_text='Braintree error code, e.g. "91564".')
    message = serializers.CharField(help_text="Braintree's message for the code.")


# The schema (and a generated client) calls it "Order".
@extend_schema_serializer(component_name="Order")
class OrderOutputSerializer(ClassCachedFieldsMixin, serializers.ModelSerializer):
    """An order as API clients see it. The nonce and delivery bookkeeping stay private."""

    amount = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)
    error_codes = serializers.ListField(
        child=serializers.CharField(),
        help_text="Braintree error codes of a rejected sale, as strings (e.g. \"91564\").",
    )
    errors = serializers.SerializerMethodField(
        help_text="`error_codes` explained: one `{code, message}` per Braintree validation error."
    )
    failure_reason = serializers.CharField(
        help_text="Why the order failed or was parked for review, in words. Blank unless something "
        "failed: an order that is only waiting says why in `status_detail`."
    )
    status_detail = serializers.CharField(
        help_text="Why a pending or processing order is still waiting, e.g. a retry after the "
        "processor was unavailable (blank when there is nothing to say, and once the order ends)."
    )
    dispute_status = OptionalChoiceField(
        choices=DisputeStatus.choices,
        help_text="The latest dispute's status, or null when the order was never disputed.",
    )
    gateway_rejection_reason = serializers.CharField(
        help_text="Braintree's gateway_rejection_reason of a rejected sale, e.g. fraud or "
        "application_incomplete (blank unless the gateway rejected the sale)."
    )
    gateway_rejection_message = serializers.SerializerMethodField(
        help_text="`gateway_rejection_reason` explained (blank without a rejection)."
    )
    # The saved method's id as the API knows it (never its gateway token), read off the column.
    payment_method = serializers.UUIDField(
        source="payment_method_id",
        read_only=True,
        allow_null=True,
        help_text="The id of the saved payment method the order is charged on, or null for an "
        "order paid with a nonce.",
    )

    class Meta:
        model = Order
        fields = [
            "id",
            "status",
            "amount",
            "currency",
            "description",
            "transaction_id",
            "gateway_status",
            "processor_response_code",
            "processor_response_text",
            "error_codes",
            "created_at",
            "updated_at",
            "errors",
            "failure_reason",
            "status_detail",
            "gateway_rejection_reason",
            "gateway_rejection_message",
            # After the sale.
            "refunded_amount",
            "dispute_status",
            "dispute_amount",
            "dispute_reason",
            # Manual capture.
            "capture",
            "authorized_amount",
            "captured_amount",
            "authorization_expires_at",
            # A saved card.
            "payment_method",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "status": {
                "help_text": "pending → processing → paid | failed | needs_review; a paid order then "
                "partially_refunded → refunded, or settlement_declined. A manual-capture order rests "
                "in authorized, then paid (captured), canceled or authorization_expired."
            },
            "refunded_amount": {"help_text": "Sum of the order's succeeded refunds and voids."},
            "capture": {"help_text": "automatic or manual (authorize at the sale, capture later)."},
            "authorized_amount": {"help_text": "A manual order's authorized amount, once authorized (else null)."},
            "captured_amount": {
                "help_text": "What a manual order's capture took (at most authorized_amount; null until "
                "captured). Refunds refund at most this."
            },
            "authorization_expires_at": {
                "help_text": "When the gateway lets a manual order's authorization lapse, if it says (else null)."
            },
            "transaction_id": {"help_text": "Braintree transaction id, once a sale exists."},
            "gateway_status": {
                "help_text": "Raw Braintree status, e.g. submitted_for_settlement or processor_declined."
            },
        }


    @extend_schema_field(GatewayErrorSerializer(many=True))
    def get_errors(self, order):
        return errors_explained(order.error_codes)

    def get_gateway_rejection_message(self, order) -> str:
        return rejection_reason_message(order.gateway_rejection_reason)
