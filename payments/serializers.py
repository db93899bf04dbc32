"""Wire formats of the order API: strict input serializers, separate output serializers.

Input rules that are deliberate choices of this API (and tested in tests/api/):

- `amount` must be a JSON **string** holding a plain decimal number ("12.34"). JSON numbers are
  refused, even exact ones: a client that builds `12.34` from a binary float may send
  `12.339999999999999857891452847979962825775146484375` one day, and one rule ("money is a
  string") is easier to follow than "numbers are fine when they happen to be exact".
- Text fields must be JSON strings; DRF would otherwise turn `123` or `true` into "123"/"True".
- Unknown fields are refused (400), because a typo such as `"curency": "EUR"` would otherwise be
  ignored and the order charged in the default currency.
"""

import copy
import re
from decimal import Decimal

from django.conf import settings
from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from payments.gateways.codes import errors_explained, rejection_reason_message
from payments.models import Order, OrderStatus

# A plain decimal: optional sign, ASCII digits, optional fraction. No exponent ("1e3"), no "NaN"
# or "Infinity", no thousands separators, and no non-ASCII digits ("١٢", which Decimal accepts).
# The sign is accepted here so that "-5" gets the clearer "must be greater than zero" message.
PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")

# Braintree's nonces are drawn from letters, digits, "-" and "_": UUIDs (36 characters),
# `tokencc_...` ids (about 40), the sandbox's `fake-...-nonce` names (at most 45) and the
# simulator's minted `tokencc_sim_<16>` (28). 512 leaves ten times that for formats not seen yet
# and keeps a nonce far from the body limit. Anything else (a control character, a quote, "<")
# would only reach the SDK's XML and come back as an error that looks transient, so it is refused
# here with a field message. https://developer.paypal.com/braintree/docs/reference/general/testing
NONCE_MAX_LENGTH = 512
NONCE_ALPHABET = RegexValidator(
    r"^[A-Za-z0-9_-]+\Z",
    message='A payment method nonce may contain only letters, digits, "-" and "_".',
)


class StrictCharField(serializers.CharField):
    """A CharField that refuses JSON numbers and booleans instead of stringifying them."""

    default_error_messages = {"not_a_string": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class MoneyField(serializers.DecimalField):
    """An amount of money sent as a string with at most two decimal places."""

    default_error_messages = {
        "not_a_string": 'Send the amount as a string, e.g. "12.34"; JSON numbers are not accepted.',
        "invalid": 'A valid amount is required: a plain decimal number such as "12.34".',
        "not_positive": "The amount must be greater than zero.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("coerce_to_string", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        data = data.strip()
        if not PLAIN_DECIMAL.fullmatch(data):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if value <= 0:
            self.fail("not_positive")
        return value


class UnknownFieldsMixin:
    """Refuse keys the serializer does not declare, each with its own field error."""

    def to_internal_value(self, data):
        unknown = {}
        if isinstance(data, dict):
            unknown = {name: ["Unknown field."] for name in sorted(set(data) - set(self.fields))}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            # Report the unknown keys together with the other field errors, so one round trip
            # shows the client everything that is wrong with its body.
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown}) from exc
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class ClassCachedFieldsMixin:
    """Build a ModelSerializer's fields once per class, then hand each instance a deep copy.

    DRF's ModelSerializer introspects the model (`get_fields`, one `build_field` per model field)
    every time a serializer is instantiated, which was the largest avoidable cost of an order
    read (README, "The web tier"). The built fields depend only on the class and its Meta, so
    they are cached on the class; each instance gets a deep copy, as DRF copies
    `_declared_fields`, because binding a field to its parent mutates it. Only for serializers
    whose fields do not depend on the request, the context or the settings in force.
    """

    def get_fields(self):
        cls = type(self)
        # cls.__dict__, not getattr: a subclass must build its own fields, not inherit these.
        built = cls.__dict__.get("_class_built_fields")
        if built is None:
            built = super().get_fields()
            cls._class_built_fields = built
        return copy.deepcopy(built)


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
        help_text="Single-use Braintree payment method nonce from the client SDK: letters, digits, "
        f'"-" and "_", at most {NONCE_MAX_LENGTH} characters. Never returned.',
    )
    currency = serializers.ChoiceField(
        choices=(),
        required=False,
        default="USD",
        help_text="ISO 4217 code, upper-case, one of the currencies with a merchant account "
        "(the keys of BRAINTREE_MERCHANT_ACCOUNTS). "
        "Defaults to USD (required when USD is not configured).",
    )
    description = StrictCharField(
        max_length=Order._meta.get_field("description").max_length,
        required=False,
        allow_blank=True,
        default="",
        help_text="Free text shown to the customer and support staff.",
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


class OrderListFilterSerializer(serializers.Serializer):
    """Query parameters of `GET /api/orders/`."""

    status = serializers.ChoiceField(
        choices=OrderStatus.choices,
        required=False,
        help_text="Only orders in this public status.",
    )


class GatewayErrorSerializer(serializers.Serializer):
    """One Braintree validation error of a sale: its code and what it means."""

    code = serializers.CharField(help_text='Braintree error code, e.g. "91564".')
    message = serializers.CharField(help_text="Braintree's message for the code.")


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
        help_text="Why the order failed or waits for review, in words (blank while it is fine)."
    )
    gateway_rejection_reason = serializers.CharField(
        help_text="Braintree's gateway_rejection_reason of a rejected sale, e.g. fraud or "
        "application_incomplete (blank unless the gateway rejected the sale)."
    )
    gateway_rejection_message = serializers.SerializerMethodField(
        help_text="`gateway_rejection_reason` explained (blank without a rejection)."
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
            "gateway_rejection_reason",
            "gateway_rejection_message",
            # After the sale.
            "refunded_amount",
            "dispute_status",
            "dispute_amount",
            "dispute_reason",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "status": {
                "help_text": "pending → processing → paid | failed | needs_review; a paid order then "
                "partially_refunded → refunded, or settlement_declined."
            },
            "refunded_amount": {"help_text": "Sum of the order's succeeded refunds and voids."},
            "dispute_status": {"help_text": "The latest dispute: open, won, lost, accepted, or blank."},
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


class ErrorDetailSerializer(serializers.Serializer):
    """The shape of every error that is not about a single field."""

    detail = serializers.CharField()
