"""The reconciler's share of saved payment methods: stores and vault deletes that got stuck."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from payments.core.dispatch import publish
from payments.core.statuses import PaymentMethodStatus
from payments.customers.selectors import payment_methods_stuck_deleting, payment_methods_stuck_pending
from payments.models import PaymentMethod
from payments.tasks import delete_payment_method_task, store_payment_method_task


def payment_methods_reconcile(*, pending_after_seconds, limit):
    """Re-send the store of methods pending for too long (failing those stored too often without
    an answer) and the vault delete of deleted ones the gateway has not confirmed."""
    cutoff = timezone.now() - timedelta(seconds=pending_after_seconds)
    counts = {"payment_methods_restored": 0, "payment_methods_given_up": 0, "payment_methods_redeleted": 0}
    for method in payment_methods_stuck_pending(older_than=cutoff, limit=limit):
        if method.store_attempts >= settings.PAYMENTS_MAX_CLAIMS:
            # One conditional UPDATE: a store that finished meanwhile is left as it is.
            given_up = PaymentMethod.objects.filter(pk=method.pk, status=PaymentMethodStatus.PENDING).update(
                status=PaymentMethodStatus.FAILED,
                payment_method_nonce="",
                failure_reason=f"No answer from the gateway after {method.store_attempts} attempts to store it.",
                updated_at=timezone.now(),
            )
            counts["payment_methods_given_up"] += given_up
            continue
        # Touch it, so the next run waits another pending_after_seconds for this store.
        PaymentMethod.objects.filter(pk=method.pk, status=PaymentMethodStatus.PENDING).update(updated_at=timezone.now())
        publish(store_payment_method_task, method.pk)
        counts["payment_methods_restored"] += 1
    for method in payment_methods_stuck_deleting(older_than=cutoff, limit=limit):
        publish(delete_payment_method_task, method.pk)
        counts["payment_methods_redeleted"] += 1
    return counts
