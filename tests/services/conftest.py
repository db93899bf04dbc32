"""Service tests: real PostgreSQL, the in-process fake gateway, and no process or broker.

Publishing is mocked at the boundary (each task's `apply_async`), so a test sees which task a
service sent for which order without a broker. Delivery and redelivery are not tested here:
tests/integration drive real workers, the real SDK and the simulator for that.
"""

from unittest import mock

import pytest

from payments import gateways
from payments.tasks import charge_order_task, verify_order_task



@pytest.fixture
def fake(settings):
    """The fake gateway with an empty ledger, used by every service in this process."""
    settings.PAYMENTS_GATEWAY = "fake"
    gateways.reset_gateway()
    yield gateways.get_gateway()
    gateways.reset_gateway()


@pytest.fixture
def published():
    """`(task name, order id)` of every task the services publish; nothing reaches a broker."""
    sent = []

    def recorder(task):
        def apply_async(args=None, kwargs=None, **options):
            sent.append((task.name.rsplit(".", 1)[-1], args[0]))

        return apply_async

    with (
        mock.patch.object(charge_order_task, "apply_async", side_effect=recorder(charge_order_task)),
        mock.patch.object(verify_order_task, "apply_async", side_effect=recorder(verify_order_task)),
    ):
        yield sent


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run the on_commit callbacks (the publishes) of what happens inside `with committed():`."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def trail(order):
    """The order's event log as (action, outcome) pairs, oldest first."""
    return list(order.events.values_list("action", "outcome"))
