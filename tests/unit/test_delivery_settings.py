"""Delivery settings that only work together: limits, timeouts, visibility timeout and routes."""

import pytest
from django.conf import settings

from celery_app import app as celery_app
from payments import tasks
from payments.tasks import retry_countdown

PAYMENT_TASK_QUEUES = {
    "payments.tasks.charge_order_task": "payments",
    "payments.tasks.verify_order_task": "payments",
    "payments.tasks.reconcile_orders_task": "maintenance",
}


def test_a_retry_countdown_plus_the_task_time_limit_fits_in_the_visibility_timeout():
    # Otherwise Redis hands a waiting retry to a second worker while the first still holds it.
    assert settings.PAYMENTS_RETRY_BACKOFF_MAX + settings.CELERY_TASK_TIME_LIMIT < settings.CELERY_VISIBILITY_TIMEOUT
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] == settings.CELERY_VISIBILITY_TIMEOUT


def test_gateway_timeout_is_below_the_soft_time_limit():
    # A hung gateway must surface as a retryable timeout, not as a killed task.
    assert settings.BRAINTREE_TIMEOUT_SECONDS < settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT


def test_claim_lease_outlives_a_task_run():
    # A live worker's lease must not expire while its task can still be running.
    assert settings.PAYMENTS_CLAIM_LEASE_SECONDS > settings.CELERY_TASK_TIME_LIMIT


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


def test_retry_countdown_grows_exponentially_up_to_the_cap(settings):
    # given
    settings.PAYMENTS_RETRY_BACKOFF = 2
    settings.PAYMENTS_RETRY_BACKOFF_MAX = 60
    settings.PAYMENTS_RETRY_JITTER = False
    # when
    countdowns = [retry_countdown(n) for n in range(7)]
    # then
    assert countdowns == [2, 4, 8, 16, 32, 60, 60]


def test_retry_countdown_with_jitter_stays_within_the_exponential_bound(settings):
    # given
    settings.PAYMENTS_RETRY_BACKOFF = 2
    settings.PAYMENTS_RETRY_BACKOFF_MAX = 60
    settings.PAYMENTS_RETRY_JITTER = True
    # when
    samples = [retry_countdown(3) for _ in range(200)]
    # then
    assert all(0 <= s <= 16 for s in samples)
    assert len(set(samples)) > 1
