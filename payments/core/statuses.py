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
# The forward moves after the sale (payments/core/lifecycle.py allows exactly these).
AFTER_SALE_MOVES = {
    OrderStatus.PAID: AFTER_SALE_STATUSES,
    OrderStatus.PARTIALLY_REFUNDED: frozenset({OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED}),
}
# A paid order, or one that moved on after the sale: its sale took the money (refunds aside).
SOLD_STATUSES = frozenset({OrderStatus.PAID}) | AFTER_SALE_STATUSES
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
