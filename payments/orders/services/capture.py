"""Capturing or canceling a manual order's authorization exactly once: decide, claim, look, write, record.

- `order_capture_request` and `order_cancel_request` (the API) record the merchant's decision on
  an authorized order under its row lock, in `authorization_decision`: the first capture or
  cancel wins, every later one is refused (409), and an Idempotency-Key replay of the winner
  answers the same. The task goes out after the commit.
- `order_capture` and `order_cancel` (the workers) claim the order under a lease, find the sale at
  the gateway and write only while it is still `authorized`: a capture is a
  `submit_for_settlement`, a cancel a `void`, each with an `api_request_key` made of the order and
  the decision, so a redelivery after a lost answer gets the first answer back instead of a
  second write. A sale the gateway shows captured, voided or expired already (a worker died after
  writing) is recorded as it is, never written again.
- `_decision_record` takes the lock again and ends the authorization: paid (with
  `captured_amount`), canceled, authorization_expired, or needs_review when the gateway's state
  contradicts the decision. No row lock is held across the network.
"""

import hashlib
import logging
import time
from dataclasses import dataclass
from decimal import Decimal

from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from payments.core.dispatch import publish
from payments.core.exceptions import (
    AuthorizationNotCapturable,
    CaptureTooLarge,
    GatewayMisconfigured,
    GatewayUnavailable,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    OrderLeased,
)
from payments.core.idempotency import try_lock_idempotency_key
from payments.core.leases import lease_kept
from payments.core.lifecycle import (
    Action,
    Outcome,
    event_row,
    lease_from_now,
    lease_is_live,
    order_end_locked,
    order_lock,
    order_park,
)
from payments.core.logs import log_gateway_call
from payments.core.statuses import (
    TRANSACTION_AUTHORIZATION_EXPIRED,
    TRANSACTION_CAPTURED_STATUSES,
    OrderStatus,
)
from payments.gateways import get_gateway
from payments.gateways.base import RefundOutcome
from payments.models import AuthorizationDecision, CaptureMode, Order, OrderEvent
from payments.orders.services.verify import find_row, find_unavailable_row, sale_find
from payments.tasks import cancel_order_task, capture_order_task

logger = logging.getLogger(__name__)
CENTS = Decimal("0.01")

Decision = AuthorizationDecision
_ACTION = {Decision.CAPTURE: Action.CAPTURE, Decision.CANCEL: Action.CANCEL}
_REQUESTED = {Decision.CAPTURE: Outcome.CAPTURE_REQUESTED, Decision.CANCEL: Outcome.CANCEL_REQUESTED}
_TASK = {Decision.CAPTURE: capture_order_task, Decision.CANCEL: cancel_order_task}
_WAITING = {
    Decision.CAPTURE: "Capture requested; waiting for the gateway.",
    Decision.CANCEL: "Cancel requested; waiting for the gateway to void the authorization.",
}


@dataclass(frozen=True)
class DecisionResult:
    order: Order
    created: bool


def decision_fingerprint(decision, amount):
    """What makes two requests with one Idempotency-Key the same (absent amount = the whole authorization)."""
    canonical = f"{decision}:{'all' if amount is None else amount}"
    return hashlib.sha256(canonical.encode()).hexdigest()


def order_capture_request(*, order_id, amount=None, idempotency_key=None):
    """Ask to capture `amount` (None: all) of an authorized manual order; dispatched after commit.

    Raises CaptureTooLarge (400) above the authorized amount, AuthorizationNotCapturable (409)
    unless the order is authorized and nobody asked to capture or cancel it yet, and the
    Idempotency-Key errors of order creation.
    """
    return _decide(order_id, Decision.CAPTURE, amount, idempotency_key)


def order_cancel_request(*, order_id, idempotency_key=None):
    """Ask to cancel an authorized manual order (its authorization is voided); dispatched after commit.

    Raises AuthorizationNotCapturable (409) unless the order is authorized and undecided.
    """
    return _decide(order_id, Decision.CANCEL, None, idempotency_key)


