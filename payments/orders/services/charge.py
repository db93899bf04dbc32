"""Charging an order exactly once on at-least-once delivery: claim, sell or adopt, record.

Three short steps, no row lock across the network: `order_claim` (locked), the gateway calls
(unlocked: the sale, and the find that verifies it), `_order_record_sale` (locked, re-checking the
state, and settling a found sale in the same transaction). `order_give_up` ends an order whose
task ran out of retries.
"""

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from payments.core.dispatch import publish
from payments.core.exceptions import GatewayMisconfigured, GatewayUnavailable, OrderLeased, ProcessorUnavailable
from payments.core.leases import lease_kept
from payments.core.lifecycle import (
    Action,
    Outcome,
    event_record,
    event_row,
    lease_from_now,
    lease_is_live,
    order_end_locked,
    order_lock,
    order_park,
    sale_event_record,
    sale_event_row,
    sale_fields,
    transition_locked,
    transition_row,
)
from payments.core.logs import log_gateway_call
from payments.core.statuses import OrderStatus, PaymentMethodStatus
from payments.gateways import NONCE_CONSUMED, SaleOutcome, get_gateway
from payments.gateways.codes import rejection_fields
from payments.models import CaptureMode, LastSaleOutcome, Order, OrderEvent, PaymentMethod
from payments.orders.services.verify import find_row, find_unavailable_row, order_verify, sale_find, settle_locked
from payments.tasks import verify_order_task

logger = logging.getLogger(__name__)

# How a definite, unsuccessful sale ends the order.
FAILED_SALE_OUTCOMES = {
    SaleOutcome.DECLINED: Outcome.SALE_DECLINED,
    SaleOutcome.REJECTED: Outcome.SALE_REJECTED,
    SaleOutcome.INVALID: Outcome.SALE_INVALID,
    SaleOutcome.PROCESSOR_FAILED: Outcome.PROCESSOR_FAILED_FINAL,
}


def order_claim(order_id):
    """Take the lock and claim the order for one charge attempt; None when there is nothing to do.

    Returns `(order, search_first)`: `search_first` is True when the order was claimed before,
    because a previous worker may have sold and died before recording the outcome.
    Raises `OrderLeased` while another claim's lease is live.
    """
    now = timezone.now()
    with transaction.atomic():
        try:
            order = order_lock(order_id)
        except Order.DoesNotExist:
            logger.warning("Charge of unknown order %s ignored", order_id)
            return None
        unsold = order.status == OrderStatus.PROCESSING and not order.transaction_id
        if unsold and lease_is_live(order, now):
            # A duplicate or redelivered message must not sell while another claim holds.
            raise OrderLeased(order.pk, order.lease_expires_at)
        if not (order.status == OrderStatus.PENDING or unsold):
            # Final, parked, or already sold (verify's turn): nothing for a charge to do.
            return None
        if order.claims >= settings.PAYMENTS_MAX_CLAIMS:
            # A poison order (e.g. its worker is killed every time) must stop looping.
            order_end_locked(
                order,
                OrderStatus.NEEDS_REVIEW,
                action=Action.CLAIM,
                outcome=Outcome.CLAIMS_EXHAUSTED,
                reason=f"Claimed {order.claims} times without a decision.",
            )
            return None
        search_first = order.ever_claimed
        transition_locked(
            order,
            OrderStatus.PROCESSING,
            action=Action.CLAIM,
            outcome=Outcome.CLAIMED,
            claims=order.claims + 1,
            ever_claimed=True,
            lease_expires_at=lease_from_now(now),
        )
    return order, search_first


# What a waiting order says in `status_detail` (never in failure_reason: nothing failed yet).
NO_ANSWER_DETAIL = "No answer from the gateway; retrying (the retry looks the sale up before selling again)."


def _order_release(order_id, claims, *, status_detail=None):
    """Give up our lease so the retry can claim the order again at once.

    No lease at all, rather than a lapsed one: the reconciler tells a released order (a retry is
    on its way: it waits `processing_after_seconds`) from one whose holder died (at once).
    """
    fields = {"lease_expires_at": None}
    if status_detail is not None:
        fields["status_detail"] = status_detail
    Order.objects.filter(
        pk=order_id, status=OrderStatus.PROCESSING, claims=claims, transaction_id__isnull=True
    ).update(**fields)


