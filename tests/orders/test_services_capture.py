"""payments/orders/services/capture.py: manual capture, partial capture and cancel, on the fake gateway."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from payments.core.exceptions import (
    AuthorizationNotCapturable,
    CaptureTooLarge,
    GatewayUnavailable,
    IdempotencyKeyReused,
    IllegalTransition,
    RefundTooLarge,
)
from payments.core.statuses import OrderStatus
from payments.models import CaptureMode, Order
from payments.orders.services import (
    authorizations_reconcile,
    order_cancel,
    order_cancel_request,
    order_capture,
    order_capture_request,
    order_charge,
    order_requeue,
    orders_reconcile,
)
from payments.refunds.services import refund_create
from tests.factories import OrderFactory
from tests.fixtures.services import trail

pytestmark = pytest.mark.django_db


def authorized_order(amount="50.00"):
    """A manual-capture order, sold (authorized only) and verified."""
    order = OrderFactory(amount=Decimal(amount), capture=CaptureMode.MANUAL)
    order_charge(order_id=order.pk)
    order.refresh_from_db()
    return order


def test_a_manual_order_is_only_authorized_and_rests_in_authorized(fake, published):
    # when
    order = authorized_order("50.00")
    # then
    [sale] = fake.transactions(str(order.pk))
    assert sale.status == "authorized"
    assert (order.status, order.gateway_status, order.authorized_amount, order.captured_amount) == (
        OrderStatus.AUTHORIZED,
        "authorized",
        Decimal("50.00"),
        None,
    )
    assert order.payment_method_nonce == ""
    assert trail(order)[-1] == ("transition", "verified_authorized")


def test_an_automatic_order_is_captured_at_the_sale_as_before(fake, published):
    # when
    order = OrderFactory(amount=Decimal("50.00"))
    order_charge(order_id=order.pk)
    # then
    order.refresh_from_db()
    assert (order.status, order.gateway_status, order.authorized_amount) == (
        OrderStatus.PAID,
        "submitted_for_settlement",
        None,
    )


def test_a_partial_capture_settles_that_amount_and_pays_the_order(fake, published, committed):
    # given
    order = authorized_order("50.00")
    # when
    with committed():
        result = order_capture_request(order_id=order.pk, amount=Decimal("30.00"))
    order_capture(order_id=order.pk)
    # then
    assert result.created and published == [("capture_order_task", str(order.pk))]
    order.refresh_from_db()
    [sale] = fake.transactions(str(order.pk))
    assert (sale.status, sale.amount) == ("submitted_for_settlement", Decimal("30.00"))
    assert (order.status, order.captured_amount, order.authorized_amount) == (
        OrderStatus.PAID,
        Decimal("30.00"),
        Decimal("50.00"),
    )
    assert order.lease_expires_at is None
    assert trail(order)[-3:] == [("find", "found"), ("capture", "approved"), ("capture", "captured")]
    assert ("submit_for_settlement", f"{order.pk}:capture") in fake.calls


def test_a_capture_without_amount_captures_the_whole_authorization(fake, published):
    # given
    order = authorized_order("50.00")
    # when
    order_capture_request(order_id=order.pk)
    order_capture(order_id=order.pk)
    # then
    order.refresh_from_db()
    assert (order.status, order.captured_amount) == (OrderStatus.PAID, Decimal("50.00"))


def test_a_second_capture_and_a_cancel_after_a_capture_are_refused(fake, published):
    # given
    order = authorized_order()
    order_capture_request(order_id=order.pk, amount=Decimal("30.00"))
    # when / then: refused while the capture is under way, and once it is done
    with pytest.raises(AuthorizationNotCapturable):
        order_capture_request(order_id=order.pk, amount=Decimal("10.00"))
    with pytest.raises(AuthorizationNotCapturable):
        order_cancel_request(order_id=order.pk)
    order_capture(order_id=order.pk)
    with pytest.raises(AuthorizationNotCapturable):
        order_capture_request(order_id=order.pk)


def test_a_capture_above_the_authorization_is_refused_before_anything_is_recorded(fake, published):
    # given
    order = authorized_order("50.00")
    # when / then
    with pytest.raises(CaptureTooLarge):
        order_capture_request(order_id=order.pk, amount=Decimal("50.01"))
    order.refresh_from_db()
    assert (order.status, order.authorization_decision) == (OrderStatus.AUTHORIZED, "")
    assert published == []


def test_an_automatic_order_cannot_be_captured_or_canceled(fake, published):
    # given
    order = OrderFactory(amount=Decimal("50.00"))
    order_charge(order_id=order.pk)
    # when / then
    with pytest.raises(AuthorizationNotCapturable):
        order_capture_request(order_id=order.pk)
    with pytest.raises(AuthorizationNotCapturable):
        order_cancel_request(order_id=order.pk)


def test_a_cancel_voids_the_authorization_and_a_capture_after_it_is_refused(fake, published, committed):
    # given
    order = authorized_order()
    # when
    with committed():
        order_cancel_request(order_id=order.pk)
    order_cancel(order_id=order.pk)
    # then
    assert published == [("cancel_order_task", str(order.pk))]
    order.refresh_from_db()
    [sale] = fake.transactions(str(order.pk))
    assert (order.status, sale.status, order.captured_amount) == (OrderStatus.CANCELED, "voided", None)
    with pytest.raises(AuthorizationNotCapturable):
        order_capture_request(order_id=order.pk)


def test_the_losing_decisions_task_does_nothing(fake, published):
    # given: the capture claimed the authorization first
    order = authorized_order()
    order_capture_request(order_id=order.pk)
    # when: a cancel task for the order runs anyway (e.g. published by a stale client path)
    order_cancel(order_id=order.pk)
    # then: nothing was voided, and the capture still goes through
    assert [sale.status for sale in fake.transactions(str(order.pk))] == ["authorized"]
    order_capture(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_a_redelivered_capture_whose_answer_was_lost_does_not_capture_twice(fake, published):
    # given: the capture went through at the gateway, its answer was lost
    order = authorized_order()
    order_capture_request(order_id=order.pk, amount=Decimal("30.00"))
    fake.fail_next("submit_for_settlement", applied=True)
    with pytest.raises(GatewayUnavailable):
        order_capture(order_id=order.pk)
    order.refresh_from_db()
    assert (order.status, order.lease_expires_at) == (OrderStatus.AUTHORIZED, None)
    # when: the retry
    order_capture(order_id=order.pk)
    # then: it found the sale captured and recorded it, without a second write
    order.refresh_from_db()
    assert (order.status, order.captured_amount) == (OrderStatus.PAID, Decimal("30.00"))
    assert [call for call, _ in fake.calls].count("submit_for_settlement") == 1
    # and a third delivery is a no-op
    order_capture(order_id=order.pk)
    assert [call for call, _ in fake.calls].count("submit_for_settlement") == 1


def test_an_expired_authorization_is_recorded_as_expired_not_captured(fake, published):
    # given
    order = authorized_order()
    fake.alter(order.transaction_id, status="authorization_expired")
    order_capture_request(order_id=order.pk)
    # when
    order_capture(order_id=order.pk)
    # then
    order.refresh_from_db()
    assert (order.status, order.captured_amount) == (OrderStatus.AUTHORIZATION_EXPIRED, None)
    assert "submit_for_settlement" not in [call for call, _ in fake.calls]


def test_an_idempotency_key_replays_the_same_capture_and_refuses_another_body(fake, published):
    # given
    order = authorized_order()
    first = order_capture_request(order_id=order.pk, amount=Decimal("30.00"), idempotency_key="k1")
    # when
    replay = order_capture_request(order_id=order.pk, amount=Decimal("30.00"), idempotency_key="k1")
    # then
    assert (first.created, replay.created, replay.order.pk) == (True, False, order.pk)
    with pytest.raises(IdempotencyKeyReused):
        order_capture_request(order_id=order.pk, amount=Decimal("20.00"), idempotency_key="k1")


def test_a_refund_of_a_partly_captured_order_refunds_at_most_the_captured_amount(fake, published):
    # given
    order = authorized_order("50.00")
    order_capture_request(order_id=order.pk, amount=Decimal("30.00"))
    order_capture(order_id=order.pk)
    # when / then
    with pytest.raises(RefundTooLarge):
        refund_create(order_id=order.pk, amount=Decimal("30.01"))
    refund = refund_create(order_id=order.pk).refund
    assert refund.amount == Decimal("30.00")


def test_the_reconciler_records_an_authorization_the_gateway_expired(fake, published):
    # given: an authorization past the expiry the gateway gave, which the gateway now calls expired
    order = authorized_order()
    Order.objects.filter(pk=order.pk).update(authorization_expires_at=timezone.now() - timedelta(seconds=1))
    fake.alter(order.transaction_id, status="authorization_expired")
    # when
    counts = authorizations_reconcile(idle_seconds=60, limit=10)
    # then
    order.refresh_from_db()
    assert counts == {"decision": 0, "expired": 1}
    assert order.status == OrderStatus.AUTHORIZATION_EXPIRED
    with pytest.raises(AuthorizationNotCapturable):
        order_capture_request(order_id=order.pk)


def test_the_reconciler_leaves_an_authorization_the_gateway_still_holds(fake, published):
    # given: our clock says expired, the gateway's not yet
    order = authorized_order()
    Order.objects.filter(pk=order.pk).update(authorization_expires_at=timezone.now() - timedelta(seconds=1))
    # when
    first = authorizations_reconcile(idle_seconds=60, limit=10)
    second = authorizations_reconcile(idle_seconds=60, limit=10)
    # then: still authorized, and asked once per idle period
    order.refresh_from_db()
    assert first == second == {"decision": 0, "expired": 0}
    assert order.status == OrderStatus.AUTHORIZED
    assert [call for call, _ in fake.calls].count("find") == 2  # the verify's find, then the reconciler's


def test_the_reconciler_resends_a_capture_whose_task_was_lost(fake, published, committed):
    # given: a capture recorded a while ago whose task never ran
    order = authorized_order()
    order_capture_request(order_id=order.pk)
    Order.objects.filter(pk=order.pk).update(updated_at=timezone.now() - timedelta(seconds=120))
    # when
    counts = authorizations_reconcile(idle_seconds=60, limit=10)
    # then
    assert counts == {"decision": 1, "expired": 0}
    assert published == [("capture_order_task", str(order.pk))]


def test_a_manual_orders_late_sale_is_adopted_as_an_authorization(fake, published):
    # given: a manual order parked without a sale, whose authorization landed late at the gateway
    order = OrderFactory(amount=Decimal("50.00"), capture=CaptureMode.MANUAL, status=OrderStatus.NEEDS_REVIEW)
    fake.sale(order_id=str(order.pk), amount=Decimal("50.00"), nonce="fake-valid-nonce", api_request_key="late",
              merchant_account_id="sim_merchant_account", submit_for_settlement=False)
    Order.objects.filter(pk=order.pk).update(updated_at=timezone.now() - timedelta(seconds=120))
    # when
    counts = orders_reconcile(pending_after_seconds=60, processing_after_seconds=60, limit=10)
    # then: authorized, waiting for a capture, not paid
    order.refresh_from_db()
    assert counts["adopted"] == 1
    assert (order.status, order.authorized_amount, order.captured_amount) == (
        OrderStatus.AUTHORIZED, Decimal("50.00"), None)


def test_an_admin_cannot_requeue_an_authorized_order(fake, published):
    # given
    order = authorized_order()
    # when / then
    with pytest.raises(IllegalTransition):
        order_requeue(order_id=order.pk)
