"""Delivery settings that only work together: limits, timeouts, visibility timeout and routes."""

import pytest
from django.conf import settings
from django.db import InterfaceError, OperationalError

from celery_app import app as celery_app
from payments import tasks
from payments.core.exceptions import GatewayMisconfigured, GatewayUnavailable

PAYMENT_TASK_QUEUES = {
    "payments.tasks.charge_order_task": "payments",
    "payments.tasks.verify_order_task": "payments",
    "payments.tasks.reconcile_orders_task": "maintenance",
    "payments.tasks.refund_order_task": "payments",
    "payments.tasks.capture_order_task": "payments",
    "payments.tasks.cancel_order_task": "payments",
    "payments.tasks.store_payment_method_task": "payments",
    "payments.tasks.delete_payment_method_task": "payments",
    "payments.tasks.process_webhook_task": "payments",
    "payments.tasks.track_settlement_task": "maintenance",
}


def test_a_retry_countdown_plus_the_task_time_limit_fits_in_the_visibility_timeout():
    # Otherwise Redis hands a waiting retry to a second worker while the first still holds it.
    assert settings.PAYMENTS_RETRY_BACKOFF_MAX + settings.CELERY_TASK_TIME_LIMIT < settings.CELERY_VISIBILITY_TIMEOUT
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] == settings.CELERY_VISIBILITY_TIMEOUT


def test_gateway_timeout_is_below_the_soft_time_limit():
    # A hung gateway must surface as a retryable timeout, not as a killed task.
    assert settings.BRAINTREE_TIMEOUT_SECONDS < settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT


def test_a_claim_is_renewed_for_as_long_as_a_task_can_run():
    # A live worker's claim must not be given up while its task can still be running.
    assert settings.PAYMENTS_CLAIM_HOLD_MAX_SECONDS > settings.CELERY_TASK_TIME_LIMIT


def test_a_claim_lease_survives_two_late_renewals():
    # The lease is renewed while its holder works; two renewals late (a stall, a slow UPDATE) it
    # still holds, while a dead holder's lease lapses within one lease.
    assert settings.PAYMENTS_CLAIM_LEASE_SECONDS >= 3 * settings.PAYMENTS_CLAIM_RENEW_SECONDS


def test_claim_budget_covers_every_retry():
    # Each retry claims again; the poison-order cap must not cut the retry policy short.
    assert settings.PAYMENTS_MAX_CLAIMS > settings.PAYMENTS_MAX_RETRIES


def test_every_payments_task_routes_to_its_queue():
    # given
    registered = {name for name in celery_app.tasks if name.startswith("payments.tasks.")}
    # when
    routes = {name: celery_app.amqp.router.route({}, name)["queue"].name for name in registered}
    # then
    assert routes == PAYMENT_TASK_QUEUES


@pytest.mark.parametrize("task", [tasks.charge_order_task, tasks.verify_order_task, tasks.reconcile_orders_task])
def test_payment_tasks_ack_late_and_requeue_when_their_worker_dies(task):
    assert task.acks_late is True
    assert celery_app.conf.task_reject_on_worker_lost is True
    assert celery_app.conf.worker_prefetch_multiplier == 1


@pytest.mark.parametrize("task", [tasks.charge_order_task, tasks.verify_order_task])
def test_order_tasks_autoretry_only_transient_errors_with_capped_jittered_backoff(task, settings):
    # then
    assert task.autoretry_for == (GatewayUnavailable, OperationalError, InterfaceError)
    assert not issubclass(GatewayMisconfigured, task.autoretry_for)
    assert task.retry_backoff == settings.PAYMENTS_RETRY_BACKOFF
    assert task.retry_backoff_max == settings.PAYMENTS_RETRY_BACKOFF_MAX
    assert task.retry_jitter is True
    assert task.max_retries == settings.PAYMENTS_MAX_RETRIES


def test_beat_records_each_run_of_a_periodic_task_at_once():
    # django-celery-beat writes last_run_at only when beat syncs; the default (every 3 minutes)
    # leaves the admin's "Last run" at "-" after the first runs.
    from django.conf import settings

    assert settings.CELERY_BEAT_SYNC_EVERY == 1


def test_a_claim_is_renewed_past_a_search_a_sale_and_a_find_at_the_gateway_timeout(settings):
    # The recommended threads pool enforces no task time limits (Procfile): the gateway timeout
    # bounds each call, so a hung charge ends, and releases its claim, before renewals stop.
    assert settings.PAYMENTS_CLAIM_HOLD_MAX_SECONDS > 3 * settings.BRAINTREE_TIMEOUT_SECONDS


def test_a_lost_broker_connection_does_not_cancel_running_tasks_which_the_threads_pool_cannot():
    # Celery would call TaskPool.kill_job, which the threads pool does not implement: the worker exits.
    assert settings.CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS is False
