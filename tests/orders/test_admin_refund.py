"""The order page's refund: a form with amount, reason and a key that makes a second submit harmless."""

from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from payments.core.statuses import OrderStatus
from payments.models import OrderEvent, Refund
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user():
    return get_user_model().objects.create_superuser("ops", "ops@example.com", "a-long-admin-password")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def paid():
    return OrderFactory(status=OrderStatus.PAID, transaction_id="txn-admin", amount=Decimal("10.00"), currency="EUR")


def refund_url(order):
    return reverse("admin:payments_order_refund", args=[order.pk])


def test_the_order_page_offers_a_refund_of_a_paid_order(admin_client, paid):
    # when
    page = admin_client.get(reverse("admin:payments_order_change", args=[paid.pk]))
    # then
    assert refund_url(paid).encode() in page.content


def test_a_refund_from_the_order_page_is_queued_once_with_its_reason_and_its_admin(
    admin_client, admin_user, paid, django_capture_on_commit_callbacks
):
    # given the form as shown (with its idempotency key)
    form = admin_client.get(refund_url(paid)).context["form"]
    body = {"amount": "4.00", "reason": "Customer returned one item", "idempotency_key": form.initial["idempotency_key"]}
    # when it is submitted twice (a double click)
    with django_capture_on_commit_callbacks(execute=False):
        first = admin_client.post(refund_url(paid), body)
        second = admin_client.post(refund_url(paid), body)
    # then one refund of 4.00 exists, asked by this admin for this reason, logged once
    assert (first.status_code, second.status_code) == (302, 302)
    refund = Refund.objects.get()
    assert (refund.order_id, refund.amount, refund.status) == (paid.pk, Decimal("4.00"), "pending")
    requested = paid.events.get(outcome=OrderEvent.Outcome.REFUND_REQUESTED)
    assert (requested.actor, requested.detail["reason"]) == (admin_user, "Customer returned one item")
    [entry] = LogEntry.objects.filter(object_id=str(paid.pk))
    assert "4.00 EUR" in entry.change_message and "Customer returned one item" in entry.change_message


def test_a_refund_over_the_remainder_is_refused_on_the_form(admin_client, paid, django_capture_on_commit_callbacks):
    # given
    key = admin_client.get(refund_url(paid)).context["form"].initial["idempotency_key"]
    # when
    response = admin_client.post(refund_url(paid), {"amount": "10.01", "reason": "too much", "idempotency_key": key})
    # then the form says why, and nothing is stored
    assert response.status_code == 200
    assert "remainder of 10.00" in " ".join(response.context["form"].non_field_errors())
    assert not Refund.objects.exists()


def test_a_staff_user_without_the_refund_permission_cannot_refund(client, paid):
    # given staff who may change orders, but not refund them
    user = get_user_model().objects.create_user("clerk", password="a-long-clerk-password", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_order", "change_order"]))
    client.force_login(user)
    # when
    page = client.get(reverse("admin:payments_order_change", args=[paid.pk]))
    response = client.post(refund_url(paid), {"amount": "1.00", "reason": "x", "idempotency_key": "k"})
    # then
    assert refund_url(paid).encode() not in page.content
    assert response.status_code == 403
    assert not Refund.objects.exists()


def test_the_refund_list_shows_short_ids_and_currency(admin_client, paid, django_capture_on_commit_callbacks):
    # given
    with django_capture_on_commit_callbacks(execute=False):
        Refund.objects.create(order=paid, amount=Decimal("2.50"))
    # when
    page = admin_client.get(reverse("admin:payments_refund_changelist")).content.decode()
    # then
    refund = Refund.objects.get()
    assert f">{str(refund.pk)[:8]}<" in page and "2.50 EUR" in page


def test_timestamps_in_the_admin_have_seconds(admin_client, paid):
    page = admin_client.get(reverse("admin:payments_order_change", args=[paid.pk])).content.decode()
    assert paid.created_at.strftime("%Y-%m-%d %H:%M:%S") in page
