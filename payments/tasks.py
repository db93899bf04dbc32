"""Celery tasks: each takes ids, calls one service, and declares its delivery and retry policy.

Queues come from CELERY_TASK_ROUTES; acks_late and reject_on_worker_lost from settings. Retries
are explicit rather than `autoretry_for` so that the last failure can end the order through a
service (needs_review, or failed for a processor that kept answering 3000) instead of leaving it
non-final.
"""

import logging

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.db import InterfaceError, OperationalError

from payments.exceptions import GatewayUnavailable
from payments.services import order_charge, order_give_up, order_verify, orders_reconcile

logger = logging.getLogger(__name__)

# Transient by nature: the gateway was unreachable or busy, or the database connection dropped.
RETRYABLE_ERRORS = (GatewayUnavailable, OperationalError, InterfaceError)

# Defaults of the reconciler; its PeriodicTask row (editable in admin) passes its own kwargs.
RECONCILE_PENDING_AFTER_SECONDS = 60
RECONCILE_PROCESSING_AFTER_SECONDS = 60
RECONCILE_LIMIT = 500


def retry_countdown(retries):
    """Seconds before retry number `retries + 1`: PAYMENTS_RETRY_BACKOFF * 2**retries, capped, full jitter."""
    return get_exponential_backoff_interval(
        factor=settings.PAYMENTS_RETRY_BACKOFF,
        retries=retries,
        maximum=settings.PAYMENTS_RETRY_BACKOFF_MAX,
        full_jitter=settings.PAYMENTS_RETRY_JITTER,
    )


def _retry_or_give_up(task, exc, order_id):
    if task.request.retries >= settings.PAYMENTS_MAX_RETRIES:
        logger.warning("Order %s: giving up after %d retries: %s", order_id, task.request.retries, exc)
        order_give_up(order_id=order_id, reason=f"Gave up after {task.request.retries} retries: {exc}")
        return
    countdown = retry_countdown(task.request.retries)
    logger.info("Order %s: %s; retry %d in %ss", order_id, exc, task.request.retries + 1, countdown)
    raise task.retry(exc=exc, countdown=countdown, max_retries=settings.PAYMENTS_MAX_RETRIES)


@shared_task(bind=True, acks_late=True)
def charge_order_task(self, order_id):
    """Sell the order (once), then hand over to verify_order_task."""
    try:
        order_charge(order_id=order_id)
    except RETRYABLE_ERRORS as exc:
        _retry_or_give_up(self, exc, order_id)


@shared_task(bind=True, acks_late=True)
def verify_order_task(self, order_id):
    """Confirm the recorded sale with the gateway and settle the order."""
    try:
        order_verify(order_id=order_id)
    except RETRYABLE_ERRORS as exc:
        _retry_or_give_up(self, exc, order_id)


@shared_task(acks_late=True)
def reconcile_orders_task(
    pending_after_seconds=RECONCILE_PENDING_AFTER_SECONDS,
    processing_after_seconds=RECONCILE_PROCESSING_AFTER_SECONDS,
    limit=RECONCILE_LIMIT,
):
    """Re-dispatch stuck orders; scheduled by django-celery-beat (`payments: reconcile stuck orders`)."""
    counts = orders_reconcile(
        pending_after_seconds=pending_after_seconds,
        processing_after_seconds=processing_after_seconds,
        limit=limit,
    )
    if any(counts.values()):
        logger.info("Reconciled stuck orders: %s", counts)
    return counts
