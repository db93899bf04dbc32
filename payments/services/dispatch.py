"""Publishing an order's next task. The order row is the outbox: a failed publish is not an error.

Services import the tasks here at module level; tasks import services inside their bodies (the
Django Styleguide direction), so there is no import cycle and no lazy import in a service.
"""

import logging

from payments.tasks import charge_order_task, verify_order_task

logger = logging.getLogger(__name__)


def publish(task, order_id):
    """Send `task` for the order; False (logged, never raised) if the broker refused it."""
    try:
        task.apply_async(args=[str(order_id)])
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
