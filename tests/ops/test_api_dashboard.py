"""The ops dashboard at `/` and its JSON: `payments.view_order` only, and the numbers the database holds."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
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
    """A staff member granted `payments.view_order`, as the ops group is."""
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(content_type__app_label="payments", codename="view_order"))
    client.force_login(staff)
    return client


def directives(policy):
    """A Content-Security-Policy header as {directive: [sources]}."""
    parts = (part.split() for part in policy.split(";") if part.strip())
    return {name: sources for name, *sources in parts}


@pytest.mark.parametrize("url", ["/", DATA_URL])
@pytest.mark.parametrize("codename", [None, "change_order", "refund_order"])
def test_staff_without_the_view_permission_get_no_dashboard_and_no_feed(client, url, codename):
    # given a staff account that may use the admin but not read everyone's orders
    staff = UserFactory(is_staff=True)
    if codename:
        staff.user_permissions.add(Permission.objects.get(content_type__app_label="payments", codename=codename))
    OrderFactory(status=OrderStatus.NEEDS_REVIEW)
    client.force_login(staff)
    # when
    response = client.get(url)
    # then: refused, with no order data
    assert response.status_code == 403
    assert b"needs_review" not in response.content


def test_the_dashboards_inline_script_and_style_run_under_its_nonce_only(staff_client):
    # when
    response = staff_client.get("/")
    # then: the policy allows inline code only with this answer's nonce, and both tags carry it
    policy = directives(response["Content-Security-Policy"])
    [nonce] = re.findall(r"'nonce-([^']+)'", " ".join(policy["script-src"]))
    assert set(policy["script-src"]) == set(policy["style-src"]) == {"'self'", f"'nonce-{nonce}'"}
    page = response.content.decode()
    assert page.count(f'nonce="{nonce}"') == 2
    assert re.findall(r"<(?:script|style)(?![^>]*(?:nonce=|type=\"application/json\"))[^>]*>", page) == []
    # and another answer gets another nonce
    assert nonce not in staff_client.get("/")["Content-Security-Policy"]


def test_anonymous_visitor_is_sent_to_the_admin_login(client):
    # when
    response = client.get("/")
    # then
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=/")


def test_logged_in_user_without_the_view_permission_is_refused(client):
    # given
    client.force_login(UserFactory())
    # when
    response = client.get(DATA_URL)
    # then
    assert response.status_code == 403
    assert response.json() == {"detail": "Permission denied."}


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
        "authorized": 0, "canceled": 0, "authorization_expired": 0,
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


def test_gateway_errors_are_grouped_by_order_with_code_and_attempt(staff_client, settings):
    # given an order with one unanswered sale then a processor failure, a decline (the card's
    # fault, not the gateway's), and another order with one unanswered find, later
    settings.PAYMENTS_MAX_RETRIES = 3
    order = OrderFactory(status=OrderStatus.PROCESSING, sale_attempt=1)
    OrderEvent.objects.create(order=order, action=OrderEvent.Action.SALE, outcome=OrderEvent.Outcome.UNAVAILABLE,
                              detail={"error": "Braintree sale unavailable: ServiceUnavailableError: 503"})
    OrderEvent.objects.create(order=order, action=OrderEvent.Action.SALE, outcome=OrderEvent.Outcome.PROCESSOR_FAILED,
                              detail={"error_codes": [], "attempt": 0})
    OrderEvent.objects.create(order=order, action=OrderEvent.Action.SALE, outcome=OrderEvent.Outcome.DECLINED)
    other = OrderFactory(status=OrderStatus.NEEDS_REVIEW)
    OrderEvent.objects.create(order=other, action=OrderEvent.Action.FIND, outcome=OrderEvent.Outcome.UNAVAILABLE,
                              detail={"error": "Braintree find unavailable: TimeoutError: read timed out"})
    # when
    errors = staff_client.get(DATA_URL).json()["gateway_errors"]
    # then one row per order, newest first, with its latest error's code and the tries it took
    assert [(e["order_id"], e["call"], e["code"], e["errors"], e["attempt"], e["attempts"], e["status"]) for e in errors] == [
        (str(other.pk), "find", "TimeoutError", 1, 1, 4, "needs_review"),
        (str(order.pk), "sale", "3000", 2, 2, 4, "processing"),
    ]


def test_money_today_sums_paid_sales_and_succeeded_refunds_per_currency(staff_client):
    # given two sales paid today (one in euros), one paid yesterday, and a succeeded refund
    from payments.models import Refund

    usd = OrderFactory(status=OrderStatus.PAID, transaction_id="t1", amount="10.00")
    eur = OrderFactory(status=OrderStatus.PAID, transaction_id="t2", amount="7.50", currency="EUR")
    old = OrderFactory(status=OrderStatus.PAID, transaction_id="t3", amount="99.00")
    for order in (usd, eur, old):
        OrderEvent.objects.create(order=order, action=OrderEvent.Action.TRANSITION, from_status="processing",
                                  to_status="paid", outcome=OrderEvent.Outcome.VERIFIED_PAID)
    OrderEvent.objects.filter(order=old).update(created_at=timezone.now() - timedelta(days=2))
    Refund.objects.create(order=usd, amount="4.00", status="succeeded", transaction_id="c1")
    # when
    money = staff_client.get(DATA_URL).json()["money_today"]["by_currency"]
    # then
    assert money == [
        {"currency": "EUR", "paid": "7.50", "paid_count": 1, "refunded": "0.00", "refunded_count": 0},
        {"currency": "USD", "paid": "10.00", "paid_count": 1, "refunded": "4.00", "refunded_count": 1},
    ]


@pytest.mark.parametrize("query", ["by-id-prefix", "by-id", "12.34", "txn-search", "failed"])
def test_recent_orders_are_searched_by_id_amount_transaction_or_status(staff_client, query):
    # given
    wanted = OrderFactory(status=OrderStatus.FAILED, amount="12.34", transaction_id="txn-search")
    OrderFactory(status=OrderStatus.PAID, amount="50.00", transaction_id="txn-other")
    text = {"by-id-prefix": str(wanted.pk)[:8], "by-id": str(wanted.pk)}.get(query, query)
    # when
    found = staff_client.get(DATA_URL, {"q": text}).json()["recent_orders"]["orders"]
    # then
    assert [o["id"] for o in found] == [str(wanted.pk)]


def test_the_tiles_link_to_the_order_list_in_their_status(staff_client):
    data = staff_client.get(DATA_URL).json()
    assert data["status_urls"]["needs_review"] == "/admin/payments/order/?status__exact=needs_review"


def test_workers_are_unknown_when_the_broker_is_down(staff_client, broker_down):
    assert staff_client.get(DATA_URL).json()["workers"] is None


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
