"""Every error answer of the service, in one place, and always JSON.

`api_exception_handler` turns the payments error tree (payments/core/exceptions.py) into DRF
answers; the `json_*` handlers answer what Django refuses outside DRF views (config/urls.py).

With DEBUG on, Django answers an unknown URL (`/api/orders/abc/`, whose id is not a UUID) or an
unhandled exception with its HTML debug page, because `handler404`/`handler500` only apply with
DEBUG off: `JSONErrorsMiddleware` replaces such an HTML error page with the same JSON the handlers
give. Pages meant for people keep their HTML: the admin, the API docs and the browsable API's
login, and DRF's own responses (the browsable API renders its errors for a browser on purpose).

A database that cannot be reached (a failover, a restart: `OperationalError`, `InterfaceError`) is
not a bug of the request: every route answers `503` with `Retry-After`, in JSON, wherever the
error was raised (a view, DRF's authentication, a middleware, the admin's login), so that a client
retries later instead of reporting a failure (docs/explanation/reliability.md).
"""

import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.dispatch import receiver
from django.http import JsonResponse
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler

from payments.core.exceptions import PaymentsError

# What a client should wait before trying again while the database is unreachable: a managed
# PostgreSQL failover takes 15-60 s, and a few seconds between tries spreads the clients out.
DATABASE_RETRY_AFTER_SECONDS = 5
DATABASE_UNAVAILABLE_DETAIL = "The service is temporarily unavailable; retry later."
# Connection-level errors only: a query bug (ProgrammingError, IntegrityError) stays a 500.
DATABASE_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)


class RequestBodyTooLarge(APIException):
    """The body exceeds the endpoint's limit: DATA_UPLOAD_MAX_MEMORY_SIZE (API_MAX_BODY_BYTES) unless given."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"

    def __init__(self, limit=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE if limit is None else limit
        super().__init__(f"The request body is larger than the limit of {limit} bytes.")


def api_exception_handler(exc, context):
    """DRF exception handler: anticipated errors become `{"detail": ...}` with their status."""
    if isinstance(exc, PaymentsError):
        # An error about one field of the body says so under that field, as a validation error does.
        field = getattr(exc, "field", None)
        return Response({field: [exc.message]} if field else {"detail": exc.message}, status=exc.http_status)
    if isinstance(exc, DATABASE_UNAVAILABLE_ERRORS):
        # Django logs the 503 itself (django.request), once per answer.
        return Response(
            {"detail": DATABASE_UNAVAILABLE_DETAIL},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, RequestDataTooBig):
        # Django raises this (a SuspiciousOperation, hence a bare 400 or a 500 when unhandled)
        # from request.body/POST; to the client it is simply a body over the limit.
        exc = RequestBodyTooLarge()
    return exception_handler(exc, context)


# Project-level handlers (config/urls.py): errors outside DRF views are JSON too, and never
# carry a traceback or settings.


def json_bad_request(request, exception=None):
    """handler400: a request Django refused before any view ran (e.g. a bad Host header)."""
    return JsonResponse({"detail": "Bad request."}, status=status.HTTP_400_BAD_REQUEST)


def json_permission_denied(request, exception=None):
    """handler403."""
    return JsonResponse({"detail": "Permission denied."}, status=status.HTTP_403_FORBIDDEN)


def json_page_not_found(request, exception=None):
    """handler404: unknown URLs, including order URLs whose id is not a UUID."""
    return JsonResponse({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)


def json_server_error(request):
    """handler500: the only answer an unexpected error gives; details go to the log."""
    return JsonResponse({"detail": "Internal server error."}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)


def json_database_unavailable(request=None):
    """503 with Retry-After: the database cannot be reached; the same request may succeed later."""
    response = JsonResponse({"detail": DATABASE_UNAVAILABLE_DETAIL}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


# Marks a request whose unhandled exception was the database's, for JSONErrorsMiddleware.
_DATABASE_UNAVAILABLE = "payments.database_unavailable"


@receiver(got_request_exception)
def _mark_database_unavailable(sender, request=None, **kwargs):
    # Django sends this from inside its `except` block for every exception no view or DRF
    # handled, wherever it was raised (a middleware, the session save, axes' login check), and
    # then answers 500 (or its debug page): the mark lets the outermost middleware answer 503.
    exc = sys.exc_info()[1]
    if request is not None and isinstance(exc, DATABASE_UNAVAILABLE_ERRORS):
        request.META[_DATABASE_UNAVAILABLE] = True


HTML_PREFIXES = ("/admin/", "/api/docs/", "/api/auth/")

_JSON_ANSWERS = {400: json_bad_request, 403: json_permission_denied, 404: json_page_not_found}


def _html_prefixes():
    return tuple(getattr(settings, "JSON_ERRORS_HTML_PREFIXES", HTML_PREFIXES))


class JSONErrorsMiddleware:
    """Turn a Django HTML error page (4xx/5xx) outside the people-facing pages into JSON."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code >= 500 and request.META.get(_DATABASE_UNAVAILABLE):
            # Before the people-facing pages' exception: the admin's login says 503 too.
            return json_database_unavailable(request)
        if response.status_code < 400 or isinstance(response, Response):
            return response
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        if request.path.startswith(_html_prefixes()):
            return response
        if response.status_code >= 500:
            answer = json_server_error(request)
        elif response.status_code in _JSON_ANSWERS:
            answer = _JSON_ANSWERS[response.status_code](request)
        else:
            # Other codes (405 from a plain Django view, 413...) keep their status, in JSON.
            answer = JsonResponse({"detail": f"{response.reason_phrase}."}, status=response.status_code)
        # Django logged the error with the page it replaces (django.utils.log.log_response marks
        # it): the replacement must not be logged a second time.
        answer._has_been_logged = getattr(response, "_has_been_logged", False)
        return answer
