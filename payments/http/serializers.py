"""Serializer fields and mixins that every capability's API shares: the wire rules of money and text.

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

from rest_framework import serializers

# A plain decimal: optional sign, ASCII digits, optional fraction. No exponent ("1e3"), no "NaN"
# or "Infinity", no thousands separators, and no non-ASCII digits ("١٢", which Decimal accepts).
# The sign is accepted here so that "-5" gets the clearer "must be greater than zero" message.
PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


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
    read (docs/how-to/web-tier.md). The built fields depend only on the class and its Meta, so
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


class ErrorDetailSerializer(serializers.Serializer):
    """The shape of every error that is not about a single field."""

    detail = serializers.CharField()
