"""payments/core/lifecycle.py: the allowed moves, the lock, the ending path and event rows."""

import pytest
from django.db import transaction
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from payments.core.exceptions import IllegalTransition
from payments.core.statuses import OrderStatus
from payments.models import LastSaleOutcome, OrderEvent
from payments.core.lifecycle import (
    ALLOWED_TRANSITIONS,
    order_end_locked,
    order_lock,
    order_park,
    sale_event_record,
    transition_locked,
)
from tests.factories import OrderFactory
from tests.fixtures.services import trail

pytestmark = pytest.mark.django_db
Outcome = OrderEvent.Outcome


def test_transition_saves_the_status_and_appends_one_event():
    # given
    order = OrderFactory(status=OrderStatus.PENDING)
    # when
    with transaction.atomic():
        transition_locked(order_lock(order.pk), OrderStatus.PROCESSING, outcome=Outcome.CLAIMED, claims=1)
    # then
    order.refresh_from_db()
    assert (order.status, order.claims) == (OrderStatus.PROCESSING, 1)
    event = order.events.get()
    assert (event.from_status, event.to_status, event.outcome) == ("pending", "processing", "claimed")


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    [
        (OrderStatus.PAID, OrderStatus.PROCESSING),
        (OrderStatus.FAILED, OrderStatus.PAID),
        (OrderStatus.PENDING, OrderStatus.PAID),
        (OrderStatus.NEEDS_REVIEW, OrderStatus.PENDING),
    ],
)
def test_a_move_the_lifecycle_does_not_allow_raises_and_changes_nothing(from_status, to_status):
    # given
    order = OrderFactory(status=from_status, transaction_id="fake000001")
    assert to_status not in ALLOWED_TRANSITIONS[from_status]
    # when / then
    with pytest.raises(IllegalTransition):
        transition_locked(order, to_status, outcome=Outcome.PARKED)
    order.refresh_from_db()
    assert order.status == from_status
    assert not order.events.exists()


@pytest.mark.django_db(transaction=True)
def test_the_lock_helper_refuses_to_run_outside_a_transaction():
    # given
    order = OrderFactory()
    # when / then: a select_for_update outside atomic() would lock nothing
    with pytest.raises(TransactionManagementError):
        order_lock(order.pk)


def test_ending_an_order_as_failed_drops_its_lease_and_nonce():
    # given
    order = OrderFactory(status=OrderStatus.PROCESSING, lease_expires_at=timezone.now())
    # when
    with transaction.atomic():
        order_end_locked(order_lock(order.pk), OrderStatus.FAILED, outcome=Outcome.SALE_DECLINED, reason="x" * 300)
    # then
    order.refresh_from_db()
    assert (order.status, order.lease_expires_at, order.payment_method_nonce) == (OrderStatus.FAILED, None, "")
    assert order.failure_reason == "x" * 255


def test_parking_an_order_keeps_its_nonce_so_a_requeue_can_still_sell():
    # given
    order = OrderFactory(status=OrderStatus.PROCESSING, lease_expires_at=timezone.now())
    # when
    order_park(order.pk, reason="Gateway refused our credentials.")
    # then
    order.refresh_from_db()
    assert (order.status, order.lease_expires_at) == (OrderStatus.NEEDS_REVIEW, None)
    assert order.payment_method_nonce == "fake-valid-nonce"
    assert trail(order) == [("transition", "parked")]


@pytest.mark.parametrize("status", [OrderStatus.PAID, OrderStatus.FAILED, OrderStatus.NEEDS_REVIEW])
def test_parking_leaves_a_final_or_parked_order_alone(status):
    # given
    order = OrderFactory(status=status, transaction_id="fake000001")
    # when
    order_park(order.pk, reason="late misconfiguration")
    # then
    order.refresh_from_db()
    assert order.status == status
    assert not order.events.exists()


def test_a_sale_event_also_records_the_sale_outcome_on_the_order():
    # given
    order = OrderFactory(status=OrderStatus.PROCESSING)
    # when
    sale_event_record(order, LastSaleOutcome.UNAVAILABLE, detail={"error": "timeout"})
    # then
    order.refresh_from_db()
    assert order.last_sale_outcome == LastSaleOutcome.UNAVAILABLE
    assert trail(order) == [("sale", "unavailable")]
