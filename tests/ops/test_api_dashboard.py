"""The ops dashboard at `/` and its JSON: staff only, and the numbers the database holds."""

from datetime import timedelta

import pytest
from django.utils import timezone

from payments.models import OpsHeartbeat, Order, OrderEvent
from celery_app import app
from payments.ops.selectors import RECONCILER_HEARTBEAT, queue_depths
from payments.core.statuses import OrderStatus
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

DATA_URL = "/ops/dashboard.json"


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True))
    return client


def test_anonymous_visitor_is_sent_to_the_admin_login(client):
    # when
    response = client.get("/")
    # then
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=/")


def test_logged_in_non_staff_user_is_sent_to_the_admin_login(client):
    # given
    client.force_login(UserFactory())
    # when
    response = client.get(DATA_URL)
    # then
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_staff_get_the_dashboard_page_with_its_snapshot_embedded(staff_client):
    # given
    OrderFactory.create_batch(2, status=OrderStatus.PENDING)
    # when
    response = staff_client.get("/")
    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert 'id="initial-data"' in page
    assert 'data-status="needs_review"' in page
    assert "Needs review" in page


def test_dashboard_data_counts_orders_by_status(staff_client):
    # given
    OrderFactory.create_batch(3, status=OrderStatus.PAID, transaction_id="t")
    OrderFactory(status=OrderStatus.FAILED)
    OrderFactory(status=OrderStatus.PROCESSING)
    # when
    data = staff_client.get(DATA_URL).json()
    # then
    assert data["counts"] == {
        "pending": 0, "processing": 1, "paid": 3, "failed": 1, "needs_review": 0,
        "partially_refunded": 0, "refunded": 0, "settlement_declined": 0,
    }
    assert data["total"] == 5


def test_needs_review_queue_lists_parked_orders_oldest_first_with_admin_links(staff_client):
    # given
    older = OrderFactory(status=OrderStatus.NEEDS_REVIEW, failure_reason="Gave up after 6 retries")
    newer = OrderFactory(status=OrderStatus.NEEDS_REVIEW)
    Order.objects.filter(pk=older.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    # when
    queue = staff_client.get(DATA_URL).json()["needs_review"]
    # then
    assert [o["id"] for o in queue] == [str(older.pk), str(newer.pk)]
    assert queue[0]["reason"] == "Gave up after 6 retries"
    assert queue[0]["admin_url"] == f"/admin/payments/order/{older.pk}/change/"
    assert queue[0]["parked_seconds"] >= 300


def test_recent_gateway_errors_come_from_the_event_log(staff_client):
    # given one unanswered sale, one processor failure, and a decline (the card's fault, not the gateway's)
    order = OrderFactory(status=OrderStatus.PROCESSING)
    for outcome in (OrderEvent.Outcome.UNAVAILABLE, OrderEvent.Outcome.PROCESSOR_FAILED, OrderEvent.Outcome.DECLINED):
        OrderEvent.objects.create(order=order, action=OrderEvent.Action.SALE, outcome=outcome)
    # when
    errors = staff_client.get(DATA_URL).json()["gateway_errors"]
    # then newest first
    assert [e["outcome"] for e in errors] == ["processor_failed", "unavailable"]
    assert errors[0]["order_id"] == str(order.pk)


def test_throughput_counts_orders_finished_per_minute_in_the_window(staff_client):
    # given two paid and one failed just now, and one paid long before the window
    OrderFactory.create_batch(2, status=OrderStatus.PAID, transaction_id="t")
    OrderFactory(status=OrderStatus.FAILED)
    old = OrderFactory(status=OrderStatus.PAID, transaction_id="t")
    Order.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(hours=2))
    # when
    buckets = staff_client.get(DATA_URL).json()["throughput"]
    # then
    assert len(buckets) == 15
    assert sum(b["paid"] for b in buckets) == 2
    assert sum(b["failed"] for b in buckets) == 1
    assert buckets[-1]["paid"] + buckets[-2]["paid"] == 2


def test_reconciler_last_run_and_its_age_are_shown(staff_client):
    # given
    OpsHeartbeat.objects.create(name=RECONCILER_HEARTBEAT, last_run_at=timezone.now() - timedelta(seconds=30))
    # when
    data = staff_client.get(DATA_URL).json()
    # then
    assert 30 <= data["reconciler_age_seconds"] < 40


def test_queue_depth_is_read_from_the_real_broker(staff_client):
    # when
    queues = staff_client.get(DATA_URL).json()["queues"]
    # then every queue has a number (Redis answers 0 for a queue nobody declared)
    assert set(queues) == {"payments", "default", "maintenance"}
    assert all(isinstance(depth, int) for depth in queues.values())


def test_queue_depth_is_unknown_when_the_broker_is_down(staff_client, broker_down):
    # when
    response = staff_client.get(DATA_URL)
    # then the rest of the dashboard still answers
    assert response.status_code == 200
    assert response.json()["queues"] == {"payments": None, "default": None, "maintenance": None}


def test_queue_depth_counts_waiting_messages():
    # given three messages in a queue of our own on the test broker
    queue = "obs-test-depth"
    with app.connection_for_write() as conn:
        client = conn.default_channel.client
        client.delete(queue)
        client.lpush(queue, "a", "b", "c")
    try:
        # when
        depths = queue_depths([queue], timeout=1)
    finally:
        with app.connection_for_write() as conn:
            conn.default_channel.client.delete(queue)
    # then
    assert depths == {queue: 3}
