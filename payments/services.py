"""Every state change of an order happens here, in short transactions with no network I/O."""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from payments.exceptions import (
    GatewayError,
    GatewayMisconfigured,
    GatewayUnavailable,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    IllegalTransition,
    OrderLeased,
    ProcessorUnavailable,
)
from payments.gateways import NONCE_CONSUMED, SaleOutcome, get_gateway
from payments.models import Order, OrderAttempt, OrderStatus
from payments.selectors import orders_in_doubt, orders_stuck
from payments.statuses import TRANSACTION_FAILED_STATUSES, TRANSACTION_PAID_STATUSES

logger = logging.getLogger(__name__)

# The only moves the lifecycle allows; anything else raises IllegalTransition.
ALLOWED_TRANSITIONS = {
    OrderStatus.PENDING: {OrderStatus.PROCESSING, OrderStatus.FAILED, OrderStatus.NEEDS_REVIEW},
    OrderStatus.PROCESSING: {
        OrderStatus.PROCESSING,
        OrderStatus.PAID,
        OrderStatus.FAILED,
        OrderStatus.NEEDS_REVIEW,
    },
    OrderStatus.NEEDS_REVIEW: {OrderStatus.PROCESSING, OrderStatus.PAID, OrderStatus.FAILED},
    OrderStatus.PAID: set(),
    OrderStatus.FAILED: set(),
}


@dataclass(frozen=True)
class OrderCreateResult:
    order: Order
    created: bool


