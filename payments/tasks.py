"""Celery tasks: each takes ids, calls one service, and declares its delivery and retry policy.

Every task's name is pinned: names are stored in migrations (the beat schedule), in
CELERY_TASK_ROUTES and in messages already queued, so moving or renaming a function must not
change them.

Queues come from CELERY_TASK_ROUTES; acks_late and reject_on_worker_lost from settings. Services
import these tasks to publish them, so a task imports its service inside its body (the Django
Styleguide direction): one import direction, no cycle.
"""

import logging

from celery import Task, shared_task
from celery.exceptions import Reject, Retry
from celery.signals import task_postrun, task_prerun
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections
from django.utils import timezone

from payments.core.exceptions import GatewayUnavailable, OrderLeased
from payments.core.schedules import (
    RECONCILE_LIMIT,
    RECONCILE_PENDING_AFTER_SECONDS,
    RECONCILE_PROCESSING_AFTER_SECONDS,
    RECONCILE_REVIEW_WINDOW_SECONDS,
)

logger = logging.getLogger(__name__)

# Transient by nature: the gateway was unreachable or busy, or the database connection dropped.
# Declines and validation errors are results, never exceptions, so they are never retried.
DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRYABLE_ERRORS = (GatewayUnavailable, *DATABASE_ERRORS)
# Database retries are counted in a message header of their own, not in Celery's `retries`.
DATABASE_RETRIES_HEADER = "payments_database_retries"


class OrderTask(Task):
    """A task on one order: transient errors retry with capped exponential backoff and full jitter.

    Countdowns are PAYMENTS_RETRY_BACKOFF * 2**n, capped at PAYMENTS_RETRY_BACKOFF_MAX, drawn
    uniformly below that (AWS "full jitter") so that a gateway outage does not end in a
    synchronised retry storm. When the retries run out, the order is ended through a service
    (needs_review, or failed for a processor that kept answering 3000) instead of being left
    for the reconciler to loop on.

    A database that cannot be reached (a failover, a restart) is no news about the gateway: those
    retries follow the same backoff on a budget of their own, PAYMENTS_DATABASE_MAX_RETRIES, so an
    outage neither spends the gateway's retries nor parks an order. Nothing was decided, so when
    that budget runs out the order is left as its row says (pending, or processing under a lease
    that lapses) and the reconciler sends it again once the database is back.
    """

    acks_late = True
    autoretry_for = RETRYABLE_ERRORS
    retry_backoff = settings.PAYMENTS_RETRY_BACKOFF
    retry_backoff_max = settings.PAYMENTS_RETRY_BACKOFF_MAX
    retry_jitter = settings.PAYMENTS_RETRY_JITTER
    max_retries = settings.PAYMENTS_MAX_RETRIES

    def retry(self, args=None, kwargs=None, exc=None, throw=True, eta=None, countdown=None, max_retries=None,
              **options):
        request = self.request
        if isinstance(exc, DATABASE_ERRORS) and not (request.called_directly or request.is_eager):
            return self._retry_after_database_error(exc, throw)
        return super().retry(args, kwargs, exc, throw, eta, countdown, max_retries, **options)

    def _retry_after_database_error(self, exc, throw):
        request = self.request
        done = int((request.headers or {}).get(DATABASE_RETRIES_HEADER) or 0)
        if done >= settings.PAYMENTS_DATABASE_MAX_RETRIES:
            raise exc
        countdown = get_exponential_backoff_interval(
            factor=self.retry_backoff, retries=done, maximum=self.retry_backoff_max, full_jitter=self.retry_jitter
        )
        # The copy keeps Celery's `retries` (the gateway's count) and carries its own.
        sig = self.signature_from_request(
            request,
            countdown=countdown,
            retries=request.retries,
            headers={**(request.headers or {}), DATABASE_RETRIES_HEADER: done + 1},
        )
        try:
            sig.apply_async()
        except Exception as publish_exc:
            # As Task.retry: without a copy on the broker the message is dropped, and the order
            # row, which still says what is left to do, is the reconciler's.
            raise Reject(publish_exc, requeue=False) from exc
        retry = Retry(exc=exc, when=countdown, sig=sig)
        if throw:
            raise retry
        return retry

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        order_id = kwargs.get("order_id") or args[0]
        if isinstance(exc, DATABASE_ERRORS):
            logger.warning("Order %s: database unavailable through every retry; left to the reconciler: %s",
                           order_id, exc)
        elif isinstance(exc, GatewayUnavailable):
            from payments.orders.services import order_give_up

            logger.warning("Order %s: giving up after %d retries: %s", order_id, self.request.retries, exc)
            _unless_database_down(
                order_give_up, order_id=order_id, reason=f"Gave up after {self.request.retries} retries: {exc}"
            )


