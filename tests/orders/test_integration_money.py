"""Currency end to end over the real SDK and the simulator: the order's merchant account is the
one charged, the ledger records the order's currency, and a mismatch is never paid."""

from decimal import Decimal

import pytest

from payments.gateways import get_gateway
from payments.core.statuses import OrderStatus
from payments.models import Order
from payments.orders.services import order_charge, order_create, order_verify
from tests.factories import OrderFactory, UserFactory
from tests.fixtures.pipeline import sales_in_ledger, wait_for_final

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_gbp_order_is_charged_on_the_gbp_account_and_recorded_in_gbp(worker, sim):
    # given / when: an order in GBP, charged and verified by a real worker
    order = order_create(
        owner=UserFactory(), amount=Decimal("42.50"), nonce="fake-valid-nonce", currency="GBP"
    ).order
    order = wait_for_final(order.pk)
    # then the gateway's ledger has one sale, on the GBP account, in GBP
    [sale] = sales_in_ledger(sim, order.pk)
    assert (sale["merchant_account_id"], sale["currency_iso_code"], Decimal(sale["amount"])) == (
        "sim_merchant_account_gbp",
        "GBP",
        Decimal("42.50"),
    )
    # and the order is paid on that transaction, verified against its currency and account
    assert (order.status, order.transaction_id, order.merchant_account_id) == (
        OrderStatus.PAID,
        sale["id"],
        "sim_merchant_account_gbp",
    )
    find = order.events.get(action="find")
    assert (find.detail["currency_iso_code"], find.detail["merchant_account_id"]) == ("GBP", "sim_merchant_account_gbp")


def test_a_sale_in_another_currency_is_parked_at_verify_not_paid(sim):
    # given a GBP order whose recorded sale the gateway made on the USD account
    order = OrderFactory(amount=Decimal("15.00"), currency="GBP", merchant_account_id="sim_merchant_account_gbp")
    result = get_gateway().sale(
        order_id=str(order.pk),
        amount=order.amount,
        nonce="fake-valid-nonce",
        api_request_key=f"{order.pk}:0",
        merchant_account_id="sim_merchant_account",
    )
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.PROCESSING, transaction_id=result.transaction.id)
    # when
    order_verify(order_id=order.pk)
    # then
    order.refresh_from_db()
    assert order.status == OrderStatus.NEEDS_REVIEW
    assert order.failure_reason == "Gateway has currency USD, the order GBP."


def test_a_sale_on_an_account_the_gateway_does_not_know_fails_with_its_validation_error(sim):
    # given an order recorded with a merchant account the gateway has never heard of
    order = OrderFactory(currency="GBP", merchant_account_id="no_such_account")
    # when
    order_charge(order_id=order.pk)
    # then: Braintree's 91513, a definite refusal, no money moved
    order.refresh_from_db()
    assert (order.status, order.error_codes) == (OrderStatus.FAILED, ["91513"])
    assert sales_in_ledger(sim, order.pk) == []
