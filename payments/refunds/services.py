"""Refunds and voids exactly once on at-least-once delivery: reserve, claim, look, write, record.

- `refund_create` (the API and the admin) reserves the amount under the order's row lock, so the
  refunds that are not `failed` never add up to more than the sale, however the workers race.
- `refund_charge` (the worker) claims the row under a lease, asks the gateway for the sale's
  current status and decides: a settled sale is refunded, a full refund of an unsettled sale is
  a void, a partial refund of an unsettled sale waits (back to `pending`, retried) for settlement.
  Before writing it looks at the sale's refunds: a refund whose `order_id` is this row's id was
  ours (a worker died after the gateway answered) and is adopted instead of refunding twice.
  The write itself carries an `api_request_key` per row, a second guard on the same promise.
- `_refund_record_*` take the order lock first, then the refund's: one lock order, no deadlock.
"""

import hashlib
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from payments.core.dispatch import publish
from payments.core.exceptions import (
    GatewayMisconfigured,
    GatewayUnavailable,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    IllegalTransition,
    RefundLeased,
    RefundNotAllowed,
    RefundTooLarge,
    RefundWaitsForSettlement,
)
from payments.core.idempotency import try_lock_idempotency_key
from payments.core.leases import lease_kept
from payments.core.lifecycle import (
    Action,
    Outcome,
    event_record,
    lease_from_now,
    lease_is_live,
    order_lock,
    transition_locked,
)
from payments.core.statuses import (
    REFUND_RESERVING_STATUSES,
    REFUND_TRANSITIONS,
    REFUNDABLE_ORDER_STATUSES,
    TRANSACTION_SETTLED_STATUSES,
    TRANSACTION_UNSETTLED_STATUSES,
    TRANSACTION_VOIDABLE_STATUSES,
    OrderStatus,
    RefundKind,
    RefundStatus,
)
from payments.gateways import get_gateway
from payments.gateways.base import (
    REFUND_ALREADY_COMPLETE,
    REFUND_TOO_LARGE,
    REFUND_UNSETTLED,
    VOID_NOT_ALLOWED,
    RefundOutcome,
)
from payments.models import Order, Refund
from payments.tasks import refund_order_task

logger = logging.getLogger(__name__)
CENTS = Decimal("0.01")

@dataclass(frozen=True)
class RefundCreateResult:
    refund: Refund
    created: bool


def refund_fingerprint(amount):
    """What makes two refund requests with one Idempotency-Key the same (absent amount = remainder)."""
    canonical = "remainder" if amount is None else str(Decimal(amount).quantize(CENTS))
    return hashlib.sha256(canonical.encode()).hexdigest()


def order_refundable_amount(order):
    """What the order's sale took: a manual order's captured amount (a partial capture took less), else its amount."""
    return order.captured_amount if order.captured_amount is not None else order.amount


def refund_reserved_total(order):
    """What the order's refunds that are not `failed` add up to (reserved or refunded)."""
    total = order.refunds.filter(status__in=REFUND_RESERVING_STATUSES).aggregate(total=Sum("amount"))["total"]
    return total or Decimal("0.00")


def refund_create(*, order_id, amount=None, idempotency_key=None, reason=""):
    """Reserve a refund of `amount` (None: the whole remainder) and dispatch it after commit.

    `reason` (an admin's words) is kept on the request's event.

    Raises RefundNotAllowed (409) unless the order is paid or partially refunded, RefundTooLarge
    (400) past the refundable remainder, and the Idempotency-Key errors of order creation.
    """
    fingerprint = refund_fingerprint(amount)
    try:
        with transaction.atomic():
            if idempotency_key is not None:
                if not try_lock_idempotency_key(f"refund:{order_id}", idempotency_key):
                    raise IdempotencyKeyInFlight()
                existing = Refund.objects.filter(order_id=order_id, idempotency_key=idempotency_key).first()
                if existing is not None:
                    return _replay(existing, fingerprint)
            # The order's row lock serialises reservations: two concurrent requests cannot both
            # see the same remainder.
            order = Order.objects.select_for_update().get(pk=order_id)
            if order.status not in REFUNDABLE_ORDER_STATUSES:
                raise RefundNotAllowed(f"Only a paid order can be refunded; this one is {order.status}.")
            remainder = order_refundable_amount(order) - refund_reserved_total(order)
            if remainder <= 0:
                raise RefundNotAllowed("The order is already refunded in full (or its refunds are under way).")
            amount = remainder if amount is None else Decimal(amount).quantize(CENTS)
            if amount > remainder:
                raise RefundTooLarge(f"The amount exceeds the refundable remainder of {remainder}.")
            refund = Refund.objects.create(
                order=order, amount=amount, idempotency_key=idempotency_key, request_fingerprint=fingerprint
            )
            detail = _detail(refund, reason=reason) if reason else _detail(refund)
            event_record(order, Action.REFUND, outcome=Outcome.REFUND_REQUESTED, detail=detail)
            refund_id = refund.pk
            transaction.on_commit(lambda: publish(refund_order_task, refund_id))
    except IntegrityError:
        if idempotency_key is None:
            raise
        existing = Refund.objects.get(order_id=order_id, idempotency_key=idempotency_key)
        return _replay(existing, fingerprint)
    return RefundCreateResult(refund=refund, created=True)


