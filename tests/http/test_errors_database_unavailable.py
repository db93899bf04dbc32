"""While the database cannot be reached, every route answers 503 with Retry-After, never a 500.

Every new database connection of the request fails, as during a failover (the test's own
connection stays open, so the rows made before the block are there). The integration test
(tests/orders/test_integration_database_outage.py) does the same to real processes.
"""

from contextlib import contextmanager
from unittest import mock

import pytest
from django.db import OperationalError, connections
from django.test import Client
from rest_framework.test import APIClient

from payments.tokens.services import api_token_issue
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[True, False], ids=["debug-on", "debug-off"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


@contextmanager
def database_unreachable():
    refused = OperationalError('connection failed: FATAL:  database "payments" is not currently accepting connections')
    with mock.patch.object(type(connections["default"]), "ensure_connection", side_effect=refused):
        yield


def assert_503_json_with_retry_after(response):
    assert response.status_code == 503, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert int(response["Retry-After"]) > 0
    assert response.json() == {"detail": "The service is temporarily unavailable; retry later."}


@pytest.fixture
def token():
    return api_token_issue(UserFactory())


def api(token=None):
    # As a client sees it: the answer Django would send, never the exception re-raised in the test.
    client = APIClient(raise_request_exception=False)
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_order_submission_answers_503_with_retry_after(debug, token):
    # given a client with a valid token
    client = api(token)

    # when the database cannot be reached
    with database_unreachable():
        response = client.post("/api/orders/", {"amount": "10.00", "payment_method_nonce": "fake-valid-nonce"},
                               format="json")

    # then
    assert_503_json_with_retry_after(response)


def test_token_that_must_be_looked_up_answers_503_not_401_or_500(debug):
    # given a token the database would have to look up
    client = api("f" * 64)

    # when
    with database_unreachable():
        response = client.get("/api/orders/")

    # then authentication could not decide: the client must retry, not drop its credentials
    assert_503_json_with_retry_after(response)


def test_order_read_answers_503_with_retry_after(debug, token):
    # given
    client = api(token)

    # when
    with database_unreachable():
        response = client.get("/api/orders/00000000-0000-0000-0000-000000000000/")

    # then
    assert_503_json_with_retry_after(response)


def test_throttled_route_answers_503_with_retry_after(debug, token, settings):
    # given the read throttle on, counting in the cache (which is not the database)
    settings.API_READ_RATE = "1000/minute"
    client = api(token)

    # when
    with database_unreachable():
        response = client.get("/api/orders/")

    # then
    assert_503_json_with_retry_after(response)


def test_admin_login_answers_503_not_a_server_error(debug):
    # given the admin's login form, posted by a browser (django-axes and the session hit the database)
    client = Client(raise_request_exception=False)

    # when
    with database_unreachable():
        response = client.post("/admin/login/?next=/admin/", {"username": "admin", "password": "long-password-1"})

    # then
    assert_503_json_with_retry_after(response)


def test_a_query_bug_stays_a_500(debug, token):
    # given a view whose query is wrong rather than unreachable
    from django.db import ProgrammingError

    client = api(token)

    # when
    with mock.patch("payments.orders.api.order_list_visible_to", side_effect=ProgrammingError("no such column")):
        response = client.get("/api/orders/")

    # then it is not disguised as an outage
    assert response.status_code == 500
    assert "Retry-After" not in response


def test_healthz_names_the_database(debug):
    # given / when
    with database_unreachable():
        response = Client().get("/healthz")

    # then
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"
