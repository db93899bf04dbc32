"""The order page's capture and cancel of an authorized manual order, through the API's services."""

from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from payments.core.statuses import OrderStatus
from payments.models import CaptureMode, OrderEvent
from payments.orders.services import order_cancel_request, order_capture, order_charge
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
def authorized(fake, published):
    order = OrderFactory(amount=Decimal("50.00"), capture=CaptureMode.MANUAL)
    order_charge(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.AUTHORIZED
    return order


def url(order, decision):
    return reverse(f"admin:payments_order_{decision}", args=[order.pk])


def page(client, order):
    return client.get(reverse("admin:payments_order_change", args=[order.pk]))


def staff(*permissions):
    user = get_user_model().objects.create_user("clerk", "clerk@example.com", "a-long-clerk-password", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="payments", codename__in=permissions))
    return user


def test_the_page_of_an_authorized_manual_order_offers_capture_and_cancel(admin_client, authorized):
    # when
    content = page(admin_client, authorized).content
    # then
    assert url(authorized, "capture").encode() in content
    assert url(authorized, "cancel").encode() in content


def test_a_paid_order_and_an_order_asked_to_cancel_offer_neither(admin_client, authorized):
    # given
    paid = OrderFactory(status=OrderStatus.PAID, transaction_id="txn-paid")
    order_cancel_request(order_id=authorized.pk)
    # when / then
    for order in (paid, authorized):
        content = page(admin_client, order).content
        assert url(order, "capture").encode() not in content and url(order, "cancel").encode() not in content


def test_a_capture_from_the_order_page_is_asked_once_by_its_admin_and_then_carried_out(
    admin_client, admin_user, authorized, published, committed
):
    # given the form as shown (with its idempotency key)
    form = admin_client.get(url(authorized, "capture")).context["form"]
    body = {"amount": "30.00", "idempotency_key": form.initial["idempotency_key"]}
    # when it is submitted twice (a double click)
    with committed():
        first = admin_client.post(url(authorized, "capture"), body)
        second = admin_client.post(url(authorized, "capture"), body)
    # then one capture of 30.00 was asked, by this admin, logged once, and its task sent once
    assert (first.status_code, second.status_code) == (302, 302)
    authorized.refresh_from_db()
    assert (authorized.authorization_decision, authorized.decision_amount) == ("capture", Decimal("30.00"))
    requested = authorized.events.get(outcome=OrderEvent.Outcome.CAPTURE_REQUESTED)
    assert (requested.actor, requested.detail) == (admin_user, {"amount": "30.00"})
    assert LogEntry.objects.filter(object_id=str(authorized.pk), change_message__startswith="Capture:").count() == 1
    assert published == [("capture_order_task", str(authorized.pk))]
    # and the worker's capture pays it with 30.00
    order_capture(order_id=authorized.pk)
    authorized.refresh_from_db()
    assert (authorized.status, authorized.captured_amount) == (OrderStatus.PAID, Decimal("30.00"))


def test_a_cancel_after_a_capture_was_asked_is_refused_on_the_form(admin_client, authorized):
    # given a capture asked from the page
    form = admin_client.get(url(authorized, "capture")).context["form"]
    admin_client.post(url(authorized, "capture"), {"idempotency_key": form.initial["idempotency_key"]})
    # when a cancel is submitted
    form = admin_client.get(url(authorized, "cancel")).context["form"]
    answer = admin_client.post(url(authorized, "cancel"), {"idempotency_key": form.initial["idempotency_key"]})
    # then the form says why, and the capture of the whole authorization stands
    assert answer.status_code == 200
    assert "already asked to capture" in " ".join(answer.context["form"].non_field_errors())
    authorized.refresh_from_db()
    assert (authorized.authorization_decision, authorized.decision_amount) == ("capture", Decimal("50.00"))
    assert not authorized.events.filter(outcome=OrderEvent.Outcome.CANCEL_REQUESTED).exists()


def test_a_cancel_from_the_order_page_is_asked_through_the_same_claim(admin_client, authorized, published, committed):
    # when
    form = admin_client.get(url(authorized, "cancel")).context["form"]
    with committed():
        answer = admin_client.post(url(authorized, "cancel"), {"idempotency_key": form.initial["idempotency_key"]})
    # then
    assert answer.status_code == 302
    authorized.refresh_from_db()
    assert authorized.authorization_decision == "cancel"
    assert published == [("cancel_order_task", str(authorized.pk))]
    assert "amount" not in form.fields


def test_staff_without_the_refund_permission_may_neither_see_nor_use_them(client, authorized):
    # given a clerk who may view orders but not move money
    client.force_login(staff("view_order"))
    # when / then
    assert url(authorized, "capture").encode() not in page(client, authorized).content
    assert client.post(url(authorized, "capture"), {"idempotency_key": "k"}).status_code == 403
    assert client.post(url(authorized, "cancel"), {"idempotency_key": "k"}).status_code == 403
    authorized.refresh_from_db()
    assert authorized.authorization_decision == ""


def test_staff_with_the_refund_permission_may_capture(client, authorized):
    # given
    client.force_login(staff("view_order", "refund_order"))
    # when
    answer = client.post(url(authorized, "capture"), {"amount": "10.00", "idempotency_key": "k"})
    # then
    assert answer.status_code == 302
    authorized.refresh_from_db()
    assert (authorized.authorization_decision, authorized.decision_amount) == ("capture", Decimal("10.00"))
