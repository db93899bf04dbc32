"""Charge, verify, reconcile and admin services in-process, against the simulator over HTTP."""

import importlib
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from payments import gateways
from payments.core.exceptions import IllegalTransition, OrderLeased
from payments.core.statuses import OrderStatus
from payments.models import LastSaleOutcome, Order, OrderEvent
from payments.orders.selectors import orders_in_doubt, orders_stuck
from payments.orders.services import (
    order_charge,
    order_give_up,
    order_reverify,
    order_verify,
    orders_reconcile,
)
from tests.factories import OrderFactory
from tests.fixtures.pipeline import purge_our_queues, sales_in_ledger

pytestmark = pytest.mark.django_db


@pytest.fixture
def our_queues_purged():
    """The reconciler publishes for real; no message may outlive the test's rolled-back rows."""
    yield
    purge_our_queues()


def test_duplicate_delivery_while_a_lease_is_live_sells_nothing_and_says_until_when(sim):
    # given: another worker claimed the order a moment ago
    lease_end = timezone.now() + timedelta(seconds=60)
    order = OrderFactory(status=OrderStatus.PROCESSING, claims=1, lease_expires_at=lease_end)
    # when
    with pytest.raises(OrderLeased) as leased:
        order_charge(order_id=order.pk)
    # then
    assert leased.value.until == lease_end
    order.refresh_from_db()
    assert (order.status, order.claims) == (OrderStatus.PROCESSING, 1)
    assert sales_in_ledger(sim, order.pk) == []


@pytest.mark.parametrize("status", [OrderStatus.PAID, OrderStatus.FAILED, OrderStatus.NEEDS_REVIEW])
def test_charge_of_a_settled_or_parked_order_does_nothing(sim, status):
    # given
    order = OrderFactory(status=status, transaction_id="k7x2m9qp" if status == OrderStatus.PAID else None)
    # when
    order_charge(order_id=order.pk)
    # then
    order.refresh_from_db()
    assert order.status == status
    assert not order.events.exists()


def test_order_claimed_too_often_is_parked_for_review(sim, settings):
    # given: a poison order whose workers kept dying
    order = OrderFactory(status=OrderStatus.PROCESSING, claims=settings.PAYMENTS_MAX_CLAIMS)
    # when
    order_charge(order_id=order.pk)
    # then
    order.refresh_from_db()
    assert order.status == OrderStatus.NEEDS_REVIEW
    assert order.events.get().outcome == "claims_exhausted"
    assert sales_in_ledger(sim, order.pk) == []


def sell_as_a_dead_worker(order, *, attempt=0):
    """The sale a first worker made before it died without recording it (a real one, at the simulator)."""
    result = gateways.get_gateway().sale(
        order_id=str(order.pk),
        amount=order.amount,
        nonce=order.payment_method_nonce,
        api_request_key=f"{order.pk}:{attempt}",
        merchant_account_id=order.merchant_account_id,
    )
    assert result.transaction is not None and result.transaction.is_paid
    return result.transaction.id


def test_reclaimed_order_adopts_the_earlier_sale_instead_of_selling_again(sim, django_capture_on_commit_callbacks):
    # given: a first worker claimed and sold, then died before recording (its lease has expired)
    order = OrderFactory(amount=Decimal("15.00"))
    first_sale = sell_as_a_dead_worker(order)
    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.PROCESSING, claims=1, ever_claimed=True, lease_expires_at=timezone.now()
    )
    # when
    with django_capture_on_commit_callbacks():
        order_charge(order_id=order.pk)
    # then
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.transaction_id == first_sale
    assert [s["id"] for s in sales_in_ledger(sim, order.pk)] == [first_sale]
    assert order.events.filter(action=OrderEvent.Action.SEARCH, outcome="found_paid").count() == 1
    assert not order.events.filter(action=OrderEvent.Action.SALE).exists()


def test_consumed_nonce_adopts_the_orders_own_earlier_sale(sim, django_capture_on_commit_callbacks):
    # given: a single-use nonce already spent by this order's first sale, whose answer was lost;
    # the retry runs with a fresh key (attempt 1), so the gateway answers 91564 instead of replaying
    nonce = sim.mint_nonce()
    order = OrderFactory(payment_method_nonce=nonce, sale_attempt=1)
    first_sale = sell_as_a_dead_worker(order, attempt=0)
    # when
    with django_capture_on_commit_callbacks():
        order_charge(order_id=order.pk)
    # then
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.transaction_id == first_sale
    assert list(order.events.filter(action=OrderEvent.Action.SALE).values_list("detail", flat=True)) == [
        {"error_codes": ["91564"], "attempt": 1}
    ]
    assert len(sales_in_ledger(sim, order.pk)) == 1


def test_verify_with_an_amount_mismatch_needs_review(sim):
    # given: the gateway holds 10.00 for this order but the order row says 11.00
    order = OrderFactory(amount=Decimal("10.00"))
    sale = sell_as_a_dead_worker(order)
    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.PROCESSING, transaction_id=sale, amount=Decimal("11.00"), payment_method_nonce=""
    )
    # when
    order_verify(order_id=order.pk)
    # then
    order.refresh_from_db()
    assert order.status == OrderStatus.NEEDS_REVIEW
    assert "10.00" in order.failure_reason


