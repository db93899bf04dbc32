from django.db import models


class Order(models.Model):
    """The post's order: a nonce, then a transaction id, then a final result."""

    total = models.DecimalField(max_digits=12, decimal_places=2)
    braintree_nonce = models.CharField(max_length=4096, blank=True)
    # A returning customer's saved card (Braintree vault token), charged instead of a nonce: the
    # plainest extension of the post for one-click checkout.
    braintree_token = models.CharField(max_length=64, blank=True)
    transaction_id = models.CharField(max_length=64, null=True, blank=True)
    transaction_status = models.CharField(max_length=64, blank=True)
    # "paid" or "failed"; None until the handler stores a final result.
    result = models.CharField(max_length=16, null=True, blank=True)
    error_codes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Instrumentation for bench.compare only (time to final): when a result was first stored.
    final_at = models.DateTimeField(null=True, blank=True)