def paid_sale_search(order):
    """Search the gateway for a successful sale of this order (recorded as an event); None if none."""
    started = time.monotonic()
    transactions = get_gateway().search_by_order_id(str(order.pk))
    paid = [txn for txn in transactions if txn.is_paid]
    event_record(
        order,
        Action.SEARCH,
        outcome=Outcome.FOUND_PAID if paid else Outcome.NO_PAID_SALE,
        transaction_id=paid[0].id if paid else "",
        detail={"transactions": [{"id": t.id, "status": t.status} for t in transactions]},
    )
    log_gateway_call(order, "search", outcome=Outcome.FOUND_PAID if paid else Outcome.NO_PAID_SALE, started=started)
    if len(paid) > 1:
        # Promise 2 is broken at the gateway: adopt the first, and say so loudly.
        logger.error("Order %s has %d successful sales at the gateway: %s", order.pk, len(paid), [t.id for t in paid])
    return paid[0] if paid else None


def _needs_lookup(result):
    """Results that mean an earlier sale of ours may have gone through.

    A spent nonce says so (91564); a stored token never does, since every sale on it is a new
    charge: for a saved card the search before a resale and the api_request_key are the guard.
    """
    if result.outcome == SaleOutcome.INVALID and NONCE_CONSUMED in result.error_codes:
        return True
    return (
        result.outcome == SaleOutcome.REJECTED
        and result.transaction is not None
        and result.transaction.gateway_rejection_reason == "duplicate"
    )


def order_charge(*, order_id):
    """Charge the order exactly once: claim it, sell (or adopt an earlier sale), record the result.

    Raises `OrderLeased` while another worker's claim on the order is live.

    Raises `GatewayUnavailable` when the outcome is unknown or the processor asked to try again;
    the caller retries, and the next attempt searches the gateway before selling again.
    """
    claimed = order_claim(order_id)
    if claimed is None:
        # A redelivered charge of a worker that died after recording the sale: verify it now
        # instead of waiting for the reconciler (a no-op SELECT for an order already settled).
        return order_verify(order_id=order_id)
    order, search_first = claimed
    try:
        # The lease is renewed while the gateway calls run, and lapses within one lease if this
        # worker dies: the next claim (a redelivery, the reconciler) comes in seconds, not minutes.
        with lease_kept(order):
            order = _charge_claimed(order, search_first)
    except GatewayUnavailable as exc:
        # A processor "failed" (3000) already said why it waits when it recorded the retry.
        detail = None if isinstance(exc, ProcessorUnavailable) else NO_ANSWER_DETAIL
        _order_release(order.pk, order.claims, status_detail=detail)
        raise
    except (OperationalError, InterfaceError):
        # The database connection died mid-charge. Release the lease on a fresh connection if
        # the database is back, or our own retry would find the order "taken" until it expires.
        connection.close()
        try:
            _order_release(order.pk, order.claims)
        except (OperationalError, InterfaceError):
            logger.warning("Order %s: lease not released; it expires on its own", order.pk)
        raise
    except GatewayMisconfigured as exc:
        # Retrying cannot fix credentials or wiring: park the order for a human instead.
        order_park(order.pk, reason=str(exc))
        raise
    return order


def _charge_claimed(order, search_first):
    # Network calls happen here, after the claim committed and before the result is recorded:
    # no row lock is held while the gateway is slow.
    if search_first:
        # Should the search miss a sale (gateway indexing lag), the sale below reuses the same
        # api_request_key and the gateway answers with that sale instead of charging again.
        existing = paid_sale_search(order)
        if existing is not None:
            return _order_settle_sale(order, order.sale_attempt, existing)
    refusal = _payment_method_refusal(order)
    if refusal:
        if search_first:
            # An earlier claim may have sold before the method was deleted and the search missed
            # it: parked, the reconciler's recheck adopts a late sale, else a human decides.
            return order_park(order.pk, reason=refusal)
        # Never sold: the delete came first, so the order is refused without a gateway call.
        return _order_refuse(order.pk, reason=refusal)
    if order.payment_method_id is None and not order.payment_method_nonce:
        return order_park(order.pk, reason="No payment method nonce left to charge.")
    attempt = order.sale_attempt
    started = time.monotonic()
    try:
        result = get_gateway().sale(
            order_id=str(order.pk),
            amount=order.amount,
            nonce=order.payment_method_nonce,
            # A saved card is charged by its vault token. A token is reusable (no 91564 answers a
            # resale), so only the search above and the api_request_key below stop a second charge.
            payment_method_token=PaymentMethod.token_for(order.payment_method_id) if order.payment_method_id else "",
            # Braintree answers a repeated key with the original transaction, so a lost response
            # can be replayed safely; the key only moves on after a definite "failed" (3000).
            api_request_key=f"{order.pk}:{attempt}",
            # The account fixes the currency: without it Braintree charges the default account's.
            merchant_account_id=order.merchant_account_id,
            # A manual-capture order only authorizes; the merchant captures it later.
            submit_for_settlement=order.capture != CaptureMode.MANUAL,
        )
    except GatewayUnavailable as exc:
        sale_event_record(order, LastSaleOutcome.UNAVAILABLE, detail={"error": str(exc)[:500]})
        log_gateway_call(order, "sale", outcome=LastSaleOutcome.UNAVAILABLE, started=started, attempt=attempt)
        raise
    log_gateway_call(
        order, "sale", outcome=result.outcome, started=started, attempt=attempt,
        transaction_id=_sale_row_fields(result, attempt)["transaction_id"],
    )
    if _needs_lookup(result):
        # Not decided yet: the sale's row goes first, then the search's.
        sale_event_record(order, result.outcome, **_sale_row_fields(result, attempt))
        existing = paid_sale_search(order)
        if existing is not None:
            return _order_settle_sale(order, attempt, existing)
        return _order_record_sale(order.pk, attempt, result=result)
    # A decided sale: its row is written with the decision, in one transaction.
    if result.outcome == SaleOutcome.APPROVED:
        return _order_settle_sale(order, attempt, result.transaction, result=result)
    return _order_record_sale(order.pk, attempt, result=result, with_sale_row=True)


