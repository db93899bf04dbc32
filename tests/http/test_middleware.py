"""Requests Django cannot decode answer 400 JSON, not a bare 500.

Django decodes the query string while it builds the request object when Content-Type names a
charset, so some of these requests fail before any Django middleware or handler runs. The first
test shows that through the Django test client; the others send the same requests to the WSGI
application that gunicorn and runserver serve (config.wsgi.application), as a WSGI server does.
"""

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest
from django.core import signals
from django.db import close_old_connections
from django.test import Client

from config.wsgi import application

pytestmark = pytest.mark.django_db

JSON_BODY = b'{"amount": "1.00", "payment_method_nonce": "fake-valid-nonce"}'


@pytest.fixture(autouse=True)
def keep_the_test_database_connection():
    # A real WSGI request closes database connections when it starts and ends; the test's
    # connection holds its transaction, so keep it open, as Django's test client does.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def call_wsgi(method="GET", path="/healthz", query="", content_type="", body=b"", **extra):
    """Send one request to config.wsgi.application; (status code, headers, body)."""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "SERVER_NAME": "localhost",
        **extra,
    }
    setup_testing_defaults(environ)
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = int(status.split()[0]), dict(headers)

    chunks = application(environ, start_response)
    content = b"".join(chunks)
    getattr(chunks, "close", lambda: None)()
    return answer["status"], answer["headers"], content


def test_django_fails_on_a_non_text_charset_before_any_middleware_runs():
    # given a client that turns exceptions inside Django's handler into 500 answers
    client = Client(raise_request_exception=False)
    # when / then: no answer at all, the exception escapes while the request object is built,
    # before the middleware chain (and so before any Django middleware could answer it)
    with pytest.raises(LookupError, match="'base64' is not a text encoding"):
        client.generic("POST", "/healthz?a=b", b"x", content_type="application/json; charset=base64")


@pytest.mark.parametrize(
    ("content_type", "query", "detail"),
    [
        pytest.param("application/json; charset=base64", "a=b", "Unsupported charset", id="charset that is not a text encoding"),
        pytest.param("application/json; charset=zlib", "", "Unsupported charset", id="compression codec as charset"),
        pytest.param("application/json; charset=undefined", "", "Unsupported charset", id="codec that never decodes"),
        pytest.param("application/json; charset=foo", "", "Unsupported charset", id="charset unknown to Python"),
        pytest.param("application/json; charset=punycode", "status=paid", "query string cannot be decoded", id="undecodable query string"),
        pytest.param("text/plain; charset=utf-8", "&".join(f"f{i}=1" for i in range(1001)), "query string cannot be decoded", id="more query fields than allowed"),
    ],
)
def test_a_request_django_cannot_decode_answers_400_json(content_type, query, detail):
    # when
    status, headers, content = call_wsgi("POST", "/api/orders/", query, content_type, JSON_BODY)
    # then
    assert status == 400
    assert headers["Content-Type"] == "application/json"
    assert detail in json.loads(content)["detail"]


def test_a_non_text_charset_on_a_get_answers_400_json_too():
    status, _, content = call_wsgi("GET", "/healthz", "x=1", "application/json; charset=rot13")
    assert status == 400
    assert json.loads(content) == {"detail": "Unsupported charset in the Content-Type header; send UTF-8."}


@pytest.mark.parametrize("content_type", ["", "application/json", "application/json; charset=utf-8", "application/json; charset=UTF-8"])
def test_ordinary_requests_pass_through_to_django(content_type):
    # when
    status, headers, content = call_wsgi("GET", "/healthz", "verbose=1", content_type)
    # then
    assert status == 200
    assert json.loads(content) == {"database": "ok", "broker": "ok"}


def test_a_query_string_that_is_not_utf8_is_a_field_error_not_a_crash(api_client):
    # Django reads undecodable bytes as ISO-8859-1; the filter then refuses the value.
    response = api_client.get("/api/orders/", QUERY_STRING="status=%ff%fe")
    assert response.status_code == 400
    assert list(response.json()) == ["status"]
