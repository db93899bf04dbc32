import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from payments.core.statuses import ACTIVE_STATUSES, RESTING_STATUSES, DisputeStatus, OrderStatus
from payments.gateways.base import SaleOutcome


class LastSaleOutcome(models.TextChoices):
    """What the gateway answered to the order's latest sale call (blank: no sale yet)."""

    APPROVED = SaleOutcome.APPROVED.value, "Approved"
    DECLINED = SaleOutcome.DECLINED.value, "Processor declined"
    REJECTED = SaleOutcome.REJECTED.value, "Gateway rejected"
    PROCESSOR_FAILED = SaleOutcome.PROCESSOR_FAILED.value, "Processor failed (3000)"
    INVALID = SaleOutcome.INVALID.value, "Validation error"
    # No answer (timeout, 5xx, a key still in flight): money may have moved.
    UNAVAILABLE = "unavailable", "Unknown (no answer)"


class CaptureMode(models.TextChoices):
    """When an approved sale is captured: at once (settled), or when the merchant asks."""

    AUTOMATIC = "automatic", "Automatic"
    MANUAL = "manual", "Manual"


class AuthorizationDecision(models.TextChoices):
    """What the merchant asked of a manual order's authorization (blank: nothing yet)."""

    CAPTURE = "capture", "Capture"
    CANCEL = "cancel", "Cancel"


