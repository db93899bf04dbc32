"""payments/refunds/services.py on the fake gateway: reserve, void or refund, adopt, never twice."""

from decimal import Decimal
from unittest import mock

import pytest

from payments.core.exceptions import (
    GatewayUnavailable,
    IdempotencyKeyReused,
    RefundNotAllowed,
    RefundTooLarge,
    RefundWaitsForSettlement,
)
from payments.core.statuses import OrderStatus
from payments.models import Order, Refund
from payments.orders.services import order_charge, order_verify
from payments.refunds.services import refund_charge, refund_create
from payments.core.statuses import RefundKind, RefundStatus
from payments.tasks import refund_order_task
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def refunds_sent():
    sent = []
    with mock.patch.object(refund_order_task, "apply_async", side_effect=lambda args=None, **kw: sent.append(args[0])):
        yield sent


@pytest.fixture
def paid(fake, published, committed):
    """A paid order of 10.00 whose sale is submitted for settlement (not settled)."""
    order = OrderFactory(amount=Decimal("10.00"))
    order_charge(order_id=order.pk)
    order_verify(order_id=order.pk)
    order = Order.objects.get(pk=order.pk)
    assert order.status == OrderStatus.PAID
    return order


def credits(fake):
    return [t for t in fake.transactions() if t.type == "credit"]


def test_a_full_refund_of_an_unsettled_sale_voids_it(paid, fake, refunds_sent, committed):
    # given
    with committed():
        refund = refund_create(order_id=paid.pk).refund
    assert refunds_sent == [str(refund.pk)]
    # when
    refund_charge(refund_id=refund.pk)
    # then
    refund.refresh_from_db()
    paid.refresh_from_db()
    assert (refund.status, refund.kind, refund.transaction_id) == (RefundStatus.SUCCEEDED, RefundKind.VOID, paid.transaction_id)
    assert fake.find(paid.transaction_id).status == "voided"
    assert (paid.status, paid.refunded_amount, paid.gateway_status) == (OrderStatus.REFUNDED, Decimal("10.00"), "voided")
    assert credits(fake) == []


def test_a_partial_refund_of_an_unsettled_sale_waits_pending(paid, fake, refunds_sent):
    # given
    refund = refund_create(order_id=paid.pk, amount=Decimal("4.00")).refund
    # when / then
    with pytest.raises(RefundWaitsForSettlement):
        refund_charge(refund_id=refund.pk)
    refund.refresh_from_db()
    assert (refund.status, refund.claims, refund.ever_sent) == (RefundStatus.PENDING, 0, False)
    assert fake.find(paid.transaction_id).status == "submitted_for_settlement"
    # waiting is not failing: the reason is in status_detail, failure_reason stays blank
    assert (refund.failure_reason, refund.status_detail) == (
        "", "Waiting for the sale to settle (a partial refund cannot void it)."
    )


def test_a_waiting_refund_that_then_succeeds_no_longer_says_it_waits(paid, fake, refunds_sent):
    # given a partial refund that waited for settlement
    refund = refund_create(order_id=paid.pk, amount=Decimal("4.00")).refund
    with pytest.raises(RefundWaitsForSettlement):
        refund_charge(refund_id=refund.pk)
    # when the sale settles and the refund runs again
    fake.settle(paid.transaction_id)
    refund_charge(refund_id=refund.pk)
    # then
    refund.refresh_from_db()
    assert (refund.status, refund.kind, refund.status_detail, refund.failure_reason) == (
        RefundStatus.SUCCEEDED, "refund", "", ""
    )