def _fingerprint(*, amount, currency, description, nonce):
    canonical = json.dumps(
        [str(Decimal(amount).quantize(Decimal("0.01"))), currency, description, nonce],
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _try_lock_idempotency_key(owner_id, key):
    """Take a transaction-scoped advisory lock on (owner, key); False if another request holds it.

    This is what tells "the first request with this key is still running" (409) apart from a
    replay of a finished one. SQLite (the `make run` default) has no advisory locks and serialises
    writers anyway, so there the unique constraint alone decides.
    """
    if connection.vendor != "postgresql":
        return True
    digest = hashlib.blake2b(f"{owner_id}:{key}".encode(), digest_size=8).digest()
    lock_id = int.from_bytes(digest, "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [lock_id])
        return cursor.fetchone()[0]


def order_create(*, owner, amount, nonce, currency="USD", description="", idempotency_key=None):
    """Store a new order and dispatch its charge after commit; replays an idempotent request."""
    fingerprint = _fingerprint(amount=amount, currency=currency, description=description, nonce=nonce)
    try:
        with transaction.atomic():
            if idempotency_key is not None:
                if not _try_lock_idempotency_key(owner.pk, idempotency_key):
                    raise IdempotencyKeyInFlight()
                existing = Order.objects.filter(owner=owner, idempotency_key=idempotency_key).first()
                if existing is not None:
                    return _replay(existing, fingerprint)
            order = Order.objects.create(
                owner=owner,
                amount=amount,
                currency=currency,
                description=description,
                payment_method_nonce=nonce,
                idempotency_key=idempotency_key,
                request_fingerprint=fingerprint,
            )
            OrderAttempt.objects.create(
                order=order, action=OrderAttempt.Action.CREATE, to_status=order.status
            )
            order_id = order.pk
            transaction.on_commit(lambda: order_dispatch(order_id))
    except IntegrityError:
        # Lost a race on the unique (owner, idempotency_key) constraint without advisory locks.
        if idempotency_key is None:
            raise
        existing = Order.objects.get(owner=owner, idempotency_key=idempotency_key)
        return _replay(existing, fingerprint)
    return OrderCreateResult(order=order, created=True)


def _replay(order, fingerprint):
    if order.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return OrderCreateResult(order=order, created=False)


def order_dispatch(order_id):
    """Publish the charge task; a broker failure is logged, never raised.

    The order row is the outbox: an order that could not be published stays `pending` and the
    reconciler dispatches it later, so the API can answer 202 whatever the broker's state.
    """
    from payments.tasks import charge_order_task

    return _publish(charge_order_task, order_id)


def _publish(task, order_id):
    try:
        task.apply_async(args=[str(order_id)])
    except Exception as exc:
        # One line, no traceback (during a broker outage every request lands here), and the
        # class name only: some transports put the broker URL, password included, in messages.
        logger.warning(
            "Could not publish %s for order %s (%s); the reconciler will", task.name, order_id, type(exc).__name__
        )
        return False
    return True


def _transition(order, to_status, *, action=OrderAttempt.Action.TRANSITION, outcome="", detail=None, **fields):
    """Move a locked order to `to_status`, saving `fields`, and append the audit row.

    Call inside `transaction.atomic()` with `order` fetched by `select_for_update()`.
    """
    from_status = order.status
    if to_status not in ALLOWED_TRANSITIONS[from_status]:
        raise IllegalTransition(f"Order {order.pk} cannot move from {from_status} to {to_status}.")
    order.status = to_status
    for name, value in fields.items():
        setattr(order, name, value)
    order.save(update_fields=["status", "updated_at", *fields])
    OrderAttempt.objects.create(
        order=order,
        action=action,
        from_status=from_status,
        to_status=to_status,
        outcome=outcome,
        transaction_id=order.transaction_id or "",
        detail=detail or {},
    )
    return order


def _audit(order, action, *, outcome="", transaction_id="", detail=None):
    """Append the audit row of one gateway call (no status change)."""
    OrderAttempt.objects.create(
        order=order,
        action=action,
        from_status=order.status,
        to_status=order.status,
        outcome=outcome,
        transaction_id=transaction_id or "",
        detail=detail or {},
    )


def _locked(order_id):
    return Order.objects.select_for_update().get(pk=order_id)


def _lease_is_live(order, now):
    return order.lease_expires_at is not None and order.lease_expires_at > now


def _sale_fields(txn):
    return {
        "transaction_id": txn.id,
        "gateway_status": txn.status,
        "processor_response_code": txn.processor_response_code,
        "processor_response_text": txn.processor_response_text[:255],
    }


def _order_claim(order_id):
    """Claim the order for one charge attempt; None when there is nothing for this worker to do.

    Returns `(order, search_first)`: `search_first` is True when the order was claimed before,
    because a previous worker may have sold and died before recording the outcome.
    """
    now = timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(pk=order_id).first()
        if order is None:
            logger.warning("Charge of unknown order %s ignored", order_id)
            return None
        unsold = order.status == OrderStatus.PROCESSING and not order.transaction_id
        if unsold and _lease_is_live(order, now):
            # A duplicate or redelivered message must not sell while another claim holds.
            raise OrderLeased(order.pk, order.lease_expires_at)
        if not (order.status == OrderStatus.PENDING or unsold):
            # Final, parked, or already sold (verify's turn): nothing for a charge to do.
            return None
        if order.claims >= settings.PAYMENTS_MAX_CLAIMS:
            # A poison order (e.g. its worker is killed every time) must stop looping.
            _transition(
                order,
                OrderStatus.NEEDS_REVIEW,
                action=OrderAttempt.Action.CLAIM,
                outcome="claims_exhausted",
                lease_expires_at=None,
                failure_reason=f"Claimed {order.claims} times without a decision.",
            )
            return None
        search_first = order.attempts.filter(
            action__in=[OrderAttempt.Action.CLAIM, OrderAttempt.Action.SALE]
        ).exists()
        _transition(
            order,
            OrderStatus.PROCESSING,
            action=OrderAttempt.Action.CLAIM,
            outcome="claimed",
            claims=order.claims + 1,
            lease_expires_at=now + timedelta(seconds=settings.PAYMENTS_CLAIM_LEASE_SECONDS),
        )
    return order, search_first


def _order_release(order_id, claims):
    """Give up our lease so the retry (or the reconciler) can claim the order again at once."""
    Order.objects.filter(
        pk=order_id, status=OrderStatus.PROCESSING, claims=claims, transaction_id__isnull=True
    ).update(lease_expires_at=timezone.now())


def _find_paid_sale(order):
    """Search the gateway for a successful sale of this order (audited); None if there is none."""
    transactions = get_gateway().search_by_order_id(str(order.pk))
    paid = [txn for txn in transactions if txn.is_paid]
    _audit(
        order,
        OrderAttempt.Action.SEARCH,
        outcome="found_paid" if paid else "no_paid_sale",
        transaction_id=paid[0].id if paid else "",
        detail={"transactions": [{"id": t.id, "status": t.status} for t in transactions]},
    )
    if len(paid) > 1:
        # Promise 2 is broken at the gateway: adopt the first, and say so loudly.
        logger.error("Order %s has %d successful sales at the gateway: %s", order.pk, len(paid), [t.id for t in paid])
    return paid[0] if paid else None


def _needs_lookup(result):
    """Results that mean an earlier sale of ours may have gone through."""
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
    claimed = _order_claim(order_id)
    if claimed is None:
        return None
    order, search_first = claimed
    try:
        return _charge_claimed(order, search_first)
    except GatewayUnavailable:
        _order_release(order.pk, order.claims)
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
        _order_park(order.pk, reason=str(exc))
        raise


def _charge_claimed(order, search_first):
    # Network calls happen here, after the claim committed and before the result is recorded:
    # no row lock is held while the gateway is slow.
    if search_first:
        # Should the search miss a sale (gateway indexing lag), the sale below reuses the same
        # api_request_key and the gateway answers with that sale instead of charging again.
        existing = _find_paid_sale(order)
        if existing is not None:
            return _order_record_sale(order.pk, order.sale_attempt, approved=existing)
    if not order.payment_method_nonce:
        return _order_park(order.pk, reason="No payment method nonce left to charge.")
    attempt = order.sale_attempt
    try:
        result = get_gateway().sale(
            order_id=str(order.pk),
            amount=order.amount,
            nonce=order.payment_method_nonce,
            # Braintree answers a repeated key with the original transaction, so a lost response
            # can be replayed safely; the key only moves on after a definite "failed" (3000).
            api_request_key=f"{order.pk}:{attempt}",
        )
    except GatewayUnavailable as exc:
        _audit(order, OrderAttempt.Action.SALE, outcome="unavailable", detail={"error": str(exc)[:500]})
        raise
    _audit(
        order,
        OrderAttempt.Action.SALE,
        outcome=result.outcome,
        transaction_id=result.transaction.id if result.transaction else "",
        detail={"error_codes": result.error_codes, "attempt": attempt},
    )
    if _needs_lookup(result):
        existing = _find_paid_sale(order)
        if existing is not None:
            return _order_record_sale(order.pk, attempt, approved=existing)
    return _order_record_sale(order.pk, attempt, result=result)


def _order_record_sale(order_id, attempt, *, result=None, approved=None):
    """Record a decided sale (`approved` transaction, or a `result`) in one short transaction."""
    from payments.tasks import verify_order_task

    if approved is None and result.outcome == SaleOutcome.APPROVED:
        approved = result.transaction
    retry = False
    with transaction.atomic():
        order = _locked(order_id)
        settled = order.transaction_id or order.status not in (OrderStatus.PROCESSING, OrderStatus.NEEDS_REVIEW)
        if settled:
            # A concurrent claimant recorded first; with one api_request_key both saw one sale.
            # A different successful sale would be money without an order: leave a trace.
            if approved is not None and approved.id != order.transaction_id:
                logger.error("Order %s (%s): unrecorded successful sale %s", order.pk, order.status, approved.id)
                _audit(order, OrderAttempt.Action.SALE, outcome="orphaned_sale", transaction_id=approved.id)
            return order
        if approved is not None:
            _transition(
                order,
                OrderStatus.PROCESSING,
                outcome="sale_approved",
                error_codes=[],
                payment_method_nonce="",
                # Keeps the reconciler off while the verify task is on its way.
                lease_expires_at=timezone.now() + timedelta(seconds=settings.PAYMENTS_CLAIM_LEASE_SECONDS),
                **_sale_fields(approved),
            )
            transaction.on_commit(lambda: _publish(verify_order_task, order_id))
            return order
        txn = result.transaction
        gateway_fields = _sale_fields(txn) if txn else {}
        if result.outcome == SaleOutcome.PROCESSOR_FAILED:
            if order.sale_attempt != attempt:
                return order
            if attempt + 1 > settings.PAYMENTS_MAX_RETRIES:
                # "failed" is definite: the processor never took the money, so give up cleanly.
                return _order_fail(order, result, gateway_fields, outcome="processor_failed_final")
            # The failed transaction's id stays in the audit row only: a transaction_id on the
            # order means "sold, verify it" to the claim and the reconciler.
            gateway_fields.pop("transaction_id", None)
            _transition(
                order,
                OrderStatus.PROCESSING,
                outcome="processor_failed_retrying",
                sale_attempt=attempt + 1,
                lease_expires_at=timezone.now(),
                error_codes=result.error_codes,
                **gateway_fields,
            )
            retry = True
        else:
            return _order_fail(order, result, gateway_fields, outcome=f"sale_{result.outcome}")
    if retry:
        raise ProcessorUnavailable(f"Order {order_id}: processor unavailable (3000), sale attempt {attempt}")
    return order


def _order_fail(order, result, gateway_fields, *, outcome):
    return _transition(
        order,
        OrderStatus.FAILED,
        outcome=outcome,
        error_codes=result.error_codes,
        failure_reason=result.message[:255],
        payment_method_nonce="",
        lease_expires_at=None,
        detail={"error_codes": result.error_codes},
        **gateway_fields,
    )


def _order_park(order_id, *, reason):
    """Move a non-final order to needs_review for a human; a final order is left alone."""
    with transaction.atomic():
        order = _locked(order_id)
        if OrderStatus.NEEDS_REVIEW not in ALLOWED_TRANSITIONS[order.status]:
            return order
        return _transition(
            order, OrderStatus.NEEDS_REVIEW, outcome="parked", failure_reason=reason[:255], lease_expires_at=None
        )


def order_give_up(*, order_id, reason):
    """End an order whose task ran out of retries: `failed` if no money can have moved, else needs_review."""
    now = timezone.now()
    with transaction.atomic():
        order = _locked(order_id)
        if order.status != OrderStatus.PROCESSING:
            # Final or parked already; a pending order was never sent, so the reconciler retries it.
            return order
        if not order.transaction_id and _lease_is_live(order, now):
            # Another worker claimed the order since our last attempt; it owns the outcome.
            return order
        last_sale = order.attempts.filter(action=OrderAttempt.Action.SALE).order_by("-id").first()
        if not order.transaction_id and last_sale is not None and last_sale.outcome == SaleOutcome.PROCESSOR_FAILED:
            return _transition(
                order,
                OrderStatus.FAILED,
                outcome="processor_failed_final",
                failure_reason=reason[:255],
                payment_method_nonce="",
                lease_expires_at=None,
            )
        # The last outcome is unknown (timeouts, 5xx): money may have moved, so a human decides.
        return _transition(
            order,
            OrderStatus.NEEDS_REVIEW,
            outcome="retries_exhausted",
            failure_reason=reason[:255],
            lease_expires_at=None,
        )


def order_verify(*, order_id):
    """Confirm a recorded sale with the gateway: the order becomes paid, failed or needs_review."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None or order.status != OrderStatus.PROCESSING or not order.transaction_id:
        # Already settled by an earlier delivery, or not sold yet (the charge task's turn).
        return order
    return _verify(order, allowed_from=(OrderStatus.PROCESSING,))


def _verify(order, *, allowed_from):
    transaction_id = order.transaction_id
    try:
        info = get_gateway().find(transaction_id)
    except GatewayUnavailable as exc:
        _audit(
            order,
            OrderAttempt.Action.FIND,
            outcome="unavailable",
            transaction_id=transaction_id,
            detail={"error": str(exc)[:500]},
        )
        raise
    except GatewayMisconfigured as exc:
        _order_park(order.pk, reason=str(exc))
        raise
    _audit(
        order,
        OrderAttempt.Action.FIND,
        outcome=info.status if info else "not_found",
        transaction_id=transaction_id,
        detail={"amount": str(info.amount), "order_id": info.order_id} if info else {},
    )
    with transaction.atomic():
        order = _locked(order.pk)
        if order.status not in allowed_from or order.transaction_id != transaction_id:
            return order
        if info is None:
            to_status, reason = OrderStatus.NEEDS_REVIEW, f"Transaction {transaction_id} not found at the gateway."
        elif info.amount != order.amount or info.order_id != str(order.pk):
            # Money moved, but not the money this order asked for: never call that paid.
            to_status = OrderStatus.NEEDS_REVIEW
            reason = f"Gateway has amount {info.amount} for order_id {info.order_id!r}."
        elif info.status in TRANSACTION_PAID_STATUSES:
            to_status, reason = OrderStatus.PAID, ""
        elif info.status in TRANSACTION_FAILED_STATUSES:
            to_status, reason = OrderStatus.FAILED, f"Gateway status {info.status}."
        else:
            to_status, reason = OrderStatus.NEEDS_REVIEW, f"Unexpected gateway status {info.status}."
        fields = {"failure_reason": reason, "lease_expires_at": None}
        if info is not None:
            fields["gateway_status"] = info.status
        return _transition(order, to_status, outcome=f"verified_{to_status}", **fields)


def orders_reconcile(*, pending_after_seconds, processing_after_seconds, limit, review_window_seconds=3600):
    """Re-dispatch orders stuck in pending or processing (lease expired), and adopt sales that
    landed at the gateway after their order was parked in needs_review; returns counts.

    Re-dispatching an order that a worker is on is harmless: the claim makes it a no-op.
    """
    from payments.tasks import charge_order_task, verify_order_task

    counts = {"charge": 0, "verify": 0, "publish_failed": 0, "adopted": 0}
    stuck = orders_stuck(
        pending_after_seconds=pending_after_seconds,
        processing_after_seconds=processing_after_seconds,
        limit=limit,
    )
    for candidate in stuck:
        with transaction.atomic():
            # Re-read under a lock: while workers drain a backlog the snapshot goes stale, and
            # the audit row must describe the order as it is. An order that moved on since the
            # snapshot, or that a worker has locked right now, is not stuck.
            order = (
                Order.objects.select_for_update(skip_locked=True)
                .filter(pk=candidate.pk, status=candidate.status, updated_at=candidate.updated_at)
                .first()
            )
            if order is None:
                continue
            kind = "verify" if order.transaction_id else "charge"
            # Restarts the order's age, so one stuck order is re-sent once per threshold, not on
            # every run while its message waits in a backlog.
            order.save(update_fields=["updated_at"])
            _audit(order, OrderAttempt.Action.REQUEUE, outcome=f"reconciler_{kind}")
        # Published after the commit, holding no lock; a failure leaves the order for the next run.
        published = _publish(verify_order_task if kind == "verify" else charge_order_task, order.pk)
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
    late_sale = _find_paid_sale(order)
    if late_sale is None:
        return False
    with transaction.atomic():
        order = _locked(order.pk)
        if order.status != OrderStatus.NEEDS_REVIEW or order.transaction_id:
            return False
        if late_sale.amount != order.amount:
            # Money moved, but not the money this order asked for: a human must look.
            _audit(order, OrderAttempt.Action.SEARCH, outcome="late_sale_amount_mismatch", transaction_id=late_sale.id)
            return False
        # The search result is the gateway's own record of a successful sale for this order_id
        # and amount: as good as a find, so the order is paid without another round trip.
        _transition(
            order,
            OrderStatus.PAID,
            outcome="late_sale_adopted",
            payment_method_nonce="",
            lease_expires_at=None,
            failure_reason="",
            **_sale_fields(late_sale),
        )
    return True


def order_requeue(*, order_id):
    """Admin action: dispatch the order's next task again; a parked order gets a fresh claim budget."""
    from payments.tasks import charge_order_task, verify_order_task

    with transaction.atomic():
        order = _locked(order_id)
        if order.status in (OrderStatus.PAID, OrderStatus.FAILED):
            raise IllegalTransition(f"Order {order.pk} is {order.status}; it cannot be re-queued.")
        if order.status == OrderStatus.NEEDS_REVIEW:
            # Resetting claims is safe: earlier claim rows still make the next claim search first.
            _transition(
                order, OrderStatus.PROCESSING, action=OrderAttempt.Action.REQUEUE, outcome="admin_requeue",
                claims=0, lease_expires_at=None,
            )
        else:
            _audit(order, OrderAttempt.Action.REQUEUE, outcome="admin_requeue")
        task = verify_order_task if order.transaction_id else charge_order_task
        transaction.on_commit(lambda: _publish(task, order_id))
    return order


def order_reverify(*, order_id):
    """Admin action: ask the gateway now and settle the order from what it says.

    An order without a transaction id is looked up by order_id first, so a sale whose answer
    was lost can be adopted.
    """
    order = Order.objects.get(pk=order_id)
    if order.status in (OrderStatus.PAID, OrderStatus.FAILED):
        raise IllegalTransition(f"Order {order.pk} is {order.status}; there is nothing to re-verify.")
    if not order.transaction_id:
        existing = _find_paid_sale(order)
        if existing is None:
            return order
        with transaction.atomic():
            order = _locked(order_id)
            if order.status in (OrderStatus.PAID, OrderStatus.FAILED):
                return order
            if not order.transaction_id:
                _transition(
                    order,
                    OrderStatus.PROCESSING,
                    outcome="sale_adopted",
                    payment_method_nonce="",
                    **_sale_fields(existing),
                )
    return _verify(order, allowed_from=(OrderStatus.PROCESSING, OrderStatus.NEEDS_REVIEW))
