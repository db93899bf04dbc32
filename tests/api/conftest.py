"""Fixtures of the API suite: authenticated clients, and the real Redis broker (db 11)."""

import json

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from celery_app import app as celery_app
from tests.factories import UserFactory

PAYMENTS_QUEUE = "payments"
# Nothing listens here: connections are refused at once, like a broker that is down.
CLOSED_PORT_BROKER_URL = "redis://127.0.0.1:1/11"


def client_for(user):
    """An APIClient that authenticates with the user's real DRF token, as API clients do."""
    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def api_client(user):
    return client_for(user)


@pytest.fixture
def anonymous_client():
    return APIClient()


def _reset_broker_pools():
    # The app caches its connection and producer pools on first publish; drop them so the next
    # publish or probe connects to whatever broker_url says now.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker_down(monkeypatch):
    """Point the Celery app at a port where no broker listens, for the duration of a test."""
    monkeypatch.setattr(celery_app.conf, "broker_url", CLOSED_PORT_BROKER_URL)
    _reset_broker_pools()
    yield
    monkeypatch.undo()
    _reset_broker_pools()


class PaymentsQueue:
    """Read access to the `payments` queue of the test broker (Redis db 11)."""

    def messages(self):
        with celery_app.connection_for_write() as conn:
            raw = conn.default_channel.client.lrange(PAYMENTS_QUEUE, 0, -1)
        return [json.loads(item) for item in raw]

    def charges_of(self, order_id):
        """Charge messages in the queue whose argument is this order's id."""
        return [
            message
            for message in self.messages()
            if message["headers"]["task"] == "payments.tasks.charge_order_task"
            and str(order_id) in message["headers"]["argsrepr"]
        ]

    def purge(self):
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_purge(PAYMENTS_QUEUE)


@pytest.fixture
def payments_queue():
    """The real `payments` queue on Redis db 11, emptied before and after the test.

    Only this one queue of the test db is touched; nothing else in Redis is flushed.
    """
    queue = PaymentsQueue()
    queue.purge()
    yield queue
    queue.purge()