def test_partial_refunds_of_a_settled_sale_move_the_order_to_refunded(paid, fake, refunds_sent):
    # given
    fake.settle(paid.transaction_id)
    first = refund_create(order_id=paid.pk, amount=Decimal("4.00")).refund
    second = refund_create(order_id=paid.pk).refund
    assert second.amount == Decimal("6.00")
    # when
    refund_charge(refund_id=first.pk)
    paid.refresh_from_db()
    assert (paid.status, paid.refunded_amount) == (OrderStatus.PARTIALLY_REFUNDED, Decimal("4.00"))
    refund_charge(refund_id=second.pk)
    # then
    paid.refresh_from_db()
    assert (paid.status, paid.refunded_amount) == (OrderStatus.REFUNDED, Decimal("10.00"))
    assert sorted(c.amount for c in credits(fake)) == [Decimal("4.00"), Decimal("6.00")]
    assert {c.order_id for c in credits(fake)} == {str(first.pk), str(second.pk)}


def test_a_refund_over_the_remainder_is_refused_and_nothing_is_stored(paid, refunds_sent):
    refund_create(order_id=paid.pk, amount=Decimal("7.00"))
    with pytest.raises(RefundTooLarge):
        refund_create(order_id=paid.pk, amount=Decimal("3.01"))
    assert Refund.objects.filter(order=paid).count() == 1


def test_an_order_that_is_not_paid_cannot_be_refunded(fake, refunds_sent):
    order = OrderFactory()
    with pytest.raises(RefundNotAllowed):
        refund_create(order_id=order.pk)
    assert not Refund.objects.exists()


def test_a_replayed_key_returns_the_same_refund_and_another_body_is_refused(paid, refunds_sent):
    first = refund_create(order_id=paid.pk, amount=Decimal("2.00"), idempotency_key="k1")
    again = refund_create(order_id=paid.pk, amount=Decimal("2.00"), idempotency_key="k1")
    assert (first.created, again.created, again.refund.pk) == (True, False, first.refund.pk)
    with pytest.raises(IdempotencyKeyReused):
        refund_create(order_id=paid.pk, amount=Decimal("3.00"), idempotency_key="k1")
    assert Refund.objects.count() == 1


def test_a_refund_whose_answer_was_lost_is_adopted_not_repeated(paid, fake, refunds_sent):
    # given: the gateway refunds, then the answer is lost
    fake.settle(paid.transaction_id)
    refund = refund_create(order_id=paid.pk, amount=Decimal("3.00")).refund
    fake.fail_next("refund", applied=True)
    with pytest.raises(GatewayUnavailable):
        refund_charge(refund_id=refund.pk)
    assert len(credits(fake)) == 1
    # when: the retry runs
    refund_charge(refund_id=refund.pk)
    # then: the earlier credit is recorded, no second refund call happened
    refund.refresh_from_db()
    assert (refund.status, refund.transaction_id) == (RefundStatus.SUCCEEDED, credits(fake)[0].id)
    assert [op for op, _ in fake.calls].count("refund") == 1
    assert len(credits(fake)) == 1


def test_a_void_whose_answer_was_lost_is_adopted(paid, fake, refunds_sent):
    refund = refund_create(order_id=paid.pk).refund
    fake.fail_next("void", applied=True)
    with pytest.raises(GatewayUnavailable):
        refund_charge(refund_id=refund.pk)
    refund_charge(refund_id=refund.pk)
    refund.refresh_from_db()
    assert (refund.status, refund.kind) == (RefundStatus.SUCCEEDED, RefundKind.VOID)
    assert [op for op, _ in fake.calls].count("void") == 1


def test_a_void_refused_because_the_sale_settled_meanwhile_becomes_a_refund(paid, fake, refunds_sent):
    # given: the sale settles between our find and our void
    refund = refund_create(order_id=paid.pk).refund
    real_find = fake.find

    def find_then_settle(txn_id):
        answer = real_find(txn_id)
        fake.settle(txn_id)
        return answer

    with mock.patch.object(fake, "find", side_effect=find_then_settle), pytest.raises(GatewayUnavailable):
        refund_charge(refund_id=refund.pk)
    # when
    refund_charge(refund_id=refund.pk)
    # then
    refund.refresh_from_db()
    assert (refund.status, refund.kind) == (RefundStatus.SUCCEEDED, RefundKind.REFUND)
    assert [c.amount for c in credits(fake)] == [Decimal("10.00")]


