"""Verifying a recorded sale with the gateway: the order becomes paid, failed or needs_review."""

import time

from django.db import transaction

from payments.core.exceptions import GatewayMisconfigured, GatewayUnavailable
from payments.core.lifecycle import Action, Outcome, event_row, order_end_locked, order_lock, order_park
from payments.core.logs import log_gateway_call
from payments.core.statuses import (
    TRANSACTION_AUTHORIZATION_EXPIRED,
    TRANSACTION_FAILED_STATUSES,
    TRANSACTION_PAID_STATUSES,
    OrderStatus,
)
from payments.gateways import get_gateway
from payments.models import CaptureMode, Order

VERIFIED_OUTCOMES = {
    OrderStatus.PAID: Outcome.VERIFIED_PAID,
    OrderStatus.FAILED: Outcome.VERIFIED_FAILED,
    OrderStatus.NEEDS_REVIEW: Outcome.VERIFIED_NEEDS_REVIEW,
    OrderStatus.AUTHORIZED: Outcome.VERIFIED_AUTHORIZED,
    OrderStatus.AUTHORIZATION_EXPIRED: Outcome.AUTHORIZATION_EXPIRED,
}


def order_verify(*, order_id):
    """Confirm a recorded sale with the gateway: the order becomes paid, failed or needs_review."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None or order.status != OrderStatus.PROCESSING or not order.transaction_id:
        # Already settled by an earlier delivery, or not sold yet (the charge task's turn).
        return order
    return sale_verify(order, allowed_from=(OrderStatus.PROCESSING,))


def money_mismatch(order, info):
    """Why the gateway's transaction is not the money this order asked for; "" when it is.

    Braintree charges in the merchant account's currency, so the same amount on another account
    is other money. An order older than its `merchant_account_id` column is checked on currency.
    """
    if info.amount != order.amount or info.order_id != str(order.pk):
        return f"Gateway has amount {info.amount} for order_id {info.order_id!r}."
    if info.currency_iso_code != order.currency:
        return f"Gateway has currency {info.currency_iso_code or '(none)'}, the order {order.currency}."
    if order.merchant_account_id and info.merchant_account_id != order.merchant_account_id:
        return (
            f"Gateway charged merchant account {info.merchant_account_id or '(none)'}, "
            f"the order's is {order.merchant_account_id}."
        )
    return ""


def verdict(order, info):
    """`(status, reason)` for an order whose recorded sale the gateway describes as `info`."""
    if info is None:
        return OrderStatus.NEEDS_REVIEW, f"Transaction {order.transaction_id} not found at the gateway."
    mismatch = money_mismatch(order, info)
    if mismatch:
        # Money moved, but not the money this order asked for: never call that paid.
        return OrderStatus.NEEDS_REVIEW, mismatch
    if order.capture == CaptureMode.MANUAL:
        # Only authorized: the money is held until the merchant captures or cancels.
        if info.status == "authorized":
            return OrderStatus.AUTHORIZED, ""
        if info.status == TRANSACTION_AUTHORIZATION_EXPIRED:
            return OrderStatus.AUTHORIZATION_EXPIRED, "The gateway let the authorization expire."
    if info.status in TRANSACTION_PAID_STATUSES:
        return OrderStatus.PAID, ""
    if info.status in TRANSACTION_FAILED_STATUSES:
        return OrderStatus.FAILED, f"Gateway status {info.status}."
    return OrderStatus.NEEDS_REVIEW, f"Unexpected gateway status {info.status}."


def sale_verify(order, *, allowed_from):
    """Find the order's transaction (no lock held), then take the lock, record the find and settle.

    The order is left alone if, meanwhile, it left `allowed_from` or its transaction changed.
    """
    transaction_id = order.transaction_id
    try:
        info = sale_find(order, transaction_id)
    except GatewayUnavailable as exc:
        with transaction.atomic():
            # Under the lock, like the find below: another delivery may have settled the order.
            find_unavailable_row(order_lock(order.pk), transaction_id, exc).save()
        raise
    except GatewayMisconfigured as exc:
        order_park(order.pk, reason=str(exc))
        raise
    with transaction.atomic():
        # The find's event is written under the order's lock, in the transaction that settles the
        # order: a concurrent delivery of the same order (the charge's own verify and a redelivered
        # or reconciled verify task) may have settled it while this find was on the wire, and the
        # event must name the status the order has now, not the one it had before the call.
        order = order_lock(order.pk)
        found = find_row(order, transaction_id, info)
        if order.status not in allowed_from or order.transaction_id != transaction_id:
            found.save()
            return order
        return settle_locked(order, info, earlier=[found])


def sale_find(order, transaction_id):
    """The gateway's view of the order's sale `transaction_id` (None if unknown), logged as a gateway call.

    Raises what the gateway raises (`GatewayUnavailable`, `GatewayMisconfigured`); records nothing.
    """
    started = time.monotonic()
    try:
        info = get_gateway().find(transaction_id)
    except GatewayUnavailable:
        log_gateway_call(order, "find", outcome=Outcome.UNAVAILABLE, started=started, transaction_id=transaction_id)
        raise
    log_gateway_call(
        order, "find", outcome=Outcome.FOUND if info else Outcome.NOT_FOUND, started=started, transaction_id=transaction_id
    )
    return info


def find_row(order, transaction_id, info):
    """The unsaved event of an answered find, naming the order's status now."""
    return event_row(
        order,
        Action.FIND,
        outcome=Outcome.FOUND if info else Outcome.NOT_FOUND,
        transaction_id=transaction_id,
        detail=(
            {
                "status": info.status,
                "amount": str(info.amount),
                "order_id": info.order_id,
                "currency_iso_code": info.currency_iso_code,
                "merchant_account_id": info.merchant_account_id,
            }
            if info
            else {}
        ),
    )


def find_unavailable_row(order, transaction_id, exc):
    """The unsaved event of a find the gateway did not answer."""
    return event_row(
        order, Action.FIND, outcome=Outcome.UNAVAILABLE, transaction_id=transaction_id, detail={"error": str(exc)[:500]}
    )


def settle_locked(order, info, *, earlier=(), **fields):
    """End a locked, sold order on the gateway's view `info` of its sale: paid, failed or needs_review.

    `fields` and `earlier` are saved with the ending (`transition_locked`), so a sale recorded in
    the same transaction costs no UPDATE of its own.
    """
    to_status, reason = verdict(order, info)
    if info is not None:
        fields["gateway_status"] = info.status
    if order.capture == CaptureMode.MANUAL and info is not None and to_status != OrderStatus.NEEDS_REVIEW:
        fields.update(authorization_fields(info, captured=to_status == OrderStatus.PAID))
        # The nonce is spent on an authorization as on a sale (an ending drops it only when final).
        fields["payment_method_nonce"] = ""
    return order_end_locked(order, to_status, outcome=VERIFIED_OUTCOMES[to_status], reason=reason, earlier=earlier, **fields)


def authorization_fields(info, *, captured):
    """The order columns that record a manual order's authorization (and its capture) as `info` shows it."""
    fields = {"authorized_amount": info.amount, "authorization_expires_at": info.authorization_expires_at}
    if captured:
        fields["captured_amount"] = info.amount
    return fields
