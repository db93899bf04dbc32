"""Refunds and voids of a paid order: one row per request, charged like the sale."""

import uuid

from django.db import models
from django.db.models import Q

from payments.core.statuses import RefundKind, RefundStatus


class Refund(models.Model):
    """One refund (or void) of an order's sale, and the outbox of its gateway call.

    Like an order it is claimed by a worker under a lease and never goes backwards
    (pending → processing → succeeded | failed | needs_review; a partial refund of an unsettled
    sale goes back to `pending` only before any gateway write, while it waits for settlement).
    Its own id is the refund's `order_id` at Braintree, so a refund found at the gateway is
    matched to exactly one row.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey("payments.Order", on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    status = models.CharField(max_length=16, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    # Blank until the worker decided between voiding the sale and refunding it.
    kind = models.CharField(max_length=8, choices=RefundKind.choices, blank=True, default="")
    # The credit transaction of a refund; the sale's id for a void.
    transaction_id = models.CharField(max_length=64, null=True, blank=True)
    gateway_status = models.CharField(max_length=64, blank=True, default="")
    error_codes = models.JSONField(default=list, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True, default="")
    # Why a refund that has not failed is still waiting (e.g. for its sale to settle).
    status_detail = models.CharField(max_length=255, blank=True, default="")

    claims = models.PositiveIntegerField(default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Set once a worker may have written to the gateway: from then on it looks before writing.
    ever_sent = models.BooleanField(default=False)

    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(condition=Q(status__in=RefundStatus.values), name="refund_status_known"),
            models.UniqueConstraint(
                fields=["order", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="refund_unique_idempotency_key_per_order",
            ),
            models.CheckConstraint(
                condition=~Q(status=RefundStatus.SUCCEEDED) | Q(transaction_id__isnull=False),
                name="refund_succeeded_has_transaction",
            ),
        ]
        indexes = [
            models.Index(
                fields=["status", "updated_at"],
                condition=Q(status__in=[RefundStatus.PENDING, RefundStatus.PROCESSING]),
                name="refund_active_by_age",
            ),
            models.Index(fields=["transaction_id"], name="refund_transaction_id"),
        ]

    def __str__(self):
        return f"Refund {self.id} of {self.amount} ({self.status})"