def _replay(refund, fingerprint):
    if refund.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return RefundCreateResult(refund=refund, created=False)


def _detail(refund, **extra):
    return {"refund": str(refund.pk), "amount": str(refund.amount), "kind": refund.kind, **extra}


def refund_transition_locked(refund, to_status, **fields):
    """Move a locked refund to `to_status`, saving `fields`; IllegalTransition for a forbidden move."""
    if to_status not in REFUND_TRANSITIONS[refund.status]:
        raise IllegalTransition(f"Refund {refund.pk} cannot move from {refund.status} to {to_status}.")
    refund.status = to_status
    for name, value in fields.items():
        setattr(refund, name, value)
    refund.save(update_fields=["status", "updated_at", *fields])
    return refund


def refund_claim(refund_id):
    """Take the lock and claim the refund for one attempt; None when there is nothing to do.

    Raises RefundLeased while another claim's lease is live.
    """
    now = timezone.now()
    with transaction.atomic():
        try:
            # of=self: the order row is read, not locked (recording locks it, order first).
            refund = Refund.objects.select_for_update(of=("self",)).select_related("order").get(pk=refund_id)
        except Refund.DoesNotExist:
            logger.warning("Refund task of unknown refund %s ignored", refund_id)
            return None
        if refund.status == RefundStatus.PROCESSING and lease_is_live(refund, now):
            raise RefundLeased(refund.pk, refund.lease_expires_at)
        if refund.status not in (RefundStatus.PENDING, RefundStatus.PROCESSING):
            return None
        if refund.claims >= settings.PAYMENTS_MAX_CLAIMS:
            # A poison refund (its worker is killed every time) must stop looping.
            refund_transition_locked(
                refund,
                RefundStatus.NEEDS_REVIEW,
                lease_expires_at=None,
                failure_reason=f"Claimed {refund.claims} times without a decision.",
                status_detail="",
            )
            return None
        refund_transition_locked(
            refund, RefundStatus.PROCESSING, claims=refund.claims + 1, lease_expires_at=lease_from_now(now)
        )
    return refund


def refund_charge(*, refund_id):
    """Refund or void exactly once (see the module docstring); the worker's service.

    Raises RefundLeased (another claim holds), RefundWaitsForSettlement (a partial refund of an
    unsettled sale: back to pending, retry later) and GatewayUnavailable (unknown outcome: retry,
    and the next attempt looks at the gateway before writing).
    """
    refund = refund_claim(refund_id)
    if refund is None:
        return None
    try:
        # Renewed while the gateway calls run; lapses within one lease if this worker dies.
        with lease_kept(refund):
            return _refund_claimed(refund)
    except GatewayUnavailable:
        Refund.objects.filter(pk=refund.pk, status=RefundStatus.PROCESSING, claims=refund.claims).update(
            lease_expires_at=timezone.now(),
            status_detail="No answer from the gateway; retrying (the retry looks at the gateway before writing).",
        )
        raise
    except GatewayMisconfigured as exc:
        refund_park(refund.pk, reason=str(exc))
        raise


