"""payments/orders/services/admin_actions.py: re-queue and re-verify, as the order admin calls them."""

from decimal import Decimal

import pytest

from payments.core.exceptions import IllegalTransition
from payments.core.statuses import OrderStatus
from payments.models import Order
from payments.orders.services import order_charge, order_requeue, order_reverify
from tests.factories import OrderFactory
from tests.fixtures.services import trail

pytestmark = pytest.mark.django_db


def test_requeue_of_a_parked_order_gives_it_a_fresh_claim_budget_and_publishes_its_charge(
    fake, published, committed, settings
):
    # given
    order = OrderFactory(status=OrderStatus.NEEDS_REVIEW, claims=settings.PAYMENTS_MAX_CLAIMS, ever_claimed=True)
    # when
    with committed():
        order_requeue(order_id=order.pk)
    # then
    order.refresh_from_db()
    assert (order.status, order.claims, order.ever_claimed) == (OrderStatus.PROCESSING, 0, True)
    assert trail(order) == [("requeue", "admin_requeue")]
    assert published == [("charge_order_task", str(order.pk))]


def test_a_requeued_order_searches_the_gateway_before_selling_again(fake, published, committed):
    # given: a parked order whose earlier worker sold, then died before recording it
    order = OrderFactory(status=OrderStatus.NEEDS_REVIEW, claims=8, ever_claimed=True)
    sale = fake.sale(order_id=str(order.pk), amount=order.amount, nonce="fake-valid-nonce", api_request_key="k")
    with committed():
        order_requeue(order_id=order.pk)
    # when
    with committed():
        order_charge(order_id=order.pk)
    # then: the sale is adopted, no second one is made
    assert Order.objects.get(pk=order.pk).transaction_id == sale.transaction.id
    assert len(fake.transactions(str(order.pk))) == 1


def test_requeue_of_a_sold_order_publishes_its_verify(fake, published, committed):
    # given
    order = OrderFactory(status=OrderStatus.PROCESSING, transaction_id="fake000001")
    # when
    with committed():
        order_requeue(order_id=order.pk)
    # then
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PROCESSING
    assert published == [("verify_order_task", str(order.pk))]


@pytest.mark.parametrize("service", [order_requeue, order_reverify])
@pytest.mark.parametrize("status", [OrderStatus.PAID, OrderStatus.FAILED])
def test_a_final_order_cannot_be_requeued_or_reverified(fake, published, service, status):
    # given
    order = OrderFactory(status=status, transaction_id="fake000001")
    # when / then
    with pytest.raises(IllegalTransition):
        service(order_id=order.pk)
    assert Order.objects.get(pk=order.pk).status == status
    assert (published, fake.calls) == ([], [])


def test_reverify_adopts_a_sale_the_order_never_recorded_and_marks_it_paid(fake):
    # given: a parked order whose sale went through at the gateway
    order = OrderFactory(amount=Decimal("10.00"), status=OrderStatus.NEEDS_REVIEW)
    sale = fake.sale(order_id=str(order.pk), amount=order.amount, nonce="fake-valid-nonce", api_request_key="k")
    # when
    result = order_reverify(order_id=order.pk)
    # then
    assert (result.status, result.transaction_id) == (OrderStatus.PAID, sale.transaction.id)
    assert trail(result) == [
        ("search", "found_paid"),
        ("transition", "sale_adopted"),
        ("find", "found"),
        ("transition", "verified_paid"),
    ]


def test_reverify_of_a_parked_order_without_any_sale_leaves_it_parked(fake):
    # given
    order = OrderFactory(status=OrderStatus.NEEDS_REVIEW)
    # when
    result = order_reverify(order_id=order.pk)
    # then
    assert result.status == OrderStatus.NEEDS_REVIEW
    assert trail(result) == [("search", "no_paid_sale")]


def test_reverify_settles_a_parked_order_with_a_recorded_sale(fake, published, committed):
    # given: a sold order parked because its finds kept failing
    order = OrderFactory(amount=Decimal("10.00"))
    with committed():
        order_charge(order_id=order.pk)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.NEEDS_REVIEW)
    # when
    result = order_reverify(order_id=order.pk)
    # then
    assert result.status == OrderStatus.PAID
