"""GET /healthz: database and broker, fast and without credentials in the answer."""

import socket
import time

import pytest
from django.db import OperationalError

from payments.ops import health
from tests.fixtures.api import point_broker_at

pytestmark = pytest.mark.django_db


def test_healthz_answers_200_when_database_and_broker_answer(anonymous_client):
    # given the real PostgreSQL and Redis
    # when a monitor asks, without credentials
    response = anonymous_client.get("/healthz")

    # then
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}


def test_healthz_ignores_a_bad_token(anonymous_client):
    # given / when: a load balancer replaying some client's stale header must not get a 401
    response = anonymous_client.get("/healthz", headers={"Authorization": "Token stale"})

    # then
    assert response.status_code == 200


def test_healthz_answers_503_quickly_naming_the_broker_when_it_is_down(anonymous_client, broker_down):
    # given a broker that refuses connections
    # when
    started = time.monotonic()
    response = anonymous_client.get("/healthz")
    elapsed = time.monotonic() - started

    # then
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "unavailable"}
    assert elapsed < 5


def test_healthz_answers_503_within_its_time_bound_when_the_broker_hangs(anonymous_client, broker_down):
    # given a "broker" that accepts connections and never says a word
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        point_broker_at(f"redis://127.0.0.1:{silent.getsockname()[1]}/11")

        # when
        started = time.monotonic()
        response = anonymous_client.get("/healthz")
        elapsed = time.monotonic() - started

    # then the probe gives up on its own timeouts (two attempts of 0.75 s), not the client's
    assert response.status_code == 503
    assert response.json()["broker"] == "unavailable"
    assert health.BROKER_TIMEOUT_SECONDS <= elapsed < 5


def test_healthz_does_not_reveal_the_broker_credentials(anonymous_client, broker_down, caplog):
    # given a broker URL with a password, and no broker behind it (broker_down restores it)
    point_broker_at("redis://:hunter2-secret@127.0.0.1:1/11")

    # when
    response = anonymous_client.get("/healthz")

    # then neither the answer nor the log carries the password or the address
    assert response.status_code == 503
    assert b"hunter2" not in response.content
    assert b"127.0.0.1" not in response.content
    assert "hunter2" not in caplog.text


def test_healthz_answers_503_naming_the_database_when_it_is_down(anonymous_client, monkeypatch):
    # given a database that cannot be queried
    class DeadConnection:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(health, "connection", DeadConnection())

    # when
    response = anonymous_client.get("/healthz")

    # then
    assert response.status_code == 503
    assert response.json() == {"database": "unavailable", "broker": "ok"}
