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


def test_a_burst_of_probes_checks_the_dependencies_once_per_interval(anonymous_client, settings, monkeypatch):
    # given a process that reuses its verdict for 30 s, and counted checks
    settings.HEALTHZ_CACHE_SECONDS = 30
    monkeypatch.setattr(health, "last_verdict", health._LastVerdict())
    calls = {"database": 0, "broker": 0}

    def counted(name, check):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return check(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(health, "database_is_up", counted("database", health.database_is_up))
    monkeypatch.setattr(health, "broker_is_up", counted("broker", health.broker_is_up))
    # when ten probes arrive
    statuses = [anonymous_client.get("/healthz").status_code for _ in range(10)]
    # then one query and one broker connection answered them all
    assert statuses == [200] * 10
    assert calls == {"database": 1, "broker": 1}
    # and once the interval has passed, the next probe checks again
    settings.HEALTHZ_CACHE_SECONDS = 0
    anonymous_client.get("/healthz")
    assert calls == {"database": 2, "broker": 2}
