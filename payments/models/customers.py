"""Saved payment methods: an API client's customers and the cards stored on them at Braintree.

No card data is kept here: a payment method is stored in Braintree's vault from a nonce, and the
service keeps only masked facts (type, last four digits, expiry). The gateway's customer id and
token are chosen by the service from the rows' own UUIDs, so a retried store after a lost answer
finds what it stored instead of storing a second card.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from payments.core.statuses import PaymentMethodStatus


class Customer(models.Model):
    """An API client's customer, and (once a card is stored) a customer in Braintree's vault."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="customers")
    email = models.EmailField(blank=True, default="")
    # The client's own reference for this customer (its user id, an account number...).
    reference = models.CharField(max_length=255, blank=True, default="")
    # Set once the store task created (or found) the customer at the gateway.
    gateway_customer_created = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="customer_owner_recent")]

    def __str__(self):
        return f"Customer {self.id}"

    @property
    def gateway_customer_id(self):
        """The customer's id in Braintree's vault (at most 36 of [A-Za-z0-9_-]): its own UUID."""
        return str(self.pk)


class PaymentMethod(models.Model):
    """A card stored in Braintree's vault for one customer; charged by its token, never exposed.

    pending → active | failed (the store task); active → deleted (the API, at once; the gateway
    delete follows in a task, `gateway_deleted_at`). Only an active method can be charged.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payment_methods")
    status = models.CharField(max_length=16, choices=PaymentMethodStatus.choices, default=PaymentMethodStatus.PENDING)
    # Write-only; cleared as soon as the store is decided so a spent credential is not kept.
    payment_method_nonce = models.TextField(blank=True, default="")
    make_default = models.BooleanField(default=True)

    # Masked card facts from the gateway's answer: never a full number, never a CVV.
    card_type = models.CharField(max_length=32, blank=True, default="")
    last_4 = models.CharField(max_length=4, blank=True, default="")
    expiration_month = models.CharField(max_length=2, blank=True, default="")
    expiration_year = models.CharField(max_length=4, blank=True, default="")
    is_default = models.BooleanField(default=False)

    failure_reason = models.CharField(max_length=255, blank=True, default="")
    error_codes = models.JSONField(default=list, blank=True)
    # How often a worker tried to store it: the reconciler re-sends a stuck pending method.
    store_attempts = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # When the gateway confirmed the token is gone (null while the delete task is on its way).
    gateway_deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=PaymentMethodStatus.values), name="payment_method_status_known"
            ),
        ]
        indexes = [
            # The reconciler's queries: stores and gateway deletes still on their way.
            models.Index(
                fields=["updated_at"], condition=Q(status=PaymentMethodStatus.PENDING), name="pm_pending_by_age"
            ),
            models.Index(
                fields=["deleted_at"],
                condition=Q(status=PaymentMethodStatus.DELETED, gateway_deleted_at__isnull=True),
                name="pm_undeleted_at_gateway",
            ),
        ]

    def __str__(self):
        return f"Payment method {self.id} ({self.status})"

    @property
    def gateway_token(self):
        """The token the card is stored under at Braintree (chosen by us, so a retry finds it)."""
        return self.token_for(self.pk)

    @staticmethod
    def token_for(payment_method_id):
        """The vault token of the payment method with this id (`pm_` and the UUID's 32 hex digits)."""
        return f"pm_{uuid.UUID(str(payment_method_id)).hex}"
