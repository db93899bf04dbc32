"""Who sees which orders: owners their own, staff everyone's (the browsable API for support)."""

import pytest
from django.contrib.auth import get_user_model

from tests.fixtures.api import client_for
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return get_user_model().objects.create_user("support", password="a-long-staff-password", is_staff=True)


def test_staff_see_every_order_in_the_list(staff):
    # given orders of two customers
    mine, theirs = OrderFactory(), OrderFactory()
    # when a staff member lists orders
    response = client_for(staff).get("/api/orders/")
    # then both are there
    assert response.status_code == 200
    assert response.json()["count"] == 2
    assert {o["id"] for o in response.json()["results"]} == {str(mine.pk), str(theirs.pk)}


def test_staff_read_anyones_order(staff):
    # given
    order = OrderFactory()
    # when
    response = client_for(staff).get(f"/api/orders/{order.pk}/")
    # then
    assert response.status_code == 200
    assert response.json()["id"] == str(order.pk)


def test_owners_still_see_only_their_own_orders():
    # given
    owner = UserFactory()
    mine = OrderFactory(owner=owner)
    theirs = OrderFactory()
    client = client_for(owner)
    # when
    listing = client.get("/api/orders/")
    other = client.get(f"/api/orders/{theirs.pk}/")
    # then
    assert [o["id"] for o in listing.json()["results"]] == [str(mine.pk)]
    assert other.status_code == 404


def test_staff_status_filter_still_applies(staff):
    # given
    OrderFactory(status="paid", transaction_id="txn1")
    OrderFactory(status="failed")
    # when
    response = client_for(staff).get("/api/orders/?status=paid")
    # then
    assert [o["status"] for o in response.json()["results"]] == ["paid"]


def test_the_browsable_api_is_titled_orders_without_backticks(staff, client):
    # given a staff session in a browser
    client.force_login(staff)
    # when
    page = client.get("/api/orders/", HTTP_ACCEPT="text/html").content.decode()
    # then
    assert "<title>Orders – Payments API</title>" in page
    assert "Order List Create Api" not in page
    assert "<h1>Orders</h1>" in page
    description = page.split('<div class="pull-left">', 1)[1].split("</div>", 1)[0]
    assert "staff see everyone" in description
    assert "`" not in description
