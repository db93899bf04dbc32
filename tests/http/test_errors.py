"""Every API and /healthz error is JSON, whether DEBUG is on (make run) or off (production)."""

import uuid

import pytest

pytestmark = pytest.mark.django_db

NOT_FOUND_PATHS = ["/api/orders/abc/", "/api/nope/", "/nope", "/healthz/", "/api/orders/abc"]


@pytest.fixture(params=[True, False], ids=["debug-on", "debug-off"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


@pytest.mark.parametrize("path", NOT_FOUND_PATHS)
def test_unknown_urls_answer_json_404_with_and_without_debug(api_client, debug, path):
    # given a logged-in API client, DEBUG on or off
    # when it asks for a URL nothing serves (an order id that is not a UUID, among others)
    response = api_client.get(path)

    # then the answer is JSON, never Django's HTML (debug) page
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_unknown_order_uuid_answers_json_404(api_client, debug):
    # given / when
    response = api_client.get(f"/api/orders/{uuid.uuid4()}/")

    # then
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "No order with this id."}


def test_healthz_answers_json_with_and_without_debug(anonymous_client, debug):
    # given / when
    response = anonymous_client.get("/healthz")

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_wrong_method_on_healthz_answers_json_405(anonymous_client, debug):
    # given / when
    response = anonymous_client.delete("/healthz")

    # then
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"


def test_unauthenticated_order_list_answers_json_401(anonymous_client, debug):
    # given / when
    response = anonymous_client.get("/api/orders/")

    # then
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"


def test_admin_pages_keep_their_html(admin_client, debug):
    # given a staff session / when it opens an unknown admin page
    response = admin_client.get("/admin/payments/order/not-a-uuid/change/")

    # then the admin answers for people, as before (a redirect or an HTML page, not JSON)
    assert not response["Content-Type"].startswith("application/json")


def test_an_unexpected_error_answers_json_500_even_with_debug(api_client, debug, monkeypatch):
    # given a selector that blows up (with DEBUG on Django would render its HTML traceback page)
    from payments.orders import api as apis

    def broken(**kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(apis, "order_list_visible_to", broken)
    api_client.raise_request_exception = False
    # when
    response = api_client.get("/api/orders/")
    # then
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert b"secret" not in response.content