def test_verify_of_a_sold_order_marks_it_paid(sim, django_capture_on_commit_callbacks):
    # given
    order = OrderFactory(amount=Decimal("10.00"))
    with django_capture_on_commit_callbacks() as callbacks:
        order_charge(order_id=order.pk)
    assert len(callbacks) == 1
    # when
    order_verify(order_id=order.pk)
    # then
    order.refresh_from_db()
    [sale] = sales_in_ledger(sim, order.pk)
    assert (order.status, order.transaction_id, order.gateway_status) == (
        OrderStatus.PAID,
        sale["id"],
        "submitted_for_settlement",
    )


def test_giving_up_after_unknown_outcomes_needs_review_but_after_processor_failures_fails(sim):
    # given
    unknown = OrderFactory(status=OrderStatus.PROCESSING, claims=4, last_sale_outcome=LastSaleOutcome.UNAVAILABLE)
    declined_by_processor = OrderFactory(
        status=OrderStatus.PROCESSING, claims=4, last_sale_outcome=LastSaleOutcome.PROCESSOR_FAILED
    )
    # when
    order_give_up(order_id=unknown.pk, reason="retries exhausted")
    order_give_up(order_id=declined_by_processor.pk, reason="retries exhausted")
    # then
    unknown.refresh_from_db()
    declined_by_processor.refresh_from_db()
    assert unknown.status == OrderStatus.NEEDS_REVIEW
    assert declined_by_processor.status == OrderStatus.FAILED


def test_admin_reverify_adopts_a_sale_the_order_never_recorded(sim, django_capture_on_commit_callbacks):
    # given: a parked order whose sale went through at the gateway
    order = OrderFactory(amount=Decimal("10.00"))
    with django_capture_on_commit_callbacks():
        order_charge(order_id=order.pk)
    sale_id = Order.objects.get(pk=order.pk).transaction_id
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.NEEDS_REVIEW, transaction_id=None)
    # when
    result = order_reverify(order_id=order.pk)
    # then
    assert (result.status, result.transaction_id) == (OrderStatus.PAID, sale_id)


def test_admin_reverify_of_a_paid_order_is_refused(sim):
    # given
    order = OrderFactory(status=OrderStatus.PAID, transaction_id="k7x2m9qp")
    # when / then
    with pytest.raises(IllegalTransition):
        order_reverify(order_id=order.pk)


def test_stuck_orders_are_pending_or_processing_with_an_expired_lease():
    # given
    now = timezone.now()
    old = now - timedelta(minutes=10)
    stale_pending = OrderFactory(status=OrderStatus.PENDING)
    expired_processing = OrderFactory(status=OrderStatus.PROCESSING, lease_expires_at=now - timedelta(seconds=1))
    leased_processing = OrderFactory(status=OrderStatus.PROCESSING, lease_expires_at=now + timedelta(seconds=60))
    fresh_pending = OrderFactory(status=OrderStatus.PENDING)
    paid = OrderFactory(status=OrderStatus.PAID, transaction_id="k7x2m9qp")
    Order.objects.exclude(pk=fresh_pending.pk).update(updated_at=old)
    # when
    stuck = orders_stuck(pending_after_seconds=60, processing_after_seconds=60, limit=10, now=now)
    # then
    assert {o.pk for o in stuck} == {stale_pending.pk, expired_processing.pk}
    assert leased_processing.pk not in {o.pk for o in stuck} and paid.pk not in {o.pk for o in stuck}


def test_stuck_order_query_can_use_the_partial_active_index():
    # given: a planner told to avoid sequential scans whenever an index can answer
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    # when
    plan = orders_stuck(pending_after_seconds=60, processing_after_seconds=60, limit=500).explain()
    # then
    assert "order_active_by_age" in plan


def test_parked_order_recheck_query_can_use_its_partial_index():
    # given: a planner told to avoid sequential scans whenever an index can answer
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    # when
    plan = orders_in_doubt(recheck_after_seconds=60, window_seconds=3600, limit=500).explain()
    # then
    assert "order_in_review_by_age" in plan


def test_reconciler_dispatches_each_stuck_order_once_per_threshold(our_queues_purged):
    # given
    old = timezone.now() - timedelta(minutes=10)
    pending = OrderFactory(status=OrderStatus.PENDING)
    sold = OrderFactory(status=OrderStatus.PROCESSING, transaction_id="k7x2m9qp", lease_expires_at=None)
    Order.objects.update(updated_at=old)
    # when
    first = orders_reconcile(pending_after_seconds=60, processing_after_seconds=60, limit=10)
    second = orders_reconcile(pending_after_seconds=60, processing_after_seconds=60, limit=10)
    # then
    assert first == {"charge": 1, "verify": 1, "publish_failed": 0, "adopted": 0}
    assert second == {"charge": 0, "verify": 0, "publish_failed": 0, "adopted": 0}
    assert pending.events.get().outcome == "reconciler_charge"
    assert sold.events.get().outcome == "reconciler_verify"


