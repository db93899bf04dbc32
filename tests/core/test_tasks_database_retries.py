"""A database outage is retried on a budget of its own, and never parks an order (payments/tasks.py).

The task runs as a worker runs it (a request that is neither eager nor called directly); the
retry it publishes is captured instead of sent. The real worker path is in
tests/orders/test_integration_database_outage.py.
"""

import uuid
from unittest import mock

import pytest
from celery.exceptions import Retry
from django.db import OperationalError

from payments import tasks
from payments.core.exceptions import GatewayUnavailable
from payments.tasks import DATABASE_RETRIES_HEADER, charge_order_task

REFUSED = OperationalError("connection failed: database is not currently accepting connections")


@pytest.fixture
def published(monkeypatch):
    sent = []
    monkeypatch.setattr("celery.canvas.Signature.apply_async", lambda sig, *a, **kw: sent.append(sig))
    return sent


def run_as_worker(task, order_id, *, retries, database_retries=None):
    headers = {DATABASE_RETRIES_HEADER: database_retries} if database_retries is not None else None
    task.push_request(id=str(uuid.uuid4()), args=[order_id], kwargs={}, retries=retries, headers=headers,
                      called_directly=False, is_eager=False, delivery_info={"exchange": "", "routing_key": "payments"})
    try:
        return task.run(order_id)
    finally:
        task.pop_request()


def test_database_error_retries_without_spending_the_gateway_budget(published, settings):
    # given a charge that already used some of its gateway retries, and a database that is down
    order_id = str(uuid.uuid4())
    with mock.patch("payments.orders.services.order_charge", side_effect=REFUSED):
        # when
        with pytest.raises(Retry):
            run_as_worker(charge_order_task, order_id, retries=settings.PAYMENTS_MAX_RETRIES, database_retries=2)

    # then the copy keeps Celery's count and moves its own on
    (copy,) = published
    assert list(copy.args) == [order_id]
    assert copy.options["retries"] == settings.PAYMENTS_MAX_RETRIES
    assert copy.options["headers"][DATABASE_RETRIES_HEADER] == 3
    assert 0 <= copy.options["countdown"] <= settings.PAYMENTS_RETRY_BACKOFF_MAX


def test_gateway_error_still_spends_the_gateway_budget(published):
    # given
    order_id = str(uuid.uuid4())
    with mock.patch("payments.orders.services.order_charge", side_effect=GatewayUnavailable("timeout")):
        # when
        with pytest.raises(Retry):
            run_as_worker(charge_order_task, order_id, retries=1, database_retries=4)

    # then
    (copy,) = published
    assert copy.options["retries"] == 2
    assert copy.options["headers"][DATABASE_RETRIES_HEADER] == 4


def test_database_budget_spent_raises_the_error_and_publishes_nothing(published, settings):
    # given a message that was retried for the database as often as allowed
    order_id = str(uuid.uuid4())
    with mock.patch("payments.orders.services.order_charge", side_effect=REFUSED):
        # when / then
        with pytest.raises(OperationalError):
            run_as_worker(charge_order_task, order_id, retries=0,
                          database_retries=settings.PAYMENTS_DATABASE_MAX_RETRIES)
    assert published == []


def test_an_order_whose_database_stayed_down_is_left_to_the_reconciler_not_parked():
    # given / when the task fails for the database
    with mock.patch("payments.orders.services.order_give_up") as give_up:
        charge_order_task.on_failure(REFUSED, "task-id", [str(uuid.uuid4())], {}, None)

    # then nothing is decided: no needs_review for an order nobody could look at
    give_up.assert_not_called()


def test_an_order_out_of_gateway_retries_is_given_up():
    # given / when
    order_id = str(uuid.uuid4())
    with mock.patch("payments.orders.services.order_give_up") as give_up:
        charge_order_task.on_failure(GatewayUnavailable("timeout"), "task-id", [order_id], {}, None)

    # then
    give_up.assert_called_once()
    assert give_up.call_args.kwargs["order_id"] == order_id


def test_a_give_up_that_cannot_reach_the_database_leaves_the_order_as_it_is():
    # given a database that went down between the last retry and the give-up
    with mock.patch("payments.orders.services.order_give_up", side_effect=REFUSED):
        # when / then: no exception escapes the failure handler
        charge_order_task.on_failure(GatewayUnavailable("timeout"), "task-id", [str(uuid.uuid4())], {}, None)


def test_refund_database_failure_is_left_to_the_sweep():
    # given / when
    with mock.patch("payments.refunds.services.refund_give_up") as give_up:
        tasks.refund_order_task.on_failure(REFUSED, "task-id", [str(uuid.uuid4())], {}, None)

    # then
    give_up.assert_not_called()
