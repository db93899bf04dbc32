"""The order changelist: coloured status badges, short ids with a copy button, compact columns."""

import pytest
from django.urls import reverse

from payments.orders.admin import OrderAdmin
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_changelist_shows_badges_short_ids_with_copy_and_the_created_time(admin_client):
    # given a failed order
    order = OrderFactory(status="failed")
    # when an admin opens the order list
    page = admin_client.get(reverse("admin:payments_order_changelist")).content.decode()
    # then its status is a coloured badge, its id short with the whole id one click away
    assert 'class="order-status order-status-failed"' in page
    assert "background:#dc3545" in page
    assert f"<code title=\"{order.pk}\" style=\"white-space:nowrap\">{str(order.pk)[:8]}</code>" in page
    assert f'data-copy="{order.pk}"' in page
    # and the created column is there, unwrapped
    assert order.created_at.strftime("%Y-%m-%d") in page


def test_the_changelist_keeps_to_six_columns():
    assert len(OrderAdmin.list_display) == 6
