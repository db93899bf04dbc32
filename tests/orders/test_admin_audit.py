"""The order admin's audit: who ran an action, events that outlive nothing, and a change form
that never writes over a worker's transition. On the fake gateway, publishing mocked."""

from decimal import Decimal

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.db.models import ProtectedError
from django.urls import reverse

from payments.core.statuses import OrderStatus
from payments.models import CaptureMode, Order, OrderEvent
from payments.orders.services import order_charge
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user():
    return get_user_model().objects.create_superuser("ops", "ops@example.com", "a-long-admin-password")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def change_form(order, **fields):
    """The change form's POST body: the fields, and the inlines' (event, refund) management forms."""
    management = {}
    for prefix, count in (("events", order.events.count()), ("refunds", order.refunds.count())):
        management |= {f"{prefix}-TOTAL_FORMS": count, f"{prefix}-INITIAL_FORMS": count, f"{prefix}-MAX_NUM_FORMS": ""}
    return {**management, **fields, "_save": "Save"}


def run_action(admin_client, action, order):
    return admin_client.post(
        reverse("admin:payments_order_changelist"),
        {"action": action, "_selected_action": [str(order.pk)]},
        follow=True,
    )


def test_a_requeue_names_the_admin_on_its_event_and_in_the_admin_log(admin_client, admin_user, fake, published):
    # given a parked order
    order = OrderFactory(status=OrderStatus.NEEDS_REVIEW)
    # when
    response = run_action(admin_client, "requeue", order)
    # then
    assert response.status_code == 200
    event = order.events.get(outcome=OrderEvent.Outcome.ADMIN_REQUEUE)
    assert (event.actor, event.to_status) == (admin_user, OrderStatus.PROCESSING)
    entry = LogEntry.objects.get(object_id=str(order.pk))
    assert (entry.user, entry.action_flag) == (admin_user, CHANGE)
    assert "Re-queued" in entry.get_change_message()


def test_a_reverify_names_the_admin_on_every_event_it_appends(admin_client, admin_user, fake, published, committed):
    # given a sold order whose verify has not run (the charge's own find got no answer, so the
    # order waits for verify_order_task)
    order = OrderFactory(amount=Decimal("10.00"))
    fake.fail_next("find")
    with committed():
        order_charge(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING and order.transaction_id
    before = set(order.events.values_list("pk", flat=True))
    # when
    run_action(admin_client, "reverify_with_gateway", order)
    # then: the find and the transition to paid are the admin's
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    new_events = order.events.exclude(pk__in=before)
    assert [(e.action, e.actor) for e in new_events] == [("find", admin_user), ("transition", admin_user)]
    # and the worker's earlier events name nobody
    assert not order.events.filter(pk__in=before, actor__isnull=False).exists()
    assert LogEntry.objects.filter(object_id=str(order.pk), user=admin_user).count() == 1


def test_worker_events_record_no_actor(fake, published, committed):
    order = OrderFactory()
    with committed():
        order_charge(order_id=order.pk)
    assert not order.events.filter(actor__isnull=False).exists()


def test_an_order_with_events_cannot_be_deleted(fake, published, committed):
    # given
    order = OrderFactory()
    with committed():
        order_charge(order_id=order.pk)
    # when / then: the audit rows protect their order
    with pytest.raises(ProtectedError):
        order.delete()
    assert OrderEvent.objects.filter(order=order).exists()


def test_the_admin_can_delete_neither_orders_nor_events(admin_client):
    # given
    order = OrderFactory()
    OrderEvent.objects.create(order=order, action=OrderEvent.Action.CREATE, to_status=order.status)
    # when
    order_delete = admin_client.post(reverse("admin:payments_order_delete", args=[order.pk]), {"post": "yes"})
    event = order.events.get()
    event_delete = admin_client.post(reverse("admin:payments_orderevent_delete", args=[event.pk]), {"post": "yes"})
    # then
    assert (order_delete.status_code, event_delete.status_code) == (403, 403)
    assert Order.objects.filter(pk=order.pk).exists() and OrderEvent.objects.filter(pk=event.pk).exists()


def test_the_order_page_is_a_record_without_a_form_or_save_button(admin_client):
    # given
    order = OrderFactory(description="before")
    # when
    response = admin_client.get(reverse("admin:payments_order_change", args=[order.pk]))
    # then every field is shown read-only, grouped, and nothing can be saved
    assert response.status_code == 200
    assert list(response.context["adminform"].form.fields) == []
    assert response.context["has_change_permission"] is False
    assert b'name="_save"' not in response.content
    assert [name for name, _ in response.context["adminform"].fieldsets] == [
        None, "Gateway", "Refunds and disputes", "Delivery internals"
    ]


def test_a_manual_order_page_adds_its_capture_fields(admin_client):
    # given
    order = OrderFactory(capture=CaptureMode.MANUAL)
    # when
    response = admin_client.get(reverse("admin:payments_order_change", args=[order.pk]))
    # then
    assert [name for name, _ in response.context["adminform"].fieldsets] == [
        None, "Gateway", "Capture", "Refunds and disputes", "Delivery internals"
    ]


def test_a_post_to_the_order_page_changes_nothing(admin_client):
    # given
    order = OrderFactory(amount=Decimal("10.00"), description="before")
    # when an admin (or a forged form) posts new values
    response = admin_client.post(
        reverse("admin:payments_order_change", args=[order.pk]),
        change_form(order, description="after", amount="1.00", status="paid"),
    )
    # then it is refused and the row is as the services wrote it
    assert response.status_code == 403
    order.refresh_from_db()
    assert (order.description, order.amount, order.status) == ("before", Decimal("10.00"), OrderStatus.PENDING)
