"""Who sees which orders: owners their own; everyone's only with `payments.view_order`, staff or not."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from tests.fixtures.api import client_for
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db


def grant(user, codename):
    user.user_permissions.add(Permission.objects.get(content_type__app_label="payments", codename=codename))
    # A fresh instance: Django caches a user's permissions on the object.
    return get_user_model().objects.get(pk=user.pk)


@pytest.fixture
def staff():
    """A staff account with no model permission at all (it can open the admin, nothing more)."""
    return get_user_model().objects.create_user("support", password="a-long-staff-password", is_staff=True)


@pytest.fixture
def support(staff):
    return grant(staff, "view_order")


def test_staff_without_the_view_permission_list_none_of_anyone_elses_orders(staff):
    # given orders of two customers and one of the staff member's own
    OrderFactory(), OrderFactory()
    own = OrderFactory(owner=staff)
    # when
    response = client_for(staff).get("/api/orders/")
    # then
    assert response.status_code == 200
    assert [o["id"] for o in response.json()["results"]] == [str(own.pk)]


def test_staff_without_the_view_permission_get_404_for_someone_elses_order(staff):
    # given
    order = OrderFactory()
    # when
    response = client_for(staff).get(f"/api/orders/{order.pk}/")
    # then
    assert response.status_code == 404


def test_staff_with_the_view_permission_see_every_order_in_the_list(support):
    # given orders of two customers
    mine, theirs = OrderFactory(), OrderFactory()
    # when
    response = client_for(support).get("/api/orders/")
    # then
    assert response.status_code == 200
    assert {o["id"] for o in response.json()["results"]} == {str(mine.pk), str(theirs.pk)}


def test_staff_with_the_view_permission_read_anyones_order(support):
    # given
    order = OrderFactory()
    # when
    response = client_for(support).get(f"/api/orders/{order.pk}/")
    # then
    assert response.status_code == 200
    assert response.json()["id"] == str(order.pk)


def test_the_permission_not_staff_status_decides(django_user_model):
    # given an API account that is not staff but holds the permission, and a superuser
    reader = grant(UserFactory(), "view_order")
    superuser = django_user_model.objects.create_superuser("root", password="a-long-root-password")
    order = OrderFactory()
    # when / then
    assert client_for(reader).get(f"/api/orders/{order.pk}/").status_code == 200
    assert client_for(superuser).get(f"/api/orders/{order.pk}/").status_code == 200


def test_change_permission_alone_does_not_show_others_orders(staff):
    # given a staff account that may edit orders in the admin, but not view them through the API
    editor = grant(staff, "change_order")
    order = OrderFactory()
    # when / then
    assert client_for(editor).get(f"/api/orders/{order.pk}/").status_code == 404


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


def test_the_status_filter_still_applies_to_everyones_orders(support):
    # given
    OrderFactory(status="paid", transaction_id="txn1")
    OrderFactory(status="failed")
    # when
    response = client_for(support).get("/api/orders/?status=paid")
    # then
    assert [o["status"] for o in response.json()["results"]] == ["paid"]


def test_the_browsable_api_is_titled_orders_without_backticks(support, client):
    # given a support session in a browser
    client.force_login(support)
    # when
    page = client.get("/api/orders/", HTTP_ACCEPT="text/html").content.decode()
    # then
    assert "<title>Orders – Payments API</title>" in page
    assert "Order List Create Api" not in page
    assert "<h1>Orders</h1>" in page
    description = page.split('<div class="pull-left">', 1)[1].split("</div>", 1)[0]
    assert "view-order permission see everyone" in description
    assert "`" not in description
