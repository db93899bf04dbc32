"""The admin's refund action: `payments.refund_order` only, through refund_create as the acting admin, logged;
refusals become messages."""

from decimal import Decimal
from unittest import mock

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.sites import site
from django.contrib.auth.models import Permission
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import Client, RequestFactory

from payments.refunds.admin import refund_in_full
from payments.core.statuses import OrderStatus
from payments.models import Order, OrderEvent, Refund
from payments.tasks import refund_order_task
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_admin_refund_action_refunds_paid_orders_and_reports_the_others():
    # given
    paid = OrderFactory(status=OrderStatus.PAID, transaction_id="t1", amount=Decimal("8.00"))
    pending = OrderFactory()
    request = RequestFactory().post("/admin/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    request.session = {}
    request._messages = FallbackStorage(request)
    # when
    with mock.patch.object(refund_order_task, "apply_async"):
        refund_in_full(site._registry[Order], request, Order.objects.filter(pk__in=[paid.pk, pending.pk]))
    # then
    assert list(Refund.objects.values_list("order_id", "amount")) == [(paid.pk, Decimal("8.00"))]
    texts = [m.message for m in request._messages]
    assert any("queued" in t for t in texts) and any("Only a paid order" in t for t in texts)


def admin_with(*codenames):
    """A staff account holding exactly these payments permissions, logged in to a fresh client."""
    staff = UserFactory(is_staff=True)
    for codename in codenames:
        staff.user_permissions.add(Permission.objects.get(content_type__app_label="payments", codename=codename))
    client = Client()
    client.force_login(staff)
    return staff, client


def refund_from_the_changelist(client, order):
    with mock.patch.object(refund_order_task, "apply_async"):
        return client.post(
            "/admin/payments/order/", {"action": "refund_in_full", ACTION_CHECKBOX_NAME: [str(order.pk)]}, follow=True
        )


def test_staff_with_only_change_order_are_not_offered_the_refund_and_cannot_post_it():
    # given
    paid = OrderFactory(status=OrderStatus.PAID, transaction_id="t1", amount=Decimal("8.00"))
    _, client = admin_with("view_order", "change_order")
    # when
    changelist = client.get("/admin/payments/order/")
    response = refund_from_the_changelist(client, paid)
    # then
    assert changelist.status_code == 200
    assert "refund_in_full" not in changelist.content.decode()
    assert response.status_code == 200
    assert not Refund.objects.exists()
    assert not LogEntry.objects.exists()


def test_an_admin_refund_runs_as_the_acting_admin_and_is_in_the_admin_log():
    # given
    paid = OrderFactory(status=OrderStatus.PAID, transaction_id="t1", amount=Decimal("8.00"))
    staff, client = admin_with("view_order", "refund_order")
    # when
    response = refund_from_the_changelist(client, paid)
    # then the refund is queued, its event names the admin, and Django's admin log says who did what
    assert response.status_code == 200
    refund = Refund.objects.get()
    assert (refund.order_id, refund.amount) == (paid.pk, Decimal("8.00"))
    event = OrderEvent.objects.get(order=paid, outcome=OrderEvent.Outcome.REFUND_REQUESTED)
    assert event.actor_id == staff.pk
    entry = LogEntry.objects.get()
    assert (entry.user_id, entry.object_id, entry.action_flag) == (staff.pk, str(paid.pk), CHANGE)
    assert f"refund of 8.00 queued ({refund.pk})" in entry.get_change_message()
