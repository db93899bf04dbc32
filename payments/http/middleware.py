"""WSGI middleware: refuse, with a 400 JSON answer, requests that Django cannot even build.

A `charset` in Content-Type makes Django decode the query string while it constructs the request
object (WSGIRequest.__init__ sets `encoding`, which evaluates `GET`). A charset that Python knows
but that is not a text encoding (`base64`, `zlib`, `rot13`), a codec that fails with something
other than UnicodeDecodeError (`punycode`, `undefined`), or more than
DATA_UPLOAD_MAX_NUMBER_FIELDS query fields raise there, before any Django middleware or
exception handler runs: gunicorn answers a bare 500 (tests/http/test_middleware.py shows
the test client failing the same way). This wrapper sits between the WSGI server and Django
(config/wsgi.py) and answers those requests itself. A charset Python does not know at all
(`charset=foo`) is refused too: Django would silently read such a body as UTF-8.
"""

import codecs
import json

from django.core.exceptions import SuspiciousOperation
from django.core.handlers.wsgi import get_bytes_from_wsgi
from django.http import QueryDict
from django.utils.http import parse_header_parameters


def decoding_problem(environ):
    """Why Django could not decode this request (a message safe to show the client), or None."""
    _, params = parse_header_parameters(environ.get("CONTENT_TYPE", ""))
    charset = params.get("charset")
    if charset is None:
        return None
    try:
        codecs.lookup(charset)
        # LookupError for codecs that are not text encodings, UnicodeError for "undefined".
        "a".encode(charset)
    except (LookupError, UnicodeError):
        return "Unsupported charset in the Content-Type header; send UTF-8."
    try:
        # Exactly what Django will do with the query string while building the request.
        QueryDict(get_bytes_from_wsgi(environ, "QUERY_STRING", ""), encoding=charset)
    except (UnicodeError, ValueError, SuspiciousOperation):
        return "The query string cannot be decoded with the charset of the Content-Type header."
    return None


class RefuseUndecodableRequests:
    """Answer 400 JSON to requests whose decoding would crash Django before its middleware."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        problem = decoding_problem(environ)
        if problem is None:
            return self.application(environ, start_response)
        body = json.dumps({"detail": problem}).encode()
        start_response(
            "400 Bad Request",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]