def test_a_declined_settlement_fails_the_refund(paid, fake, refunds_sent):
    fake.settle(paid.transaction_id, status="settlement_declined")
    refund = refund_create(order_id=paid.pk).refund
    refund_charge(refund_id=refund.pk)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    assert "settlement_declined" in refund.failure_reason


def test_a_redelivered_task_of_a_succeeded_refund_does_nothing(paid, fake, refunds_sent):
    fake.settle(paid.transaction_id)
    refund = refund_create(order_id=paid.pk, amount=Decimal("1.00")).refund
    refund_charge(refund_id=refund.pk)
    assert refund_charge(refund_id=refund.pk) is None
    assert len(credits(fake)) == 1


def test_a_sale_recorded_settled_resends_the_refunds_that_waited(paid, fake, refunds_sent, committed):
    from payments.webhooks.settlement import order_settlement_record

    # given: a partial refund waiting for settlement
    refund = refund_create(order_id=paid.pk, amount=Decimal("4.00")).refund
    with pytest.raises(RefundWaitsForSettlement):
        refund_charge(refund_id=refund.pk)
    refunds_sent.clear()
    # when
    fake.settle(paid.transaction_id)
    with committed():
        order_settlement_record(paid.pk, "settled", source="test")
    # then
    assert refunds_sent == [str(refund.pk)]
    refund_charge(refund_id=refund.pk)
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.SUCCEEDED


def test_the_sweep_resends_refunds_left_pending(paid, refunds_sent):
    from payments.webhooks.settlement import refunds_sweep

    refund = refund_create(order_id=paid.pk, amount=Decimal("1.00")).refund
    refunds_sent.clear()
    assert refunds_sweep(older_than_seconds=0) == 1
    assert refunds_sent == [str(refund.pk)]


def test_a_refund_task_out_of_retries_after_a_write_needs_review(paid, fake, refunds_sent):
    from payments.refunds.services import refund_give_up

    fake.settle(paid.transaction_id)
    refund = refund_create(order_id=paid.pk, amount=Decimal("1.00")).refund
    fake.fail_next("refund", applied=False)
    with pytest.raises(GatewayUnavailable):
        refund_charge(refund_id=refund.pk)
    refund_give_up(refund_id=refund.pk, reason="Gave up after 3 retries")
    refund.refresh_from_db()
    assert (refund.status, refund.failure_reason) == (RefundStatus.NEEDS_REVIEW, "Gave up after 3 retries")


def test_a_refund_event_names_the_status_a_concurrent_refund_gave_the_order(paid, fake, refunds_sent, monkeypatch):
    # given two partial refunds of a settled sale; the first one completes while the second one
    # is at the gateway (it was claimed while the order was still paid)
    fake.settle(paid.transaction_id)
    first = refund_create(order_id=paid.pk, amount=Decimal("4.00")).refund
    second = refund_create(order_id=paid.pk, amount=Decimal("3.00")).refund
    refund_at_gateway = fake.refund

    def the_first_completes_meanwhile(**call):
        if call["order_id"] == str(second.pk):
            refund_charge(refund_id=first.pk)
        return refund_at_gateway(**call)

    monkeypatch.setattr(fake, "refund", the_first_completes_meanwhile)
    # when
    refund_charge(refund_id=second.pk)
    # then: the second refund's events describe the order as it was when they were written
    events = list(paid.events.filter(detail__refund=str(second.pk), outcome="refunded").order_by("pk"))
    assert [(e.from_status, e.to_status) for e in events] == [
        (OrderStatus.PARTIALLY_REFUNDED, OrderStatus.PARTIALLY_REFUNDED),  # the gateway call
        (OrderStatus.PARTIALLY_REFUNDED, OrderStatus.PARTIALLY_REFUNDED),  # the transition
    ]
    paid.refresh_from_db()
    assert (paid.status, paid.refunded_amount) == (OrderStatus.PARTIALLY_REFUNDED, Decimal("7.00"))
