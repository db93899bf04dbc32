"""Every URL shape a client may build gets an API answer: no slash, unknown paths, wrong methods."""

import pytest

from payments.models import Order
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

BODY = {"amount": "12.34", "payment_method_nonce": "fake-valid-nonce"}


@pytest.mark.parametrize("debug", [False, True])
def test_an_order_posted_without_the_trailing_slash_is_accepted_like_with_it(
    api_client, settings, debug, django_capture_on_commit_callbacks
):
    # given a server with or without DEBUG (with it, Django's APPEND_SLASH used to raise)
    settings.DEBUG = debug
    # when
    with django_capture_on_commit_callbacks(execute=False):
        response = api_client.post("/api/orders", BODY, format="json")
    # then the order is stored once and its Location is the canonical URL, with the slash
    assert response.status_code == 202, response.content
    order = Order.objects.get()
    assert response["Location"] == f"http://testserver/api/orders/{order.pk}/"


def test_an_order_read_and_listed_without_the_trailing_slash_answers_200(api_client, user):
    # given
    order = OrderFactory(owner=user)
    # when
    read = api_client.get(f"/api/orders/{order.pk}")
    listed = api_client.get("/api/orders?status=pending")
    # then
    assert (read.status_code, read.json()["id"]) == (200, str(order.pk))
    assert (listed.status_code, listed.json()["count"]) == (200, 1)


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/api/nothing-here/", "/api/nothing-here", "/api/orders/not-a-uuid/"])
def test_an_unknown_path_under_api_answers_json_404(api_client, settings, debug, path):
    # given
    settings.DEBUG = debug
    # when
    response = api_client.post(path, BODY, format="json")
    # then
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_a_wrong_method_answers_json_405_with_allow(api_client, user, method):
    # given
    order = OrderFactory(owner=user)
    # when
    response = getattr(api_client, method)(f"/api/orders/{order.pk}/", {}, format="json", HTTP_ACCEPT="*/*")
    # then
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()
    assert "GET" in response["Allow"]


def test_the_schema_documents_each_route_once_with_its_slash(anonymous_client):
    # given / when
    paths = set(anonymous_client.get("/api/schema/", {"format": "json"}).json()["paths"])
    # then
    assert "/api/orders/" in paths
    assert not [p for p in paths if p.startswith("/api/") and not p.endswith("/")]
