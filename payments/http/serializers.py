"""Serializer fields and mixins that every capability's API shares: the wire rules of money and text.

- `amount` must be a JSON **string** holding a plain decimal number ("12.34"). JSON numbers are
  refused, even exact ones: a client that builds `12.34` from a binary float may send
  `12.339999999999999857891452847979962825775146484375` one day, and one rule ("money is a
  string") is easier to follow than "numbers are fine when they happen to be exact".
- Text fields must be JSON strings; DRF would otherwise turn `123` or `true` into "123"/"True".
- Unknown fields are refused (400), because a typo such as `"curency": "EUR"` would otherwise be
  ignored and the order charged in the default currency.
- Free text that people read (a description) refuses control characters and the bidirectional
  embedding, override and isolate characters: they can hide or reorder what a support person or
  a log reader sees ("Trojan Source", CVE-2021-42574).
"""

import copy
import re
import unicodedata

from django.core.validators import RegexValidator
from rest_framework import serializers

# A plain decimal: optional sign, ASCII digits, optional fraction. No exponent ("1e3"), no "NaN"
# or "Infinity", no thousands separators, and no non-ASCII digits ("١٢", which Decimal accepts).
# The sign is accepted here so that "-5" gets the clearer "must be greater than zero" message.
PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


# U+202A..U+202E (embeddings, overrides, PDF) and U+2066..U+2069 (isolates, PDI).
BIDI_CONTROLS = frozenset(chr(code) for code in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def refuse_hidden_characters(value):
    """Field validator: no control character (Unicode Cc: C0, DEL, C1) and no bidi control."""
    for char in value:
        if char in BIDI_CONTROLS:
            raise serializers.ValidationError(
                f"Must not contain the bidirectional control character U+{ord(char):04X}: it can reorder "
                "what people see."
            )
        if unicodedata.category(char) == "Cc":
            raise serializers.ValidationError(
                f"Must not contain the control character U+{ord(char):04X} (tabs and line breaks included)."
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
        # No strip(): the schema's pattern (amount_pattern) is the whole rule, and it has no spaces.
        if not PLAIN_DECIMAL.fullmatch(data):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if value <= 0:
            self.fail("not_positive")
        return value


def _digits_between(low, high):
    """A regex for the integers low..high written with as many digits as they (both the same length)."""
    if low == high:
        return low
    if len(low) == 1:
        return f"[{low}-{high}]"
    if low[0] == high[0]:
        return low[0] + "(?:" + _digits_between(low[1:], high[1:]) + ")"
    rest = len(low) - 1
    parts = [low[0] + "(?:" + _digits_between(low[1:], "9" * rest) + ")"]
    if int(high[0]) - int(low[0]) > 1:
        parts.append(f"[{int(low[0]) + 1}-{int(high[0]) - 1}][0-9]{{{rest}}}")
    parts.append(high[0] + "(?:" + _digits_between("0" * rest, high[1:]) + ")")
    return "|".join(parts)


def amount_pattern(maximum):
    """The regex of every amount MoneyField accepts up to `maximum`: more than zero, two decimals at most.

    The OpenAPI schema publishes it (payments/http/openapi.py), so a client, a generated client or
    a fuzzer knows exactly which strings are amounts; `"0.00"`, `"-1"`, `" 1"` and anything over
    the maximum are not.
    """
    whole, cents = f"{maximum:.2f}".split(".")
    if int(whole) < 1:
        # A maximum below 1.00 is no real configuration: publish the format only.
        return r"^0*[0-9]+(?:\.[0-9]{1,2})?$"
    fraction = r"(?:\.[0-9]{1,2})?"
    choices = [r"0*0\.(?:0[1-9]|[1-9][0-9]?)"]  # 0.01 .. 0.99
    for length in range(1, len(whole) + 1):
        low = "1" + "0" * (length - 1)
        high = "9" * length if length < len(whole) else str(int(whole) - 1)
        if int(high) >= int(low):
            choices.append("0*(?:" + _digits_between(low, high) + ")" + fraction)
    # The maximum's own whole part, with a fraction of at most its cents ("tu").
    tens, units = int(cents[0]), int(cents[1])
    fractions = [rf"\.[0-{tens}]", rf"\.{tens}[0-{units}]"]
    if tens > 0:
        fractions.append(rf"\.[0-{tens - 1}][0-9]")
    choices.append(f"0*{whole}(?:" + "|".join(fractions) + ")?")
    return "^(?:" + "|".join(choices) + ")$"


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


class OptionalChoiceField(serializers.ChoiceField):
    """A read-only choice whose absence is `null` on the wire, never `""`.

    The model keeps a blank string for "none yet" (dispute status, refund kind); a client's
    generated enum has no blank member, so the answer says `null`, which the schema declares.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return None if value in ("", None) else super().to_representation(value)


class ErrorDetailSerializer(serializers.Serializer):
    """The shape of every error that is not about a single field."""

    detail = serializers.CharField()


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


# What refuse_hidden_characters lets through, as a schema pattern: no control character (Unicode
# Cc: U+0000-U+001F, U+007F-U+009F) and no bidirectional control (U+202A-U+202E, U+2066-U+2069).
# (Lone surrogates, which DRF refuses too, are no Unicode text: a UTF-8 body cannot carry them.)
# A test checks the pattern against the validator, character by character.
HIDDEN_CHARACTERS_REFUSED_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069]*$"


class StrictBooleanField(serializers.BooleanField):
    """A JSON true or false, nothing else: the schema says boolean, so 0, 1 and "yes" are refused."""

    def to_internal_value(self, data):
        if data is True or data is False:
            return data
        self.fail("invalid", input=data)
