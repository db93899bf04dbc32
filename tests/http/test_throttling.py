"""Bounded abuse: per-user order and refund submissions, per-user reads, anonymous requests and
/healthz answer 429 past their rate, counting anonymous callers by the trusted-proxy client address."""

import ipaddress
import logging
import uuid
from decimal import Decimal

import pytest
import redis
from django.core.cache import cache

from config.env import env
from config.settings import base

from payments.core.statuses import OrderStatus
from payments.models import Order, Refund
from tests.fixtures.api import client_for
from tests.factories import OrderFactory, UserFactory

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


def test_health_probes_have_their_own_rate_per_address(anonymous_client, settings):
    # given a spent anonymous budget, and a health rate of two a minute
    settings.API_ANON_RATE = "1/minute"
    settings.API_HEALTH_RATE = "2/minute"
    anonymous_client.get("/api/schema/")
    # when
    statuses = [anonymous_client.get("/healthz").status_code for _ in range(3)]
    elsewhere = anonymous_client.get("/healthz", REMOTE_ADDR="198.51.100.7")
    # then: the API's anonymous budget does not starve the probes, and a flood is refused
    assert statuses == [200, 200, 429]
    assert elsewhere.status_code == 200


def test_a_refund_request_past_the_per_user_rate_answers_429_with_retry_after_and_stores_nothing(
    api_client, user, settings, django_capture_on_commit_callbacks
):
    # given
    settings.API_REFUND_CREATE_RATE = "2/minute"
    paid = OrderFactory(owner=user, status=OrderStatus.PAID, transaction_id="txn1", amount=Decimal("10.00"))
    # when
    with django_capture_on_commit_callbacks(execute=False):
        statuses = [
            api_client.post(f"/api/orders/{paid.pk}/refunds/", {"amount": "1.00"}, format="json")
            for _ in range(3)
        ]
    # then
    assert [r.status_code for r in statuses] == [202, 202, 429]
    assert 0 < int(statuses[-1]["Retry-After"]) <= 60
    assert Refund.objects.count() == 2


def test_authenticated_reads_past_the_per_user_rate_answer_429_and_writes_do_not_spend_them(
    api_client, settings, django_capture_on_commit_callbacks
):
    # given
    settings.API_READ_RATE = "2/minute"
    # when
    submitted = submit(api_client, 2, django_capture_on_commit_callbacks)
    reads = [api_client.get("/api/orders/") for _ in range(3)]
    other_user = client_for(UserFactory()).get("/api/orders/")
    # then
    assert [r.status_code for r in submitted] == [202, 202]
    assert [r.status_code for r in reads] == [200, 200, 429]
    assert 0 < int(reads[-1]["Retry-After"]) <= 60
    assert other_user.status_code == 200


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget(anonymous_client, settings):
    # given a proxy on the same host, and one client that spent its budget through it
    settings.TRUSTED_PROXIES = (ipaddress.ip_network("127.0.0.1/32"),)
    settings.API_ANON_RATE = "1/minute"
    via_proxy = {"REMOTE_ADDR": "127.0.0.1"}
    first = anonymous_client.get("/api/schema/", HTTP_X_FORWARDED_FOR="203.0.113.9", **via_proxy)
    # when the same client comes again, and another one comes through the same proxy
    again = anonymous_client.get("/api/schema/", HTTP_X_FORWARDED_FOR="203.0.113.9", **via_proxy)
    other = anonymous_client.get("/api/schema/", HTTP_X_FORWARDED_FOR="198.51.100.7", **via_proxy)
    # then
    assert [first.status_code, again.status_code, other.status_code] == [200, 429, 200]


def test_a_forwarded_address_from_an_untrusted_peer_buys_no_fresh_budget(anonymous_client, settings):
    # given a trusted proxy elsewhere, and a client reaching the web process directly
    settings.TRUSTED_PROXIES = (ipaddress.ip_network("10.0.0.0/8"),)
    settings.API_ANON_RATE = "1/minute"
    direct = {"REMOTE_ADDR": "203.0.113.50"}
    anonymous_client.get("/api/schema/", **direct)
    # when it claims other addresses, even a trusted proxy's
    spoofed = [
        anonymous_client.get("/api/schema/", HTTP_X_FORWARDED_FOR=claimed, **direct).status_code
        for claimed in ("198.51.100.1", "10.0.0.7, 198.51.100.2")
    ]
    # then
    assert spoofed == [429, 429]


def test_a_refusal_is_logged_with_the_client_address(anonymous_client, settings, caplog):
    # given
    settings.TRUSTED_PROXIES = (ipaddress.ip_network("127.0.0.1/32"),)
    settings.API_ANON_RATE = "1/minute"
    via_proxy = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    anonymous_client.get("/api/schema/", **via_proxy)
    # when
    with caplog.at_level(logging.WARNING, logger="payments.http.throttling"):
        anonymous_client.get("/api/schema/", **via_proxy)
    # then
    assert "throttled scope=anon client=203.0.113.9 path=/api/schema/" in caplog.text


def test_the_production_defaults_bound_every_rate():
    # The defaults of base settings (the test settings switch throttling off for the harnesses).
    assert base.API_ORDER_CREATE_RATE == "120/minute"
    assert base.API_REFUND_CREATE_RATE == "30/minute"
    assert base.API_READ_RATE == "600/minute"
    assert base.API_ANON_RATE == "60/minute"
    assert base.API_HEALTH_RATE == "120/minute"
    assert base.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] == [
        "payments.http.throttling.AnonymousRateThrottle",
        "payments.http.throttling.ReadRateThrottle",
    ]


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