def _unless_database_down(service, **kwargs):
    # A give-up that cannot reach the database leaves the row as it is, for the reconciler.
    try:
        service(**kwargs)
    except DATABASE_ERRORS as exc:
        logger.warning("Give-up of %s not recorded, database unavailable: %s", kwargs, exc)


@shared_task(name="payments.tasks.charge_order_task", base=OrderTask, bind=True)
def charge_order_task(self, order_id):
    """Sell the order (once), then hand over to verify_order_task."""
    from payments.orders.services import order_charge

    try:
        order_charge(order_id=order_id)
    except OrderLeased as leased:
        # Come back when the other claim's lease ends: if its worker is alive the order is
        # settled by then and this is a no-op; if it died (this message is its redelivery), the
        # order is charged again without waiting for the reconciler.
        countdown = max(0.0, (leased.until - timezone.now()).total_seconds()) + 1
        raise self.retry(exc=leased, countdown=countdown)


@shared_task(name="payments.tasks.verify_order_task", base=OrderTask)
def verify_order_task(order_id):
    """Confirm the recorded sale with the gateway and settle the order."""
    from payments.orders.services import order_verify

    order_verify(order_id=order_id)


@shared_task(name="payments.tasks.reconcile_orders_task", acks_late=True)
def reconcile_orders_task(
    pending_after_seconds=RECONCILE_PENDING_AFTER_SECONDS,
    processing_after_seconds=RECONCILE_PROCESSING_AFTER_SECONDS,
    limit=RECONCILE_LIMIT,
    review_window_seconds=RECONCILE_REVIEW_WINDOW_SECONDS,
):
    """Re-dispatch stuck orders; scheduled by django-celery-beat (`payments: reconcile stuck orders`)."""
    from payments.orders.services import authorizations_reconcile, orders_reconcile

    counts = orders_reconcile(
        pending_after_seconds=pending_after_seconds,
        processing_after_seconds=processing_after_seconds,
        limit=limit,
        review_window_seconds=review_window_seconds,
    )
    counts.update(authorizations_reconcile(idle_seconds=processing_after_seconds, limit=limit))
    # Saved payment methods whose store or vault delete got stuck (lost message, retries spent).
    from payments.customers.services import payment_methods_reconcile

    counts.update(payment_methods_reconcile(pending_after_seconds=pending_after_seconds, limit=limit))
    if any(counts.values()):
        logger.info("Reconciled stuck orders: %s", counts)
    return counts


@task_prerun.connect
@task_postrun.connect
def _apply_connection_rules(sender=None, **kwargs):
    """Keep or drop this thread's database connections by Django's rules, as around a request.

    Celery's Django fixup would close them around every task; with CELERY_DB_REUSE_MAX set it
    leaves them alone, so this applies CONN_MAX_AGE, and arms CONN_HEALTH_CHECKS so that a
    connection the server killed (pg_terminate_backend) is replaced at the task's first query.
    Skipped for eager calls: inside a test's transaction it would close the test's connection.
    """
    if not getattr(getattr(sender, "request", None), "is_eager", False):
        close_old_connections()


# After the sale.

REFUND_SETTLEMENT_POLLS = 48


