"""Publishing an order's next task. The order row is the outbox: a failed publish is not an error.

Services import the tasks here at module level; tasks import services inside their bodies (the
Django Styleguide direction), so there is no import cycle and no lazy import in a service.
"""

import logging
import threading

from django.conf import settings

from celery_app import app as celery_app
from payments.tasks import charge_order_task, verify_order_task

logger = logging.getLogger(__name__)

_publish_pool = None  # ((broker URL, budget), kombu ConnectionPool) of the publishing connections
_publish_pool_lock = threading.Lock()


def publish_transport_options():
    """Transport options of the publishing connections only: every wait bounded by the budget.

    A broker that accepts TCP and never answers makes each socket operation wait `socket_timeout`,
    and kombu treats that timeout as a connection error and retries it (once more per
    `max_retries`, after `interval_*` sleeps). With the shared options (10 s, two retries with
    2 s sleeps) one publish held a request for 10-30 s, past gunicorn's timeout. Here one attempt
    may take the whole per-step budget, one immediate retry (a pooled connection the broker
    dropped) another, and nothing sleeps. The worker's consuming connection keeps
    CELERY_BROKER_TRANSPORT_OPTIONS: it is not on a request's clock.
    """
    step = settings.PAYMENTS_PUBLISH_TIMEOUT_SECONDS / 2
    return {
        **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        "socket_timeout": step,
        "socket_connect_timeout": step,
        # Establishing the connection (kombu's ensure_connection): one try, no sleep.
        "max_retries": 0,
        "interval_start": 0,
        "interval_step": 0,
        "interval_max": 0,
        "connect_retries_timeout": step,
    }


# Publishing a message (kombu's Producer.publish -> Connection.ensure): one immediate retry.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0, "interval_max": 0}


def _publishing_connections():
    """The pool of publishing connections for the current write URL and budget (rebuilt on a change)."""
    global _publish_pool
    url = celery_app.conf.broker_write_url or celery_app.conf.broker_url
    key = (url, settings.PAYMENTS_PUBLISH_TIMEOUT_SECONDS)
    with _publish_pool_lock:
        if _publish_pool is None or _publish_pool[0] != key:
            if _publish_pool is not None:
                _publish_pool[1].force_close_all()
            connection = celery_app.connection_for_write(
                url,
                connect_timeout=settings.PAYMENTS_PUBLISH_TIMEOUT_SECONDS / 2,
                transport_options=publish_transport_options(),
            )
            _publish_pool = (key, connection.Pool(limit=celery_app.conf.broker_pool_limit))
        return _publish_pool[1]


def _publish_within_budget(task, order_id):
    # Waiting for a free pooled connection counts against the budget too.
    budget = settings.PAYMENTS_PUBLISH_TIMEOUT_SECONDS
    with _publishing_connections().acquire(block=True, timeout=budget) as connection:
        try:
            task.apply_async(
                args=[str(order_id)], connection=connection, retry=True, retry_policy=PUBLISH_RETRY_POLICY
            )
        except Exception:
            # Drop the broken transport so the next publish on this pooled connection reconnects.
            connection.collect()
            raise


def publish(task, order_id):
    """Send `task` for the order within PAYMENTS_PUBLISH_TIMEOUT_SECONDS (about that, at worst
    twice); False (logged, never raised) if the broker refused it or did not answer in time."""
    try:
        _publish_within_budget(task, order_id)
    except Exception as exc:
        # One line, no traceback (during a broker outage every request lands here), and the
        # class name only: some transports put the broker URL, password included, in messages.
        logger.warning(
            "Could not publish %s for order %s (%s); the reconciler will", task.name, order_id, type(exc).__name__
        )
        return False
    return True


def order_dispatch(order_id):
    """Publish the charge task; an order that could not be published stays pending for the reconciler.

    That is what lets the API answer 202 whatever the broker's state.
    """
    return publish(charge_order_task, order_id)


def order_dispatch_next(order):
    """Publish the order's next step: verify a recorded sale, else charge."""
    return publish(verify_order_task if order.transaction_id else charge_order_task, order.pk)
