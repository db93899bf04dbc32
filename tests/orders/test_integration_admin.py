"""Order admin: read-only money fields, search, and actions that go through services."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from payments.core.statuses import OrderStatus
from payments.models import OrderEvent
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw")
    client.force_login(user)
    return client


def run_action(admin_client, action, orders):
    return admin_client.post(
        reverse("admin:payments_order_changelist"),
        {"action": action, "_selected_action": [str(o.pk) for o in orders]},
        follow=True,
    )


def shown_messages(response):
    return [str(m) for m in response.context["messages"]]


def test_order_change_page_shows_money_and_status_read_only(admin_client):
    # given
    order = OrderFactory(amount=Decimal("12.34"))
    # when
    response = admin_client.get(reverse("admin:payments_order_change", args=[order.pk]))
    # then
    assert response.status_code == 200
    form_fields = response.context["adminform"].form.fields
    assert not {"amount", "status", "transaction_id", "gateway_status"} & set(form_fields)
    assert "payment_method_nonce" not in response.content.decode()


def test_order_changelist_searches_by_transaction_id_and_owner(admin_client):
    # given
    wanted = OrderFactory(transaction_id="k7x2m9qp", status=OrderStatus.PAID)
    OrderFactory(transaction_id="other123", status=OrderStatus.PAID)
    url = reverse("admin:payments_order_changelist")
    # when
    by_transaction = admin_client.get(url, {"q": "k7x2m9qp"})
    by_owner = admin_client.get(url, {"q": wanted.owner.username})
    not_a_uuid = admin_client.get(url, {"q": "not-a-uuid"})
    # then
    assert [o.pk for o in by_transaction.context["cl"].result_list] == [wanted.pk]
    assert [o.pk for o in by_owner.context["cl"].result_list] == [wanted.pk]
    assert not_a_uuid.status_code == 200


def test_requeue_of_a_paid_order_is_refused_with_a_message(admin_client):
    # given
    order = OrderFactory(status=OrderStatus.PAID, transaction_id="k7x2m9qp")
    # when
    response = run_action(admin_client, "requeue", [order])
    # then
    assert response.status_code == 200
    assert any("cannot be re-queued" in m for m in shown_messages(response))
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_requeue_of_a_parked_order_gives_it_back_to_the_workers(admin_client, django_capture_on_commit_callbacks):
    # given
    order = OrderFactory(status=OrderStatus.NEEDS_REVIEW, claims=8)
    # when
    with django_capture_on_commit_callbacks() as callbacks:
        response = run_action(admin_client, "requeue", [order])
    # then
    assert any("re-queued" in m for m in shown_messages(response))
    order.refresh_from_db()
    assert (order.status, order.claims, order.lease_expires_at) == (OrderStatus.PROCESSING, 0, None)
    assert order.events.filter(action=OrderEvent.Action.REQUEUE, outcome="admin_requeue").exists()
    assert len(callbacks) == 1


def test_reverify_of_a_failed_order_is_refused_with_a_message(admin_client):
    # given
    order = OrderFactory(status=OrderStatus.FAILED)
    # when
    response = run_action(admin_client, "reverify_with_gateway", [order])
    # then
    assert response.status_code == 200
    assert any("nothing to re-verify" in m for m in shown_messages(response))


def test_order_attempt_admin_is_read_only(admin_client):
    # given
    order = OrderFactory()
    attempt = OrderEvent.objects.create(order=order, action=OrderEvent.Action.CREATE, to_status="pending")
    # when
    page = admin_client.get(reverse("admin:payments_orderevent_change", args=[attempt.pk]))
    post = admin_client.post(reverse("admin:payments_orderevent_change", args=[attempt.pk]), {"outcome": "x"})
    # then
    assert page.status_code == 200
    assert post.status_code == 403
    attempt.refresh_from_db()
    assert attempt.outcome == ""
