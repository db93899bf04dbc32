"""A claim's lease is renewed while its holder works, and only then (payments/core/leases.py).

The keeper renews from a thread of its own, on a connection of its own, so these tests commit
their rows (transaction=True) as the workers do.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from devtools.polling import wait_until
from payments.core.leases import LeaseKeeper, lease_kept
from payments.core.statuses import OrderStatus, RefundStatus
from payments.models import Order, Refund
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db(transaction=True)


def claimed(lease_seconds=1.0, **fields):
    fields.setdefault("status", OrderStatus.PROCESSING)
    fields.setdefault("claims", 1)
    return OrderFactory(lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds), **fields)


def lease_of(row):
    return type(row).objects.get(pk=row.pk).lease_expires_at


@pytest.fixture
def keeper():
    """A keeper of the test's own; whatever it still holds is released afterwards (its thread idles)."""
    keeper = LeaseKeeper()
    handles = []
    hold = keeper.hold
    keeper.hold = lambda row, *status: handles.append(hold(row, *status)) or handles[-1]
    yield keeper
    for handle in handles:
        keeper.release(handle)


def test_a_held_live_lease_is_extended_by_one_lease_from_now(keeper, settings):
    # given
    settings.PAYMENTS_CLAIM_LEASE_SECONDS = 30
    order = claimed(lease_seconds=1)
    keeper.hold(order)

    # when
    renewed = keeper.renew()

    # then
    assert renewed == 1
    assert lease_of(order) > timezone.now() + timedelta(seconds=25)


def test_leases_are_renewed_only_for_the_holders_own_live_claim(keeper, settings):
    # given a holder for each of: a released lease, a lapsed one, a claim someone else took since,
    # an order that was decided, and one that was never touched
    settings.PAYMENTS_CLAIM_LEASE_SECONDS = 30
    released = claimed()
    Order.objects.filter(pk=released.pk).update(lease_expires_at=None)
    lapsed = claimed(lease_seconds=-1)
    taken_over = claimed()
    Order.objects.filter(pk=taken_over.pk).update(claims=2)
    decided = claimed()
    Order.objects.filter(pk=decided.pk).update(status=OrderStatus.FAILED, lease_expires_at=None)
    for order in (released, lapsed, taken_over, decided):
        keeper.hold(order)

    # when
    renewed = keeper.renew()

    # then none is given a lease: only a live claim of the holder's own is kept alive
    assert renewed == 0
    assert lease_of(released) is None and lease_of(decided) is None
    assert lease_of(lapsed) < timezone.now()
    assert lease_of(taken_over) < timezone.now() + timedelta(seconds=5)


def test_a_released_holder_is_renewed_no_more(keeper, settings):
    # given
    settings.PAYMENTS_CLAIM_LEASE_SECONDS = 30
    order = claimed()
    keeper.release(keeper.hold(order))

    # when
    renewed = keeper.renew()

    # then
    assert renewed == 0


def test_a_holder_past_the_longest_hold_is_renewed_no_more(keeper, settings):
    # given a holder stuck for longer than any charge can take
    settings.PAYMENTS_CLAIM_LEASE_SECONDS = 30
    settings.PAYMENTS_CLAIM_HOLD_MAX_SECONDS = 0
    order = claimed()
    keeper.hold(order)

    # when
    renewed = keeper.renew()

    # then its claim lapses as a dead holder's would
    assert renewed == 0


def test_refund_claims_are_renewed_too(keeper, settings):
    # given
    settings.PAYMENTS_CLAIM_LEASE_SECONDS = 30
    order = OrderFactory(status=OrderStatus.PAID, transaction_id="k7x2m9qp")
    refund = Refund.objects.create(order=order, amount=order.amount, status=RefundStatus.PROCESSING, claims=1,
                                   lease_expires_at=timezone.now() + timedelta(seconds=1))
    keeper.hold(refund)

    # when
    renewed = keeper.renew()

    # then
    assert renewed == 1
    assert lease_of(refund) > timezone.now() + timedelta(seconds=25)


def test_lease_kept_renews_from_its_own_thread_while_the_block_runs(settings):
    # given a lease shorter than the work (and longer than the process keeper's pass, which an
    # earlier test may have started on the default interval)
    settings.PAYMENTS_CLAIM_LEASE_SECONDS = 3
    settings.PAYMENTS_CLAIM_RENEW_SECONDS = 0.2
    order = claimed(lease_seconds=3)
    first = lease_of(order)

    # when the holder works for several leases
    with lease_kept(order):
        later = wait_until(lambda: (lease := lease_of(order)) > first + timedelta(seconds=1) and lease,
                           timeout=10, desc="a renewed lease")

    # then the lease was moved on while the block ran, and stops moving once it ended
    assert later > first
    wait_until(lambda: lease_of(order) < timezone.now(), timeout=10, desc="the lease lapsing")


def test_a_capture_claim_is_renewed_in_status_authorized_and_stops_once_recorded(keeper, settings):
    # given: a manual order claimed for its capture (it stays authorized while the call runs)
    settings.PAYMENTS_CLAIM_LEASE_SECONDS = 30
    order = claimed(lease_seconds=1, status=OrderStatus.AUTHORIZED, capture="manual", transaction_id="t1")
    keeper.hold(order, OrderStatus.AUTHORIZED)
    # when / then: renewed while authorized
    assert keeper.renew() == 1
    assert lease_of(order) > timezone.now() + timedelta(seconds=25)
    # and not once the capture is recorded (the order is paid)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.PAID)
    assert keeper.renew() == 0
