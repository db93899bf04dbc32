"""The schema's patterns say exactly what the serializers accept: a client that follows them is never refused."""

import re
from decimal import Decimal

import pytest
from rest_framework import serializers

from payments.http.serializers import MoneyField, amount_pattern, refuse_hidden_characters
from payments.orders.serializers import DESCRIPTION_PATTERN


def accepted_by_validator(text):
    try:
        refuse_hidden_characters(text)
    except serializers.ValidationError:
        return False
    return True


def test_the_description_pattern_and_the_validator_agree_on_every_character():
    # given every code point of the Basic Multilingual Plane but the surrogates (no UTF-8 text holds one)
    pattern = re.compile(DESCRIPTION_PATTERN)
    characters = [chr(code) for code in range(0x10000) if not 0xD800 <= code <= 0xDFFF]
    # when / then
    disagree = [f"U+{ord(c):04X}" for c in characters if bool(pattern.fullmatch(c)) != accepted_by_validator(c)]
    assert disagree == []


def accepted_by_money_field(text, maximum):
    try:
        return MoneyField().run_validation(text) <= maximum
    except serializers.ValidationError:
        return False


@pytest.mark.parametrize("maximum", ["10000.00", "250.50", "7.05"])
def test_the_amount_pattern_and_the_money_field_agree(maximum):
    # given amounts around every boundary, written the ways a client may write them
    maximum = Decimal(maximum)
    cents = [*range(0, 1200), *range(int(maximum * 100) - 300, int(maximum * 100) + 300)]
    texts = {f"{Decimal(c) / 100:.2f}" for c in cents} | {f"00{Decimal(c) / 100:.2f}" for c in cents}
    texts |= {str(c // 100) for c in cents if c % 100 == 0} | {f"{Decimal(c) / 100:.1f}" for c in cents if c % 10 == 0}
    texts |= {"-1", " 1", "1 ", "1.", ".5", "1.234", "1e3", "NaN", "0", "0.0", "+1", "１"}
    pattern = re.compile(amount_pattern(maximum))
    # when / then
    disagree = [t for t in sorted(texts) if bool(pattern.fullmatch(t)) != accepted_by_money_field(t, maximum)]
    assert disagree == []
