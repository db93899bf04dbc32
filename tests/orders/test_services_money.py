"""Currency end to end on the fake gateway: the order's merchant account is the one charged, and
verify and the reconciler never call a transaction in another currency or account paid."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from payments.core.exceptions import CurrencyWithoutMerchantAccount
from payments.core.statuses import OrderStatus
from payments.models import Order
from payments.orders.services import order_charge, order_create, order_verify, orders_reconcile
from tests.factories import OrderFactory, UserFactory
from tests.fixtures.services import trail

pytestmark = pytest.mark.django_db

THRESHOLDS = {"pending_after_seconds": 60, "processing_after_seconds": 60, "limit": 10}


def gbp_order(published, committed):
    with committed():
        return order_create(
            owner=UserFactory(), amount=Decimal("25.00"), nonce="fake-valid-nonce", currency="GBP"
        ).order


def test_an_order_records_the_merchant_account_of_its_currency(published, committed):
    # when
    order = gbp_order(published, committed)
    # then
    assert Order.objects.get(pk=order.pk).merchant_account_id == "sim_merchant_account_gbp"


def test_a_currency_without_a_merchant_account_is_refused_and_nothing_is_stored(published):
    # when / then
    with pytest.raises(CurrencyWithoutMerchantAccount, match='"CHF" is not a supported currency'):
        order_create(owner=UserFactory(), amount=Decimal("1.00"), nonce="fake-valid-nonce", currency="CHF")
    assert Order.objects.count() == 0
    assert published == []


def test_a_gbp_order_is_sold_on_the_gbp_account_and_verified_paid(fake, published, committed):
    # given
    order = gbp_order(published, committed)
    # when
    with committed():
        order_charge(order_id=order.pk)
    order_verify(order_id=order.pk)
    # then
    order.refresh_from_db()
    (txn,) = fake.transactions(str(order.pk))
    assert (txn.merchant_account_id, txn.currency_iso_code, txn.amount) == (
        "sim_merchant_account_gbp",
        "GBP",
        Decimal("25.00"),
    )
    assert order.status == OrderStatus.PAID
    find = order.events.get(action="find")
    assert (find.detail["currency_iso_code"], find.detail["merchant_account_id"]) == ("GBP", "sim_merchant_account_gbp")


@pytest.mark.parametrize(
    ("forged", "reason"),
    [
        ({"currency_iso_code": "USD"}, "Gateway has currency USD, the order GBP."),
        (
            {"merchant_account_id": "sim_merchant_account_gbp_other"},
            "Gateway charged merchant account sim_merchant_account_gbp_other",
        ),
        ({"currency_iso_code": ""}, "Gateway has currency (none), the order GBP."),
    ],
    ids=["currency", "merchant account", "no currency"],
)
def test_a_forged_currency_or_account_mismatch_at_verify_is_parked_not_paid(
    fake, published, committed, forged, reason, monkeypatch
):
    # given a GBP sale whose gateway record says otherwise by the time it is verified
    order = gbp_order(published, committed)
    honest_find = fake.find

    def forged_find(transaction_id):
        fake.alter(transaction_id, **forged)
        return honest_find(transaction_id)

    monkeypatch.setattr(fake, "find", forged_find)
    # when the charge records the sale and verifies it
    with committed():
        order_charge(order_id=order.pk)
    # then
    order.refresh_from_db()
    assert order.status == OrderStatus.NEEDS_REVIEW
    assert order.failure_reason.startswith(reason)
    assert trail(order)[-1] == ("transition", "verified_needs_review")


def test_an_order_without_a_recorded_account_is_still_checked_on_currency(fake, published, committed):
    # given an order from before the merchant_account_id column, sold on the default (USD) account
    order = OrderFactory(currency="EUR", merchant_account_id="")
    with committed():
        order_charge(order_id=order.pk)
    # when
    order_verify(order_id=order.pk)
    # then
    order.refresh_from_db()
    assert order.status == OrderStatus.NEEDS_REVIEW
    assert "currency USD, the order EUR" in order.failure_reason


def test_a_late_sale_in_another_currency_is_left_for_a_human(fake):
    # given a parked GBP order whose late sale landed on the USD account, same amount
    order = OrderFactory(amount=Decimal("12.34"), currency="GBP", merchant_account_id="sim_merchant_account_gbp")
    fake.sale(order_id=str(order.pk), amount=order.amount, nonce="fake-valid-nonce", api_request_key="k:0")
    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.NEEDS_REVIEW, updated_at=timezone.now() - timedelta(minutes=5)
    )
    # when
    counts = orders_reconcile(**THRESHOLDS)
    # then
    order.refresh_from_db()
    assert counts["adopted"] == 0
    assert (order.status, order.transaction_id) == (OrderStatus.NEEDS_REVIEW, None)
    assert trail(order)[-1] == ("search", "late_sale_currency_mismatch")
    assert "currency USD, the order GBP" in order.events.last().detail["reason"]


def test_a_late_sale_on_the_orders_account_is_adopted(fake):
    # given
    order = OrderFactory(amount=Decimal("12.34"), currency="GBP", merchant_account_id="sim_merchant_account_gbp")
    fake.sale(
        order_id=str(order.pk),
        amount=order.amount,
        nonce="fake-valid-nonce",
        api_request_key="k:0",
        merchant_account_id="sim_merchant_account_gbp",
    )
    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.NEEDS_REVIEW, updated_at=timezone.now() - timedelta(minutes=5)
    )
    # when
    counts = orders_reconcile(**THRESHOLDS)
    # then
    assert counts["adopted"] == 1
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID


def test_the_fake_refuses_an_unknown_merchant_account_like_braintree(fake):
    result = fake.sale(
        order_id="o", amount=Decimal("1.00"), nonce="fake-valid-nonce", api_request_key="k", merchant_account_id="nope"
    )
    assert (result.outcome, result.error_codes) == ("invalid", ["91513"])
