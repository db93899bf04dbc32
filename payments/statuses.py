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


# Orders a worker or the reconciler still moves on its own.
ACTIVE_STATUSES = (OrderStatus.PENDING, OrderStatus.PROCESSING)
# Orders no worker will move again: final, or parked for a human (who may re-queue a parked one).
RESTING_STATUSES = frozenset({OrderStatus.PAID, OrderStatus.FAILED, OrderStatus.NEEDS_REVIEW})
# Orders that can never change status again.
FINAL_STATUSES = frozenset({OrderStatus.PAID, OrderStatus.FAILED})

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
