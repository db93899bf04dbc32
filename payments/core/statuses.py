"""Status vocabularies shared by the service, its tests and the harnesses.

Importable without configured Django settings (the harnesses and benchmarks read these too), so
the sets are defined here once and nowhere else.
"""

from django.db import models


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    PAID = "paid", "Paid"
    FAILED = "failed", "Failed"
    NEEDS_REVIEW = "needs_review", "Needs review"
    # After the sale (a paid order only ever moves forward into these).
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"
    SETTLEMENT_DECLINED = "settlement_declined", "Settlement declined"
    # A manual-capture order: sold without settlement, the authorization waits for the merchant's
    # capture (then `paid`) or cancel (the authorization is voided), unless the gateway expires it.
    AUTHORIZED = "authorized", "Authorized"
    CANCELED = "canceled", "Canceled"
    AUTHORIZATION_EXPIRED = "authorization_expired", "Authorization expired"


# Orders a worker or the reconciler still moves on its own.
ACTIVE_STATUSES = (OrderStatus.PENDING, OrderStatus.PROCESSING)
# Orders no worker will move again: final, or parked for a human (who may re-queue a parked one).
RESTING_STATUSES = frozenset({OrderStatus.PAID, OrderStatus.FAILED, OrderStatus.NEEDS_REVIEW})
# Orders that can never change status again.
FINAL_STATUSES = frozenset({OrderStatus.PAID, OrderStatus.FAILED})

# Where a paid order can go after the sale: refunds and settlement move it, never a charge worker,
# so for the charge machinery (re-queue, re-verify, nonce clean-up) they are as final as `paid`.
AFTER_SALE_STATUSES = frozenset(
    {OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED, OrderStatus.SETTLEMENT_DECLINED}
)
RESTING_STATUSES = RESTING_STATUSES | AFTER_SALE_STATUSES
FINAL_STATUSES = FINAL_STATUSES | AFTER_SALE_STATUSES
# The endings of a manual-capture authorization other than its capture (which makes it `paid`).
AUTHORIZATION_ENDED_STATUSES = frozenset({OrderStatus.CANCELED, OrderStatus.AUTHORIZATION_EXPIRED})
FINAL_STATUSES = FINAL_STATUSES | AUTHORIZATION_ENDED_STATUSES
# An authorized order rests: no worker moves it until the merchant captures or cancels it (or
# the gateway expires it). It is not final, but for the charge machinery (re-queue, re-verify,
# the claim) its sale is as decided as a paid one's.
RESTING_STATUSES = RESTING_STATUSES | {OrderStatus.AUTHORIZED} | AUTHORIZATION_ENDED_STATUSES
SALE_DECIDED_STATUSES = FINAL_STATUSES | {OrderStatus.AUTHORIZED}
# The forward moves after the sale (payments/core/lifecycle.py allows exactly these).
AFTER_SALE_MOVES = {
    OrderStatus.PAID: AFTER_SALE_STATUSES,
    OrderStatus.PARTIALLY_REFUNDED: frozenset({OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED}),
    # A manual-capture authorization is captured, canceled or expires; an unknown outcome parks it.
    OrderStatus.AUTHORIZED: frozenset(
        {OrderStatus.PAID, OrderStatus.NEEDS_REVIEW} | AUTHORIZATION_ENDED_STATUSES
    ),
}
# A paid order, or one that moved on after the sale: its sale took the money (refunds aside). An
# authorized one's sale holds it (a successful sale at the gateway, not captured yet).
SOLD_STATUSES = frozenset({OrderStatus.PAID, OrderStatus.AUTHORIZED}) | AFTER_SALE_STATUSES
# Orders a refund may be asked of.
REFUNDABLE_ORDER_STATUSES = frozenset({OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED})


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    NEEDS_REVIEW = "needs_review", "Needs review"


class RefundKind(models.TextChoices):
    REFUND = "refund", "Refund"
    VOID = "void", "Void"


# Refunds whose amount is spoken for: everything but a failed one counts against the sale, so the
# sum of successful refunds can never exceed it, whatever order the workers finish in.
REFUND_RESERVING_STATUSES = frozenset(
    {RefundStatus.PENDING, RefundStatus.PROCESSING, RefundStatus.SUCCEEDED, RefundStatus.NEEDS_REVIEW}
)


# The refund's own moves; like an order's, none goes back once money may have moved.
REFUND_TRANSITIONS = {
    RefundStatus.PENDING: {RefundStatus.PROCESSING, RefundStatus.FAILED, RefundStatus.NEEDS_REVIEW},
    RefundStatus.PROCESSING: {
        RefundStatus.PROCESSING,
        # Only while waiting for settlement, before any write to the gateway.
        RefundStatus.PENDING,
        RefundStatus.SUCCEEDED,
        RefundStatus.FAILED,
        RefundStatus.NEEDS_REVIEW,
    },
    RefundStatus.NEEDS_REVIEW: {RefundStatus.PENDING, RefundStatus.SUCCEEDED, RefundStatus.FAILED},
    RefundStatus.SUCCEEDED: set(),
    RefundStatus.FAILED: set(),
}


class DisputeStatus(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"
    ACCEPTED = "accepted", "Accepted"


# Braintree transaction statuses: settled (refund, not void), voidable, and settlement outcomes.
TRANSACTION_SETTLED_STATUSES = frozenset({"settled", "settling", "settlement_confirmed"})
TRANSACTION_VOIDABLE_STATUSES = frozenset({"authorized", "submitted_for_settlement"})
TRANSACTION_UNSETTLED_STATUSES = frozenset(
    {"authorized", "authorizing", "submitted_for_settlement", "settlement_pending"}
)

# Braintree transaction statuses that mean the customer's money is (being) captured.
TRANSACTION_PAID_STATUSES = frozenset(
    {
        "authorized",
        "authorizing",
        "submitted_for_settlement",
        "settling",
        "settled",
        "settlement_pending",
        "settlement_confirmed",
    }
)
# Braintree transaction statuses that mean no money moved (or it was given back before settling).
TRANSACTION_FAILED_STATUSES = frozenset(
    {"processor_declined", "gateway_rejected", "failed", "settlement_declined", "voided"}
)
# Braintree transaction statuses of a captured authorization (submitted, or on its way to the bank).
TRANSACTION_CAPTURED_STATUSES = frozenset(
    {"submitted_for_settlement", "settling", "settled", "settlement_pending", "settlement_confirmed"}
)
# An authorization the gateway let lapse: nothing can be captured any more, the hold is released.
TRANSACTION_AUTHORIZATION_EXPIRED = "authorization_expired"


class PaymentMethodStatus(models.TextChoices):
    """A saved payment method: pending → active | failed; active → deleted (never charged again)."""

    PENDING = "pending", "Pending"
    ACTIVE = "active", "Active"
    FAILED = "failed", "Failed"
    DELETED = "deleted", "Deleted"