def _payment_method_refusal(order):
    """Why the order's saved payment method must not be charged now ("" for a nonce, or an active method).

    Read at every claim, before the sale: a method deleted after the order was accepted is never
    charged, even for an order queued before the delete.
    """
    if order.payment_method_id is None:
        return ""
    status = PaymentMethod.objects.filter(pk=order.payment_method_id).values_list("status", flat=True).first()
    if status == PaymentMethodStatus.ACTIVE:
        return ""
    return f"The saved payment method was {status or 'removed'} before the order was charged."


def _order_refuse(order_id, *, reason):
    """Take the lock and fail an order that was never sold (its payment method cannot be charged)."""
    with transaction.atomic():
        order = order_lock(order_id)
        if order.transaction_id or order.status != OrderStatus.PROCESSING:
            return order
        return order_end_locked(order, OrderStatus.FAILED, outcome=Outcome.SALE_INVALID, reason=reason)


@dataclass(frozen=True)
class _Find:
    """The find of an approved sale, made before recording it: the gateway's view, or its error."""

    info: object = None
    error: Exception | None = None


def _order_settle_sale(order, attempt, approved, *, result=None):
    """Find the approved sale (no lock held), then record it and settle the order in one transaction.

    The sale's record, the find's and the ending are one SELECT, one UPDATE and one INSERT. Should
    this worker die before that commit, the next claim searches the gateway first and adopts the
    sale, as after a death right after the sale. A `result` is the fresh sale call's, whose own row
    is written with the rest; without it the sale was adopted from a search.

    A find the gateway cannot answer leaves the sale recorded and hands the order to
    verify_order_task with its own retry budget: a burst of 503s right after a sale must not use
    up the charge's retries and park a sold order. A misconfigured gateway records the sale and
    raises, and `order_charge` parks the order.
    """
    try:
        find = _Find(info=sale_find(order, approved.id))
    except (GatewayUnavailable, GatewayMisconfigured) as exc:
        find = _Find(error=exc)
    recorded = _order_record_sale(
        order.pk, attempt, result=result, approved=approved, with_sale_row=result is not None, find=find
    )
    if isinstance(find.error, GatewayUnavailable):
        publish(verify_order_task, order.pk)
    elif find.error is not None:
        raise find.error
    return recorded


def _sale_row_fields(result, attempt):
    """What the audit row of one answered sale call records about it."""
    return {
        "transaction_id": result.transaction.id if result.transaction else "",
        "detail": {"error_codes": result.error_codes, "attempt": attempt},
    }


def _order_record_sale(order_id, attempt, *, result=None, approved=None, with_sale_row=False, find=None):
    """Take the lock and record a decided sale: an `approved` transaction with its `find`, or a `result`.

    With `with_sale_row`, the sale call's own event row (and `last_sale_outcome`) is written in the
    same transaction as the decision: one SELECT, one UPDATE and one INSERT. A worker that dies
    before this commit leaves no row of the call, and the next claim searches the gateway first,
    recording what it finds. An approved sale that was found is settled in the same transaction.
    Raises ProcessorUnavailable, once the retry is recorded, for a processor "failed" (3000).
    """
    with transaction.atomic():
        order = order_lock(order_id)
        earlier, sale_outcome = [], {}
        if with_sale_row:
            sale_outcome = {"last_sale_outcome": LastSaleOutcome(str(result.outcome))}
            earlier.append(sale_event_row(order, result.outcome, **_sale_row_fields(result, attempt)))
        if order.transaction_id or order.status not in (OrderStatus.PROCESSING, OrderStatus.NEEDS_REVIEW):
            return _record_after_other_claim_locked(order, approved, earlier)
        if approved is not None:
            return _record_approved_locked(order, approved, find, earlier, sale_outcome)
        recorded = _record_unsold_locked(order, attempt, result, earlier, sale_outcome)
    if recorded is not None:
        return recorded
    raise ProcessorUnavailable(f"Order {order_id}: processor unavailable (3000), sale attempt {attempt}")


