"""Braintree webhook notifications, stored once however often they are delivered."""

from django.db import models


class WebhookNotification(models.Model):
    """A verified Braintree webhook, stored once however often Braintree delivers it."""

    class State(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (unknown kind or subject)"

    kind = models.CharField(max_length=64)
    subject_id = models.CharField(max_length=64)
    timestamp = models.DateTimeField()
    # The parsed subject fields the processing needs (transaction id, dispute amount, reason...).
    data = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.RECEIVED)
    deliveries = models.PositiveIntegerField(default=1)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # Braintree retries a delivery for hours and does not order them: one row per event.
            models.UniqueConstraint(fields=["kind", "subject_id", "timestamp"], name="webhook_unique_event"),
        ]
        indexes = [models.Index(fields=["state", "received_at"], name="webhook_by_state")]

    def __str__(self):
        return f"{self.kind} {self.subject_id} @ {self.timestamp.isoformat()}"
