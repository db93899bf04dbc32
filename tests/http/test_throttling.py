"""Bounded abuse: per-user order submissions and anonymous requests answer 429 past their rate."""

import uuid

import pytest
import redis
from django.core.cache import cache

from config.env import env
from config.settings import base

from payments.models import Order
from tests.fixtures.api import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ORDER = {"amount": "1.00", "payment_method_nonce": "fake-valid-nonce"}


@pytest.fixture(autouse=True)
def empty_throttle_counters():
    # The counters live in the default cache (process memory under test settings).
    cache.clear()
    yield
    cache.clear()


def submit(client, count, capture):
    with capture(execute=False):
        return [client.post("/api/orders/", ORDER, format="json") for _ in range(count)]


def test_an_order_past_the_per_user_rate_answers_429_with_retry_after_and_stores_nothing(
    api_client, settings, django_capture_on_commit_callbacks
):
    # given
    settings.API_ORDER_CREATE_RATE = "2/minute"
    # when
    responses = submit(api_client, 3, django_capture_on_commit_callbacks)
    # then
    assert [r.status_code for r in responses] == [202, 202, 429]
    refused = responses[-1]
    assert refused["Content-Type"] == "application/json"
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["detail"].startswith("Request was throttled.")
    assert Order.objects.count() == 2


def test_the_order_rate_is_counted_per_user(api_client, settings, django_capture_on_commit_callbacks):
    # given one user who spent the budget
    settings.API_ORDER_CREATE_RATE = "1/minute"
    submit(api_client, 2, django_capture_on_commit_callbacks)
    # when another user submits
    [response] = submit(client_for(UserFactory()), 1, django_capture_on_commit_callbacks)
    # then
    assert response.status_code == 202


def test_reading_orders_does_not_spend_the_order_budget(api_client, settings, django_capture_on_commit_callbacks):
    # given
    settings.API_ORDER_CREATE_RATE = "1/minute"
    # when
    reads = [api_client.get("/api/orders/").status_code for _ in range(3)]
    [response] = submit(api_client, 1, django_capture_on_commit_callbacks)
    # then
    assert reads == [200, 200, 200]
    assert response.status_code == 202


def test_anonymous_requests_past_the_anonymous_rate_answer_429(anonymous_client, settings):
    # given
    settings.API_ANON_RATE = "2/minute"
    # when
    statuses = [anonymous_client.get("/api/schema/").status_code for _ in range(3)]
    # then
    assert statuses == [200, 200, 429]


def test_anonymous_clients_are_counted_per_address(anonymous_client, settings):
    # given one address that spent the budget
    settings.API_ANON_RATE = "1/minute"
    anonymous_client.get("/api/schema/")
    # when another address asks, and the first one claims another address in X-Forwarded-For
    other = anonymous_client.get("/api/schema/", REMOTE_ADDR="198.51.100.7")
    spoofed = anonymous_client.get("/api/schema/", HTTP_X_FORWARDED_FOR="203.0.113.9")
    # then: with no trusted proxy configured, the header does not buy a fresh budget
    assert other.status_code == 200
    assert spoofed.status_code == 429


def test_health_probes_are_never_throttled(anonymous_client, settings):
    # given
    settings.API_ANON_RATE = "1/minute"
    # when
    statuses = [anonymous_client.get("/healthz").status_code for _ in range(3)]
    # then
    assert statuses == [200, 200, 200]


def test_the_production_defaults_bound_order_creation_and_anonymous_requests():
    # The defaults of base settings (the test settings switch throttling off for the harnesses).
    assert base.API_ORDER_CREATE_RATE == "120/minute"
    assert base.API_ANON_RATE == "60/minute"
    assert base.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] == ["payments.http.throttling.AnonymousRateThrottle"]


def test_with_a_redis_cache_url_the_counters_live_in_redis_for_every_process(
    api_client, user, settings, django_capture_on_commit_callbacks
):
    # given the cache a production CACHE_URL gives (Django's RedisCache), on this suite's Redis db
    prefix = f"throttle-test-{uuid.uuid4().hex}"
    redis_url = settings.CELERY_BROKER_URL
    settings.CACHES = {"default": {**env.cache_url_config(redis_url), "KEY_PREFIX": prefix}}
    settings.API_ORDER_CREATE_RATE = "1/minute"
    client = redis.Redis.from_url(redis_url)
    try:
        # when
        statuses = [r.status_code for r in submit(api_client, 2, django_capture_on_commit_callbacks)]
        # then the counter is a Redis key, which every gunicorn worker on this Redis reads
        assert statuses == [202, 429]
        assert client.keys(f"{prefix}:*") == [f"{prefix}:1:throttle_order_create_{user.pk}".encode()]
    finally:
        for key in client.keys(f"{prefix}:*"):
            client.delete(key)