def _record_after_other_claim_locked(order, approved, earlier):
    """A concurrent claimant recorded first; with one api_request_key both saw one sale.

    A different successful sale would be money without an order: leave a trace.
    """
    if approved is not None and approved.id != order.transaction_id:
        logger.error("Order %s (%s): unrecorded successful sale %s", order.pk, order.status, approved.id)
        earlier.append(event_row(order, Action.SALE, outcome=Outcome.ORPHANED_SALE, transaction_id=approved.id))
    OrderEvent.objects.bulk_create(earlier)
    return order


def _record_approved_locked(order, approved, find, earlier, sale_outcome):
    """Record an approved sale and, when its find answered, settle the order in the same transaction."""
    fields = {"error_codes": [], "payment_method_nonce": "", **sale_outcome, **sale_fields(approved)}
    if find.error is not None:
        transition_locked(
            order,
            OrderStatus.PROCESSING,
            outcome=Outcome.SALE_APPROVED,
            earlier=earlier,
            # No lease: the verify task is on its way, and the reconciler re-sends a sold order
            # only after `processing_after_seconds`.
            lease_expires_at=None,
            **fields,
        )
        if isinstance(find.error, GatewayUnavailable):
            find_unavailable_row(order, approved.id, find.error).save()
        return order
    # The sale's move (sale_approved) and the find's row go in with the ending.
    for name, value in fields.items():
        setattr(order, name, value)
    earlier.append(transition_row(order, OrderStatus.PROCESSING, outcome=Outcome.SALE_APPROVED))
    earlier.append(find_row(order, approved.id, find.info))
    return settle_locked(order, find.info, earlier=earlier, **fields)


def _record_unsold_locked(order, attempt, result, earlier, sale_outcome):
    """Record a sale that moved no money: the order fails, or waits for a retry (None is returned)."""
    gateway_fields = sale_fields(result.transaction) if result.transaction else {}
    gateway_fields.update(rejection_fields(result.transaction))
    gateway_fields.update(sale_outcome)
    if result.outcome == SaleOutcome.PROCESSOR_FAILED and order.sale_attempt != attempt:
        # A concurrent claimant already moved past this attempt.
        OrderEvent.objects.bulk_create(earlier)
        return order
    retrying = result.outcome == SaleOutcome.PROCESSOR_FAILED and attempt + 1 <= settings.PAYMENTS_MAX_RETRIES
    if not retrying:
        # Declines, rejections and validation errors are definite, and so is a processor
        # "failed" (3000) out of retries: no money moved, so the order fails cleanly.
        return order_end_locked(
            order,
            OrderStatus.FAILED,
            outcome=FAILED_SALE_OUTCOMES[result.outcome],
            reason=result.message,
            earlier=earlier,
            error_codes=result.error_codes,
            detail={"error_codes": result.error_codes},
            **gateway_fields,
        )
    # The failed transaction's id stays in the event only: a transaction_id on the order
    # means "sold, verify it" to the claim and the reconciler.
    gateway_fields.pop("transaction_id", None)
    transition_locked(
        order,
        OrderStatus.PROCESSING,
        outcome=Outcome.PROCESSOR_FAILED_RETRYING,
        earlier=earlier,
        sale_attempt=attempt + 1,
        # Released for the retry, as `_order_release`.
        lease_expires_at=None,
        error_codes=result.error_codes,
        status_detail=(
            f"The processor was unavailable ({result.message or 'failed'}) on sale attempt {attempt + 1} "
            f"of {settings.PAYMENTS_MAX_RETRIES + 1}; retrying."
        )[:255],
        **gateway_fields,
    )
    return None


def order_give_up(*, order_id, reason):
    """End an order whose task ran out of retries: `failed` if no money can have moved, else needs_review."""
    with transaction.atomic():
        order = order_lock(order_id)
        if order.status != OrderStatus.PROCESSING:
            # Final or parked already; a pending order was never sent, so the reconciler retries it.
            return order
        if not order.transaction_id and lease_is_live(order, timezone.now()):
            # Another worker claimed the order since our last attempt; it owns the outcome.
            return order
        if not order.transaction_id and order.last_sale_outcome == LastSaleOutcome.PROCESSOR_FAILED:
            # "failed" (3000) is definite: the processor never took the money.
            return order_end_locked(order, OrderStatus.FAILED, outcome=Outcome.PROCESSOR_FAILED_FINAL, reason=reason)
        # The last outcome is unknown (timeouts, 5xx): money may have moved, so a human decides.
        return order_end_locked(order, OrderStatus.NEEDS_REVIEW, outcome=Outcome.RETRIES_EXHAUSTED, reason=reason)
