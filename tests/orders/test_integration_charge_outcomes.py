"""Each gateway outcome, end to end through a real worker, the real SDK and the simulator."""

from decimal import Decimal

import pytest

from payments.core.statuses import OrderStatus
from payments.models import OrderEvent
from payments.orders.services import order_create
from tests.factories import UserFactory
from tests.fixtures.pipeline import sales_in_ledger, wait_for_final

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def create_order(amount="10.00", nonce="fake-valid-nonce"):
    return order_create(
        owner=UserFactory(), amount=Decimal(amount), nonce=nonce, currency="USD", description="", idempotency_key=None
    ).order


def test_approved_sale_marks_order_paid_with_the_gateway_transaction(worker, sim):
    # given
    order = create_order(amount="12.34")
    # when
    order = wait_for_final(order.pk)
    # then
    assert order.status == OrderStatus.PAID
    [sale] = sales_in_ledger(sim, order.pk)
    assert order.transaction_id == sale["id"]
    assert Decimal(sale["amount"]) == order.amount == Decimal("12.34")
    assert sale["status"] == "submitted_for_settlement"
    assert order.gateway_status == "submitted_for_settlement"
    assert order.payment_method_nonce == ""
    actions = list(order.events.values_list("action", "outcome"))
    assert order.events.get(action="find").detail["status"] == "submitted_for_settlement"
    assert actions == [
        ("create", ""),
        ("claim", "claimed"),
        ("sale", "approved"),
        ("transition", "sale_approved"),
        ("find", "found"),
        ("transition", "verified_paid"),
    ]


@pytest.mark.parametrize(
    ("amount", "nonce", "gateway_status", "error_codes", "response_code"),
    [
        pytest.param("2000.00", "fake-valid-nonce", "processor_declined", [], "2000", id="processor-decline"),
        pytest.param("10.00", "fake-gateway-rejected-fraud-nonce", "gateway_rejected", [], "", id="gateway-reject"),
        pytest.param("10.00", "fake-consumed-nonce", "", ["91564"], "", id="consumed-nonce"),
        pytest.param("10.00", "no-such-nonce", "", ["91565"], "", id="unknown-nonce"),
    ],
)
def test_unsuccessful_sale_marks_order_failed_with_braintree_codes(
    worker, sim, amount, nonce, gateway_status, error_codes, response_code
):
    # given
    order = create_order(amount=amount, nonce=nonce)
    # when
    order = wait_for_final(order.pk)
    # then
    assert order.status == OrderStatus.FAILED
    assert order.gateway_status == gateway_status
    assert order.error_codes == error_codes
    assert order.processor_response_code == response_code
    assert order.payment_method_nonce == ""
    assert [s["status"] for s in sales_in_ledger(sim, order.pk)] == ([gateway_status] if gateway_status else [])
    assert order.events.filter(action=OrderEvent.Action.SALE).count() == 1


def test_consumed_nonce_is_looked_up_before_the_order_fails(worker, sim):
    # given
    order = create_order(nonce="fake-consumed-nonce")
    # when
    order = wait_for_final(order.pk)
    # then
    search = order.events.get(action=OrderEvent.Action.SEARCH)
    assert search.outcome == "no_paid_sale"
    assert order.status == OrderStatus.FAILED


def test_processor_failure_is_retried_under_new_keys_then_fails(worker, sim):
    # given: amount 3000.00 makes the processor answer "failed" (3000) every time
    order = create_order(amount="3000.00")
    # when
    order = wait_for_final(order.pk, timeout=30)
    # then: the first try plus PAYMENTS_MAX_RETRIES (3) sales, each under its own key, no money moved
    assert order.status == OrderStatus.FAILED
    sales = sales_in_ledger(sim, order.pk)
    assert [s["status"] for s in sales] == ["failed"] * 4
    assert sorted(s["api_request_key"] for s in sales) == [f"{order.pk}:{n}" for n in range(4)]
    assert order.processor_response_code == "3000"