class Order(models.Model):
    """An order to charge, and the outbox of its payment: the row is the source of truth.

    A `processing` order with no `transaction_id` is being charged (sale); with one it is being
    verified. The public status never goes backwards: payments/core/lifecycle.py enforces the
    transitions. Facts a decision needs are columns here, written by the transition that appends
    the event row, never read back from the event log.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    # The Braintree merchant account the order is charged on, fixed at intake from
    # BRAINTREE_MERCHANT_ACCOUNTS[currency]: Braintree charges in that account's currency, and
    # verify checks the transaction's account against it. Blank on orders older than the field
    # (sold on the gateway's default account).
    merchant_account_id = models.CharField(max_length=64, blank=True, default="")
    description = models.CharField(max_length=255, blank=True, default="")
    # Write-only; cleared as soon as the sale is decided so a spent credential is not kept.
    payment_method_nonce = models.TextField(blank=True, default="")
    # Or a saved card (payments/models/customers.py), charged by its vault token: exactly one of
    # the two is set at intake. A token is reusable, so only the claim, the search before a
    # resale and the api_request_key stand between a retry and a second charge.
    payment_method = models.ForeignKey(
        "payments.PaymentMethod", null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )

    status = models.CharField(max_length=24, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    transaction_id = models.CharField(max_length=64, null=True, blank=True)
    gateway_status = models.CharField(max_length=64, blank=True, default="")
    processor_response_code = models.CharField(max_length=16, blank=True, default="")
    processor_response_text = models.CharField(max_length=255, blank=True, default="")
    error_codes = models.JSONField(default=list, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True, default="")
    # Why an order that has not failed is still waiting (a retry's backoff, a claim's lease): kept
    # apart from failure_reason, which only a failure writes.
    status_detail = models.CharField(max_length=255, blank=True, default="")
    # Braintree's reason for a gateway_rejected sale (fraud, risk_threshold, ...): the "why" of a
    # rejection, which has no processor response code or text.
    gateway_rejection_reason = models.CharField(max_length=64, blank=True, default="")

    # Delivery bookkeeping: how often a worker claimed the order, until when the current claim
    # holds, and which sale attempt we are on (it feeds the sale's api_request_key).
    claims = models.PositiveIntegerField(default=0)
    sale_attempt = models.PositiveIntegerField(default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Set by the first claim and never cleared (an admin re-queue resets `claims`, not this): a
    # claimed order's worker may have sold and died before recording, so the next claim searches
    # the gateway before selling.
    ever_claimed = models.BooleanField(default=False)
    last_sale_outcome = models.CharField(max_length=16, choices=LastSaleOutcome.choices, blank=True, default="")

    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # After the sale. `refunded_amount` is the sum of the order's succeeded refunds, written by the
    # transition that records each one.
    refunded_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    # When the settlement tracker last asked the gateway (oldest first, so every run moves on).
    settlement_checked_at = models.DateTimeField(null=True, blank=True)
    # The latest dispute, from signed webhooks; `dispute_updated_at` is that notification's
    # timestamp, so a late, reordered delivery of an older one never overwrites a newer status.
    dispute_id = models.CharField(max_length=64, blank=True, default="")
    dispute_status = models.CharField(max_length=16, choices=DisputeStatus.choices, blank=True, default="")
    dispute_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    dispute_reason = models.CharField(max_length=64, blank=True, default="")
    dispute_updated_at = models.DateTimeField(null=True, blank=True)

    # Manual capture: the sale only authorizes, and the merchant captures (all or part of the
    # authorization) or cancels it later. `authorization_decision` is the claim: written once,
    # under the row lock, by the first capture or cancel request, so exactly one of them ever
    # reaches the gateway; `decision_amount` is the capture's amount.
    capture = models.CharField(max_length=16, choices=CaptureMode.choices, default=CaptureMode.AUTOMATIC)
    authorized_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    captured_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    authorization_expires_at = models.DateTimeField(null=True, blank=True)
    authorization_decision = models.CharField(
        max_length=16, choices=AuthorizationDecision.choices, blank=True, default=""
    )
    decision_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    decision_idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    decision_fingerprint = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        permissions = [("refund_order", "Can refund an order (moves money back to the customer)")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="order_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values), name="order_status_known"
            ),
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="order_unique_idempotency_key_per_owner",
            ),
            models.CheckConstraint(
                condition=~Q(status=OrderStatus.PAID) | Q(transaction_id__isnull=False),
                name="order_paid_has_transaction",
            ),
            # Never more captured than authorized, whatever the workers race.
            models.CheckConstraint(
                condition=Q(captured_amount__isnull=True)
                | Q(authorized_amount__isnull=True)
                | Q(captured_amount__lte=F("authorized_amount")),
                name="order_captured_within_authorized",
            ),
        ]
        indexes = [
            # The reconciler's query: only the (few) active rows are in this index, so it stays
            # small and cheap however many millions of settled orders the table holds.
            models.Index(
                fields=["status", "updated_at"],
                condition=Q(status__in=ACTIVE_STATUSES),
                name="order_active_by_age",
            ),
            # The reconciler's recheck of parked orders whose sale may have landed late.
            models.Index(
                fields=["updated_at"],
                condition=Q(status=OrderStatus.NEEDS_REVIEW, transaction_id__isnull=True),
                name="order_in_review_by_age",
            ),
            models.Index(fields=["owner", "-created_at"], name="order_owner_recent"),
            models.Index(fields=["transaction_id"], name="order_transaction_id"),
            # The ops dashboard and /metrics: counts by status (index-only), throughput and the
            # needs_review queue as ranges in a bounded window (payments/ops/selectors.py).
            models.Index(fields=["status", "updated_at"], name="order_status_by_age"),
            # The settlement tracker's query: paid orders whose sale has not settled yet.
            models.Index(
                fields=["settlement_checked_at"],
                condition=Q(status=OrderStatus.PAID) & ~Q(gateway_status__in=["settled", "settlement_confirmed"]),
                name="order_unsettled_by_check",
            ),
            # The reconciler's queries on manual-capture orders: authorizations that may have
            # expired, and captures or cancels whose task was lost.
            models.Index(
                fields=["authorization_expires_at"],
                condition=Q(status=OrderStatus.AUTHORIZED),
                name="order_authorized_by_expiry",
            ),
        ]

    def __str__(self):
        return f"Order {self.id} ({self.status})"

    @property
    def is_resting(self):
        """No worker will move it again: paid, failed, or parked in needs_review for a human."""
        return self.status in RESTING_STATUSES


class OrderEvent(models.Model):
    """The order's event log: its creation, every status transition, gateway call and re-queue."""

    class Action(models.TextChoices):
        CREATE = "create", "Create"
        CLAIM = "claim", "Claim"
        SALE = "sale", "Sale"
        SEARCH = "search", "Search by order id"
        FIND = "find", "Find transaction"
        TRANSITION = "transition", "Transition"
        REQUEUE = "requeue", "Re-queue"
        REFUND = "refund", "Refund"
        SETTLEMENT = "settlement", "Settlement"
        DISPUTE = "dispute", "Dispute"
        CAPTURE = "capture", "Capture"
        CANCEL = "cancel", "Cancel (void)"

    class Outcome(models.TextChoices):
        # claim
        CLAIMED = "claimed", "Claimed"
        CLAIMS_EXHAUSTED = "claims_exhausted", "Claims exhausted"
        # sale (the gateway's answer), and find/search calls that got no answer
        APPROVED = LastSaleOutcome.APPROVED.value, LastSaleOutcome.APPROVED.label
        DECLINED = LastSaleOutcome.DECLINED.value, LastSaleOutcome.DECLINED.label
        REJECTED = LastSaleOutcome.REJECTED.value, LastSaleOutcome.REJECTED.label
        PROCESSOR_FAILED = LastSaleOutcome.PROCESSOR_FAILED.value, LastSaleOutcome.PROCESSOR_FAILED.label
        INVALID = LastSaleOutcome.INVALID.value, LastSaleOutcome.INVALID.label
        UNAVAILABLE = LastSaleOutcome.UNAVAILABLE.value, "No answer"  # also of a find or search
        ORPHANED_SALE = "orphaned_sale", "Successful sale the order did not record"
        # search by order id
        FOUND_PAID = "found_paid", "Found a successful sale"
        NO_PAID_SALE = "no_paid_sale", "No successful sale"
        LATE_SALE_AMOUNT_MISMATCH = "late_sale_amount_mismatch", "Late sale with another amount"
        LATE_SALE_CURRENCY_MISMATCH = "late_sale_currency_mismatch", "Late sale in another currency or account"
        # find (the gateway's transaction status is in detail["status"])
        FOUND = "found", "Found"
        NOT_FOUND = "not_found", "Not found"
        # transitions
        SALE_APPROVED = "sale_approved", "Sale approved"
        SALE_DECLINED = "sale_declined", "Sale declined"
        SALE_REJECTED = "sale_rejected", "Sale rejected"
        SALE_INVALID = "sale_invalid", "Sale invalid"
        SALE_ADOPTED = "sale_adopted", "Earlier sale adopted"
        PROCESSOR_FAILED_RETRYING = "processor_failed_retrying", "Processor failed, retrying"
        PROCESSOR_FAILED_FINAL = "processor_failed_final", "Processor failed, giving up"
        PARKED = "parked", "Parked for review"
        RETRIES_EXHAUSTED = "retries_exhausted", "Retries exhausted"
        VERIFIED_PAID = "verified_paid", "Verified paid"
        VERIFIED_FAILED = "verified_failed", "Verified failed"
        VERIFIED_NEEDS_REVIEW = "verified_needs_review", "Verified: needs review"
        LATE_SALE_ADOPTED = "late_sale_adopted", "Late sale adopted"
        # re-queue
        RECONCILER_CHARGE = "reconciler_charge", "Reconciler re-sent charge"
        RECONCILER_VERIFY = "reconciler_verify", "Reconciler re-sent verify"
        ADMIN_REQUEUE = "admin_requeue", "Admin re-queue"
        # after the sale
        REFUND_REQUESTED = "refund_requested", "Refund requested"
        REFUNDED = "refunded", "Refund recorded"
        REFUND_REFUSED = "refund_refused", "Refund refused by the gateway"
        SETTLED = "settled", "Sale settled"
        SETTLEMENT_DECLINED = "settlement_declined", "Settlement declined"
        DISPUTE = "dispute", "Dispute notification"
        # manual capture
        VERIFIED_AUTHORIZED = "verified_authorized", "Verified: authorized"
        CAPTURE_REQUESTED = "capture_requested", "Capture requested"
        CANCEL_REQUESTED = "cancel_requested", "Cancel requested"
        CAPTURED = "captured", "Captured"
        CANCELED = "canceled", "Authorization voided"
        AUTHORIZATION_EXPIRED = "authorization_expired", "Authorization expired"
        DECISION_REFUSED = "decision_refused", "Capture or cancel refused by the gateway"

    # The audit trail outlives nothing it describes: an order with events cannot be deleted.
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=16, choices=Action.choices)
    from_status = models.CharField(max_length=24, blank=True, default="")
    to_status = models.CharField(max_length=24, blank=True, default="")
    outcome = models.CharField(max_length=64, choices=Outcome.choices, blank=True, default="")
    transaction_id = models.CharField(max_length=64, blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Who asked for it, when a person did (an admin action); null for workers and the reconciler.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        indexes = [
            # The dashboard's recent gateway errors: only those (rare) events are in the index.
            models.Index(
                fields=["created_at"],
                condition=Q(outcome__in=["unavailable", "processor_failed"]),
                name="orderevent_gateway_errors",
            ),
        ]

    def __str__(self):
        return f"{self.action} {self.from_status}->{self.to_status} {self.outcome}"
