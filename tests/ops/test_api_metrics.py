"""GET /metrics: who may scrape it, and what the database gauges and event metrics say."""

import ipaddress
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from payments import gateways
from payments.models import OpsHeartbeat, Order
from payments.ops.selectors import RECONCILER_HEARTBEAT
from payments.core.lifecycle import Outcome, order_end_locked, order_lock
from payments.core.statuses import OrderStatus
from tests.factories import OrderFactory, PaymentMethodFactory

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests"


def samples(response):
    """{(sample name, frozenset(labels)): value} of a scrape."""
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found, name, **labels):
    return found.get((name, frozenset(labels.items())), 0.0)


def scrape(client, **headers):
    return client.get("/metrics", **headers)


def test_loopback_client_may_scrape_without_a_token(client, settings):
    # given
    settings.METRICS_TOKEN = ""
    # when
    response = scrape(client, REMOTE_ADDR="127.0.0.1")
    # then
    assert response.status_code == 200
    assert b"payments_orders" in response.content


def test_remote_client_is_refused_without_a_token_configured(client, settings):
    # given
    settings.METRICS_TOKEN = ""
    # when
    response = scrape(client, REMOTE_ADDR="203.0.113.7")
    # then
    assert response.status_code == 403
    assert b"payments_orders" not in response.content


def test_forwarded_header_does_not_make_a_remote_client_local(client, settings):
    # given
    settings.METRICS_TOKEN = ""
    # when
    response = scrape(client, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="127.0.0.1")
    # then
    assert response.status_code == 403


