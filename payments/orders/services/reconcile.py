"""The reconciler: re-dispatch stuck orders, and adopt sales that landed after an order was parked."""

import logging

from django.db import transaction
from django.utils import timezone

from payments.core.dispatch import order_dispatch_next
from payments.core.exceptions import GatewayError
from payments.core.lifecycle import Action, Outcome, event_record, order_end_locked, order_lock, sale_fields
from payments.core.schedules import RECONCILE_REVIEW_WINDOW_SECONDS
from payments.core.statuses import OrderStatus
from payments.models import CaptureMode, Order
from payments.orders.selectors import (
    orders_authorization_lapsed,
    orders_decision_stuck,
    orders_in_doubt,
    orders_stuck,
)
from payments.orders.services.capture import order_authorization_expire, order_decision_resend
from payments.orders.services.charge import paid_sale_search
from payments.orders.services.verify import authorization_fields, money_mismatch

logger = logging.getLogger(__name__)


def orders_reconcile(
    *, pending_after_seconds, processing_after_seconds, limit, review_window_seconds=RECONCILE_REVIEW_WINDOW_SECONDS
):
    """Re-dispatch orders stuck in pending or processing (no holder: `orders_stuck`), and adopt
    sales that landed at the gateway after their order was parked in needs_review; returns counts.

    Re-dispatching an order that a worker is on is harmless: the claim makes it a no-op. An order
    whose holder died is re-sent on the first run after its lease lapsed, so the reconciler's
    interval bounds how long it waits on a broker that does not give the message back (Redis
    returns a dead worker's messages only after its visibility timeout).
    """
    counts = {"charge": 0, "verify": 0, "publish_failed": 0, "adopted": 0}
    stuck = orders_stuck(
        pending_after_seconds=pending_after_seconds,
        processing_after_seconds=processing_after_seconds,
        limit=limit,
    )
    for candidate in stuck:
        with transaction.atomic():
            # Re-read under a lock: while workers drain a backlog the snapshot goes stale, and
            # the event must describe the order as it is. An order that moved on since the
            # snapshot, or that a worker has locked right now, is not stuck.
            order = (
                Order.objects.select_for_update(skip_locked=True)
                .filter(pk=candidate.pk, status=candidate.status, updated_at=candidate.updated_at)
                .first()
            )
            if order is None:
                continue
            kind = "verify" if order.transaction_id else "charge"
            # Restarts the order's age and drops a lapsed lease (its holder stopped renewing it),
            # so one stuck order is re-sent once per threshold, not on every run while its
            # message waits in a backlog.
            order.lease_expires_at = None
            order.save(update_fields=["updated_at", "lease_expires_at"])
            outcome = Outcome.RECONCILER_VERIFY if order.transaction_id else Outcome.RECONCILER_CHARGE
            event_record(order, Action.REQUEUE, outcome=outcome)
        # Published after the commit, holding no lock; a failure leaves the order for the next run.
        published = order_dispatch_next(order)
        counts[kind if published else "publish_failed"] += 1

    in_doubt = orders_in_doubt(
        recheck_after_seconds=processing_after_seconds, window_seconds=review_window_seconds, limit=limit
    )
    for candidate in in_doubt:
        try:
            counts["adopted"] += _order_recheck_late_sale(candidate)
        except GatewayError:
            # The gateway is down or refuses us: the next run asks again.
            logger.warning("Recheck of order %s at the gateway failed", candidate.pk, exc_info=True)
            break
    return counts


def _order_recheck_late_sale(candidate):
    """Ask the gateway whether a parked order's sale landed after all; record it as paid if so."""
    # Taking the recheck by a conditional update keeps overlapping reconciler runs from asking
    # twice, and spaces the rechecks of one order by the threshold.
    taken = Order.objects.filter(
        pk=candidate.pk, status=OrderStatus.NEEDS_REVIEW, updated_at=candidate.updated_at
    ).update(updated_at=timezone.now())
    if not taken:
        return False
    order = Order.objects.get(pk=candidate.pk)
    late_sale = paid_sale_search(order)
    if late_sale is None:
        return False
    with transaction.atomic():
        order = order_lock(order.pk)
        if order.status != OrderStatus.NEEDS_REVIEW or order.transaction_id:
            return False
        if late_sale.amount != order.amount:
            # Money moved, but not the money this order asked for: a human must look.
            event_record(order, Action.SEARCH, outcome=Outcome.LATE_SALE_AMOUNT_MISMATCH, transaction_id=late_sale.id)
            return False
        mismatch = money_mismatch(order, late_sale)
        if mismatch:
            # The right amount in another currency or on another account is other money too.
            event_record(
                order,
                Action.SEARCH,
                outcome=Outcome.LATE_SALE_CURRENCY_MISMATCH,
                transaction_id=late_sale.id,
                detail={"reason": mismatch},
            )
            return False
        # The search result is the gateway's own record of a successful sale for this order_id
        # and amount: as good as a find, so the order is paid without another round trip.
        fields = sale_fields(late_sale)
        to_status = OrderStatus.PAID
        if order.capture == CaptureMode.MANUAL and late_sale.status == "authorized":
            # A manual order's late sale only authorized: it waits for the merchant's capture.
            to_status = OrderStatus.AUTHORIZED
            fields.update(authorization_fields(late_sale, captured=False), payment_method_nonce="")
        order_end_locked(order, to_status, outcome=Outcome.LATE_SALE_ADOPTED, **fields)
    return True


def authorizations_reconcile(*, idle_seconds, limit):
    """Re-send captures and cancels whose task was lost, and record authorizations the gateway
    expired; returns counts.

    Manual-capture orders rest in `authorized`, out of `orders_stuck`'s reach: a recorded decision
    whose task never ran would wait forever, and an authorization that lapsed would still look
    capturable.
    """
    counts = {"decision": 0, "expired": 0}
    for candidate in orders_decision_stuck(idle_seconds=idle_seconds, limit=limit):
        counts["decision"] += order_decision_resend(order_id=candidate.pk, updated_at=candidate.updated_at)
    for candidate in orders_authorization_lapsed(recheck_after_seconds=idle_seconds, limit=limit):
        try:
            counts["expired"] += order_authorization_expire(order_id=candidate.pk)
        except GatewayError:
            logger.warning("Expiry check of order %s at the gateway failed", candidate.pk, exc_info=True)
            break
    return counts