class RefundTask(OrderTask):
    """A task on one refund: the order task's retry policy; out of retries, the refund service decides."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        refund_id = kwargs.get("refund_id") or args[0]
        if isinstance(exc, DATABASE_ERRORS):
            # Left pending or processing: the settlement tracker's sweep sends it again.
            logger.warning("Refund %s: database unavailable through every retry: %s", refund_id, exc)
        elif isinstance(exc, GatewayUnavailable):
            from payments.refunds.services import refund_give_up

            _unless_database_down(
                refund_give_up, refund_id=refund_id, reason=f"Gave up after {self.request.retries} retries: {exc}"
            )


@shared_task(name="payments.tasks.refund_order_task", base=RefundTask, bind=True)
def refund_order_task(self, refund_id):
    """Refund or void once; a partial refund of an unsettled sale comes back after a while."""
    from payments.core.exceptions import RefundLeased, RefundWaitsForSettlement
    from payments.refunds.services import refund_charge

    try:
        refund_charge(refund_id=refund_id)
    except RefundLeased as leased:
        countdown = max(0.0, (leased.until - timezone.now()).total_seconds()) + 1
        raise self.retry(exc=leased, countdown=countdown)
    except RefundWaitsForSettlement as waiting:
        # Settlement takes hours at Braintree: poll slowly, a bounded number of times; the
        # settlement tracker re-sends the task as soon as it records the sale settled.
        raise self.retry(
            exc=waiting,
            countdown=settings.PAYMENTS_REFUND_SETTLEMENT_POLL_SECONDS,
            # Past these polls the refund stays pending for the tracker's sweep.
            max_retries=REFUND_SETTLEMENT_POLLS,
        )


class DecisionTask(OrderTask):
    """A capture or cancel of a manual order: the order task's retry policy; out of retries, a human decides."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        order_id = kwargs.get("order_id") or args[0]
        if isinstance(exc, DATABASE_ERRORS):
            # The decision stays recorded on the authorized order: the reconciler sends it again.
            logger.warning("Order %s: database unavailable through every retry: %s", order_id, exc)
        elif isinstance(exc, GatewayUnavailable):
            from payments.orders.services import order_decision_give_up

            _unless_database_down(
                order_decision_give_up, order_id=order_id, reason=f"Gave up after {self.request.retries} retries: {exc}"
            )


def _carry_out_decision(task, service, order_id):
    try:
        service(order_id=order_id)
    except OrderLeased as leased:
        # As a charge: back when the other claim's lease ends (a no-op then if its holder lived).
        countdown = max(0.0, (leased.until - timezone.now()).total_seconds()) + 1
        raise task.retry(exc=leased, countdown=countdown)


@shared_task(name="payments.tasks.capture_order_task", base=DecisionTask, bind=True)
def capture_order_task(self, order_id):
    """Capture a manual order's authorization (once): submit_for_settlement, then record it."""
    from payments.orders.services import order_capture

    _carry_out_decision(self, order_capture, order_id)


@shared_task(name="payments.tasks.cancel_order_task", base=DecisionTask, bind=True)
def cancel_order_task(self, order_id):
    """Cancel a manual order (once): void its authorization, then record it."""
    from payments.orders.services import order_cancel

    _carry_out_decision(self, order_cancel, order_id)


@shared_task(
    name="payments.tasks.process_webhook_task",
    acks_late=True,
    autoretry_for=RETRYABLE_ERRORS,
    retry_backoff=True,
    max_retries=10,
)
def process_webhook_task(notification_id):
    """Apply one stored webhook notification to its order (idempotent)."""
    from payments.webhooks.services import webhook_process

    webhook_process(notification_id=notification_id)


@shared_task(name="payments.tasks.track_settlement_task", acks_late=True)
def track_settlement_task(limit=None, batch_size=None):
    """Ask the gateway about paid, unsettled sales; scheduled by django-celery-beat."""
    from payments.core.schedules import SETTLEMENT_BATCH_SIZE, SETTLEMENT_LIMIT
    from payments.webhooks.settlement import orders_track_settlement

    counts = orders_track_settlement(
        limit=limit or SETTLEMENT_LIMIT, batch_size=batch_size or SETTLEMENT_BATCH_SIZE
    )
    if any(counts.values()):
        logger.info("Settlement tracking: %s", counts)
    return counts


# Saved payment methods.


class PaymentMethodTask(OrderTask):
    """A task on one saved payment method: the order task's retry policy; out of retries, the
    method stays as its row says for the reconciler (a store's outcome may be unknown)."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        method_id = kwargs.get("payment_method_id") or args[0]
        if isinstance(exc, GatewayUnavailable):
            from payments.customers.services import payment_method_give_up

            payment_method_give_up(payment_method_id=method_id, reason=f"Gave up after {self.request.retries} retries: {exc}")
        else:
            logger.warning("Payment method %s: task failed, left to the reconciler: %s", method_id, exc)


@shared_task(name="payments.tasks.store_payment_method_task", base=PaymentMethodTask)
def store_payment_method_task(payment_method_id):
    """Store a pending payment method in the vault (verified), exactly once, and record the outcome."""
    from payments.customers.services import payment_method_store

    payment_method_store(payment_method_id=payment_method_id)


@shared_task(name="payments.tasks.delete_payment_method_task", base=PaymentMethodTask)
def delete_payment_method_task(payment_method_id):
    """Delete a deleted payment method's token from the vault."""
    from payments.customers.services import payment_method_gateway_delete

    payment_method_gateway_delete(payment_method_id=payment_method_id)