def test_behind_a_proxy_on_the_same_host_a_forwarded_client_is_not_local(client, settings):
    # given the proxy on 127.0.0.1 is trusted, as its deployment must say
    settings.METRICS_TOKEN = ""
    settings.TRUSTED_PROXIES = (ipaddress.ip_network("127.0.0.1/32"),)
    # when a remote client comes through it, and Prometheus scrapes from the host itself
    through_proxy = scrape(client, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    local = scrape(client, REMOTE_ADDR="127.0.0.1")
    # then
    assert through_proxy.status_code == 403
    assert b"payments_orders" not in through_proxy.content
    assert local.status_code == 200


def test_configured_token_is_required_even_from_loopback(client, settings):
    # given
    settings.METRICS_TOKEN = TOKEN
    # when
    response = scrape(client, REMOTE_ADDR="127.0.0.1")
    # then
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_wrong_token_is_forbidden(client, settings):
    # given
    settings.METRICS_TOKEN = TOKEN
    # when
    response = scrape(client, HTTP_AUTHORIZATION="Bearer not-the-token")
    # then
    assert response.status_code == 403
    assert TOKEN.encode() not in response.content


def test_right_token_scrapes_from_anywhere(client, settings):
    # given
    settings.METRICS_TOKEN = TOKEN
    # when
    response = scrape(client, REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    # then
    assert response.status_code == 200


def test_orders_gauge_counts_every_status_from_the_database(client):
    # given
    OrderFactory.create_batch(3, status=OrderStatus.PENDING)
    OrderFactory.create_batch(2, status=OrderStatus.PAID, transaction_id="t")
    OrderFactory(status=OrderStatus.FAILED)
    # when
    found = samples(scrape(client))
    # then
    assert value(found, "payments_orders", status="pending") == 3
    assert value(found, "payments_orders", status="paid") == 2
    assert value(found, "payments_orders", status="failed") == 1
    assert value(found, "payments_orders", status="processing") == 0
    assert ("payments_orders", frozenset({("status", "needs_review")})) in found


def test_payment_methods_gauge_counts_every_status_from_the_database(client):
    # given two active saved cards, one still being stored, one deleted
    PaymentMethodFactory.create_batch(2)
    PaymentMethodFactory(status="pending")
    PaymentMethodFactory(status="deleted")
    # when
    found = samples(scrape(client))
    # then
    assert value(found, "payments_payment_methods", status="active") == 2
    assert value(found, "payments_payment_methods", status="pending") == 1
    assert value(found, "payments_payment_methods", status="deleted") == 1
    assert ("payments_payment_methods", frozenset({("status", "failed")})) in found


def test_a_parked_order_raises_the_needs_review_gauge(client):
    # given
    OrderFactory(status=OrderStatus.PAID, transaction_id="t")
    before = value(samples(scrape(client)), "payments_orders_needs_review")
    # when
    OrderFactory(status=OrderStatus.NEEDS_REVIEW)
    # then
    assert before == 0
    assert value(samples(scrape(client)), "payments_orders_needs_review") == 1


def test_oldest_pending_age_is_the_oldest_active_orders_age(client):
    # given one active order created ten minutes ago, a newer one, and an older settled one
    old, settled = OrderFactory(), OrderFactory(status=OrderStatus.FAILED)
    OrderFactory(status=OrderStatus.PROCESSING)
    now = timezone.now()
    Order.objects.filter(pk=old.pk).update(created_at=now - timedelta(minutes=10))
    Order.objects.filter(pk=settled.pk).update(created_at=now - timedelta(hours=5))
    # when
    age = value(samples(scrape(client)), "payments_oldest_pending_order_age_seconds")
    # then
    assert 600 <= age < 660


def test_oldest_pending_age_is_zero_with_nothing_active(client):
    # given
    OrderFactory(status=OrderStatus.FAILED)
    # when / then
    assert value(samples(scrape(client)), "payments_oldest_pending_order_age_seconds") == 0


def test_reconciler_last_run_is_read_from_its_heartbeat_row(client):
    # given
    ran_at = timezone.now() - timedelta(seconds=42)
    OpsHeartbeat.objects.create(name=RECONCILER_HEARTBEAT, last_run_at=ran_at)
    # when
    found = samples(scrape(client))
    # then
    assert value(found, "payments_reconciler_last_run_timestamp_seconds") == pytest.approx(ran_at.timestamp())


def test_no_reconciler_run_means_no_timestamp_sample(client):
    # when
    found = samples(scrape(client))
    # then an absent series, which `absent()` alerts on, rather than a misleading 0
    assert not any(name == "payments_reconciler_last_run_timestamp_seconds" for name, _ in found)


def test_gateway_calls_are_counted_and_timed_by_call_and_outcome(client, settings):
    # given the in-process fake gateway, instrumented by get_gateway()
    settings.PAYMENTS_GATEWAY = "fake"
    gateways.reset_gateway()
    gateway = gateways.get_gateway()
    before = samples(scrape(client))
    # when two approved sales, a declined one and a find
    for key, amount in (("a", "10.00"), ("b", "11.00"), ("c", "2000.00")):
        approved = gateway.sale(order_id=key, amount=Decimal(amount), nonce="fake-valid-nonce", api_request_key=key)
    gateway.find(approved.transaction.id)
    after = samples(scrape(client))
    gateways.reset_gateway()

    # then
    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("payments_gateway_requests_total", call="sale", outcome="approved") == 2
    assert delta("payments_gateway_requests_total", call="sale", outcome="declined") == 1
    assert delta("payments_gateway_requests_total", call="find", outcome="found") == 1
    assert delta("payments_gateway_request_duration_seconds_count", call="sale") == 3
    assert delta("payments_gateway_request_duration_seconds_count", call="find") == 1


def test_vault_calls_are_counted_by_call_and_outcome(client, settings):
    # given the in-process fake gateway, instrumented by get_gateway()
    settings.PAYMENTS_GATEWAY = "fake"
    gateways.reset_gateway()
    gateway = gateways.get_gateway()
    before = samples(scrape(client))
    # when a customer, a stored card, a refused one, two finds and a delete
    gateway.customer_create(customer_id="c1")
    gateway.payment_method_store(customer_id="c1", nonce="fake-valid-visa-nonce", token="pm_a")
    gateway.payment_method_store(customer_id="c1", nonce="fake-processor-declined-visa-nonce", token="pm_b")
    gateway.payment_method_find("pm_a")
    gateway.payment_method_find("pm_b")
    gateway.payment_method_delete("pm_a")
    after = samples(scrape(client))
    gateways.reset_gateway()

    # then
    def delta(call, outcome):
        return value(after, "payments_gateway_requests_total", call=call, outcome=outcome) - value(
            before, "payments_gateway_requests_total", call=call, outcome=outcome
        )

    assert delta("customer.create", "ok") == 1
    assert delta("payment_method.create", "stored") == 1
    assert delta("payment_method.create", "refused") == 1
    assert delta("payment_method.find", "found") == 1
    assert delta("payment_method.find", "not_found") == 1
    assert delta("payment_method.delete", "ok") == 1


def test_instrumented_gateway_keeps_its_backend_type_and_attributes(settings):
    # given
    settings.PAYMENTS_GATEWAY = "fake"
    gateways.reset_gateway()
    # when
    gateway = gateways.get_gateway()
    # then
    assert type(gateway).__name__ == "FakeGateway"
    assert gateway.transactions() == []
    gateways.reset_gateway()


def test_django_request_metrics_are_exported(client):
    # given a request the django-prometheus middleware saw
    client.get("/healthz")
    # when
    found = samples(scrape(client))
    # then
    assert any(name.startswith("django_http_requests_total") for name, _ in found)


def test_an_order_reaching_paid_is_observed_in_the_time_to_final_histogram(client, django_capture_on_commit_callbacks):
    # given an order created a minute ago, in processing with a recorded sale
    order = OrderFactory(status=OrderStatus.PROCESSING, transaction_id="t-1")
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(seconds=60))
    before = samples(scrape(client))
    # when
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            order_end_locked(order_lock(order.pk), OrderStatus.PAID, outcome=Outcome.VERIFIED_PAID)
    after = samples(scrape(client))
    # then one observation of about 60 s, in the paid series
    count = "payments_order_time_to_final_seconds_count"
    total = "payments_order_time_to_final_seconds_sum"
    assert value(after, count, status="paid") - value(before, count, status="paid") == 1
    assert 60 <= value(after, total, status="paid") - value(before, total, status="paid") < 70


def test_a_rolled_back_ending_is_not_observed(client, django_capture_on_commit_callbacks):
    # given
    order = OrderFactory(status=OrderStatus.PROCESSING, transaction_id="t-1")
    before = samples(scrape(client))
    # when the transaction that ended the order fails
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            order_end_locked(order_lock(order.pk), OrderStatus.FAILED, outcome=Outcome.VERIFIED_FAILED)
            raise RuntimeError("rolled back")
    # then
    count = "payments_order_time_to_final_seconds_count"
    assert value(samples(scrape(client)), count, status="failed") == value(before, count, status="failed")


def test_queue_depths_are_read_from_the_broker(client):
    # when
    found = samples(scrape(client))
    # then
    assert value(found, "payments_broker_up") == 1
    assert {dict(labels)["queue"] for name, labels in found if name == "payments_queue_messages"} == {
        "payments", "default", "maintenance"
    }


def test_a_down_broker_leaves_queue_depths_absent_and_broker_up_zero(client, broker_down):
    # when
    found = samples(scrape(client))
    # then the database gauges are still there
    assert value(found, "payments_broker_up") == 0
    assert not any(name == "payments_queue_messages" for name, _ in found)
    assert ("payments_orders", frozenset({("status", "paid")})) in found
