"""Each request error is logged once, with the request id the answer carries; polling stays quiet."""

import logging

import pytest

from payments.core.logs import QuietAccessLog, RequestIdFilter

pytestmark = pytest.mark.django_db


def request_lines(caplog):
    return [r for r in caplog.records if r.name == "django.request"]


@pytest.mark.parametrize("debug", [False, True])
def test_an_unknown_url_is_logged_once_with_the_request_id_of_its_answer(client, settings, caplog, debug):
    # given (with DEBUG the HTML error page is replaced by JSON on the way out)
    settings.DEBUG = debug
    caplog.set_level(logging.WARNING, logger="django.request")
    # when
    response = client.get("/api/no-such-thing/")
    # then
    assert response.status_code == 404
    [line] = request_lines(caplog)
    RequestIdFilter().filter(line)
    assert line.request_id == response["X-Request-ID"]
    assert len(response["X-Request-ID"]) == 32


def test_an_unexpected_error_is_logged_once_with_its_traceback(api_client, settings, caplog, monkeypatch):
    # given a DEBUG server (whose HTML 500 page becomes JSON) and a selector that blows up
    from payments.orders import api

    settings.DEBUG = True
    monkeypatch.setattr(api, "order_list_visible_to", lambda **kw: 1 / 0)
    api_client.raise_request_exception = False
    caplog.set_level(logging.ERROR, logger="django.request")
    # when
    response = api_client.get("/api/orders/", HTTP_X_REQUEST_ID="client-chosen-id-1")
    # then one line, with the traceback and the id the client sent
    assert (response.status_code, response.json()) == (500, {"detail": "Internal server error."})
    [line] = request_lines(caplog)
    assert line.exc_info is not None
    RequestIdFilter().filter(line)
    assert (line.request_id, response["X-Request-ID"]) == ("client-chosen-id-1", "client-chosen-id-1")


def test_a_request_id_that_is_not_plain_is_replaced(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\twith spaces")
    assert response["X-Request-ID"] != "bad id\twith spaces"
    assert len(response["X-Request-ID"]) == 32


def access_record(request_line, status, level=logging.INFO):
    record = logging.LogRecord("django.server", level, __file__, 1, '"%s" %s %s', (request_line, str(status), "12"), None)
    record.status_code = status
    return record


@pytest.mark.parametrize(
    ("request_line", "status", "kept_at_info"),
    [
        ("GET /api/orders/1/ HTTP/1.1", 200, False),
        ("GET /ops/dashboard.json HTTP/1.1", 200, False),
        ("POST /api/orders/ HTTP/1.1", 202, True),
        ("POST /api/orders/ HTTP/1.1", 400, False),
        ("GET /nothing HTTP/1.1", 404, False),
    ],
)
def test_the_access_log_keeps_writes_and_leaves_reads_and_errors_to_debug(request_line, status, kept_at_info):
    # given runserver's logger at INFO
    logging.getLogger("django.server").setLevel(logging.INFO)
    record = access_record(request_line, status)
    # when
    shown = QuietAccessLog().filter(record)
    # then
    assert (shown, record.levelno == logging.INFO) == (kept_at_info, kept_at_info)


def test_under_debug_a_django_line_reaches_one_handler_only(settings):
    # given the logging settings in force under DEBUG (`make run`)
    import logging.config

    from django.utils.log import DEFAULT_LOGGING

    settings.DEBUG = True
    logging.config.dictConfig(DEFAULT_LOGGING)
    logging.config.dictConfig(settings.LOGGING)
    # when / then a django.request line goes to the root handler alone (Django's console handler is gone)
    handlers = []
    logger = logging.getLogger("django.request")
    while logger is not None:
        handlers += logger.handlers
        logger = logger.parent if logger.propagate else None
    assert len(handlers) == 1