def test_reconciler_leaves_an_order_that_moved_on_since_its_snapshot(our_queues_purged, monkeypatch):
    # given: the reconciler's query saw the order stuck in processing, but a worker has since
    # recorded it as paid (a backlog makes such snapshots stale)
    order = OrderFactory(status=OrderStatus.PROCESSING, transaction_id="k7x2m9qp", lease_expires_at=None)
    Order.objects.filter(pk=order.pk).update(updated_at=timezone.now() - timedelta(minutes=10))
    snapshot = list(orders_stuck(pending_after_seconds=60, processing_after_seconds=60, limit=10))
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.PAID, updated_at=timezone.now())
    monkeypatch.setattr("payments.orders.services.reconcile.orders_stuck", lambda **kwargs: snapshot)
    # when
    counts = orders_reconcile(pending_after_seconds=60, processing_after_seconds=60, limit=10)
    # then: nothing is re-sent and no audit row claims the paid order was still processing
    assert counts == {"charge": 0, "verify": 0, "publish_failed": 0, "adopted": 0}
    assert not order.events.exists()


def park_with_a_late_sale(order, sim):
    """The order's sale lands at the gateway, but the order was parked before it heard back."""
    gateways.get_gateway().sale(
        order_id=str(order.pk), amount=order.amount, nonce="fake-valid-nonce", api_request_key=f"{order.pk}:0"
    )
    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.NEEDS_REVIEW, updated_at=timezone.now() - timedelta(minutes=5)
    )
    [sale] = sales_in_ledger(sim, order.pk)
    return sale


def test_reconciler_adopts_a_sale_that_landed_after_the_order_was_parked(sim, our_queues_purged):
    # given
    order = OrderFactory(amount=Decimal("12.34"), status=OrderStatus.PROCESSING)
    sale = park_with_a_late_sale(order, sim)
    # when
    counts = orders_reconcile(pending_after_seconds=60, processing_after_seconds=60, limit=10)
    # then: the charge is recorded on its order, not orphaned
    order.refresh_from_db()
    assert counts["adopted"] == 1
    assert (order.status, order.transaction_id, order.amount) == (OrderStatus.PAID, sale["id"], Decimal(sale["amount"]))
    assert order.events.filter(outcome="late_sale_adopted", from_status="needs_review", to_status="paid").exists()


def test_reconciler_asks_about_a_parked_order_once_per_threshold(sim, our_queues_purged):
    # given: a parked order whose sale never happened
    order = OrderFactory(status=OrderStatus.NEEDS_REVIEW)
    Order.objects.filter(pk=order.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    # when
    first = orders_reconcile(pending_after_seconds=60, processing_after_seconds=60, limit=10)
    second = orders_reconcile(pending_after_seconds=60, processing_after_seconds=60, limit=10)
    # then
    order.refresh_from_db()
    assert first["adopted"] == second["adopted"] == 0
    assert order.status == OrderStatus.NEEDS_REVIEW
    assert list(order.events.values_list("action", "outcome")) == [("search", "no_paid_sale")]


def test_reconciler_leaves_a_parked_order_whose_late_sale_has_another_amount(sim, our_queues_purged):
    # given
    order = OrderFactory(amount=Decimal("12.34"), status=OrderStatus.PROCESSING)
    park_with_a_late_sale(order, sim)
    Order.objects.filter(pk=order.pk).update(amount=Decimal("99.00"))
    # when
    counts = orders_reconcile(pending_after_seconds=60, processing_after_seconds=60, limit=10)
    # then: a human must look
    order.refresh_from_db()
    assert counts["adopted"] == 0
    assert (order.status, order.transaction_id) == (OrderStatus.NEEDS_REVIEW, None)
    assert order.events.filter(outcome="late_sale_amount_mismatch").exists()


def test_data_migration_creates_the_reconcile_schedule_once_and_keeps_admin_edits():
    # given
    migration = importlib.import_module("payments.migrations.0002_reconcile_periodic_task")
    PeriodicTask.objects.filter(name=migration.TASK_NAME).delete()
    migration.create_reconcile_task(django_apps, None)
    task = PeriodicTask.objects.get(name=migration.TASK_NAME)
    task.enabled = False
    task.save()
    # when: the migration runs again (e.g. on another database that was restored)
    migration.create_reconcile_task(django_apps, None)
    # then
    task = PeriodicTask.objects.get(name=migration.TASK_NAME)
    assert task.enabled is False
    assert task.task == "payments.tasks.reconcile_orders_task"
    assert (task.interval.every, task.interval.period) == (60, "seconds")
    assert task.queue == "maintenance"
    assert task.expire_seconds == 60
    assert json.loads(task.kwargs) == {
        "pending_after_seconds": 60, "processing_after_seconds": 60, "limit": 500, "review_window_seconds": 3600,
    }
