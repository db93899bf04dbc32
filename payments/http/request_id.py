"""A request id on every request: read from `X-Request-ID` or made up, echoed in the answer, logged.

A client (or the proxy in front) that sends `X-Request-ID` gets the same id back and finds it in
the web's log lines about that request (payments/core/logs.py adds it to each line); without one
the web makes one up. Only short, plain ids are taken from outside: a header is the client's
text, and it ends up in the log.
"""

import re
import uuid

from payments.core.logs import request_id_bind

REQUEST_ID_HEADER = "X-Request-ID"
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class RequestIdMiddleware:
    """First in MIDDLEWARE: `request.id` for everything after it, `X-Request-ID` on every answer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        sent = request.headers.get(REQUEST_ID_HEADER, "")
        request.id = sent if _ACCEPTABLE.fullmatch(sent) else uuid.uuid4().hex
        with request_id_bind(request.id):
            response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.id
        return response