def _decide(order_id, decision, amount, idempotency_key):
    amount = None if amount is None else Decimal(amount).quantize(CENTS)
    fingerprint = decision_fingerprint(decision, amount)
    with transaction.atomic():
        if idempotency_key is not None and not try_lock_idempotency_key(f"decision:{order_id}", idempotency_key):
            raise IdempotencyKeyInFlight()
        # The row lock makes the decision a claim: of a capture and a cancel racing each other,
        # the second to get here finds the first's decision and is refused.
        order = order_lock(order_id)
        if idempotency_key is not None and order.decision_idempotency_key == idempotency_key:
            if order.decision_fingerprint != fingerprint:
                raise IdempotencyKeyReused()
            return DecisionResult(order=order, created=False)
        if amount is not None and order.authorized_amount is not None and amount > order.authorized_amount:
            # Checked before the state: this request can never succeed on this order.
            raise CaptureTooLarge(f"The amount exceeds the authorized amount of {order.authorized_amount}.")
        if order.capture != CaptureMode.MANUAL:
            raise AuthorizationNotCapturable("Only a manual-capture order can be captured or canceled.")
        if order.status != OrderStatus.AUTHORIZED or order.authorization_decision:
            already = f" and already asked to {order.authorization_decision}" if order.authorization_decision else ""
            raise AuthorizationNotCapturable(
                f"Only an authorized order can be captured or canceled; this one is {order.status}{already}."
            )
        if decision == Decision.CAPTURE and amount is None:
            amount = order.authorized_amount
        order.authorization_decision = decision
        order.decision_amount = amount
        order.decision_idempotency_key = idempotency_key
        order.decision_fingerprint = fingerprint
        order.status_detail = _WAITING[decision]
        order.save(
            update_fields=[
                "authorization_decision",
                "decision_amount",
                "decision_idempotency_key",
                "decision_fingerprint",
                "status_detail",
                "updated_at",
            ]
        )
        detail = {"amount": str(amount)} if amount is not None else {}
        event_row(order, _ACTION[decision], outcome=_REQUESTED[decision], detail=detail).save()
        transaction.on_commit(lambda: publish(_TASK[decision], order_id))
    return DecisionResult(order=order, created=True)


def order_capture(*, order_id):
    """Carry out a recorded capture exactly once (the worker's service); a no-op unless one is due."""
    return _carry_out(order_id, Decision.CAPTURE)


def order_cancel(*, order_id):
    """Carry out a recorded cancel (void) exactly once (the worker's service); a no-op unless one is due."""
    return _carry_out(order_id, Decision.CANCEL)


def _carry_out(order_id, decision):
    """Claim, look at the gateway, write if the sale is still authorized, record.

    Raises OrderLeased while another claim's lease is live, GatewayUnavailable when the outcome is
    unknown (the next delivery finds the sale before writing again).
    """
    order = _decision_claim(order_id, decision)
    if order is None:
        return Order.objects.filter(pk=order_id).first()
    try:
        # Renewed while the gateway calls run: a dead worker's claim lapses within one lease.
        with lease_kept(order, OrderStatus.AUTHORIZED):
            return _carry_out_claimed(order, decision)
    except GatewayUnavailable:
        _decision_release(order.pk, order.claims)
        raise
    except (OperationalError, InterfaceError):
        connection.close()
        try:
            _decision_release(order.pk, order.claims)
        except (OperationalError, InterfaceError):
            logger.warning("Order %s: lease not released; it expires on its own", order.pk)
        raise
    except GatewayMisconfigured as exc:
        order_park(order.pk, reason=str(exc))
        raise