def _refund_claimed(refund):
    """Look at the sale at the gateway, then refund, void, wait or adopt what an earlier try did."""
    order = refund.order
    # The gateway's current view decides, never our copy: the sale may have settled (or been
    # voided) since the order was last looked at.
    sale = get_gateway().find(order.transaction_id)
    if sale is None:
        return refund_park(refund.pk, reason=f"The gateway does not know the sale {order.transaction_id}.")
    earlier = _refund_at_gateway(refund, sale)
    if earlier is not None:
        return _refund_record_success(refund.pk, earlier, kind=RefundKind.REFUND, adopted=True)
    if sale.status == "voided" and refund.ever_sent and refund.kind == RefundKind.VOID:
        # Our own void went through and its answer was lost.
        return _refund_record_success(refund.pk, sale, kind=RefundKind.VOID, adopted=True)
    if sale.status in TRANSACTION_SETTLED_STATUSES:
        kind = RefundKind.REFUND
    elif sale.status in TRANSACTION_VOIDABLE_STATUSES and refund.amount == sale.amount:
        kind = RefundKind.VOID
    elif sale.status in TRANSACTION_UNSETTLED_STATUSES:
        _refund_wait(refund)
        raise RefundWaitsForSettlement(f"Refund {refund.pk}: sale {sale.id} is {sale.status}, not settled yet")
    else:
        return _refund_record_failure(refund.pk, reason=f"The sale is {sale.status}; it cannot be refunded.")
    result = _refund_write(refund, sale, kind)
    return _refund_answered(refund, sale, kind, result)


def _refund_write(refund, sale, kind):
    """Mark the row, then refund or void at the gateway under the refund's own request key."""
    # Mark the row before the write: from now on any retry looks at the gateway first.
    Refund.objects.filter(pk=refund.pk).update(kind=kind, ever_sent=True)
    refund.kind, refund.ever_sent = kind, True
    gateway = get_gateway()
    if kind == RefundKind.VOID:
        result = gateway.void(transaction_id=sale.id, api_request_key=f"void:{refund.pk}")
    else:
        result = gateway.refund(
            transaction_id=sale.id, amount=refund.amount, order_id=str(refund.pk), api_request_key=f"refund:{refund.pk}"
        )
    with transaction.atomic():
        # Other refunds of the same order move it on concurrently (paid -> partially_refunded):
        # the event must name the status the order has now, so it is written under the order's
        # lock, never from the snapshot taken at claim time.
        event_record(
            order_lock(refund.order_id),
            Action.REFUND,
            outcome=Outcome.REFUNDED if result.outcome == RefundOutcome.SUCCEEDED else Outcome.REFUND_REFUSED,
            transaction_id=result.transaction.id if result.transaction else "",
            detail=_detail(refund, outcome=str(result.outcome), error_codes=result.error_codes),
        )
    return result


def _refund_answered(refund, sale, kind, result):
    """Record what the gateway answered the refund or void: success, a state race, or a refusal."""
    if result.outcome == RefundOutcome.SUCCEEDED:
        return _refund_record_success(refund.pk, result.transaction, kind=kind)
    if {VOID_NOT_ALLOWED, REFUND_UNSETTLED}.intersection(result.error_codes):
        # The sale changed state between our find and our write (it settled, typically): look again.
        raise GatewayUnavailable(f"Refund {refund.pk}: the sale changed state under the {kind} ({result.error_codes})")
    if {REFUND_TOO_LARGE, REFUND_ALREADY_COMPLETE}.intersection(result.error_codes):
        # Our reservations keep our own refunds within the sale: one of ours may be the reason
        # (indexing lag on the sale's refund_ids), so look once more before calling it failed.
        again = _refund_at_gateway(refund, get_gateway().find(sale.id) or sale)
        if again is not None:
            return _refund_record_success(refund.pk, again, kind=RefundKind.REFUND, adopted=True)
        return refund_park(refund.pk, reason=f"The gateway refused: {result.message} (refunded outside this service?)")
    return _refund_record_failure(refund.pk, reason=result.message or "The gateway refused the refund.",
                                  error_codes=result.error_codes)


