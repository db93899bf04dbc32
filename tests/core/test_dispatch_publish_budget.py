"""POST /api/orders/ never hangs on the broker: publishing has a hard time budget.

A "broker" that accepts TCP connections and never answers is the worst case: without a budget,
every socket step waits socket_timeout (10 s) and kombu retries the timeout as a connection error.
"""

import socket
import time

import pytest

from payments.core.statuses import OrderStatus
from payments.models import Order
from payments.core import dispatch
from tests.fixtures.api import point_broker_at

pytestmark = pytest.mark.django_db

BODY = {"amount": "12.34", "payment_method_nonce": "fake-valid-nonce", "currency": "GBP"}


@pytest.fixture
def silent_broker():
    """A listener that accepts connections and never says a word, as the publish target."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        previous = point_broker_at(f"redis://127.0.0.1:{silent.getsockname()[1]}/14")
        yield
        point_broker_at(previous)


def test_a_post_answers_202_within_the_budget_when_the_broker_never_answers(
    api_client, silent_broker, django_capture_on_commit_callbacks, caplog
):
    # when: the order is stored and its publish (after commit) meets the silent broker
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/orders/", BODY, format="json")
    elapsed = time.monotonic() - started

    # then the client has its 202 in about a second, and the order waits for the reconciler
    assert response.status_code == 202
    assert elapsed < 1.5, f"POST took {elapsed:.2f} s"
    order = Order.objects.get(pk=response.json()["id"])
    assert order.status == OrderStatus.PENDING
    assert "the reconciler will" in caplog.text


def test_every_publish_keeps_to_the_budget_not_only_the_first(silent_broker, settings):
    # given
    settings.PAYMENTS_PUBLISH_TIMEOUT_SECONDS = 0.4
    # when: several publishes in a row, each on the pooled (broken) connection
    timings = []
    for _ in range(3):
        started = time.monotonic()
        published = dispatch.order_dispatch("00000000-0000-0000-0000-000000000001")
        timings.append(time.monotonic() - started)
    # then
    assert published is False
    assert max(timings) < 0.4 * 2 + 0.3, timings


def test_the_publishing_connections_have_short_timeouts_and_the_shared_options_stay_sane(settings):
    # given / when
    options = dispatch.publish_transport_options()
    # then: the request path waits half the budget per step and never sleeps between tries
    budget = settings.PAYMENTS_PUBLISH_TIMEOUT_SECONDS
    assert options["socket_timeout"] == options["socket_connect_timeout"] == budget / 2
    assert (options["max_retries"], options["interval_start"]) == (0, 0)
    # and the worker's consuming connection keeps the shared, longer timeouts
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["socket_timeout"] == 10
    assert options["visibility_timeout"] == settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