def _decision_claim(order_id, decision):
    """Take the lock and claim an authorized order for its `decision`; None when there is nothing to do."""
    now = timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(pk=order_id).first()
        if order is None:
            logger.warning("%s of unknown order %s ignored", decision, order_id)
            return None
        if order.status != OrderStatus.AUTHORIZED or order.authorization_decision != decision:
            # Recorded already (a redelivery), or the other decision won the claim: nothing to do.
            return None
        if lease_is_live(order, now):
            raise OrderLeased(order.pk, order.lease_expires_at)
        order.claims += 1
        order.lease_expires_at = lease_from_now(now)
        order.save(update_fields=["claims", "lease_expires_at", "updated_at"])
        event_row(order, Action.CLAIM, outcome=Outcome.CLAIMED, detail={"decision": decision}).save()
    return order


def _decision_release(order_id, claims):
    """Give up our lease so the retry can claim at once (only while our claim still holds)."""
    Order.objects.filter(pk=order_id, status=OrderStatus.AUTHORIZED, claims=claims).update(lease_expires_at=None)


def _carry_out_claimed(order, decision):
    transaction_id = order.transaction_id
    # Look first: a worker that died after its write left the sale captured or voided, and the
    # write must not be repeated (the api_request_key would replay it; this needs no replay).
    try:
        info = sale_find(order, transaction_id)
    except GatewayUnavailable as exc:
        find_unavailable_row(order, transaction_id, exc).save()
        raise
    earlier = [find_row(order, transaction_id, info)]
    if info is None or info.status != "authorized":
        return _decision_record(order.pk, decision, info, earlier)
    written, call_row = _write(order, decision, transaction_id)
    earlier.append(call_row)
    if written is None:
        # Refused: the sale's state moved under us (expired, voided...). Look again and record that.
        OrderEvent.objects.bulk_create(earlier)
        earlier = []
        info = sale_find(order, transaction_id)
        earlier.append(find_row(order, transaction_id, info))
    else:
        info = written
    return _decision_record(order.pk, decision, info, earlier)


def _write(order, decision, transaction_id):
    """The gateway write: `(transaction, call_row)`; the transaction is None if the gateway refused."""
    api_request_key = f"{order.pk}:{decision}"
    # Named as payments_gateway_requests_total labels the call (payments/core/metrics.py).
    call = "capture" if decision == Decision.CAPTURE else "void"
    started = time.monotonic()
    try:
        if decision == Decision.CAPTURE:
            result = get_gateway().submit_for_settlement(
                transaction_id=transaction_id, amount=order.decision_amount, api_request_key=api_request_key
            )
        else:
            result = get_gateway().void(transaction_id=transaction_id, api_request_key=api_request_key)
    except GatewayUnavailable as exc:
        log_gateway_call(order, call, outcome=Outcome.UNAVAILABLE, started=started, transaction_id=transaction_id)
        event_row(
            order, _ACTION[decision], outcome=Outcome.UNAVAILABLE, transaction_id=transaction_id,
            detail={"error": str(exc)[:500]},
        ).save()
        raise
    succeeded = result.outcome == RefundOutcome.SUCCEEDED
    outcome = Outcome.APPROVED if succeeded else Outcome.DECISION_REFUSED
    log_gateway_call(order, call, outcome=outcome, started=started, transaction_id=transaction_id)
    row = event_row(
        order,
        _ACTION[decision],
        outcome=outcome,
        transaction_id=transaction_id,
        detail={"error_codes": result.error_codes, "message": result.message[:255]} if not succeeded else {},
    )
    return (result.transaction if succeeded else None), row