def _refund_at_gateway(refund, sale):
    """The sale's refund whose order_id is this refund's id, if the gateway has one."""
    if not sale.refund_ids:
        return None
    credits = get_gateway().search_by_ids(list(sale.refund_ids))
    ours = [c for c in credits if c.order_id == str(refund.pk) and c.status not in ("voided", "failed")]
    if len(ours) > 1:
        logger.error("Refund %s has %d credits at the gateway: %s", refund.pk, len(ours), [c.id for c in ours])
    if ours and ours[0].amount != refund.amount:
        logger.error("Refund %s: credit %s is %s, not %s", refund.pk, ours[0].id, ours[0].amount, refund.amount)
    return ours[0] if ours else None


def _refund_wait(refund):
    """Back to pending while the sale settles; the claim it used is given back (it wrote nothing)."""
    with transaction.atomic():
        locked = Refund.objects.select_for_update().get(pk=refund.pk)
        if locked.status == RefundStatus.PROCESSING and locked.claims == refund.claims:
            refund_transition_locked(
                locked,
                RefundStatus.PENDING,
                claims=max(locked.claims - 1, 0),
                lease_expires_at=None,
                # Waiting is not failing: failure_reason stays blank.
                status_detail="Waiting for the sale to settle (a partial refund cannot void it).",
            )


def _refund_record_success(refund_id, txn, *, kind, adopted=False):
    """Take the order's then the refund's lock; record the refund and move the order forward."""
    with transaction.atomic():
        refund = Refund.objects.select_related("order").get(pk=refund_id)
        order = Order.objects.select_for_update().get(pk=refund.order_id)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status == RefundStatus.SUCCEEDED:
            if refund.transaction_id != txn.id:
                logger.error("Refund %s recorded %s; the gateway also has %s", refund.pk, refund.transaction_id, txn.id)
            return refund
        refund_transition_locked(
            refund,
            RefundStatus.SUCCEEDED,
            kind=kind,
            transaction_id=txn.id,
            gateway_status=txn.status,
            failure_reason="",
            status_detail="",
            lease_expires_at=None,
        )
        refunded = order.refunded_amount + refund.amount
        whole = refunded >= order_refundable_amount(order)
        to_status = OrderStatus.REFUNDED if whole else OrderStatus.PARTIALLY_REFUNDED
        fields = {"refunded_amount": refunded}
        if kind == RefundKind.VOID:
            fields["gateway_status"] = txn.status
        detail = _detail(refund, adopted=adopted, credit=txn.id)
        try:
            transition_locked(order, to_status, action=Action.REFUND, outcome=Outcome.REFUNDED, detail=detail, **fields)
        except IllegalTransition:
            # The money went back even so (e.g. a settlement decline arrived meanwhile): keep the sum.
            Order.objects.filter(pk=order.pk).update(refunded_amount=refunded)
            event_record(order, Action.REFUND, outcome=Outcome.REFUNDED, transaction_id=txn.id, detail=detail)
    return refund


def _refund_record_failure(refund_id, *, reason, error_codes=()):
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status in (RefundStatus.SUCCEEDED, RefundStatus.FAILED):
            return refund
        return refund_transition_locked(
            refund,
            RefundStatus.FAILED,
            failure_reason=reason[:255],
            status_detail="",
            error_codes=list(error_codes),
            lease_expires_at=None,
        )


def refund_park(refund_id, *, reason):
    """Park a refund that is not final in needs_review for a human (its amount stays reserved)."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if RefundStatus.NEEDS_REVIEW not in REFUND_TRANSITIONS[refund.status]:
            return refund
        return refund_transition_locked(
            refund, RefundStatus.NEEDS_REVIEW, failure_reason=reason[:255], status_detail="", lease_expires_at=None
        )


def refund_give_up(*, refund_id, reason):
    """End a refund whose task ran out of retries: a human decides (money may have moved)."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status != RefundStatus.PROCESSING or lease_is_live(refund, timezone.now()):
            return refund
        if not refund.ever_sent:
            # Nothing was written to the gateway: back to pending, for the settlement tracker's sweep.
            return refund_transition_locked(
                refund, RefundStatus.PENDING, lease_expires_at=None, status_detail=f"Waiting for a retry: {reason}"[:255]
            )
        return refund_transition_locked(
            refund, RefundStatus.NEEDS_REVIEW, failure_reason=reason[:255], status_detail="", lease_expires_at=None
        )


def refunds_dispatch(refund_ids):
    """Publish the refund task for each id (after a settlement, or from the sweep)."""
    return sum(1 for refund_id in refund_ids if publish(refund_order_task, refund_id))
