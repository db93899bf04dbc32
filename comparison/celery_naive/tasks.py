from braintree.exceptions import GatewayTimeoutError, ServerError, ServiceUnavailableError, TooManyRequestsError
from braintree.exceptions.http import ConnectionError as GatewayConnectionError
from braintree.exceptions.http import TimeoutError as GatewayTimeout
from celery import shared_task
from django.conf import settings

from comparison.shop.handler import braintree_process, order_message, orders_to_requeue

TRANSIENT_GATEWAY_ERRORS = (
    ServiceUnavailableError, TooManyRequestsError, ServerError, GatewayTimeoutError,
    GatewayConnectionError, GatewayTimeout,
)


@shared_task(
    acks_late=True,
    autoretry_for=TRANSIENT_GATEWAY_ERRORS,
    retry_backoff=settings.RETRY_BACKOFF,
    retry_backoff_max=settings.RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=settings.MAX_RETRIES,
)
def braintree_process_task(message):
    braintree_process(message)


@shared_task
def sweep_orders_task():
    count = 0
    for order in orders_to_requeue():
        braintree_process_task.delay(order_message(order))
        count += 1
    return count
