"""Captures and voids in the gateway metrics and logs: labelled `capture` and `void`, not as sales."""

import logging
import re
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY

from payments.models import CaptureMode
from payments.orders.services import (
    order_cancel,
    order_cancel_request,
    order_capture,
    order_capture_request,
    order_charge,
)
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def counted(call, outcome):
    return REGISTRY.get_sample_value("payments_gateway_requests_total", {"call": call, "outcome": outcome}) or 0.0


def timed(call):
    return REGISTRY.get_sample_value("payments_gateway_request_duration_seconds_count", {"call": call}) or 0.0


def authorized_order(amount="50.00"):
    order = OrderFactory(amount=Decimal(amount), capture=CaptureMode.MANUAL)
    order_charge(order_id=order.pk)
    return order


def test_a_capture_and_a_void_are_counted_and_timed_under_their_own_call(fake, published):
    # given two authorized orders, and the counters as they are
    captured, canceled = authorized_order(), authorized_order()
    before = {
        "capture": counted("capture", "succeeded"),
        "void": counted("void", "succeeded"),
        "sale": counted("sale", "approved"),
        "capture_timed": timed("capture"),
        "void_timed": timed("void"),
    }
    # when one is captured and the other canceled
    order_capture_request(order_id=captured.pk, amount=Decimal("30.00"))
    order_capture(order_id=captured.pk)
    order_cancel_request(order_id=canceled.pk)
    order_cancel(order_id=canceled.pk)
    # then one capture and one void, each with its outcome and duration, and no sale more
    assert counted("capture", "succeeded") - before["capture"] == 1
    assert counted("void", "succeeded") - before["void"] == 1
    assert timed("capture") - before["capture_timed"] == 1
    assert timed("void") - before["void_timed"] == 1
    assert counted("sale", "approved") == before["sale"]


def test_a_refused_capture_is_counted_as_refused(fake):
    # given a sale already captured at the gateway
    sale = fake.sale(order_id="o-1", amount=Decimal("10.00"), nonce="fake-valid-nonce", api_request_key="s-1")
    before = counted("capture", "refused")
    # when it is captured again
    fake.submit_for_settlement(transaction_id=sale.transaction.id, amount=Decimal("10.00"), api_request_key="c-1")
    # then
    assert counted("capture", "refused") - before == 1


def test_a_capture_and_a_cancel_log_their_gateway_call_by_the_same_name(fake, published, caplog):
    # given
    caplog.set_level(logging.INFO, logger="payments.gateway_calls")
    captured, canceled = authorized_order(), authorized_order()
    # when
    order_capture_request(order_id=captured.pk)
    order_capture(order_id=captured.pk)
    order_cancel_request(order_id=canceled.pk)
    order_cancel(order_id=canceled.pk)
    # then one line per write, named as the metric labels it, with the transaction
    text = caplog.text
    assert re.search(rf"gateway_call order={captured.pk} call=capture outcome=approved latency_ms=[0-9.]+ ", text)
    assert re.search(rf"gateway_call order={canceled.pk} call=void outcome=approved latency_ms=[0-9.]+ ", text)
    assert "call=submit_for_settlement" not in text
