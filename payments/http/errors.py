"""Every error answer of the service, in one place, and always JSON.

`api_exception_handler` turns the payments error tree (payments/core/exceptions.py) into DRF
answers; the `json_*` handlers answer what Django refuses outside DRF views (config/urls.py).

With DEBUG on, Django answers an unknown URL (`/api/orders/abc/`, whose id is not a UUID) or an
unhandled exception with its HTML debug page, because `handler404`/`handler500` only apply with
DEBUG off: `JSONErrorsMiddleware` replaces such an HTML error page with the same JSON the handlers
give. Pages meant for people keep their HTML: the admin, the API docs and the browsable API's
login, and DRF's own responses (the browsable API renders its errors for a browser on purpose).
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler

from payments.core.exceptions import PaymentsError


class RequestBodyTooLarge(APIException):
    """The body exceeds DATA_UPLOAD_MAX_MEMORY_SIZE (the API_MAX_BODY_BYTES setting)."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"

    def __init__(self):
        super().__init__(
            f"The request body is larger than the limit of {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
        )


def api_exception_handler(exc, context):
    """DRF exception handler: anticipated errors become `{"detail": ...}` with their status."""
    if isinstance(exc, PaymentsError):
        return Response({"detail": exc.message}, status=exc.http_status)
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
        if response.status_code < 400 or isinstance(response, Response):
            return response
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        if request.path.startswith(_html_prefixes()):
            return response
        if response.status_code >= 500:
            return json_server_error(request)
        answer = _JSON_ANSWERS.get(response.status_code)
        if answer is not None:
            return answer(request)
        # Other codes (405 from a plain Django view, 413...) keep their status, in JSON.
        return JsonResponse({"detail": f"{response.reason_phrase}."}, status=response.status_code)
