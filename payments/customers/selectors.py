"""Reads of customers and their saved payment methods. Nothing here writes."""

from payments.core.statuses import PaymentMethodStatus
from payments.models import Customer, PaymentMethod


def customer_get_for_owner(*, owner, customer_id):
    """The owner's customer, or None (another user's customer is "not found", never "forbidden")."""
    return Customer.objects.filter(owner=owner, pk=customer_id).first()


def customer_list_for_owner(*, owner):
    """The owner's customers, newest first."""
    return Customer.objects.filter(owner=owner).order_by("-created_at", "id")


def payment_method_list_for_customer(*, customer):
    """The customer's payment methods, newest first; a deleted one is gone from the API (the admin keeps it)."""
    return (
        PaymentMethod.objects.filter(customer=customer)
        .exclude(status=PaymentMethodStatus.DELETED)
        .order_by("-created_at", "id")
    )


def payment_method_get_for_customer(*, customer, payment_method_id):
    """The customer's payment method, or None (also once deleted: a DELETE is followed by 404s)."""
    return (
        PaymentMethod.objects.filter(customer=customer, pk=payment_method_id)
        .exclude(status=PaymentMethodStatus.DELETED)
        .first()
    )


def payment_method_get_for_owner(*, owner, payment_method_id):
    """A payment method of one of the owner's customers, or None (another user's is "not found")."""
    return (
        PaymentMethod.objects.filter(customer__owner=owner, pk=payment_method_id).select_related("customer").first()
    )


def payment_methods_stuck_pending(*, older_than, limit):
    """Methods still pending since before `older_than`: their store task was lost or gave up."""
    return list(
        PaymentMethod.objects.filter(status=PaymentMethodStatus.PENDING, updated_at__lt=older_than).order_by(
            "updated_at"
        )[:limit]
    )


def payment_methods_stuck_deleting(*, older_than, limit):
    """Deleted methods the vault has not confirmed gone since before `older_than`."""
    return list(
        PaymentMethod.objects.filter(
            status=PaymentMethodStatus.DELETED, gateway_deleted_at__isnull=True, deleted_at__lt=older_than
        ).order_by("deleted_at")[:limit]
    )
