"""Customers: created in the database only; the gateway's customer comes with the first stored card."""

from payments.models import Customer


def customer_create(*, owner, email="", reference=""):
    """Store a new customer of `owner` (the vault customer is created lazily by the store task)."""
    return Customer.objects.create(owner=owner, email=email, reference=reference)
