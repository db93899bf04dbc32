"""Fixtures of the API suite: authenticated clients, and the real Redis broker (db 11)."""

import json

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from celery_app import app as celery_app
from tests.factories import UserFactory

PAYMENTS_QUEUE = "payments"
# Nothing listens here: connections are refused at once, like a broker that is down. The
# password lets tests check that it never reaches a log line or a response.
BROKER_PASSWORD = "hunter2-secret"
CLOSED_PORT_BROKER_URL = f"redis://:{BROKER_PASSWORD}@127.0.0.1:1/11"


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


def point_broker_at(url):
    """Make publishing and the health probe use `url`; returns the previous write URL setting.

    The write URL, not broker_url: a CELERY_BROKER_URL environment variable shadows
    conf.broker_url, while both the producer pool and healthz connect with the write URL.
    """
    previous = celery_app.conf.get("broker_write_url")
    celery_app.conf.broker_write_url = url
    _reset_broker_pools()
    return previous


@pytest.fixture
def broker_down():
    """Point the Celery app at a port where no broker listens, for the duration of a test."""
    previous = point_broker_at(CLOSED_PORT_BROKER_URL)
    yield
    point_broker_at(previous)


class PaymentsQueue:
    """The `payments` queue of the test broker (Redis db 11), seen one order at a time.

    Other suites may share this queue, so nothing is purged: a test looks only at messages for
    its own orders, and those are removed again when it ends.
    """

    def __init__(self):
        self._seen_orders = set()

    def _raw_messages(self, client):
        return client.lrange(PAYMENTS_QUEUE, 0, -1)

    @staticmethod
    def _is_charge_of(raw, order_id):
        headers = json.loads(raw)["headers"]
        return headers["task"] == "payments.tasks.charge_order_task" and str(order_id) in headers["argsrepr"]

    def charges_of(self, order_id):
        """Charge messages waiting in the queue for this order."""
        self._seen_orders.add(str(order_id))
        with celery_app.connection_for_write() as conn:
            raw_messages = self._raw_messages(conn.default_channel.client)
        return [json.loads(raw) for raw in raw_messages if self._is_charge_of(raw, order_id)]

    def other_consumers(self):
        """Connections to this Redis db that block-pop queues: workers that may take our message."""
        with celery_app.connection_for_write() as conn:
            client = conn.default_channel.client
            db = client.connection_pool.connection_kwargs.get("db", 0)
            return [
                entry
                for entry in client.client_list()
                if int(entry["db"]) == db and entry["cmd"] in {"brpop", "blpop", "brpoplpush", "blmove"}
            ]

    def remove_seen(self):
        with celery_app.connection_for_write() as conn:
            client = conn.default_channel.client
            for raw in self._raw_messages(client):
                if any(self._is_charge_of(raw, order_id) for order_id in self._seen_orders):
                    client.lrem(PAYMENTS_QUEUE, 1, raw)


@pytest.fixture
def payments_queue():
    """The real `payments` queue; charge messages of the orders a test inspected are removed after it."""
    queue = PaymentsQueue()
    yield queue
    queue.remove_seen()
