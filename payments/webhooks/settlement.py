"""Settlement after the sale: record a sale settled or its settlement declined, from the tracker or a webhook.

Braintree sends settlement webhooks only for some payment methods, so for cards the periodic
tracker asks: paid orders whose sale has not settled, least recently checked first, looked up by
id in batches (one search per batch, not one find per order), a bounded number per run.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from payments.core.lifecycle import Action, Outcome, event_record, order_lock, transition_locked
from payments.core.schedules import SETTLEMENT_REFUND_SWEEP_AFTER_SECONDS
from payments.core.statuses import OrderStatus, RefundStatus
from payments.gateways import get_gateway
from payments.models import Order, Refund
from payments.refunds.services import refunds_dispatch

logger = logging.getLogger(__name__)

SETTLED = frozenset({"settled", "settlement_confirmed"})
DECLINED = "settlement_declined"


def order_settlement_record(order_id, gateway_status, *, source):
    """Record what the gateway says of the order's sale: settled, or settlement declined.

    A declined settlement makes a paid order `settlement_declined` (the money never arrived);
    a settled one keeps its status, records `gateway_status` and re-sends refunds that waited.
    Returns "settled", "settlement_declined" or "" (nothing new).
    """
    with transaction.atomic():
        order = order_lock(order_id)
        if order.gateway_status == gateway_status:
            return ""
        if gateway_status == DECLINED:
            detail = {"source": source, "from_gateway_status": order.gateway_status}
            if order.status == OrderStatus.PAID:
                transition_locked(
                    order,
                    OrderStatus.SETTLEMENT_DECLINED,
                    action=Action.SETTLEMENT,
                    outcome=Outcome.SETTLEMENT_DECLINED,
                    detail=detail,
                    gateway_status=gateway_status,
                    failure_reason="The sale's settlement was declined: no money arrived.",
                )
            else:
                logger.error("Order %s (%s): settlement declined", order.pk, order.status)
                Order.objects.filter(pk=order.pk).update(gateway_status=gateway_status)
                event_record(order, Action.SETTLEMENT, outcome=Outcome.SETTLEMENT_DECLINED, detail=detail)
            return DECLINED
        if gateway_status in SETTLED:
            Order.objects.filter(pk=order.pk).update(gateway_status=gateway_status, updated_at=timezone.now())
            event_record(
                order, Action.SETTLEMENT, outcome=Outcome.SETTLED, transaction_id=order.transaction_id,
                detail={"source": source},
            )
            waiting = list(order.refunds.filter(status=RefundStatus.PENDING).values_list("pk", flat=True))
            transaction.on_commit(lambda: refunds_dispatch(waiting))
            return "settled"
    return ""


def orders_unsettled(*, limit):
    """Paid orders whose sale has not settled yet, the least recently checked first."""
    return (
        Order.objects.filter(status=OrderStatus.PAID, transaction_id__isnull=False)
        .exclude(gateway_status__in=SETTLED)
        .order_by(F("settlement_checked_at").asc(nulls_first=True))
        .values_list("pk", "transaction_id")[:limit]
    )


def orders_track_settlement(*, limit, batch_size):
    """Ask the gateway about at most `limit` unsettled paid orders; counts of what it recorded."""
    counts = {"checked": 0, "settled": 0, "settlement_declined": 0, "refunds_resent": 0}
    candidates = list(orders_unsettled(limit=limit))
    gateway = get_gateway()
    for start in range(0, len(candidates), batch_size):
        batch = candidates[start : start + batch_size]
        by_txn = {txn_id: order_id for order_id, txn_id in batch}
        found = gateway.search_by_ids(list(by_txn))
        for txn in found:
            outcome = order_settlement_record(by_txn[txn.id], txn.status, source="tracker") if txn.id in by_txn else ""
            if outcome:
                counts[outcome] += 1
        Order.objects.filter(pk__in=[order_id for order_id, _ in batch]).update(settlement_checked_at=timezone.now())
        counts["checked"] += len(batch)
    counts["refunds_resent"] = refunds_sweep()
    return counts


def refunds_sweep(*, older_than_seconds=SETTLEMENT_REFUND_SWEEP_AFTER_SECONDS, limit=500):
    """Re-send refunds left pending, or processing under an expired lease (a lost publish, a dead worker)."""
    now = timezone.now()
    stale = Refund.objects.filter(updated_at__lt=now - timedelta(seconds=older_than_seconds)).filter(
        Q(status=RefundStatus.PENDING)
        | Q(status=RefundStatus.PROCESSING, lease_expires_at__lte=now)
        | Q(status=RefundStatus.PROCESSING, lease_expires_at__isnull=True)
    )
    ids = list(stale.order_by("updated_at").values_list("pk", flat=True)[:limit])
    return refunds_dispatch(ids)