def decision_verdict(order, decision, info):
    """`(status, outcome, reason)` for an authorization whose sale the gateway describes as `info`."""
    if info is None:
        return OrderStatus.NEEDS_REVIEW, Outcome.VERIFIED_NEEDS_REVIEW, f"Transaction {order.transaction_id} not found."
    if info.status in TRANSACTION_CAPTURED_STATUSES:
        if decision != Decision.CAPTURE:
            return OrderStatus.NEEDS_REVIEW, Outcome.VERIFIED_NEEDS_REVIEW, "Asked to cancel, but the sale is captured."
        if order.authorized_amount is not None and info.amount > order.authorized_amount:
            return OrderStatus.NEEDS_REVIEW, Outcome.VERIFIED_NEEDS_REVIEW, f"Captured {info.amount}, above the authorization."
        return OrderStatus.PAID, Outcome.CAPTURED, ""
    if info.status == "voided":
        # Released, whoever voided it: the truth is that nothing will be captured.
        reason = "" if decision == Decision.CANCEL else "The authorization was voided before the capture."
        return OrderStatus.CANCELED, Outcome.CANCELED, reason
    if info.status == TRANSACTION_AUTHORIZATION_EXPIRED:
        return OrderStatus.AUTHORIZATION_EXPIRED, Outcome.AUTHORIZATION_EXPIRED, "The gateway let the authorization expire."
    return OrderStatus.NEEDS_REVIEW, Outcome.VERIFIED_NEEDS_REVIEW, f"The gateway refused the {decision}; sale is {info.status}."


def _decision_record(order_id, decision, info, earlier):
    """Take the lock and end the authorization as the gateway shows it (a no-op if recorded already)."""
    with transaction.atomic():
        order = order_lock(order_id)
        if order.status != OrderStatus.AUTHORIZED or order.authorization_decision != decision:
            # A concurrent delivery recorded first: its rows stay, ours are the calls we made.
            OrderEvent.objects.bulk_create(earlier)
            return order
        to_status, outcome, reason = decision_verdict(order, decision, info)
        fields = {"gateway_status": info.status} if info is not None else {}
        if to_status == OrderStatus.PAID:
            fields["captured_amount"] = info.amount
        return order_end_locked(
            order, to_status, outcome=outcome, action=_ACTION[decision], reason=reason, earlier=earlier, **fields
        )


def order_decision_give_up(*, order_id, reason):
    """A capture or cancel out of retries: its outcome is unknown, so a human decides (needs_review)."""
    with transaction.atomic():
        order = order_lock(order_id)
        if order.status != OrderStatus.AUTHORIZED or not order.authorization_decision:
            return order
        if lease_is_live(order, timezone.now()):
            # Another delivery holds the claim; it owns the outcome.
            return order
        return order_end_locked(order, OrderStatus.NEEDS_REVIEW, outcome=Outcome.RETRIES_EXHAUSTED, reason=reason)


def order_authorization_expire(*, order_id):
    """Ask the gateway about an authorized order's authorization; record it expired if the gateway did.

    Returns True when the order became authorization_expired. A claimed order (a capture or
    cancel under way) is left to its worker, which finds the same answer.
    """
    order = Order.objects.filter(pk=order_id, status=OrderStatus.AUTHORIZED).first()
    if order is None:
        return False
    # Spaces the questions about one order, whatever the answer (orders_authorization_lapsed).
    Order.objects.filter(pk=order.pk).update(settlement_checked_at=timezone.now())
    info = sale_find(order, order.transaction_id)
    if info is None or info.status != TRANSACTION_AUTHORIZATION_EXPIRED:
        return False
    with transaction.atomic():
        order = order_lock(order.pk)
        if order.status != OrderStatus.AUTHORIZED or lease_is_live(order, timezone.now()):
            return False
        order_end_locked(
            order,
            OrderStatus.AUTHORIZATION_EXPIRED,
            outcome=Outcome.AUTHORIZATION_EXPIRED,
            reason="The gateway let the authorization expire.",
            earlier=[find_row(order, order.transaction_id, info)],
            gateway_status=info.status,
        )
    return True


def order_decision_resend(*, order_id, updated_at):
    """Send a stuck capture or cancel again (once per idle period: the update is the claim); True if sent."""
    order = Order.objects.filter(pk=order_id).only("id", "authorization_decision").first()
    taken = Order.objects.filter(pk=order_id, status=OrderStatus.AUTHORIZED, updated_at=updated_at).update(
        updated_at=timezone.now()
    )
    if not taken or order is None:
        return False
    return publish(_TASK[Decision(order.authorization_decision)], order_id)
