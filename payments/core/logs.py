"""Readable logs: one logfmt line per order transition and per gateway call, and a quieter worker.

Lines are `key=value` pairs (logfmt) so that people can read them and `grep order=<id>` or a log
pipeline can parse them. They carry ids, statuses, outcomes, attempts and latencies only: never
the nonce, a credential or a gateway message that could echo the request.
"""

import logging
import re
import time
from contextlib import contextmanager
from contextvars import ContextVar

transition_log = logging.getLogger("payments.transitions")
gateway_log = logging.getLogger("payments.gateway_calls")

_BARE = re.compile(r"[A-Za-z0-9_.:/@+>-]+")


def logfmt(event, **fields):
    """`event key=value ...`, quoting values that contain spaces or quotes; None values are left out."""
    parts = [event]
    for key, value in fields.items():
        if value is None:
            continue
        text = str(getattr(value, "value", value))
        if not _BARE.fullmatch(text):
            text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        parts.append(f"{key}={text}")
    return " ".join(parts)


def log_transition(order, from_status, to_status, *, outcome, action):
    """One line per status transition the lifecycle saves."""
    transition_log.info(
        logfmt(
            "order_transition",
            order=order.pk,
            transition=f"{from_status}->{to_status}",
            action=action,
            outcome=outcome,
            attempt=order.sale_attempt,
            claims=order.claims,
        )
    )


def log_gateway_call(order, call, *, outcome, started, attempt=None, transaction_id=""):
    """One line per gateway call a service audits; `started` is `time.monotonic()` before the call.

    Written right after the call (a lookup's line after its audit row, which then counts in
    `latency_ms`: about a millisecond against tens for the call).
    """
    gateway_log.info(
        logfmt(
            "gateway_call",
            order=order.pk,
            call=call,
            outcome=outcome,
            latency_ms=f"{(time.monotonic() - started) * 1000:.1f}",
            attempt=order.sale_attempt if attempt is None else attempt,
            transaction=transaction_id or None,
        )
    )


class DemoteTaskSuccess(logging.Filter):
    """Celery's `Task ... succeeded in 0.05s: None` becomes a DEBUG record.

    Every order already gets its structured lines, so the success line is noise at INFO; failures,
    retries and received lines keep their levels. `celery worker --loglevel DEBUG` shows it again.
    """

    def filter(self, record):
        from celery.app.trace import LOG_SUCCESS

        if record.msg == LOG_SUCCESS and record.levelno == logging.INFO:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


def install_log_filters():
    """Attach the filters above; idempotent (called from the app config's ready())."""
    trace = logging.getLogger("celery.app.trace")
    if not any(isinstance(f, DemoteTaskSuccess) for f in trace.filters):
        trace.addFilter(DemoteTaskSuccess())


# The id of the request this thread serves (payments/http/request_id.py), for the log lines
# written while it runs; "" outside a request (workers, beat, commands).
_request_id = ContextVar("payments_request_id", default="")


@contextmanager
def request_id_bind(request_id):
    """Log lines written inside the block carry `request_id`."""
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Handler filter: `%(request_id)s` is the request's id, `%(request_tag)s` " request_id=<id>" or "".

    Django logs a request's 4xx/5xx line (`django.request`) after the middleware has returned, so
    the id is read from the request the record carries first, then from the running request.
    """

    def filter(self, record):
        request = getattr(record, "request", None)
        request_id = getattr(request, "id", None) or _request_id.get()
        record.request_id = request_id or "-"
        record.request_tag = f" request_id={request_id}" if request_id else ""
        return True


_REQUEST_LINE = re.compile(r'"?([A-Z]+) ')


class QuietAccessLog(logging.Filter):
    """`runserver`'s access lines (`django.server`): successful reads and every error at DEBUG.

    A polling client (the dashboard, `make demo`) would otherwise write a GET line every second,
    and each 4xx/5xx is already logged once, with its request id, by `django.request`. Writes that
    succeed (POST 202 ...) stay at INFO: they are the story of a run.
    """

    def filter(self, record):
        status = getattr(record, "status_code", None)
        if status is None:
            return True
        found = _REQUEST_LINE.match(str(record.args[0]) if record.args else "")
        method = found.group(1) if found else ""
        if status >= 400 or method in ("GET", "HEAD", "OPTIONS"):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True
