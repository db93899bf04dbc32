"""payments/core/logs.py as the services use it: a line per transition and gateway call, no nonce."""

import logging
import re
from decimal import Decimal

import pytest

from payments.orders.services import order_charge, order_verify
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

SECRET_NONCE = "fake-valid-nonce"


def lines(caplog, event):
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(event + " ")]


def test_a_charge_logs_each_transition_and_gateway_call_without_the_nonce(fake, committed, caplog):
    # given
    caplog.set_level(logging.INFO)
    order = OrderFactory(amount=Decimal("12.34"), payment_method_nonce=SECRET_NONCE)
    # when it is charged and verified
    with committed():
        order_charge(order_id=order.pk)
    order_verify(order_id=order.pk)
    # then one line per transition, from -> to with outcome and attempt
    assert lines(caplog, "order_transition") == [
        f"order_transition order={order.pk} transition=pending->processing action=claim outcome=claimed attempt=0 claims=1",
        f"order_transition order={order.pk} transition=processing->processing action=transition "
        "outcome=sale_approved attempt=0 claims=1",
        f"order_transition order={order.pk} transition=processing->paid action=transition "
        "outcome=verified_paid attempt=0 claims=1",
    ]
    # and one per gateway call, with its latency
    sale, find = lines(caplog, "gateway_call")
    assert re.fullmatch(
        rf"gateway_call order={order.pk} call=sale outcome=approved latency_ms=[0-9.]+ attempt=0 transaction=\S+", sale
    )
    assert re.fullmatch(rf"gateway_call order={order.pk} call=find outcome=found latency_ms=[0-9.]+ .*", find)
    # and the nonce never reaches a log line
    assert SECRET_NONCE not in caplog.text


def test_a_decline_logs_its_outcome(fake, caplog):
    # given
    caplog.set_level(logging.INFO)
    order = OrderFactory(amount=Decimal("2000.00"))
    # when
    order_charge(order_id=order.pk)
    # then
    assert f"gateway_call order={order.pk} call=sale outcome=declined" in caplog.text
    assert "transition=processing->failed action=transition outcome=sale_declined" in caplog.text
